"""Argument types the commands share: node IDs, ID=PORT links, ID=ZONE, baud rates, key files.

Every problem is a ValueError (argparse.ArgumentTypeError for `type=` converters) with a one-line message
that names the option, so each command prints it as `safehaven CMD: message` and exits 2.
"""
from __future__ import annotations

import argparse

from safehaven.ground.keys import load_keys as _load_key_file
from safehaven.ground.policy import zone_name_problem


def node_id(text: str) -> int:
    """argparse type: a node ID 1-255."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a node ID (1-255)") from None
    if not 1 <= n <= 255:
        raise argparse.ArgumentTypeError(f"{n} is not a node ID (1-255)")
    return n


def baud_rate(text: str) -> int:
    """argparse type: a serial baud rate."""
    try:
        baud = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 50 <= baud <= 12_000_000:
        raise argparse.ArgumentTypeError(f"{baud} outside 50..12000000")
    return baud


def node_ports(items: list[str], option: str = "--node") -> dict[int, str]:
    """ID=PORT items -> {node id: port}; IDs 1-255, no node or port twice."""
    ports: dict[int, str] = {}
    for item in items:
        nid, sep, port = item.partition("=")
        if not sep or not port:
            raise ValueError(f"{option} {item!r}: expected ID=PORT, e.g. {option} 1=/dev/ttyACM0")
        try:
            n = int(nid)
        except ValueError:
            raise ValueError(f"{option} {item!r}: node ID must be a number 1-255") from None
        if not 1 <= n <= 255:
            raise ValueError(f"{option} {item!r}: node ID must be 1-255")
        if n in ports:
            raise ValueError(f"{option}: node {n} given twice")
        if port in ports.values():
            raise ValueError(f"{option}: port {port} given twice")
        ports[n] = port
    return ports


def node_links(items: list[str]) -> dict[str, str]:
    """ID=PORT items -> the station's links, {"node<ID>": port}."""
    return {f"node{n}": port for n, port in node_ports(items).items()}


def zones(items: list[str]) -> dict[int, str]:
    """ID=ZONE items -> {node id: zone}."""
    out = {}
    for item in items:
        nid, sep, zone = item.partition("=")
        if not sep or not nid.strip().isdigit() or not zone.strip():
            raise ValueError(f"--zone {item!r}: expected ID=ZONE, e.g. --zone 3=lab")
        problem = zone_name_problem(zone.strip())
        if problem:
            raise ValueError(f"--zone {item!r}: {problem}")
        out[int(nid)] = zone.strip()
    return out


def seconds(text: str) -> float:
    """argparse type: a finite, positive duration in seconds (at most a year): nan would skip a wait,
    inf would never end it."""
    try:
        s = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < s <= 365 * 86400:  # also false for nan
        raise argparse.ArgumentTypeError(f"{text} outside 0..31536000 s")
    return s


def key_file(path: str | None) -> dict[int, bytes] | None:
    """Node keys from a key file written by `safehaven keys new` (never printed), or None without one;
    KeyFileError (a ValueError) names the file and the problem."""
    if not path:
        return None
    return _load_key_file(path)


def pace(text: str) -> float:
    """argparse type: a pace factor (times real time), finite, 0..1000000 (0: as fast as possible)."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= x <= 1e6:  # also false for nan
        raise argparse.ArgumentTypeError(f"{text} outside 0..1000000")
    return x
