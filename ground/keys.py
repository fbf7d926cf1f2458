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

from safehaven.protocol.messages import KEY_SIZE


class KeyFileError(ValueError):
    """The key file is missing, malformed or too open; the message never contains key bytes."""


def new_keys(node_ids) -> dict[int, bytes]:
    return {int(n): secrets.token_bytes(KEY_SIZE) for n in node_ids}


def save_keys(path: str | os.PathLike, keys: dict[int, bytes], force: bool = False) -> None:
    """Write keys to path with mode 0600 (created that way, never world-readable for a moment).

    The temporary file is created exclusively (O_EXCL, O_NOFOLLOW) in the target's directory, so a
    planted file or symlink there is never written through; it is then renamed over the target.
    """
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; pass --force to overwrite it")
    if not keys:
        raise ValueError("no nodes to write keys for")
    doc = {"version": 1, "nodes": {str(n): k.hex() for n, k in sorted(keys.items())}}
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_keys(path: str | os.PathLike) -> dict[int, bytes]:
    """{node_id: key}. Refuses files readable by group/others (chmod 600 fixes it), except a file
    that declares itself `"public": true` (the repository's test keys: no secret to leak)."""
    return load_key_file(path)[0]


def load_key_file(path: str | os.PathLike) -> tuple[dict[int, bytes], bool]:
    """(keys, public): public is True for a file of published test keys (never for real nodes)."""
    path = Path(path)
    try:
        st = path.stat()
        data = path.read_bytes()
    except OSError as exc:
        hint = " (create one with `safehaven keys new --node ID ... --out F`)" \
            if isinstance(exc, FileNotFoundError) else ""
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}{hint}") from None
    bad = KeyFileError(f"key file {path} is not a safehaven key file "
                       '(expected JSON {"version": 1, "nodes": {"<id>": "<64 hex digits>"}})')
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad from None
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), dict):
        raise bad
    public = doc.get("public") is True
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO) and not public:
        raise KeyFileError(f"key file {path} is accessible by group/others (mode {stat.S_IMODE(st.st_mode):o}); "
                           f"run: chmod 600 {path}")
    if doc.get("version") != 1 or isinstance(doc.get("version"), bool):
        raise KeyFileError(f"key file {path}: version {doc.get('version')!r} is not supported (expected 1)")
    nodes = doc["nodes"]
    if not nodes:
        raise KeyFileError(f"key file {path}: no nodes (an empty key file would switch authentication off; "
                           "create keys with `safehaven keys new --node ID ...`)")
    keys = {}
    for name, value in nodes.items():
        node_id = int(name) if isinstance(name, str) and name.isascii() and name.isdigit() else -1
        if not 0 <= node_id <= 255:  # a long name may be a key in the wrong place: never shown
            shown = repr(name) if isinstance(name, str) and len(name) <= 4 else f"of {len(name)} characters"
            raise KeyFileError(f"key file {path}: node id {shown} is not a number 0-255")
        try:
            key = bytes.fromhex(value) if isinstance(value, str) else b""
        except ValueError:
            key = b""
        if len(key) != KEY_SIZE:
            raise KeyFileError(f"key file {path}: the key of node {node_id} is not {KEY_SIZE * 2} hex digits")
        keys[node_id] = key
    return keys, public
