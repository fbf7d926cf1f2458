"""`python -m safehaven ...` is the `safehaven` command."""
import sys

from safehaven.ground.cli import main

sys.exit(main())
