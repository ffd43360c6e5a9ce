"""How a model is cut into operations (:class:`Granularity`) and the runs of layers it makes
(:class:`Segment`); :mod:`rtmm_opt.workload.graph` cuts model graphs with them. Apart from the
graphs, so that options can be parsed without loading NetworkX."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rtmm_opt.errors import InputError


@dataclass(frozen=True)
class Segment:
    """A run of consecutive layers (in topological order) executed as one operation."""

    index: int
    layers: tuple[int, ...]

    @property
    def label(self) -> str:
        first, last = self.layers[0], self.layers[-1]
        return f"L{first}" if first == last else f"L{first}-{last}"


@dataclass(frozen=True)
class Granularity:
    """How a job is cut into operations: ``model`` (one), ``block:N`` (≤ N), ``layer`` (each)."""

    kind: str
    blocks: int = 0

    @classmethod
    def parse(cls, text: str) -> Granularity:
        text = str(text).strip()
        if text in ("model", "layer"):
            return cls(text)
        match = re.fullmatch(r"block:(\d+)", text)
        if match and int(match.group(1)) >= 1:
            return cls("block", int(match.group(1)))
        raise InputError(
            f"invalid granularity '{text}'; expected model, layer or block:N with N >= 1",
            field="granularity",
        )

    def __str__(self) -> str:
        return f"block:{self.blocks}" if self.kind == "block" else self.kind
