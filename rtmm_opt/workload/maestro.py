"""Parser (and printer) for MAESTRO model/scenario files (``.m``), as XRBench uses them.

The format is MAESTRO's DSL (Kwon et al., MICRO'19; ``maestro/src`` parser) with XRBench's
scenario extensions (``XRbench_evaluation/usage_scenarios/*.m`` of XRBench-MLSys2023)::

    Network ES_RITNet {             // one block per model
    FPS: 60                         // XRBench: target frame rate (optional here)
    Probability: 1.0                // XRBench: per-frame trigger probability (default 1)
    Dependency: { OTHER, ... }      // XRBench: frame i waits for frame i of OTHER
    Layer conv1 {
        Type: CONV                  // CONV, or DSCONV/DWCONV (depthwise)
        Stride { X: 2, Y: 2 }       // stock MAESTRO only; XRBench files have none (stride 1)
        Dimensions: { N: 1, K: 32, C: 32, Y: 160, X: 100, R: 3, S: 3 }
        Dataflow { ... }            // stock MAESTRO mapping directives: skipped
    }
    }

The colon after a block keyword is optional, ``//`` starts a comment, whitespace is free.
``Y``/``X`` are the **input** height/width; the output is ``(Y - R) // stride + 1`` (no
padding), clamped at 0 (see :mod:`rtmm_opt.workload.layer`). ``N`` defaults to 1 when absent
(stock MAESTRO files omit it); the other six dimensions are required.

How layer types are encoded (checked against every XRBench file):

* XRBench writes every layer as ``Type: CONV``. Depthwise convolutions appear as dense CONV with
  ``K == C``; they stay :attr:`LayerType.CONV`, so the MACs equal MAESTRO's count
  ``N·K·C·R·S·max(0, Y-R+1)·max(0, X-S+1)``, which is what XRBench's costs are built on.
* Fully connected layers are CONV with ``R = S = 1`` and ``X = 1`` (``Y`` rows of ``C``
  inputs); they become :attr:`LayerType.FC`, whose MAC formula gives the same count.
* Stock MAESTRO's ``DSCONV`` (docs: ``DWCONV``) is a depthwise conv over ``C`` channels, written
  with ``K: 1`` or ``K == C``; it becomes :attr:`LayerType.DWCONV` with ``K = C = channels``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import networkx as nx

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.io.strict import ABSURD, read_text, suggest
from rtmm_opt.workload.graph import ModelGraph
from rtmm_opt.workload.layer import DIMENSIONS, Layer, LayerType

# Largest accepted single dimension: far above any real layer, low enough to catch a typo.
MAX_DIMENSION = 1 << 20
MAX_FPS = 1e6

# `.m` type keyword -> LayerType (FC is derived from the CONV shape, see the module docstring).
MAESTRO_TYPES = {"CONV": LayerType.CONV, "DSCONV": LayerType.DWCONV, "DWCONV": LayerType.DWCONV}

_NETWORK_KEYS = ("FPS", "Probability", "Dependency", "Layer")
_LAYER_KEYS = ("Type", "Dimensions", "Stride", "Dataflow")
_STRIDE_KEYS = ("X", "Y")
_PUNCTUATION = frozenset("{}:,")


@dataclass(frozen=True)
class MaestroNetwork:
    """One ``Network`` block: a model, plus XRBench's per-model scenario fields."""

    name: str
    fps: float | None
    probability: float
    dependencies: tuple[str, ...]
    layers: tuple[Layer, ...]
    line: int

    def graph(self, source: str | None = None) -> ModelGraph:
        """The model as a chain: MAESTRO and XRBench run a network's layers in file order."""
        return ModelGraph.chain(self.name, self.layers, source=source)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)


