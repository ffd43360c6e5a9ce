"""One operator of a model: type, MAESTRO-style dimensions and derived work/traffic figures.

Dimensions follow MAESTRO (and XRBench's ``.m`` files): ``N`` batch, ``K`` output channels,
``C`` input channels, ``Y``/``X`` the **input** height/width (after any padding), ``R``/``S`` the
filter height/width. The output is ``Y' = (Y - R) // stride_y + 1`` and likewise for X, clamped at
0 for the few layers whose filter is larger than their input (MAESTRO still costs those).

How each type maps onto the seven dimensions:

* ``conv``: a dense convolution (grouped convs count ``C`` per group).
* ``dwconv``: depthwise; ``K`` channels, ``C`` is 1 per group (MACs do not multiply by C).
* ``fc``/``gemm``: ``Y`` rows (tokens) × ``C`` inputs → ``K`` outputs; R = S = X = 1.
* ``matmul``/``attention``: an activation×activation product, ``Y`` × ``C`` times ``C`` × ``K``
  (no weights).
* ``pool``, ``elementwise``, ``norm``, ``activation``, ``reshape``: no MACs; they move data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.io.limits import check_quantity


class LayerType(StrEnum):
    CONV = "conv"
    DWCONV = "dwconv"
    FC = "fc"
    MATMUL = "matmul"
    POOL = "pool"
    ELEMENTWISE = "elementwise"
    NORM = "norm"
    ACTIVATION = "activation"
    RESHAPE = "reshape"

    @classmethod
    def parse(cls, name: str) -> LayerType:
        """A type from its name or a common alias (``gemm``, ``linear``, ``attention``, ...)."""
        key = name.strip().lower()
        key = _ALIASES.get(key, key)
        try:
            return cls(key)
        except ValueError:
            from rtmm_opt.io.strict import suggest

            valid = sorted({t.value for t in cls} | set(_ALIASES))
            raise InputError(
                f"unknown layer type {excerpt(name)}{suggest(key, valid)}; "
                f"valid: {', '.join(valid)}"
            ) from None

    @property
    def has_weights(self) -> bool:
        return self in (LayerType.CONV, LayerType.DWCONV, LayerType.FC)

    @property
    def computes(self) -> bool:
        return self in (LayerType.CONV, LayerType.DWCONV, LayerType.FC, LayerType.MATMUL)


_ALIASES = {
    "gemm": "fc",
    "linear": "fc",
    "dense": "fc",
    "attention": "matmul",
    "bmm": "matmul",
    "depthwise": "dwconv",
    "dsconv": "dwconv",
    "maxpool": "pool",
    "avgpool": "pool",
    "add": "elementwise",
    "mul": "elementwise",
    "concat": "reshape",
    "batchnorm": "norm",
    "layernorm": "norm",
    "relu": "activation",
}

DIMENSIONS = ("N", "K", "C", "Y", "X", "R", "S")


@dataclass(frozen=True)
class SparsityStats:
    """Optional per-layer sparsity figures (fractions of zeros, 0..1)."""

    input_mean: float = 0.0
    weight: float = 0.0
    input_std: float = 0.0


@dataclass(frozen=True)
class Layer:
    """One operator. ``bytes_per_element`` scales element counts into bytes (int8 by default)."""

    name: str
    type: LayerType
    N: int = 1
    K: int = 1
    C: int = 1
    Y: int = 1
    X: int = 1
    R: int = 1
    S: int = 1
    stride_y: int = 1
    stride_x: int = 1
    bytes_per_element: int = 1
    sparsity: SparsityStats | None = None
    attrs: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise InputError("layer name must not be empty")
        if not isinstance(self.type, LayerType):
            object.__setattr__(self, "type", LayerType.parse(str(self.type)))
        for dim in (*DIMENSIONS, "stride_y", "stride_x", "bytes_per_element"):
            value = getattr(self, dim)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"must be a positive integer, got {excerpt(value)}", field=dim)
        # Work and traffic become int64 and CP-SAT integers downstream (rtmm_opt.io.limits).
        for what, value in (
            ("MACs (N·K·C·R·S·Y'·X')", self.macs),
            ("weight bytes", self.weight_bytes),
            ("input bytes", self.input_bytes),
            ("output bytes", self.output_bytes),
        ):
            check_quantity(value, f"layer '{self.name}': its {what}")

    # -- shapes -------------------------------------------------------------------------------
    @property
    def out_y(self) -> int:
        return max(0, (self.Y - self.R) // self.stride_y + 1)

    @property
    def out_x(self) -> int:
        return max(0, (self.X - self.S) // self.stride_x + 1)

    @property
    def reduction(self) -> int:
        """Input channels reduced per output (1 for depthwise)."""
        return 1 if self.type is LayerType.DWCONV else self.C

    # -- work and traffic -----------------------------------------------------------------------
    @property
    def macs(self) -> int:
        """Multiply-accumulates, MAESTRO's convention: N·K·C·R·S·Y'·X' (C→1 for depthwise)."""
        if not self.type.computes:
            return 0
        return self.N * self.K * self.reduction * self.R * self.S * self.out_y * self.out_x

    @property
    def weight_elements(self) -> int:
        if not self.type.has_weights:
            return 0
        return self.K * self.reduction * self.R * self.S

    @property
    def input_elements(self) -> int:
        channels = self.K if self.type is LayerType.DWCONV else self.C
        activations = self.N * channels * self.Y * self.X
        if self.type is LayerType.MATMUL:  # the second operand is an activation too
            activations += self.N * self.C * self.K
        return activations

    @property
    def output_elements(self) -> int:
        return self.N * self.K * self.out_y * self.out_x

    @property
    def weight_bytes(self) -> int:
        return self.weight_elements * self.bytes_per_element

    @property
    def input_bytes(self) -> int:
        return self.input_elements * self.bytes_per_element

    @property
    def output_bytes(self) -> int:
        return self.output_elements * self.bytes_per_element

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.input_bytes + self.output_bytes

    @property
    def arithmetic_intensity(self) -> float:
        """MACs per byte moved (a roofline's x axis)."""
        return self.macs / self.total_bytes if self.total_bytes else math.inf

    def dims(self) -> dict[str, int]:
        return {d: getattr(self, d) for d in DIMENSIONS}
