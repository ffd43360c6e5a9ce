"""The data that ships inside the package: bundled models, scenarios and cost tables.

The files live in ``rtmm_opt/data/`` (``models/``, ``instances/``, ``costs/``; a source checkout
links them at its top level), so a wheel carries them and :func:`data_root` finds them through
``importlib.resources`` wherever the package is installed, editable or not.

A WORKLOAD argument is resolved by :func:`resolve_workload`: a path that exists is taken as it
is; anything else is looked up among the bundled scenarios, by name (``VR_gaming``,
``xrbench/VR_gaming``, ``probability_sweep/VR_gaming_25p``) or by the path it has in a checkout
(``instances/xrbench/VR_gaming.yaml``). So the README's commands work from any directory::

    resolve_workload("instances/examples/ar_headset.yaml")   # the file, in a checkout or not
    resolve_workload("ar_headset")                           # the same file
    list_scenarios()["xrbench/VR_gaming"]                     # its path
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from rtmm_opt.errors import InputError
from rtmm_opt.io.strict import suggest

SCENARIO_SUFFIXES = (".yaml", ".yml")
# The folder that holds the bundled scenarios, as a checkout's paths spell it.
SCENARIOS_FOLDER = "instances"


def data_root() -> Path:
    """``rtmm_opt/data`` of the installed package."""
    root = resources.files("rtmm_opt").joinpath("data")
    if not isinstance(root, Path):  # wheels install unpacked; only a zip import gets here
        raise RuntimeError(f"the bundled data needs an unpacked install of rtmm_opt, not {root}")
    return root


def models_dir() -> Path:
    """The bundled model YAML files, one per model (``<NAME>.yaml``)."""
    return data_root() / "models"


def scenarios_dir() -> Path:
    """The bundled scenario YAML files (``xrbench/``, ``examples/``)."""
    return data_root() / SCENARIOS_FOLDER


def costs_dir() -> Path:
    """The bundled per-layer cost tables."""
    return data_root() / "costs"


def list_scenarios() -> dict[str, Path]:
    """Bundled scenarios by name, sorted: the path under ``instances/`` without its suffix
    (``xrbench/VR_gaming``) → the file."""
    root = scenarios_dir()
    if not root.is_dir():
        return {}
    files = sorted(p for p in root.rglob("*") if p.suffix in SCENARIO_SUFFIXES and p.is_file())
    return {p.relative_to(root).with_suffix("").as_posix(): p for p in files}


def _scenario_key(text: str) -> str:
    """A WORKLOAD spelling as a scenario name: ``instances/xrbench/VR_gaming.yaml`` →
    ``xrbench/VR_gaming``."""
    key = text.replace("\\", "/")
    while key.startswith("./"):
        key = key[2:]
    key = key.removeprefix(f"{SCENARIOS_FOLDER}/")
    for suffix in SCENARIO_SUFFIXES:
        key = key.removesuffix(suffix)
    return key


def find_scenario(text: str) -> Path | None:
    """The bundled scenario ``text`` names, or None.

    ``text`` is the scenario's name or any trailing part of it on a ``/``
    (``xrbench/probability_sweep/VR_gaming_25p``, ``probability_sweep/VR_gaming_25p``,
    ``VR_gaming_25p``), optionally with ``instances/`` before it and ``.yaml`` after it.
    A part that several scenarios end with is refused as ambiguous.
    """
    key = _scenario_key(text)
    if not key or key.startswith("/"):
        return None
    scenarios = list_scenarios()
    matches = [name for name in scenarios if name == key or name.endswith(f"/{key}")]
    if len(matches) > 1:
        raise InputError(
            f"'{text}' names several bundled scenarios ({', '.join(matches)}); give more of its "
            "path",
            field="workload",
        )
    return scenarios[matches[0]] if matches else None


def short_names(names: list[str]) -> list[str]:
    """Each scenario name's last part where that part is unique, else the whole name."""
    stems = [name.rsplit("/", 1)[-1] for name in names]
    return [
        stem if stems.count(stem) == 1 else name for stem, name in zip(stems, names, strict=True)
    ]


def resolve_workload(workload: str | Path) -> Path:
    """The file a WORKLOAD argument stands for (see the module docstring).

    An existing path wins over a bundled scenario of the same name. Neither is an
    :class:`InputError`: ``no such file`` naming a path, or ``is neither a file nor a bundled
    scenario`` in the field ``workload`` for a bare name, each with the nearest bundled scenario
    as a suggestion.
    """
    path = Path(workload)
    if path.exists():
        return path
    text = str(workload)
    found = find_scenario(text)
    if found is not None:
        return found
    if path.is_absolute():
        raise InputError("no such file", file=text)
    names = list(list_scenarios())
    if "/" in text or "\\" in text or path.suffix:  # a path: suggest a path
        spelled = [f"{SCENARIOS_FOLDER}/{name}{SCENARIO_SUFFIXES[0]}" for name in names]
        hint = suggest(text.replace("\\", "/").removeprefix("./"), spelled)
        raise InputError(f"no such file, nor a bundled scenario{hint}", file=text)
    shorts = short_names(names)
    hint = suggest(text, [*names, *shorts])
    available = ", ".join(sorted(shorts, key=str.lower)) if shorts else "none"
    raise InputError(
        f"'{text}' is neither a file nor a bundled scenario{hint}; bundled scenarios: "
        f"{available} (see 'rtmm scenarios list')",
        field="workload",
    )
