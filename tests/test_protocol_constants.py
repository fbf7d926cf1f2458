"""Every protocol constant is defined once, in protocol/messages.py; the rest of the code imports it.

A source scan (ast) of the node, the ground, the benches and the tools finds (a) a module- or class-level
assignment to a name that messages.py defines, and (b) a literal copy of one of its name tables (states,
events, acks, commands, boards, reset causes, status bits, heartbeat modes), in any letter case.
The copies that remain are derived from the table; the last test ties them to it.
"""
import ast
from pathlib import Path

from safehaven.ground import dashboard
from safehaven.hil import run, scenario
from safehaven.protocol import messages as M

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("firmware", "ground", "hil", "bench", "tools")
DEFINED = {name for name, v in vars(M).items() if name.isupper() and not name.startswith("_")}
TABLES = {
    "STATE_NAMES": M.STATE_NAMES, "EVENT_NAMES": M.EVENT_NAMES, "ACK_NAMES": M.ACK_NAMES,
    "COMMAND_NAMES": tuple(M.COMMAND_NAMES.values()), "BOARD_NAMES": M.BOARD_NAMES, "RESET_NAMES": M.RESET_NAMES,
    "STATUS_BITS": tuple(name for _bit, name in M.STATUS_BITS), "HEARTBEAT_MODE_NAMES": M.HEARTBEAT_MODE_NAMES,
    "message names": tuple(name for name, _fields in M.MESSAGES.values()),
}


def _sources():
    for folder in SCANNED:
        for path in sorted((REPO / folder).rglob("*.py")):
            yield path.relative_to(REPO), ast.parse(path.read_text())


def _number(node) -> bool:
    """An integer literal, const(<int>), or arithmetic of them: what a protocol code is written as."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int) and not isinstance(node.value, bool)
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "const" and len(node.args) == 1:
        return _number(node.args[0])
    if isinstance(node, ast.BinOp):
        return _number(node.left) and _number(node.right)
    if isinstance(node, ast.UnaryOp):
        return _number(node.operand)
    return False


def _redeclared(tree: ast.Module) -> list[str]:
    """Protocol names given a number of their own (the ground's state NOMINAL = "NOMINAL" is another thing)."""
    found = []
    for scope in [tree] + [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]:
        for node in scope.body:
            if isinstance(node, ast.Assign):
                pairs = [(t, node.value) for t in node.targets]
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                pairs = [(node.target, node.value)]
            else:
                continue
            for target, value in pairs:
                if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
                    pairs += list(zip(target.elts, value.elts))
                elif isinstance(target, ast.Name) and target.id in DEFINED and _number(value):
                    found.append(f"{target.id} (line {node.lineno})")
    return found


def _strings(node) -> list[str] | None:
    """The strings of a literal tuple/list/set, or of a dict's keys or values."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = node.elts
    elif isinstance(node, ast.Dict):
        for items in (node.keys, node.values):
            if items and all(isinstance(x, ast.Constant) and isinstance(x.value, str) for x in items):
                return [x.value for x in items]
        return None
    else:
        return None
    if items and all(isinstance(x, ast.Constant) and isinstance(x.value, str) for x in items):
        return [x.value for x in items]
    return None


def _copied_tables(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        strings = _strings(node)
        if not strings or len(strings) < 3:
            continue
        lowered = {s.lower() for s in strings}
        for name, table in TABLES.items():
            if lowered == set(table):
                found.append(f"{name} (line {node.lineno})")
    return found


def test_no_protocol_constant_is_declared_again():
    found = {str(path): bad for path, tree in _sources() if (bad := _redeclared(tree))}
    assert found == {}


def test_no_protocol_name_table_is_copied():
    found = {str(path): bad for path, tree in _sources() if (bad := _copied_tables(tree))}
    assert found == {}


def test_the_scan_sees_a_copy():
    tree = ast.parse('NOMINAL = 0\nclass X:\n    ST_WARMUP = const(64)\nLEAK, RAPID = "LEAK", 3\nNAMES = {0: "NOMINAL", 1: "Suspect", 2: "leak", '
                     '3: "rapid", 4: "fault"}\nB = ("unknown", "rp2040", "rp2350", "esp32", "virtual")\n')
    assert _redeclared(tree) == ["NOMINAL (line 1)", "RAPID (line 4)", "ST_WARMUP (line 3)"]
    assert _copied_tables(tree) == ["STATE_NAMES (line 5)", "BOARD_NAMES (line 6)"]


def test_derived_copies_follow_the_table():
    assert [scenario.NODE_RANK[s.upper()] for s in M.STATE_NAMES] == [M.NOMINAL, M.SUSPECT, M.LEAK, M.RAPID, M.FAULT]
    assert scenario.NODE_STATES == [s.upper() for s in M.STATE_NAMES]
    assert run.UNTRUSTED_PRESSURE == M.ST_BMP_FAULT | M.ST_OUT_OF_RANGE
    assert dashboard.STATE_NAMES is M.STATE_NAMES
