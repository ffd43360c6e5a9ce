"""Import an ONNX model as a :class:`ModelGraph` (optional extra ``rtmm-opt[onnx]``).

The file is loaded with ``onnx.load`` (external weight data is not read: only shapes matter),
checked with ``onnx.checker`` and run through ``onnx.shape_inference.infer_shapes`` so that every
tensor has a static shape. Each ONNX node that computes on activations becomes one
:class:`Layer` with MAESTRO-style dimensions (see :mod:`rtmm_opt.workload.layer`); nodes that only
compute on constants (``Constant``, initializer arithmetic, ``Shape`` chains) are not layers.
An edge ``u → v`` is drawn whenever v reads a tensor that u writes, so skip and residual
connections are real edges. ``docs/onnx.md`` has the full mapping table and the limitations.

Conventions fixed here (each also noted in ``docs/onnx.md``):

* **Padding** is folded into the input size, ``Y = H + pad_top + pad_bottom`` (``auto_pad``
  resolved as the ONNX operator spec defines it), so ``Y' = (Y - R) // stride + 1`` holds; the
  result is checked against the inferred output shape.
* **Dilation** ``d`` keeps the true filter size ``R`` (so MACs and weights stay exact) and shrinks
  the recorded input by the filter's holes, ``Y = H_padded - (R - 1)(d - 1)``, which gives the same
  output size as the effective kernel ``(R - 1)d + 1`` on the padded input.
* **Pooling with** ``ceil_mode=1`` adds the extra bottom/right rows the last window needs.
* **Grouped convolutions**: ``group == C == K`` is ``dwconv``; other groupings are ``conv`` with
  ``C`` the channels per group (MACs and weights exact, input traffic counted per group).
* **Zero-MAC layers** describe their output tensor: rank 4+ ``(N, K, Y, X…)``, rank 3
  ``(N, Y, K)`` (tokens × features), rank 2 ``(Y, K)``, rank 1 ``(K)``; ``C`` is the number of
  activation input elements per ``N·Y·X`` plane (rounded up), so input and output bytes match
  the tensors read and written.
* **Symbolic batch dimensions** (dimension 0 of a graph input) are taken as 1 and a note says so;
  other symbolic dimensions need a value from ``dim_values`` or raise :class:`InputError`.
* **Unknown operators** become zero-MAC ``reshape`` layers, listed in
  ``model.graph.graph["unsupported_ops"]`` and logged as a warning.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.workload.graph import ModelGraph
from rtmm_opt.workload.layer import Layer, LayerType

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'rtmm-opt[onnx]'"

# The standard operator set lives in the default domain, spelled "" or "ai.onnx".
_DEFAULT_DOMAINS = ("", "ai.onnx")

# Operators whose outputs depend only on input *shapes*, which are static after inference.
_SHAPE_ONLY_OPS = frozenset({"Shape", "Size"})


def _op_names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Zero-MAC operators by the layer type they map to.
_ZERO_MAC_TYPES: dict[LayerType, frozenset[str]] = {
    LayerType.ELEMENTWISE: _op_names(
        """Add Sub Mul Div Pow Max Min Sum Mean Mod Abs Neg Reciprocal Sqrt Exp Log Floor Ceil
        Round Sign Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh Erf IsNaN IsInf Where
        Equal Less LessOrEqual Greater GreaterOrEqual And Or Xor Not BitShift BitwiseAnd
        BitwiseOr BitwiseXor BitwiseNot Cast CastLike QuantizeLinear DequantizeLinear
        DynamicQuantizeLinear ReduceMean ReduceSum ReduceMax ReduceMin ReduceProd ReduceL1
        ReduceL2 ReduceLogSum ReduceLogSumExp ReduceSumSquare ArgMax ArgMin CumSum"""
    ),
    LayerType.ACTIVATION: _op_names(
        """Relu LeakyRelu PRelu Sigmoid HardSigmoid HardSwish Tanh Clip Elu Selu Celu Gelu Mish
        Softplus Softsign ThresholdedRelu Swish Softmax LogSoftmax Hardmax"""
    ),
    LayerType.NORM: _op_names(
        """BatchNormalization LayerNormalization InstanceNormalization GroupNormalization
        RMSNormalization LpNormalization LRN MeanVarianceNormalization"""
    ),
    LayerType.RESHAPE: _op_names(
        """Reshape Flatten Concat Transpose Squeeze Unsqueeze Split Slice Gather GatherElements
        GatherND Expand Tile Pad Resize Upsample DepthToSpace SpaceToDepth Identity Dropout
        ScatterND ScatterElements ReverseSequence Compress Trilu OneHot TopK"""
    ),
}
_ZERO_MAC_OPS: dict[str, LayerType] = {
    op: layer_type for layer_type, ops in _ZERO_MAC_TYPES.items() for op in ops
}

# Operators with a filter or a product: op -> (activation input index, weight input index).
_CONV_OPS = {"Conv": (0, 1), "ConvInteger": (0, 1), "QLinearConv": (0, 3)}
_MATMUL_OPS = {"MatMul": (0, 1), "MatMulInteger": (0, 1), "QLinearMatMul": (0, 3)}
_POOL_OPS = frozenset({"MaxPool", "AveragePool", "LpPool"})
_GLOBAL_POOL_OPS = frozenset({"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"})


def import_onnx(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    bytes_per_element: int | None = None,
    keep_trivial: bool = True,
    dim_values: Mapping[str, int] | None = None,
) -> ModelGraph:
    """Read an ONNX file into a layer DAG.

    Args:
        path: the ``.onnx`` file.
        name: the model's name; default the file name without its suffix.
        bytes_per_element: bytes per tensor element for every layer; default each layer's
            output element type in the file (4 for float32, 1 for int8, ...).
        keep_trivial: when False, drop zero-cost ``reshape`` layers (Reshape, Flatten, Concat,
            Transpose, ...) and connect their producers straight to their consumers. A trivial
            layer whose removal would split the graph is kept.
        dim_values: values for named symbolic dimensions of the graph inputs, e.g.
            ``{"sequence": 128}``. A symbolic dimension 0 (the batch) not given here is taken as 1.

    Returns:
        A :class:`ModelGraph` whose nodes follow the file's (topological) node order. Its
        ``graph.graph`` dict carries ``"unsupported_ops"`` (op type → layer names mapped to
        ``reshape``), ``"notes"`` (assumptions made, e.g. batch 1) and ``"opset"``.

    Raises:
        InputError: onnx is not installed, the file is unreadable or malformed, a tensor shape is
            unknown or dynamic, an inferred shape contradicts the layer formula, or the model
            falls apart into separate pieces.
    """
    file = str(path)
    onnx = _require_onnx(file)
    if bytes_per_element is not None and (
        isinstance(bytes_per_element, bool)
        or not isinstance(bytes_per_element, int)
        or bytes_per_element < 1
    ):
        raise InputError(
            f"must be a positive integer, got {excerpt(bytes_per_element)}",
            field="bytes_per_element",
        )
    model = _load(onnx, file)
    notes: list[str] = []
    _fix_input_dims(model, dict(dim_values or {}), notes, file)
    model = _infer_shapes(onnx, model, file)
    importer = _Importer(onnx, model, file, bytes_per_element)
    layers, edges = importer.build()
    if not keep_trivial:
        layers, edges = _fold_trivial(layers, edges)
    model_name = name or Path(file).stem or "onnx_model"
    graph = _as_model_graph(model_name, layers, edges, file)
    for note in notes:
        log.warning("%s: %s", file, note)
    if importer.unsupported:
        summary = ", ".join(f"{op} ×{len(names)}" for op, names in importer.unsupported.items())
        log.warning("%s: unsupported ONNX ops mapped to zero-MAC reshape layers: %s", file, summary)
    graph.graph.graph.update(
        {
            "format": "onnx",
            "opset": {
                (entry.domain or "ai.onnx"): int(entry.version) for entry in model.opset_import
            },
            "producer": f"{model.producer_name} {model.producer_version}".strip(),
            "unsupported_ops": {op: list(names) for op, names in importer.unsupported.items()},
            "notes": list(notes),
        }
    )
    return graph


# -- loading ----------------------------------------------------------------------------------


def _require_onnx(file: str) -> Any:
    try:
        import onnx
        import onnx.shape_inference
    except ImportError:
        raise InputError(
            f"reading ONNX files needs the onnx package: {INSTALL_HINT}", file=file
        ) from None
    return onnx


def _load(onnx: Any, file: str) -> Any:
    path = Path(file)
    if not path.exists():
        raise InputError("no such file", file=file)
    if path.is_dir():
        raise InputError("is a directory, expected an .onnx file", file=file)
    try:
        # Weights are not needed, only their shapes, which initializers carry in any case.
        model = onnx.load(file, load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError, RuntimeWarning, ValueError, ...
        raise InputError(f"not a readable ONNX model ({_first_line(exc)})", file=file) from None
    if not model.HasField("graph") or len(model.graph.node) == 0:
        raise InputError("not an ONNX model, or a model without nodes", file=file)
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx.checker.ValidationError and friends
        raise InputError(f"malformed ONNX model: {_first_line(exc)}", file=file) from None
    return model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fix_input_dims(model: Any, dim_values: dict[str, int], notes: list[str], file: str) -> None:
    """Make every graph-input dimension concrete, before shape inference propagates them.

    A named dimension gets its value from ``dim_values``; an unnamed or named dimension 0 not
    given there is the batch and becomes 1. The same name means the same size across the
    whole graph, so value_info and outputs get the same substitution.
    """
    for key, value in dim_values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(
                f"must be a positive integer, got {excerpt(value)}",
                file=file,
                field=f"dim_values.{key}",
            )
    initializers = {tensor.name for tensor in model.graph.initializer}
    resolved = dict(dim_values)
    for value_info in model.graph.input:
        if value_info.name in initializers:
            continue
        where = f"inputs[{value_info.name}]"
        tensor_type = value_info.type.tensor_type
        kind = str(value_info.type.WhichOneof("value") or "no type").removesuffix("_type")
        if kind != "tensor":
            raise InputError(
                f"graph input is a {kind}, not a tensor; only tensors are supported",
                file=file,
                field=where,
            )
        if not tensor_type.HasField("shape"):
            raise InputError("graph input has no shape", file=file, field=where)
        for axis, dim in enumerate(tensor_type.shape.dim):
            if dim.HasField("dim_value"):
                continue
            symbol = dim.dim_param if dim.HasField("dim_param") else ""
            if symbol and symbol in resolved:
                dim.dim_value = resolved[symbol]
            elif axis == 0:
                dim.dim_value = 1
                if symbol:
                    resolved[symbol] = 1
                label = f"'{symbol}'" if symbol else "(unnamed)"
                notes.append(
                    f"input '{value_info.name}': dynamic batch dimension {label} taken as 1"
                )
            else:
                label = f"'{symbol}'" if symbol else "unnamed"
                hint = f"give dim_values={{'{symbol}': ...}}" if symbol else "fix it in the file"
                raise InputError(
                    f"dimension {axis} is dynamic ({label}); {hint}",
                    file=file,
                    field=f"{where}.shape[{axis}]",
                )
    if not resolved:
        return
    for value_info in [*model.graph.value_info, *model.graph.output, *model.graph.input]:
        if value_info.type.HasField("tensor_type"):
            for dim in value_info.type.tensor_type.shape.dim:
                if dim.HasField("dim_param") and dim.dim_param in resolved:
                    dim.dim_value = resolved[dim.dim_param]


def _infer_shapes(onnx: Any, model: Any, file: str) -> Any:
    try:
        # data_prop folds Shape→Gather→Concat chains, so Reshape targets computed from shapes
        # become static too.
        return onnx.shape_inference.infer_shapes(
            model, check_type=False, strict_mode=True, data_prop=True
        )
    except Exception as exc:  # onnx.shape_inference.InferenceError and friends
        raise InputError(f"ONNX shape inference failed: {_first_line(exc)}", file=file) from None


# -- mapping ----------------------------------------------------------------------------------


@dataclass
class _Tensor:
    dims: tuple[int | str | None, ...] | None  # None: no shape known
    elem_type: int = 0
    kind: str = "tensor"  # or "sequence", "map", "optional", "sparse_tensor"


@dataclass
class _Node:
    """One ONNX node that becomes a layer."""

    proto: Any
    reads: tuple[str, ...]  # activation tensors read (explicit and subgraph inputs)
    name: str
    predecessors: set[int] = field(default_factory=set)


class _Importer:
    def __init__(
        self,
        onnx: Any,
        model: Any,
        file: str,
        bytes_per_element: int | None,
    ) -> None:
        self.onnx = onnx
        self.model = model
        self.file = file
        self.bytes_per_element = bytes_per_element
        self.unsupported: dict[str, list[str]] = {}
        self.tensors: dict[str, _Tensor] = {}
        graph = model.graph
        for value_info in [*graph.input, *graph.value_info, *graph.output]:
            self.tensors[value_info.name] = _tensor_of(value_info)
        self.constants: set[str] = {""}  # "" is an omitted optional input
        for tensor in graph.initializer:
            dims = tuple(int(d) for d in tensor.dims)
            self.tensors[tensor.name] = _Tensor(dims, tensor.data_type)
            self.constants.add(tensor.name)
        for tensor in graph.sparse_initializer:
            self.tensors[tensor.values.name] = _Tensor(tuple(int(d) for d in tensor.dims))
            self.constants.add(tensor.values.name)
        self.field = ""

    # -- graph ------------------------------------------------------------------------------
    def build(self) -> tuple[list[Layer], list[tuple[int, int]]]:
        nodes: list[_Node] = []
        producer: dict[str, int] = {}  # tensor -> position in ``nodes``
        used_names: set[str] = set()
        for index, proto in enumerate(self.model.graph.node):
            inputs = [*proto.input, *_subgraph_inputs(proto)]
            if proto.op_type in _SHAPE_ONLY_OPS or all(t in self.constants for t in inputs):
                self.constants.update(proto.output)
                continue
            reads = tuple(dict.fromkeys(t for t in inputs if t not in self.constants))
            node = _Node(proto, reads, _unique_name(proto, index, used_names))
            node.predecessors = {producer[t] for t in reads if t in producer}
            for tensor in proto.output:
                if tensor:
                    producer[tensor] = len(nodes)
            nodes.append(node)
        if not nodes:
            raise InputError(
                "model has no layers: every node computes on constants", file=self.file
            )
        layers = [self._layer(node) for node in nodes]
        edges = sorted({(u, v) for v, node in enumerate(nodes) for u in node.predecessors})
        return layers, edges

    def _layer(self, node: _Node) -> Layer:
        proto = node.proto
        self.field = f"nodes[{node.name}]"
        op = proto.op_type if proto.domain in _DEFAULT_DOMAINS else None
        attrs: dict[str, Any] = {"onnx_op": proto.op_type, "onnx_node": proto.name}
        if proto.domain not in _DEFAULT_DOMAINS:
            attrs["onnx_domain"] = proto.domain
        try:
            if op in _CONV_OPS:
                return self._conv(node, *_CONV_OPS[op], attrs)
            if op == "ConvTranspose":
                return self._conv_transpose(node, attrs)
            if op == "Gemm":
                return self._gemm(node, attrs)
            if op in _MATMUL_OPS:
                return self._matmul(node, *_MATMUL_OPS[op], attrs)
            if op in _POOL_OPS or op in _GLOBAL_POOL_OPS:
                return self._pool(node, attrs)
            if op in _ZERO_MAC_OPS:
                return self._zero_mac(node, _ZERO_MAC_OPS[op], attrs)
            return self._unsupported(node, attrs, "op type not mapped")
        except InputError as error:
            if error.field and error.field.startswith(self.field):
                raise error.located(self.file) from None
            raise error.located(self.file, self.field) from None  # e.g. Layer's own checks

    def _unsupported(self, node: _Node, attrs: dict[str, Any], why: str) -> Layer:
        proto = node.proto
        default = proto.domain in _DEFAULT_DOMAINS
        key = proto.op_type if default else f"{proto.domain}.{proto.op_type}"
        self.unsupported.setdefault(key, []).append(node.name)
        attrs["unsupported"] = why
        return self._zero_mac(node, LayerType.RESHAPE, attrs)

    # -- shapes -----------------------------------------------------------------------------
    def shape(self, tensor: str) -> tuple[int, ...]:
        """The static shape of a tensor; unknown or symbolic shapes are input errors."""
        info = self.tensors.get(tensor)
        if info is not None and info.kind != "tensor":
            raise InputError(
                f"'{tensor}' is a {info.kind}, not a tensor; only tensors are supported",
                file=self.file,
                field=self.field,
            )
        if info is None or info.dims is None:
            raise InputError(
                f"shape of tensor '{tensor}' is unknown and ONNX shape inference cannot infer it"
                " (a custom or data-dependent operator?); add its shape as value_info",
                file=self.file,
                field=self.field,
            )
        if not all(isinstance(d, int) for d in info.dims):
            shown = ", ".join("?" if d is None else str(d) for d in info.dims)
            raise InputError(
                f"tensor '{tensor}' has a dynamic shape ({shown}); only static shapes are"
                " supported",
                file=self.file,
                field=self.field,
            )
        return tuple(int(d) for d in info.dims if isinstance(d, int))

    def is_constant(self, tensor: str) -> bool:
        return tensor in self.constants

    def element_bytes(self, tensor: str) -> int:
        if self.bytes_per_element is not None:
            return self.bytes_per_element
        info = self.tensors.get(tensor)
        if info is None or not info.elem_type:
            return 1
        try:
            size = int(self.onnx.helper.tensor_dtype_to_np_dtype(info.elem_type).itemsize)
        except Exception:  # string and other types without a fixed width
            return 1
        return max(1, size)

    def make(
        self,
        node: _Node,
        layer_type: LayerType,
        attrs: dict[str, Any],
        *,
        N: int = 1,
        K: int = 1,
        C: int = 1,
        Y: int = 1,
        X: int = 1,
        R: int = 1,
        S: int = 1,
        stride_y: int = 1,
        stride_x: int = 1,
    ) -> Layer:
        output = node.proto.output[0] if node.proto.output else ""
        attrs["input_shapes"] = [list(self.shape(t)) for t in node.reads if self._has_shape(t)]
        attrs["output_shapes"] = [
            list(self.shape(t)) for t in node.proto.output if self._has_shape(t)
        ]
        return Layer(
            name=node.name, type=layer_type, N=N, K=K, C=C, Y=Y, X=X, R=R, S=S,
            stride_y=stride_y, stride_x=stride_x,
            bytes_per_element=self.element_bytes(output), attrs=attrs,
        )  # fmt: skip

    def check(self, what: str, computed: Sequence[int], inferred: Sequence[int]) -> None:
        if tuple(computed) != tuple(inferred):
            raise InputError(
                f"{what} computed as {tuple(computed)} but ONNX shape inference gives"
                f" {tuple(inferred)}",
                file=self.file,
                field=self.field,
            )

    # -- operators with MACs ----------------------------------------------------------------
    def _conv(self, node: _Node, x_at: int, w_at: int, attrs: dict[str, Any]) -> Layer:
        proto = node.proto
        x_shape = self.shape(proto.input[x_at])
        w_shape = self.shape(proto.input[w_at])
        y_shape = self.shape(proto.output[0])
        spatial = len(x_shape) - 2
        if spatial not in (1, 2) or len(w_shape) != spatial + 2 or len(y_shape) != spatial + 2:
            return self._unsupported(node, attrs, f"{spatial}-D convolution")
        a = _attributes(self.onnx, proto)
        batch, channels = x_shape[0], x_shape[1]
        filters, channels_per_group = w_shape[0], w_shape[1]
        kernel = _pad2(w_shape[2:])
        group = int(a.get("group", 1))
        if group < 1 or channels_per_group * group != channels or filters % group:
            raise InputError(
                f"{channels} input channels, weight {w_shape} and group={group} do not fit",
                file=self.file,
                field=self.field,
            )
        strides, dilations, pads = self._window(a, x_shape[2:], kernel, spatial)
        y_in = self._folded(x_shape[2:], kernel, dilations, pads)
        if group == 1:
            layer_type, reduced = LayerType.CONV, channels
        elif group == channels == filters:
            layer_type, reduced = LayerType.DWCONV, 1
        else:
            layer_type, reduced = LayerType.CONV, channels_per_group
        attrs.update(groups=group, pads=list(pads), dilations=list(dilations))
        layer = self.make(
            node, layer_type, attrs, N=batch, K=filters, C=reduced, Y=y_in[0], X=y_in[1],
            R=kernel[0], S=kernel[1], stride_y=strides[0], stride_x=strides[1],
        )  # fmt: skip
        self.check(
            "output (N, K, Y', X')",
            (batch, filters, layer.out_y, layer.out_x),
            (*y_shape[:2], *_pad2(y_shape[2:])),
        )
        return layer

    def _conv_transpose(self, node: _Node, attrs: dict[str, Any]) -> Layer:
        """A transposed conv as its GEMM + col2im form: ``C_in/g`` × ``K·R·S`` per input pixel.

        MACs (``N·C_in/g·K·R·S·H·W``) and weights are exact; the output counted is the column
        buffer before col2im's scatter-add, not the (smaller or larger) final output.
        """
        proto = node.proto
        x_shape = self.shape(proto.input[0])
        w_shape = self.shape(proto.input[1])
        spatial = len(x_shape) - 2
        if spatial not in (1, 2) or len(w_shape) != spatial + 2:
            return self._unsupported(node, attrs, f"{spatial}-D transposed convolution")
        group = int(_attributes(self.onnx, proto).get("group", 1))
        if group < 1 or x_shape[1] % group:
            raise InputError(
                f"{x_shape[1]} input channels do not split into group={group}",
                file=self.file,
                field=self.field,
            )
        kernel = _pad2(w_shape[2:])
        height, width = _pad2(x_shape[2:])
        attrs.update(groups=group, form="gemm+col2im")
        return self.make(
            node, LayerType.CONV, attrs, N=x_shape[0], K=w_shape[1] * group * kernel[0] * kernel[1],
            C=x_shape[1] // group, Y=height, X=width,
        )  # fmt: skip

    def _gemm(self, node: _Node, attrs: dict[str, Any]) -> Layer:
        proto = node.proto
        a = _attributes(self.onnx, proto)
        a_shape = self.shape(proto.input[0])
        b_shape = self.shape(proto.input[1])
        if len(a_shape) != 2 or len(b_shape) != 2:
            raise InputError(
                f"Gemm needs 2-D operands, got {a_shape} and {b_shape}",
                file=self.file,
                field=self.field,
            )
        rows, inner = a_shape[::-1] if a.get("transA", 0) else a_shape
        inner_b, cols = b_shape[::-1] if a.get("transB", 0) else b_shape
        self._check_inner(inner, inner_b, a_shape, b_shape)
        return self._product(
            node, attrs, batch=1, rows=rows, inner=inner, cols=cols,
            a_constant=self.is_constant(proto.input[0]),
            b_constant=self.is_constant(proto.input[1]),
        )  # fmt: skip

    def _matmul(self, node: _Node, a_at: int, b_at: int, attrs: dict[str, Any]) -> Layer:
        proto = node.proto
        a_shape = self.shape(proto.input[a_at])
        b_shape = self.shape(proto.input[b_at])
        if not a_shape or not b_shape:
            raise InputError("MatMul of a scalar", file=self.file, field=self.field)
        # numpy.matmul semantics: a 1-D left operand is a row, a 1-D right operand a column.
        a_mat = (1, *a_shape) if len(a_shape) == 1 else a_shape
        b_mat = (*b_shape, 1) if len(b_shape) == 1 else b_shape
        self._check_inner(a_mat[-1], b_mat[-2], a_shape, b_shape)
        try:
            batch_dims = _broadcast(a_mat[:-2], b_mat[:-2])
        except ValueError:
            raise InputError(
                f"batch dimensions of {a_shape} and {b_shape} do not broadcast",
                file=self.file,
                field=self.field,
            ) from None
        return self._product(
            node, attrs, batch=math.prod(batch_dims), rows=a_mat[-2], inner=a_mat[-1],
            cols=b_mat[-1],
            a_constant=self.is_constant(proto.input[a_at]) and math.prod(a_mat[:-2]) == 1,
            b_constant=self.is_constant(proto.input[b_at]) and math.prod(b_mat[:-2]) == 1,
        )  # fmt: skip

    def _check_inner(
        self, inner_a: int, inner_b: int, a_shape: Sequence[int], b_shape: Sequence[int]
    ) -> None:
        if inner_a != inner_b:
            raise InputError(
                f"operands {tuple(a_shape)} and {tuple(b_shape)} do not multiply"
                f" ({inner_a} ≠ {inner_b})",
                file=self.file,
                field=self.field,
            )

    def _product(
        self,
        node: _Node,
        attrs: dict[str, Any],
        *,
        batch: int,
        rows: int,
        inner: int,
        cols: int,
        a_constant: bool,
        b_constant: bool,
    ) -> Layer:
        """``batch`` products ``rows × inner`` by ``inner × cols``.

        A constant (unbatched) right operand is an ``fc`` weight: ``Y`` rows (tokens), ``C`` in,
        ``K`` out. A constant left operand is the same fc transposed (``Y`` = cols, ``K`` = rows),
        which keeps MACs, weights and output size exact. Two activations make a ``matmul``.
        """
        if b_constant:
            layer_type, y, k = LayerType.FC, rows, cols
        elif a_constant:
            layer_type, y, k = LayerType.FC, cols, rows
            attrs["weight_side"] = "left"
        else:
            layer_type, y, k = LayerType.MATMUL, rows, cols
        layer = self.make(node, layer_type, attrs, N=batch, Y=y, C=inner, K=k)
        out_elements = math.prod(self.shape(node.proto.output[0]))
        self.check("output elements", (layer.output_elements,), (out_elements,))
        return layer

    # -- operators without MACs -------------------------------------------------------------
    def _pool(self, node: _Node, attrs: dict[str, Any]) -> Layer:
        proto = node.proto
        x_shape = self.shape(proto.input[0])
        y_shape = self.shape(proto.output[0])
        spatial = len(x_shape) - 2
        if spatial not in (1, 2) or len(y_shape) != len(x_shape):
            return self._unsupported(node, attrs, f"{spatial}-D pooling")
        batch, channels = x_shape[0], x_shape[1]
        out = _pad2(y_shape[2:])
        if proto.op_type in _GLOBAL_POOL_OPS:
            kernel = y_in = _pad2(x_shape[2:])
            strides = (1, 1)
        else:
            a = _attributes(self.onnx, proto)
            if "kernel_shape" not in a:
                raise InputError("pooling without kernel_shape", file=self.file, field=self.field)
            kernel = _pad2(a["kernel_shape"])
            strides, dilations, pads = self._window(a, x_shape[2:], kernel, spatial)
            y_in = self._folded(x_shape[2:], kernel, dilations, pads)
            if a.get("ceil_mode", 0):
                # ceil_mode keeps a last, partial window: extend the input bottom/right by the
                # rows it needs so that the floor formula gives the same output size.
                y_in = (
                    max(y_in[0], (out[0] - 1) * strides[0] + kernel[0]),
                    max(y_in[1], (out[1] - 1) * strides[1] + kernel[1]),
                )
            attrs.update(pads=list(pads), dilations=list(dilations))
        layer = self.make(
            node, LayerType.POOL, attrs, N=batch, K=channels, C=channels, Y=y_in[0], X=y_in[1],
            R=kernel[0], S=kernel[1], stride_y=strides[0], stride_x=strides[1],
        )  # fmt: skip
        self.check(
            "output (N, K, Y', X')",
            (batch, channels, layer.out_y, layer.out_x),
            (*y_shape[:2], *out),
        )
        return layer

    def _zero_mac(self, node: _Node, layer_type: LayerType, attrs: dict[str, Any]) -> Layer:
        """A data-movement layer laid out as its output tensor, reading its activation inputs."""
        outputs = [t for t in node.proto.output if t]
        if not outputs:
            raise InputError("node has no outputs", file=self.file, field=self.field)
        first = self.shape(outputs[0])
        out_elements = sum(
            math.prod(self.shape(t)) for t in outputs if t == outputs[0] or self._has_shape(t)
        )
        in_elements = sum(math.prod(self.shape(t)) for t in node.reads if t in node.proto.input)
        batch, rows, cols, _ = _layout(first)
        plane = batch * rows * cols
        return self.make(
            node, layer_type, attrs, N=batch, Y=rows, X=cols,
            K=max(1, -(-out_elements // plane)), C=max(1, -(-in_elements // plane)),
        )  # fmt: skip

    def _has_shape(self, tensor: str) -> bool:
        info = self.tensors.get(tensor)
        return info is not None and info.dims is not None

    # -- windows ----------------------------------------------------------------------------
    def _window(
        self, a: Mapping[str, Any], sizes: Sequence[int], kernel: Sequence[int], spatial: int
    ) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int, int, int]]:
        """Strides, dilations and pads (top, left, bottom, right) per the ONNX operator spec."""
        strides = _pad2(a.get("strides") or [1] * spatial)
        dilations = _pad2(a.get("dilations") or [1] * spatial)
        if min(*strides, *dilations) < 1:
            raise InputError(
                f"strides {strides} and dilations {dilations} must be positive",
                file=self.file,
                field=self.field,
            )
        auto_pad = a.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
        size2 = _pad2(sizes)
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            begin, end = [], []
            for i in range(2):
                effective = (kernel[i] - 1) * dilations[i] + 1
                out = -(-size2[i] // strides[i])
                total = max(0, (out - 1) * strides[i] + effective - size2[i])
                small, large = total // 2, total - total // 2
                begin.append(small if auto_pad == "SAME_UPPER" else large)
                end.append(large if auto_pad == "SAME_UPPER" else small)
            pads = (begin[0], begin[1], end[0], end[1])
        elif auto_pad == "VALID":
            pads = (0, 0, 0, 0)
        elif auto_pad == "NOTSET":
            raw = list(a.get("pads") or [0] * (2 * spatial))
            if len(raw) != 2 * spatial or min(raw) < 0:
                raise InputError(
                    f"pads {raw} do not fit a {spatial}-D window", file=self.file, field=self.field
                )
            pads = (raw[0], raw[1], raw[2], raw[3]) if spatial == 2 else (raw[0], 0, raw[1], 0)
        else:
            raise InputError(f"unknown auto_pad '{auto_pad}'", file=self.file, field=self.field)
        return strides, dilations, pads

    @staticmethod
    def _folded(
        sizes: Sequence[int],
        kernel: Sequence[int],
        dilations: Sequence[int],
        pads: Sequence[int],
    ) -> tuple[int, int]:
        """Input extent with padding folded in and dilation holes folded out (module docstring)."""
        size2 = _pad2(sizes)
        return (
            max(1, size2[0] + pads[0] + pads[2] - (kernel[0] - 1) * (dilations[0] - 1)),
            max(1, size2[1] + pads[1] + pads[3] - (kernel[1] - 1) * (dilations[1] - 1)),
        )


# -- helpers ----------------------------------------------------------------------------------


def _tensor_of(value_info: Any) -> _Tensor:
    if not value_info.type.HasField("tensor_type"):
        kind = str(value_info.type.WhichOneof("value") or "value of unknown type")
        return _Tensor(None, kind=kind.removesuffix("_type"))
    tensor_type = value_info.type.tensor_type
    if not tensor_type.HasField("shape"):
        return _Tensor(None, tensor_type.elem_type)
    dims: list[int | str | None] = []
    for dim in tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        elif dim.HasField("dim_param"):
            dims.append(str(dim.dim_param))
        else:
            dims.append(None)
    return _Tensor(tuple(dims), tensor_type.elem_type)


def _attributes(onnx: Any, proto: Any) -> dict[str, Any]:
    return {attr.name: onnx.helper.get_attribute_value(attr) for attr in proto.attribute}


def _subgraph_inputs(proto: Any) -> list[str]:
    """Outer-scope tensors that the bodies of If/Loop/Scan nodes read implicitly."""
    names: list[str] = []
    for attr in proto.attribute:
        for graph in [*([attr.g] if attr.HasField("g") else []), *attr.graphs]:
            defined = {t.name for t in [*graph.input, *graph.initializer]}
            for inner in graph.node:
                for tensor in [*inner.input, *_subgraph_inputs(inner)]:
                    if tensor and tensor not in defined:
                        names.append(tensor)
                defined.update(inner.output)
    return names


def _unique_name(proto: Any, index: int, used: set[str]) -> str:
    base = proto.name or f"{proto.op_type}_{index}"
    name, suffix = base, 2
    while name in used:
        name, suffix = f"{base}_{suffix}", suffix + 1
    used.add(name)
    return name


def _pad2(values: Iterable[Any]) -> tuple[int, int]:
    """A 1-D window/size as 2-D (width 1); 2-D unchanged."""
    items = [int(v) for v in values]
    return (items[0], items[1]) if len(items) >= 2 else (items[0] if items else 1, 1)


def _broadcast(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    width = max(len(a), len(b))
    a_full = [1] * (width - len(a)) + list(a)
    b_full = [1] * (width - len(b)) + list(b)
    out = []
    for x, y in zip(a_full, b_full, strict=True):
        if x != y and 1 not in (x, y):
            raise ValueError(f"{x} vs {y}")
        out.append(max(x, y))
    return tuple(out)


def _layout(shape: Sequence[int]) -> tuple[int, int, int, int]:
    """(N, Y, X, channels) of a tensor, as ``docs/onnx.md`` lays out zero-MAC layers."""
    dims = [max(1, d) for d in shape]
    if len(dims) >= 4:
        return dims[0], dims[2], math.prod(dims[3:]), dims[1]
    if len(dims) == 3:
        return dims[0], dims[1], 1, dims[2]
    if len(dims) == 2:
        return 1, dims[0], 1, dims[1]
    return 1, 1, 1, dims[0] if dims else 1


def _fold_trivial(
    layers: list[Layer], edges: list[tuple[int, int]]
) -> tuple[list[Layer], list[tuple[int, int]]]:
    """Drop known zero-cost ``reshape`` layers, joining each one's producers to its consumers.

    A layer is kept when dropping it would split the graph (e.g. a final Concat that is the
    only join of two branches) or leave nothing. Unsupported ops stay: they stand for work whose
    cost is unknown, not for zero work.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(layers)))
    graph.add_edges_from(edges)
    for index, layer in enumerate(layers):
        if layer.type is not LayerType.RESHAPE or "unsupported" in layer.attrs:
            continue
        if graph.number_of_nodes() == 1:
            break
        preds, succs = list(graph.predecessors(index)), list(graph.successors(index))
        bypass = [(u, v) for u in preds for v in succs]
        graph.remove_node(index)
        graph.add_edges_from(bypass)
        # With both producers and consumers, every neighbour is joined to every other through
        # the bypass edges; otherwise the neighbours may have hung together only through here.
        safe = (preds and succs) or len(preds) + len(succs) <= 1
        if not safe and not nx.is_weakly_connected(graph):
            graph.remove_edges_from(bypass)
            graph.add_node(index)
            graph.add_edges_from([(u, index) for u in preds] + [(index, v) for v in succs])
    kept = sorted(graph.nodes)
    renumber = {old: new for new, old in enumerate(kept)}
    return (
        [layers[old] for old in kept],
        sorted((renumber[u], renumber[v]) for u, v in graph.edges),
    )


def _as_model_graph(
    name: str, layers: list[Layer], edges: list[tuple[int, int]], file: str
) -> ModelGraph:
    graph = nx.DiGraph()
    for index, layer in enumerate(layers):
        graph.add_node(index, layer=layer)
    graph.add_edges_from(edges)
    if not nx.is_weakly_connected(graph):
        parts = sorted(nx.weakly_connected_components(graph), key=min)
        shown = "; ".join(f"{layers[min(part)].name} … ({len(part)} layers)" for part in parts[:4])
        raise InputError(
            f"the model falls apart into {len(parts)} unconnected parts ({shown}); "
            "extract each part as its own model (onnx.utils.extract_model)",
            file=file,
        )
    return ModelGraph(name, graph, source=file)