@dataclass(frozen=True)
class MaestroFile:
    """A parsed ``.m`` file: its networks in file order."""

    path: str
    networks: tuple[MaestroNetwork, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(network.name for network in self.networks)

    def network(self, name: str) -> MaestroNetwork:
        for network in self.networks:
            if network.name == name:
                return network
        raise InputError(
            f"no network '{name}'{suggest(name, self.names)}; networks: {', '.join(self.names)}",
            file=self.path,
        )


# -- tokens --------------------------------------------------------------------------------------

# Comments, punctuation and words; whitespace matches nothing, so finditer skips it.
_TOKEN = re.compile(r"//[^\n]*|[{}:,]|[^\s{}:,]+")
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class _Token(NamedTuple):
    text: str
    line: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    line, counted = 1, 0  # the line of position ``counted``
    count = text.count
    for match in _TOKEN.finditer(text):
        piece = match.group()
        if not piece.startswith("//"):  # no token or comment spans lines
            start = match.start()
            line += count("\n", counted, start)
            counted = start
            tokens.append(_Token(piece, line))
    return tokens


@dataclass
class _Parser:
    tokens: list[_Token]
    file: str
    position: int = 0
    last_line: int = field(default=1)

    # -- cursor ----------------------------------------------------------------------------------
    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def next(self, what: str, where: str | None = None) -> _Token:
        token = self.peek()
        if token is None:
            raise InputError(
                f"unexpected end of file, expected {what}",
                file=self.file,
                field=where or f"line {self.last_line}",
            )
        self.position += 1
        self.last_line = token.line
        return token

    def expect(self, text: str, where: str | None = None) -> _Token:
        token = self.next(f"'{text}'", where)
        if token.text != text:
            raise self.error(token, f"expected '{text}', got {excerpt(token.text)}", where)
        return token

    def skip_colon(self) -> None:
        token = self.peek()
        if token is not None and token.text == ":":
            self.position += 1

    def error(self, token: _Token, reason: str, where: str | None = None) -> InputError:
        if where:
            return InputError(f"{reason} (line {token.line})", file=self.file, field=where)
        return InputError(reason, file=self.file, field=f"line {token.line}")

    def name(self, what: str, where: str | None = None) -> _Token:
        token = self.next(what, where)
        if token.text in _PUNCTUATION:
            raise self.error(token, f"expected {what}, got {excerpt(token.text)}", where)
        return token

    def keyword(self, token: _Token, valid: tuple[str, ...], where: str) -> str:
        """The canonical spelling of a block keyword (case-insensitive), or an error."""
        for key in valid:
            if token.text.lower() == key.lower():
                return key
        if token.text in _PUNCTUATION:
            raise self.error(
                token, f"expected one of {', '.join(valid)}, got {excerpt(token.text)}", where
            )
        raise self.error(
            token,
            f"unknown field {excerpt(token.text)}{suggest(token.text, valid)}; "
            f"valid: {', '.join(valid)}",
            f"{where}.{token.text}",
        )

    # -- grammar ---------------------------------------------------------------------------------
    def parse_file(self) -> tuple[MaestroNetwork, ...]:
        networks: list[MaestroNetwork] = []
        seen: dict[str, int] = {}
        while self.peek() is not None:
            token = self.next("'Network'")
            if token.text.lower() != "network":
                hint = ""
                if token.text.lower() in ("accelerator", "dataflow"):
                    hint = " (this looks like a hardware or dataflow file, not a model file)"
                raise self.error(
                    token, f"expected 'Network NAME {{', got {excerpt(token.text)}{hint}"
                )
            network = self.parse_network(token.line)
            if network.name in seen:
                raise InputError(
                    f"duplicate network name (line {network.line}; first at line "
                    f"{seen[network.name]})",
                    file=self.file,
                    field=f"networks.{network.name}",
                )
            seen[network.name] = network.line
            networks.append(network)
        if not networks:
            raise InputError("no 'Network' block in file (empty file?)", file=self.file)
        _check_dependencies(networks, self.file)
        return tuple(networks)

    def parse_network(self, line: int) -> MaestroNetwork:
        name = self.name("a network name after 'Network'").text
        where = f"networks.{name}"
        self.expect("{", where)
        fps: float | None = None
        probability: float | None = None
        dependencies: tuple[str, ...] | None = None
        layers: list[Layer] = []
        layer_lines: dict[str, int] = {}
        while True:
            token = self.next(f"'}}' closing network '{name}'", where)
            if token.text == "}":
                break
            if token.text.lower() == "network":
                raise self.error(token, f"missing '}}' closing network '{name}'", where)
            key = self.keyword(token, _NETWORK_KEYS, where)
            if key == "Layer":
                layer = self.parse_layer(where)
                if layer.name in layer_lines:
                    raise self.error(
                        token,
                        f"duplicate layer name (first at line {layer_lines[layer.name]})",
                        f"{where}.layers.{layer.name}",
                    )
                layer_lines[layer.name] = token.line
                layers.append(layer)
                continue
            here = f"{where}.{key}"
            self.skip_colon()
            if key == "Dependency":
                if dependencies is not None:
                    raise self.error(token, "given twice", here)
                dependencies = self.parse_name_list(here)
            elif key == "FPS":
                if fps is not None:
                    raise self.error(token, "given twice", here)
                fps = self.parse_number(here, minimum=0.0, exclusive=True, maximum=MAX_FPS)
            else:
                if probability is not None:
                    raise self.error(token, "given twice", here)
                probability = self.parse_number(here, minimum=0.0, maximum=1.0)
        if not layers:
            raise InputError(f"network has no layers (line {line})", file=self.file, field=where)
        return MaestroNetwork(
            name=name,
            fps=fps,
            probability=1.0 if probability is None else probability,
            dependencies=dependencies or (),
            layers=tuple(layers),
            line=line,
        )

    def parse_name_list(self, where: str) -> tuple[str, ...]:
        self.expect("{", where)
        names: list[str] = []
        while True:
            token = self.next("a network name or '}'", where)
            if token.text == "}":
                return tuple(names)
            if token.text == ",":
                continue
            if token.text in _PUNCTUATION:
                raise self.error(
                    token, f"expected a network name, got {excerpt(token.text)}", where
                )
            if token.text in names:
                raise self.error(token, f"{excerpt(token.text)} listed twice", where)
            names.append(token.text)

    def parse_number(
        self, where: str, *, minimum: float, maximum: float, exclusive: bool = False
    ) -> float:
        token = self.next("a number", where)
        if not _NUMBER.fullmatch(token.text):
            raise self.error(token, f"expected a number, got {excerpt(token.text)}", where)
        value = float(token.text)
        too_small = value <= minimum if exclusive else value < minimum
        if not math.isfinite(value) or too_small or value > maximum:
            low = f"> {minimum:g}" if exclusive else f">= {minimum:g}"
            raise self.error(
                token, f"must be {low} and <= {maximum:g}, got {excerpt(token.text)}", where
            )
        return value

    def parse_integer(self, where: str) -> int:
        token = self.next("a positive integer", where)
        if not _INTEGER.fullmatch(token.text):
            raise self.error(
                token, f"expected a positive integer, got {excerpt(token.text)}", where
            )
        # Bound the digit count before int(): Python refuses to convert huge digit strings.
        if len(token.text.lstrip("+-0")) > 12:
            raise self.error(token, f"absurdly large value {excerpt(token.text)}", where)
        value = int(token.text)
        if value < 1:
            raise self.error(token, f"must be a positive integer, got {value}", where)
        if value > MAX_DIMENSION:
            raise self.error(token, f"absurdly large value {value} (limit {MAX_DIMENSION})", where)
        return value

    def parse_int_mapping(
        self, where: str, valid: tuple[str, ...]
    ) -> tuple[dict[str, int], dict[str, int]]:
        """``{ KEY: int, ... }`` → values and the line of each key."""
        self.expect("{", where)
        values: dict[str, int] = {}
        lines: dict[str, int] = {}
        while True:
            token = self.next("a 'KEY: value' pair or '}'", where)
            if token.text == "}":
                return values, lines
            if token.text == ",":
                continue
            if token.text not in valid:
                raise self.error(
                    token,
                    f"unknown dimension {excerpt(token.text)}{suggest(token.text, valid)}; "
                    f"valid: {', '.join(valid)}",
                    f"{where}.{token.text}",
                )
            if token.text in values:
                raise self.error(token, "given twice", f"{where}.{token.text}")
            self.expect(":", f"{where}.{token.text}")
            values[token.text] = self.parse_integer(f"{where}.{token.text}")
            lines[token.text] = token.line

    def skip_block(self, where: str) -> None:
        """Skip a ``{ ... }`` block with nested braces (MAESTRO mapping directives)."""
        self.expect("{", where)
        depth = 1
        while depth:
            token = self.next("'}'", where)
            depth += {"{": 1, "}": -1}.get(token.text, 0)

    def parse_layer(self, network_where: str) -> Layer:
        name_token = self.name("a layer name after 'Layer'", network_where)
        where = f"{network_where}.layers.{name_token.text}"
        self.expect("{", where)
        type_token: _Token | None = None
        dims: dict[str, int] | None = None
        dim_lines: dict[str, int] = {}
        strides: dict[str, int] | None = None
        while True:
            token = self.next(f"'}}' closing layer '{name_token.text}'", where)
            if token.text == "}":
                break
            key = self.keyword(token, _LAYER_KEYS, where)
            here = f"{where}.{key}"
            self.skip_colon()
            if key == "Dataflow":
                self.skip_block(here)
                continue
            already = {"Type": type_token, "Dimensions": dims, "Stride": strides}[key]
            if already is not None:
                raise self.error(token, "given twice", here)
            if key == "Type":
                type_token = self.name("a layer type", here)
            elif key == "Dimensions":
                dims, dim_lines = self.parse_int_mapping(here, DIMENSIONS)
            else:
                strides, _ = self.parse_int_mapping(here, _STRIDE_KEYS)
        if type_token is None:
            raise self.error(name_token, "layer has no 'Type'", f"{where}.Type")
        if dims is None:
            raise self.error(name_token, "layer has no 'Dimensions'", f"{where}.Dimensions")
        missing = [d for d in DIMENSIONS if d != "N" and d not in dims]
        if missing:
            raise self.error(
                name_token,
                f"missing dimension {', '.join(missing)} (N defaults to 1; "
                f"K, C, Y, X, R, S are required)",
                f"{where}.Dimensions.{missing[0]}",
            )
        return self.make_layer(name_token, type_token, dims, dim_lines, strides or {}, where)

    def make_layer(
        self,
        name_token: _Token,
        type_token: _Token,
        dims: dict[str, int],
        dim_lines: dict[str, int],
        strides: dict[str, int],
        where: str,
    ) -> Layer:
        type_name = type_token.text.upper()
        if type_name not in MAESTRO_TYPES:
            extra = " (transposed convs are not supported)" if type_name == "TRCONV" else ""
            raise self.error(
                type_token,
                f"unknown layer type {excerpt(type_token.text)}{suggest(type_name, MAESTRO_TYPES)}"
                f"{extra}; valid: {', '.join(MAESTRO_TYPES)}",
                f"{where}.Type",
            )
        layer_type = MAESTRO_TYPES[type_name]
        values = {"N": 1, **dims}
        stride_y, stride_x = strides.get("Y", 1), strides.get("X", 1)
        if layer_type is LayerType.DWCONV:
            # MAESTRO's DSCONV is depthwise over C channels; files write K as 1 or as C.
            if values["K"] not in (1, values["C"]):
                line = dim_lines.get("K", name_token.line)
                raise InputError(
                    f"DSCONV needs K = 1 or K = C (depthwise over C channels), got "
                    f"K={values['K']}, C={values['C']} (line {line})",
                    file=self.file,
                    field=f"{where}.Dimensions.K",
                )
            values["K"] = values["C"]
        elif (values["R"], values["S"], values["X"], stride_y, stride_x) == (1, 1, 1, 1, 1):
            layer_type = LayerType.FC
        try:
            layer = Layer(
                name=name_token.text,
                type=layer_type,
                N=values["N"],
                K=values["K"],
                C=values["C"],
                Y=values["Y"],
                X=values["X"],
                R=values["R"],
                S=values["S"],
                stride_y=stride_y,
                stride_x=stride_x,
            )
        except InputError as error:  # work or traffic beyond the integer limit
            raise self.error(name_token, error.reason, where) from None
        if layer.macs > ABSURD:
            raise self.error(name_token, f"absurdly large layer ({layer.macs:.3g} MACs)", where)
        return layer


def _check_dependencies(networks: list[MaestroNetwork], file: str) -> None:
    names = [network.name for network in networks]
    graph = nx.DiGraph()
    graph.add_nodes_from(names)
    for network in networks:
        for upstream in network.dependencies:
            if upstream not in names:
                raise InputError(
                    f"depends on '{upstream}', which is not a network in this file"
                    f"{suggest(upstream, names)}; networks: {', '.join(names)}",
                    file=file,
                    field=f"networks.{network.name}.Dependency",
                )
            graph.add_edge(upstream, network.name)
    if not nx.is_directed_acyclic_graph(graph):
        cycle = [u for u, _ in nx.find_cycle(graph)]
        raise InputError(
            f"cyclic dependency: {' -> '.join([*cycle, cycle[0]])}",
            file=file,
            field=f"networks.{cycle[0]}.Dependency",
        )


# -- public entry points ---------------------------------------------------------------------------


def parse_maestro_text(text: str, *, source: str = "<string>") -> MaestroFile:
    """Parse the text of a ``.m`` file; every problem raises :class:`InputError`."""
    if not text.strip():
        raise InputError("file is empty", file=source)
    parser = _Parser(_tokenize(text), source)
    return MaestroFile(path=source, networks=parser.parse_file())


def parse_maestro(path: str | Path) -> MaestroFile:
    """Parse a MAESTRO/XRBench ``.m`` file (model or scenario)."""
    path = Path(path)
    return parse_maestro_text(read_text(path), source=str(path))


# -- printing ------------------------------------------------------------------------------------


def format_layer(layer: Layer) -> str:
    """One ``Layer`` block in XRBench's layout (the inverse of the parser's type mapping)."""
    if layer.type in (LayerType.CONV, LayerType.FC):
        type_name = "CONV"
    elif layer.type is LayerType.DWCONV:
        type_name = "DSCONV"
    else:
        raise InputError(
            f"layer type '{layer.type}' has no MAESTRO encoding (only conv, dwconv, fc)",
            field=f"layers.{layer.name}.type",
        )
    lines = [f"Layer {layer.name} {{", f"\tType: {type_name}"]
    if (layer.stride_y, layer.stride_x) != (1, 1):
        lines.append(f"\tStride: {{ X: {layer.stride_x}, Y: {layer.stride_y} }}")
    dims = ", ".join(f"{d}: {getattr(layer, d)}" for d in DIMENSIONS)
    lines += [f"\tDimensions: {{ {dims} }}", "}"]
    return "\n".join(lines)


def _format_network(network: MaestroNetwork) -> Iterator[str]:
    yield f"Network {network.name} {{"
    yield ""
    if network.fps is not None:
        fps = network.fps
        yield f"FPS: {int(fps)}" if fps.is_integer() else f"FPS: {excerpt(fps)}"
    if network.probability != 1.0:
        yield f"Probability: {excerpt(network.probability)}"
    if network.dependencies:
        yield f"Dependency: {{ {', '.join(network.dependencies)} }}"
    for layer in network.layers:
        yield ""
        yield format_layer(layer)
    yield ""
    yield "}"


def format_maestro(networks: Iterable[MaestroNetwork]) -> str:
    """``.m`` text for the given networks; :func:`parse_maestro_text` reads it back unchanged."""
    blocks = ["\n".join(_format_network(network)) for network in networks]
    return "\n\n".join(blocks) + "\n"
