"""The bundled model library: ``rtmm_opt/data/models/<NAME>.yaml`` (``models/`` in a checkout).

``RTMM_MODELS_DIR`` points the library at another directory. :func:`get_model` also takes a
path to a model YAML file or to a ``.m`` file holding exactly one network. Loaded models are
cached: a :class:`ModelGraph` is treated as immutable everywhere in the project.
"""

from __future__ import annotations

import os
from pathlib import Path

from rtmm_opt.errors import InputError
from rtmm_opt.io import bundled
from rtmm_opt.io.strict import suggest
from rtmm_opt.workload.graph import ModelGraph
from rtmm_opt.workload.maestro import parse_maestro
from rtmm_opt.workload.modelfile import load_model

MODELS_DIR_ENV = "RTMM_MODELS_DIR"
_MODEL_SUFFIXES = (".yaml", ".yml")

# (resolved path, modification time, size) -> model; a changed file is read again.
_cache: dict[tuple[str, int, int], ModelGraph] = {}


def models_dir() -> Path:
    """The library directory: ``$RTMM_MODELS_DIR`` if set, else the package's bundled models."""
    override = os.environ.get(MODELS_DIR_ENV)
    if override:
        return Path(override)
    return bundled.models_dir()


def list_models() -> list[str]:
    """Names of the bundled models, sorted."""
    directory = models_dir()
    if not directory.is_dir():
        return []
    return sorted(path.stem for path in directory.iterdir() if path.suffix in _MODEL_SUFFIXES)


def _looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or text.endswith((*_MODEL_SUFFIXES, ".m"))


def _load_file(path: Path) -> ModelGraph:
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise InputError("no such file", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc}", file=path) from None
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    if path.suffix == ".m":
        parsed = parse_maestro(path)
        if len(parsed.networks) != 1:
            raise InputError(
                f"a model file needs exactly one network, this one has {len(parsed.networks)} "
                f"({', '.join(parsed.names)}); import it with 'rtmm models import' to split it",
                file=path,
            )
        model = parsed.networks[0].graph(source=str(path))
    else:
        model = load_model(path)
    _cache[key] = model
    return model


def get_model(name_or_path: str | Path) -> ModelGraph:
    """A bundled model by name, or the model in a YAML / single-network ``.m`` file."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or _looks_like_path(text):
        return _load_file(Path(name_or_path))
    for suffix in _MODEL_SUFFIXES:
        candidate = models_dir() / f"{text}{suffix}"
        if candidate.is_file():
            return _load_file(candidate)
    names = list_models()
    if Path(text).is_file():  # a file in the working directory without a telling suffix
        return _load_file(Path(text))
    available = ", ".join(names) if names else f"none (no models in {models_dir()})"
    raise InputError(
        f"unknown model '{text}'{suggest(text, names)}; bundled models: {available}",
        field="model",
    )


def clear_cache() -> None:
    """Forget loaded models (for tests that rewrite files within one clock tick)."""
    _cache.clear()
