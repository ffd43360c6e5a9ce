"""The package's architecture, checked (docs/design.md, "Layers").

1. **Imports point one way**: lower layers never import higher ones. Layer order, lowest first;
   a module may import from its own layer or any lower one. Metrics sit below the engine and the
   oracle: they need only an Instance and a Schedule, and both the oracle (objective =
   recomputed metric) and adaptive schedulers (DREAM's UXCost) use them. Schedulers and the
   oracle never import each other: the oracle takes a heuristic's Schedule as a hint.
2. **No import cycle** between modules, function-local imports included (an import under
   ``if TYPE_CHECKING:`` is for annotations only and does not count). A package's
   ``__init__`` counts as a module: a submodule that imports its own package's ``__init__``,
   which imports the submodule back, is a cycle.
3. **No private imports**: no module imports another module's ``_private`` name, nor reads one
   through a module it imported (``module._name``).
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
from support import ROOT

PACKAGE = ROOT / "rtmm_opt"

LAYERS = [
    {"errors", "io"},
    {"workload", "hardware"},
    {"scenario"},
    {"instance"},
    {"schedule"},
    {"metrics"},
    {"engine", "oracle"},
    {"schedulers"},
    {"studies", "viz", "validation", "rl"},
    {"cli", "__main__"},
]
FORBIDDEN = {("schedulers", "oracle"), ("oracle", "schedulers")}
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def top_level(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "rtmm_opt" else None


def module_name(file: Path) -> str:
    parts = list(file.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(f): f for f in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def absolute(module: str | None, level: int, importer: str, is_package: bool) -> str:
    if level == 0:
        return module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def imports(file: Path) -> Iterator[tuple[int, str, str | None]]:
    """(line, module, name) of every runtime import in ``file``; name is None for ``import m``.
    ``from package import submodule`` is reported as an import of the submodule."""
    importer = module_name(file)
    for node in runtime_nodes(ast.parse(file.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            source = absolute(node.module, node.level, importer, file.name == "__init__.py")
            for alias in node.names:
                if f"{source}.{alias.name}" in MODULES:
                    yield node.lineno, f"{source}.{alias.name}", None
                else:
                    yield node.lineno, source, alias.name


def test_imports_point_one_way():
    problems = []
    for file in MODULES.values():
        relative = file.relative_to(PACKAGE)
        owner = relative.parts[0].removesuffix(".py")
        if owner == "__init__":
            continue
        assert owner in RANK, f"{relative}: subpackage '{owner}' has no place in the layer order"
        for line, module, _ in imports(file):
            target = top_level(module)
            if target and target != "__init__" and RANK.get(target, -1) > RANK[owner]:
                problems.append(f"{relative}:{line} imports {module} (a higher layer)")
            if (owner, target) in FORBIDDEN:
                problems.append(f"{relative}:{line} imports {module} (forbidden)")
    assert not problems, "\n".join(problems)


def import_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for name, file in MODULES.items():
        graph.add_node(name)
        for line, module, _ in imports(file):
            if module in MODULES and module != name:
                graph.add_edge(name, module, line=line)
    return graph


def test_no_import_cycles():
    graph = import_graph()
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    described = []
    for component in cycles:
        cycle = nx.find_cycle(graph.subgraph(component))
        described.append(
            " → ".join(f"{a} (line {graph.edges[a, b]['line']})" for a, b in cycle)
            + f" → {cycle[0][0]}"
        )
    assert not described, "import cycles:\n" + "\n".join(described)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_imports(files: list[Path]) -> list[str]:
    """Every import of another module's private name in ``files``, and every read of one
    through an imported module (``module._name``)."""
    problems = []
    for file in files:
        where = file.relative_to(ROOT)
        tree = ast.parse(file.read_text())
        aliases = {}
        for line, module, name in imports(file):
            if not module.startswith("rtmm_opt"):
                continue
            if name is not None and _private(name):
                problems.append(f"{where}:{line} imports {module}.{name}")
            if any(_private(part) for part in module.split(".")):
                problems.append(f"{where}:{line} imports {module}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("rtmm_opt"):
                        aliases[alias.asname or alias.name.split(".")[0]] = alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    if f"{node.module}.{alias.name}" in MODULES:
                        aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
            ):
                problems.append(f"{where}:{node.lineno} reads {aliases[node.value.id]}.{node.attr}")
    return problems


def test_no_module_imports_another_modules_private_names():
    files = [*MODULES.values(), *sorted((ROOT / "scripts").glob("*.py")),
             *sorted((ROOT / "benchmarks").glob("*.py")), *sorted((ROOT / "tests").rglob("*.py"))]  # fmt: skip
    problems = private_imports(files)
    assert not problems, "\n".join(problems)


def test_the_checks_catch_what_they_claim(tmp_path, monkeypatch):
    """The cycle finder and the private-name finder on a made-up package of three modules."""
    package = tmp_path / "rtmm_opt"
    (package / "a").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a" / "__init__.py").write_text("from rtmm_opt.a.one import f\n")
    (package / "a" / "one.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from rtmm_opt.a import two\n"
        "def f():\n    from rtmm_opt.a.two import _g\n    return _g()\n"
    )
    (package / "a" / "two.py").write_text(
        "from rtmm_opt.a import one\ndef _g():\n    return 1\nx = one._hidden\n"
    )
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    monkeypatch.setattr(__import__(__name__), "PACKAGE", package)
    modules = {module_name(f): f for f in sorted(package.rglob("*.py"))}
    monkeypatch.setattr(__import__(__name__), "MODULES", modules)
    graph = import_graph()
    assert graph.has_edge("rtmm_opt.a.one", "rtmm_opt.a.two")  # the function-local import
    assert graph.has_edge("rtmm_opt.a.two", "rtmm_opt.a.one")
    assert [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1] == [
        ["rtmm_opt.a.one", "rtmm_opt.a.two"]
    ]
    found = [(module, name) for _, module, name in imports(modules["rtmm_opt.a.one"])]
    # the function-local import is there; the TYPE_CHECKING one is not
    assert [f for f in found if f[0].startswith("rtmm_opt")] == [("rtmm_opt.a.two", "_g")]
    assert private_imports([package / "a" / "one.py", package / "a" / "two.py"]) == [
        "rtmm_opt/a/one.py:5 imports rtmm_opt.a.two._g",
        "rtmm_opt/a/two.py:4 reads rtmm_opt.a.one._hidden",
    ]
