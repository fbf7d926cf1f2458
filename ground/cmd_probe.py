"""`safehaven probe --port P --board NAME`: bring-up checks on a board, as a table; exit 1 on any failure.

    safehaven probe --port /dev/ttyACM0 --board pico [--node-id 3 --key-file keys.json]

Runs on a node in maintenance mode or a board without firmware (a running node is first sent the
`maintenance` command when --node-id is given, as flash does). Over the REPL (mpremote), with plain
machine.I2C on the board file's pins, so it works before the firmware is flashed:
  micropython    version against the board file's min_micropython, and the .mpy architecture
  board file     /board.json on the board equals boards/NAME.json (when flashed)
  reset cause    machine.reset_cause() (a watchdog reset here means the node hung or was interrupted)
  free heap      gc.mem_free() after a collection, at least 32 KB
  i2c scan       the BMP280 (0x76 or 0x77) and the SCD4x (0x62) answer
  bmp280         chip id 0x58; calibration words plausible (dig_T1, dig_P1 non-zero, not blank NVM);
                 with the firmware's driver on the board, one reading inside 300..1100 hPa, -40..85 degC
  scd4x serial   the 48-bit serial number (periodic measurement stopped first)
  scd4x self-test  the sensor's own 10 s self-test (0 = passed)
The node is reset afterwards (back to normal) unless --stay is given.
"""
from __future__ import annotations

import argparse
import json
import sys

from safehaven.ground import boardrepl
from safehaven.ground.cmd_flash import FlashError, PROBE, board_names, check_board_answer, load_board

HELP = "bring-up checks on a board in maintenance mode: I2C scan, chip ids, SCD4x self-test, heap, versions"
DESCRIPTION = __doc__
MIN_HEAP = 32 * 1024
RESET_NAMES = {1: "power on", 2: "hard reset", 3: "watchdog", 4: "deep sleep", 5: "soft reset"}

