"""Imports point one way (STYLE.md): lower layers never import higher ones.

Layer order, lowest first. A module may import from its own layer or any lower one. Metrics sit
below the engine and the oracle: they need only an Instance and a Schedule, and both the oracle
(objective = recomputed metric) and adaptive schedulers (DREAM's UXCost) use them. Schedulers and
the oracle never import each other: the oracle takes a heuristic's Schedule as a hint.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "rtmm_opt"

LAYERS = [
    {"errors", "io"},
    {"workload", "hardware"},
    {"scenario"},
    {"instance"},
    {"schedule"},
    {"metrics"},
    {"engine", "oracle"},
    {"schedulers"},
    {"studies", "viz", "validation"},
    {"cli", "__main__"},
]
FORBIDDEN = {("schedulers", "oracle"), ("oracle", "schedulers")}
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def top_level(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "rtmm_opt" else None


def test_imports_point_one_way():
    problems = []
    for file in sorted(PACKAGE.rglob("*.py")):
        relative = file.relative_to(PACKAGE)
        owner = relative.parts[0].removesuffix(".py")
        if owner == "__init__":
            continue
        assert owner in RANK, f"{relative}: subpackage '{owner}' has no place in the layer order"
        for node in ast.walk(ast.parse(file.read_text())):
            modules = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            for module in modules:
                target = top_level(module)
                if target and target != "__init__" and RANK.get(target, -1) > RANK[owner]:
                    problems.append(f"{relative}:{node.lineno} imports {module} (a higher layer)")
                if (owner, target) in FORBIDDEN:
                    problems.append(f"{relative}:{node.lineno} imports {module} (forbidden)")
    assert not problems, "\n".join(problems)
