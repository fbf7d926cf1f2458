"""`safehaven send NODE COMMAND [ARGS]`: one command to a node, waiting for its ack or a timeout.

Through a running monitor (the command is queued in its database, default) or directly on a port
(--port, when no monitor holds it). Commands and their arguments, in SI/natural units:
  set_param NAME VALUE         detector parameter (threshold, drift_pa_s, rapid_rate_pa_s, window_samples,
                               noise_pa, clear_hold_ms, volume_l, suspect)
  set_sample_period MS         set_telemetry_period MS
  zero pressure_rate|co2_frc|counters [VALUE]
  set_ambient_source bmp|fixed|none [PA]
  set_mode habitat|chamber     reboot     request_status
  maintenance                  reboot into maintenance mode (REPL free, no watchdog; docs/wiring.md)
Exit codes: 0 acked ok, 1 rejected by the node, 2 bad usage, 3 timeout, 4 database/port problem.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from safehaven.ground.args import key_file, seconds
from safehaven.ground.clock import WallClock
from safehaven.ground.engine import Engine
from safehaven.ground.ingest import LinkError
from safehaven.ground.policy import load_policy
from safehaven.ground.station import Station
from safehaven.ground.store import Store, StoreError
from safehaven.protocol import messages as m

HELP = "send a command to a node and report its ack or a timeout"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.description = __doc__
    p.add_argument("node", type=int, help="node ID")
    p.add_argument("command", help="command name (see above)")
    p.add_argument("args", nargs="*", help="command arguments")
    p.add_argument("--db", metavar="F", default="safehaven.sqlite", help="database of the running monitor")
    p.add_argument("--port", metavar="PORT", help="send directly on this port/URL instead of via a monitor")
    p.add_argument("--key-file", metavar="F", help="node keys, to sign the command (direct mode)")
    p.add_argument("--timeout", type=seconds, default=3.0, metavar="S", help="seconds to wait for the ack")


def encode_args(command: str, args: list[str]) -> tuple[int, int, int]:
    """(command code, param, value) from names and SI values, checked against the limits the node
    enforces (protocol/messages.py check_command); ValueError says what is expected."""
    code, param, value = _encode(command, args)
    problem = m.check_command(code, param, value)
    if problem is not None:
        raise ValueError(f"{command} {' '.join(args)}: {problem}")
    return code, param, value


def _encode(command: str, args: list[str]) -> tuple[int, int, int]:
    codes = {name: code for code, name in m.COMMAND_NAMES.items()}
    if command not in codes:
        raise ValueError(f"unknown command {command!r}; one of: {', '.join(sorted(codes))}")
    code = codes[command]

    def need(n: int, usage: str) -> None:
        if len(args) < n or len(args) > n + (1 if "[" in usage else 0):
            raise ValueError(f"usage: send NODE {command} {usage}".rstrip())

    def number(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        if not math.isfinite(x):
            raise ValueError(f"{text!r} is not a finite number")
        return x

    if command == "set_param":
        need(2, "NAME VALUE")
        params = {name: (pid, scale) for pid, (name, scale) in m.PARAMS.items()}
        if args[0] not in params:
            raise ValueError(f"unknown parameter {args[0]!r}; one of: {', '.join(sorted(params))}")
        pid, scale = params[args[0]]
        return code, pid, int(round(number(args[1]) * scale))
    if command in ("set_sample_period", "set_telemetry_period"):
        need(1, "MS")
        return code, 0, int(number(args[0]))
    if command == "zero":
        need(1, "pressure_rate|co2_frc|counters [VALUE]")
        kinds = {"pressure_rate": m.ZERO_PRESSURE_RATE, "co2_frc": m.ZERO_CO2_FRC, "counters": m.ZERO_COUNTERS}
        if args[0] not in kinds:
            raise ValueError(f"zero: one of {', '.join(kinds)}")
        return code, kinds[args[0]], int(number(args[1])) if len(args) > 1 else 0
    if command == "set_ambient_source":
        need(1, "bmp|fixed|none [PA]")
        kinds = {"bmp": m.AMBIENT_BMP, "fixed": m.AMBIENT_FIXED, "none": m.AMBIENT_NONE}
        if args[0] not in kinds:
            raise ValueError(f"set_ambient_source: one of {', '.join(kinds)}")
        return code, kinds[args[0]], int(round(number(args[1]) * 256)) if len(args) > 1 else 0
    if command == "set_mode":
        need(1, "habitat|chamber")
        if args[0] not in m.MODE_NAMES:
            raise ValueError(f"set_mode: one of {', '.join(m.MODE_NAMES)}")
        return code, m.MODE_NAMES.index(args[0]), 0
    need(0, "")
    return code, 0, 0


def report(result: dict) -> int:
    status = result.get("status")
    if status == "ok":
        print(f"node {result['node_id']}: ok (value {result.get('value', 0)})")
        return 0
    if status == "timeout":
        print(f"node {result['node_id']}: no ack (timeout); is the node running and on this link?", file=sys.stderr)
        return 3
    if status == "invalid":
        print(f"node {result['node_id']}: not sent: {result.get('message', '')}", file=sys.stderr)
        return 2
    if status in ("unknown_node", "link_down"):
        print(f"node {result['node_id']}: {status}: {result.get('message', '')}", file=sys.stderr)
        return 4
    print(f"node {result['node_id']}: {status} (value {result.get('value')})", file=sys.stderr)
    return 1


def command_direct(port: str, node: int, code: int, param: int, value: int, keys_path: str | None,
                   timeout: float) -> dict:
    """Send one command on a port no monitor holds; the ack or timeout as a result dict. LinkError if the
    port is not usable now."""
    keys = key_file(keys_path)
    # the node addressed on this port may answer unsigned if it has no key (the operator chose it)
    unsigned = [node] if keys and node not in keys else []
    station = Station({"direct": port}, Engine(load_policy(), keys=keys, allow_unsigned=unsigned), None,
                      WallClock(), keys=keys, ack_timeout_s=timeout)
    try:
        problems = station.open(strict=True)
    except LinkError as exc:
        problems = [str(exc)]
    if problems:  # direct mode does not wait for a port to appear: say why it is not usable now
        station.close()
        raise LinkError(problems[0])
    try:
        rid = station.send_command(node, code, param, value, link="direct")
        while rid not in station.results:
            station.poll(0.05)
        return station.results[rid]
    finally:
        station.close()


def send_direct(args, code: int, param: int, value: int) -> int:
    try:
        result = command_direct(args.port, args.node, code, param, value, args.key_file, args.timeout)
    except LinkError as exc:
        print(f"safehaven send: {exc}", file=sys.stderr)
        return 4
    return report(result)


def command_via_db(db: str, node: int, code: int, param: int, value: int, timeout: float) -> dict:
    """Queue one command for the monitor that records into db; its ack, a timeout, or status
    "no_database" / "not_picked_up" as a result dict."""
    if not Path(db).exists():
        return {"node_id": node, "status": "no_database"}
    store = Store(db)
    try:
        cmd_id = store.queue_command(node, code, param, value)
        deadline = time.monotonic() + timeout + 2.0  # the monitor's own ack timeout, plus its poll
        while time.monotonic() < deadline:
            row = store.command_row(cmd_id)
            if row and row["status"] not in ("queued", "sent"):
                return {"node_id": node, "status": row["status"], "value": row["result_value"],
                        "message": row["message"]}
            time.sleep(0.05)
        cur = store.db.execute("UPDATE commands SET status = 'abandoned' WHERE id = ? AND status = 'queued'",
                               (cmd_id,))
        return {"node_id": node, "status": "not_picked_up" if cur.rowcount else "timeout"}
    finally:
        store.close()


def send_via_db(args, code: int, param: int, value: int) -> int:
    result = command_via_db(args.db, args.node, code, param, value, args.timeout)
    if result["status"] == "no_database":
        print(f"safehaven send: {args.db}: no database; start `safehaven monitor --db {args.db}` or use --port",
              file=sys.stderr)
        return 4
    if result["status"] == "not_picked_up":
        print(f"safehaven send: no monitor picked the command up from {args.db}; is `safehaven monitor` "
              "running with this --db?", file=sys.stderr)
        return 3
    return report(result)


def run(args: argparse.Namespace) -> int:
    try:
        if not 1 <= args.node <= 255:
            raise ValueError(f"node {args.node}: node IDs are 1-255")
        code, param, value = encode_args(args.command, args.args)
    except ValueError as exc:
        print(f"safehaven send: {exc}", file=sys.stderr)
        return 2
    try:
        return send_direct(args, code, param, value) if args.port else send_via_db(args, code, param, value)
    except StoreError as exc:
        print(f"safehaven send: {exc}", file=sys.stderr)
        return 4
    except (ValueError, OSError) as exc:
        print(f"safehaven send: {exc}", file=sys.stderr)
        return 4