ON_BOARD = """import gc, json, machine, time, sys
i2c = machine.I2C(%(id)d, sda=machine.Pin(%(sda)d), scl=machine.Pin(%(scl)d), freq=%(freq)d)
def out(k, v):
    print(json.dumps([k, v]))
"""
BASICS = """gc.collect()
out('heap', gc.mem_free())
out('reset', machine.reset_cause())
try:
    out('board', json.load(open('/board.json')))
except (OSError, ValueError):
    out('board', None)
out('scan', i2c.scan())
"""
BMP = """a = 0x77 if 0x77 in i2c.scan() and 0x76 not in i2c.scan() else 0x76
out('bmp_addr', a)
try:
    out('bmp_id', i2c.readfrom_mem(a, 0xD0, 1)[0])
    out('bmp_calib', list(i2c.readfrom_mem(a, 0x88, 24)))
except OSError as e:
    out('bmp_error', str(e))
try:
    from drivers.bmp280 import BMP280
    b = BMP280(i2c, a)
    time.sleep_ms(b.max_measurement_ms + 5)       # the first conversion in normal mode
    out('bmp_read', b.read())
except ImportError:
    out('bmp_read', None)
except Exception as e:
    out('bmp_read_error', str(e))
"""
SCD = """def cmd(c, wait_ms, n):
    i2c.writeto(0x62, bytes([c >> 8, c & 0xFF]))
    time.sleep_ms(wait_ms)
    return i2c.readfrom(0x62, n) if n else b''
try:
    cmd(0x3F86, 500, 0)
    out('scd_serial', list(cmd(0x3682, 1, 9)))
except OSError as e:
    out('scd_error', str(e))
"""
SCD_TEST = """try:
    out('scd_selftest', list(cmd(0x3639, 10000, 3)))
except OSError as e:
    out('scd_error', str(e))
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--port", required=True, help="serial port of the board (its REPL)")
    p.add_argument("--board", required=True, help="board file name: " + ", ".join(board_names()))
    p.add_argument("--node-id", type=int, help="node id, to send a running node the maintenance command")
    p.add_argument("--key-file", help="key file, when the node signs (for the maintenance command)")
    p.add_argument("--db", metavar="F", default="safehaven.sqlite",
                   help="a running monitor's database, used when it holds the port")
    p.add_argument("--stay", action="store_true", help="leave the board at its REPL afterwards (no reset)")


def _crc8(data: bytes) -> int:
    c = 0xFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = ((c << 1) ^ 0x31) & 0xFF if c & 0x80 else (c << 1) & 0xFF
    return c


def _words(raw: list[int]) -> list[int] | None:
    """Sensirion words (2 bytes + CRC-8 each); None if a CRC is wrong."""
    out = []
    for i in range(0, len(raw), 3):
        if _crc8(bytes(raw[i:i + 2])) != raw[i + 2]:
            return None
        out.append(raw[i] << 8 | raw[i + 1])
    return out


def _collect(session, code: str, timeout: float = 30) -> dict:
    got: dict = {}
    for line in session.exec(code, timeout=timeout).splitlines():
        try:
            k, v = json.loads(line)
        except ValueError:
            continue
        got[k] = v
    return got


def checks(got: dict, board: dict, answer: str) -> list[tuple[str, bool, str]]:
    """(check, passed, what was seen) for everything probe reports."""
    rows = []
    major, minor, _ = (answer.split() + ["?", "?", "?"])[:3]
    try:
        check_board_answer(answer, board)
        rows.append(("micropython", True, f"{major}.{minor} (board file needs >= {board['min_micropython']}), "
                                          f"arch {board['arch']}"))
    except FlashError as e:
        rows.append(("micropython", False, str(e)))
    on_board = got.get("board")
    mine = {k: v for k, v in board.items() if k != "board_code"}
    if on_board is None:
        rows.append(("board file", True, "no /board.json yet (not flashed)"))
    else:
        rows.append(("board file", on_board == mine, f"/board.json is {on_board.get('name')!r}"
                     + ("" if on_board == mine else f", differs from boards/{board['name']}.json")))
    cause = got.get("reset")
    rows.append(("reset cause", True, RESET_NAMES.get(cause, f"code {cause}") if isinstance(cause, int) else f"code {cause}"))
    heap = got.get("heap", 0)
    rows.append(("free heap", heap >= MIN_HEAP, f"{heap // 1024} KB (need {MIN_HEAP // 1024} KB)"))
    scan = got.get("scan", [])
    bmp_ok = 0x76 in scan or 0x77 in scan
    pins = f"SDA {board['i2c']['sda']}, SCL {board['i2c']['scl']}"
    rows.append(("i2c scan", bmp_ok and 0x62 in scan,
                 (" ".join(f"0x{a:02x}" for a in scan) or "nothing answers") + f" ({pins})"))
    rows.append(_bmp(got))
    rows.extend(_scd(got))
    return rows


def _bmp(got: dict) -> tuple[str, bool, str]:
    if "bmp_error" in got or "bmp_id" not in got:
        return ("bmp280", False, f"no answer at 0x{got.get('bmp_addr', 0x76):02x} ({got.get('bmp_error', '?')})")
    if got["bmp_id"] != 0x58:
        return ("bmp280", False, f"chip id 0x{got['bmp_id']:02x} is not a BMP280 (0x58)")
    c = got["bmp_calib"]
    t1, p1 = c[0] | c[1] << 8, c[6] | c[7] << 8
    if not t1 or not p1 or len(set(c)) <= 1:
        return ("bmp280", False, f"calibration implausible (dig_T1 {t1}, dig_P1 {p1}): blank or bad NVM")
    seen = f"chip id 0x58, dig_T1 {t1}, dig_P1 {p1}"
    if "bmp_read_error" in got:
        return ("bmp280", False, f"{seen}; reading failed: {got['bmp_read_error']}")
    if got.get("bmp_read"):
        t, p = got["bmp_read"]
        ok = 30000 <= p <= 110000 and -40 <= t <= 85
        return ("bmp280", ok, f"{seen}; {p / 100:.1f} hPa, {t:.1f} degC")
    return ("bmp280", True, seen + " (no driver on the board: no reading)")


def _scd(got: dict) -> list[tuple[str, bool, str]]:
    if "scd_serial" not in got:
        return [("scd4x serial", False, f"no answer at 0x62 ({got.get('scd_error', '?')})")]
    w = _words(got["scd_serial"])
    rows = [("scd4x serial", w is not None, f"0x{w[0]:04x}{w[1]:04x}{w[2]:04x}" if w else "CRC error")]
    if "scd_selftest" not in got:
        rows.append(("scd4x self-test", False, f"no answer ({got.get('scd_error', '?')})"))
    else:
        t = _words(got["scd_selftest"])
        rows.append(("scd4x self-test", t == [0], "passed (10 s)" if t == [0] else f"failed: {t}"))
    return rows


def table(rows: list[tuple[str, bool, str]]) -> str:
    w = max(len(r[0]) for r in rows)
    lines = [f"{'check':{w}}  result  seen", f"{'-' * w}  ------  ----"]
    lines += [f"{name:{w}}  {'ok' if ok else 'FAIL':6}  {seen}" for name, ok, seen in rows]
    return "\n".join(lines)


def run(args) -> int:
    try:
        board = load_board(args.board)
    except FlashError as e:
        print(f"safehaven probe: {e}", file=sys.stderr)
        return 2
    say = (lambda text: print(f"safehaven probe: {text}", file=sys.stderr, flush=True))
    try:
        with boardrepl.open_session(args.port, args.node_id, args.key_file, args.db, say) as s:
            answer = s.exec(PROBE)
            head = ON_BOARD % board["i2c"]
            got = _collect(s, head + BASICS)
            got.update(_collect(s, head + BMP))
            say("SCD4x serial number and self-test (10 s)")
            got.update(_collect(s, head + SCD + SCD_TEST, timeout=30))
            if not args.stay:
                s.reset()
    except boardrepl.BoardError as e:
        print(f"safehaven probe: {e}", file=sys.stderr)
        return 1
    rows = checks(got, board, answer)
    print(table(rows))
    failed = [r[0] for r in rows if not r[1]]
    if failed:
        print(f"safehaven probe: {len(failed)} check(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
