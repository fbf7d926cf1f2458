"""The shape of the code: dependencies point one way (firmware <- protocol -> ground <- hil) and no cycle.

Read from the source with ast, function-local imports included (they hid the cycles before).
"""
import ast
import functools
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("ground", "hil", "protocol")   # installed as safehaven.<name>


def _module(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return "safehaven." + ".".join(parts)


def _imports(path: Path, name: str):
    """(imported module, imported names) for every import statement in the file, resolved to full names."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, []


@functools.cache
def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for d in PACKAGES for p in (REPO / d).rglob("*.py")}
    graph = {}
    for name, path in files.items():
        deps = set()
        for module, names in _imports(path, name):
            deps.update(m for m in [module] + [f"{module}.{n}" for n in names] if m in files and m != name)
        graph[name] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    assert len(graph) > 50
    assert _cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _top_names(folder: str) -> dict[str, set[str]]:
    out = {}
    for path in (REPO / folder).rglob("*.py"):
        tops = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                tops.update(a.name.split(".")[0] for a in node.names)
        out[str(path.relative_to(REPO))] = tops
    return out


def test_firmware_and_protocol_import_neither_the_ground_nor_the_bench():
    for folder in ("firmware", "protocol"):
        for path, tops in _top_names(folder).items():
            assert not tops & {"hil", "ground", "safehaven", "vmhost"}, path


def test_the_ground_imports_nothing_from_the_bench():
    for path, tops in _top_names("ground").items():
        assert "hil" not in tops, path
    graph = _graph()
    for name, deps in graph.items():
        if name.startswith("safehaven.ground."):
            assert not [d for d in deps if d.startswith("safehaven.hil")], name


def test_no_module_imports_a_private_name_of_another():
    for folder in PACKAGES:
        for path in (REPO / folder).rglob("*.py"):
            name = _module(path)
            for module, names in _imports(path, name):
                private = [n for n in names if n.startswith("_") and not n.startswith("__")]
                assert not private, f"{path.relative_to(REPO)} imports {private} from {module}"


def test_test_modules_do_not_import_each_other():
    """Shared test helpers live in helper modules (nodebench.py, vboard_util.py) or conftest fixtures."""
    for path in sorted((REPO / "tests").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                assert not node.module.startswith("test_"), f"{path.name} imports {node.module}"
            elif isinstance(node, ast.Import):
                assert not [a for a in node.names if a.name.startswith("test_")], path.name
