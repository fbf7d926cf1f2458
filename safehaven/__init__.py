"""safehaven: the one import name of the ground station, the wire protocol and the benches.

pyproject.toml maps the repository's folders into it (`safehaven.ground` is ground/,
`safehaven.protocol` is protocol/, `safehaven.hil` is hil/); firmware/, boards/, scenarios/ and
policies/ travel with them as data. On a node protocol/ stays the top-level package `protocol`.
"""
from pathlib import Path

_HERE = Path(__file__).resolve().parent
# The folder that holds firmware/, protocol/, hil/, boards/, scenarios/ and policies/: this package's
# own folder in an installed wheel, the repository in a checkout.
ROOT = _HERE if (_HERE / "protocol").is_dir() else _HERE.parent
