"""Per-node 32-byte keys on disk: JSON {"version": 1, "nodes": {"<id>": "<64 hex>"}}, mode 0600.

Loading refuses a key file that group or others can read (a key that leaked is no key); the error
says how to fix it. Nothing here ever prints or logs key material.
"""
from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path

from protocol.messages import KEY_SIZE


class KeyFileError(ValueError):
    """The key file is missing, malformed or too open; the message never contains key bytes."""


def new_keys(node_ids) -> dict[int, bytes]:
    return {int(n): secrets.token_bytes(KEY_SIZE) for n in node_ids}


def save_keys(path: str | os.PathLike, keys: dict[int, bytes], force: bool = False) -> None:
    """Write keys to path with mode 0600 (created that way, never world-readable for a moment)."""
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; pass --force to overwrite it")
    doc = {"version": 1, "nodes": {str(n): k.hex() for n, k in sorted(keys.items())}}
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def load_keys(path: str | os.PathLike) -> dict[int, bytes]:
    """{node_id: key}. Refuses files readable by group/others (chmod 600 fixes it)."""
    path = Path(path)
    try:
        st = path.stat()
        text = path.read_text()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"key file {path} is accessible by group/others (mode {stat.S_IMODE(st.st_mode):o}); "
                           f"run: chmod 600 {path}")
    try:
        doc = json.loads(text)
        nodes = doc["nodes"]
        keys = {int(n): bytes.fromhex(h) for n, h in nodes.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise KeyFileError(f"key file {path} is not a safehaven key file") from None
    for node_id, key in keys.items():
        if len(key) != KEY_SIZE or not 0 <= node_id <= 255:
            raise KeyFileError(f"key file {path}: entry for node {node_id} is invalid")
    return keys
