"""RELMAS's actor in numpy: the network, its recurrent state, and its checkpoint file.

The actor (``docs/schedulers/relmas.md``) reads an
:class:`~rtmm_opt.schedulers.relmas_state.Observation`:

1. the global features go through an LSTM cell (``recurrent``; its state carries over from one
   decision point to the next within a replay) or, in the MLP ablation, a tanh layer: ``h``;
2. every (candidate, accelerator) pair's features, with ``h`` appended, go through the same
   two-layer ReLU network to one score in [−1, 1] (tanh).

Sharing the pair network makes the actor independent of the number of accelerators and of
candidates. A checkpoint is an ``.npz`` file written by training (``rtmm train relmas``): the
weights under the names below, plus ``format``, ``recurrent``, ``bandwidth``, ``k`` and a JSON
``meta`` string (how it was trained). PyTorch's ``LSTMCell`` gate order (input, forget, cell,
output) is used, so trained weights copy over unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rtmm_opt.errors import InputError
from rtmm_opt.schedulers.relmas_state import GLOBAL_FEATURES, N_INPUTS

FORMAT = "rtmm-relmas-1"
RECURRENT_KEYS = ("lstm.w_ih", "lstm.w_hh", "lstm.b")
MLP_KEYS = ("embed.w", "embed.b")
PAIR_KEYS = ("pair1.w", "pair1.b", "pair2.w", "pair2.b", "out.w", "out.b")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


@dataclass
class Actor:
    """The numpy actor (module docstring). ``weights`` maps the checkpoint names to arrays."""

    weights: dict[str, np.ndarray]
    recurrent: bool = True
    bandwidth: bool = True
    k: int = 8
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        keys = (RECURRENT_KEYS if self.recurrent else MLP_KEYS) + PAIR_KEYS
        missing = [key for key in keys if key not in self.weights]
        if missing:
            raise ValueError(f"missing weights {', '.join(missing)}")
        w = {key: np.asarray(self.weights[key], np.float64) for key in keys}
        g = len(GLOBAL_FEATURES)
        if self.recurrent:
            hidden = w["lstm.w_hh"].shape[1]
            expected = {
                "lstm.w_ih": (4 * hidden, g),
                "lstm.w_hh": (4 * hidden, hidden),
                "lstm.b": (4 * hidden,),
            }
        else:
            hidden = w["embed.w"].shape[0]
            expected = {"embed.w": (hidden, g), "embed.b": (hidden,)}
        width = w["pair1.w"].shape[0]
        expected |= {
            "pair1.w": (width, N_INPUTS + hidden),
            "pair1.b": (width,),
            "pair2.w": (width, width),
            "pair2.b": (width,),
            "out.w": (1, width),
            "out.b": (1,),
        }
        for key, shape in expected.items():
            if w[key].shape != shape:
                raise ValueError(f"weight {key} has shape {w[key].shape}, expected {shape}")
            if not np.all(np.isfinite(w[key])):
                raise ValueError(f"weight {key} is not finite")
        self.hidden = hidden
        self._w = w
        # pair1 split: the part that reads pair features and the part that reads h
        self._p1x = np.ascontiguousarray(w["pair1.w"][:, :N_INPUTS].T)
        self._p1h = w["pair1.w"][:, N_INPUTS:]
        self._p2 = np.ascontiguousarray(w["pair2.w"].T)
        self._out = w["out.w"][0]
        self.initial_state()

    @classmethod
    def random(
        cls,
        seed: int,
        *,
        recurrent: bool = True,
        bandwidth: bool = True,
        k: int = 8,
        hidden: int = 16,
        width: int = 32,
    ) -> Actor:
        """An untrained actor (PyTorch's default uniform initialisation, seeded)."""
        rng = np.random.default_rng(seed)
        g = len(GLOBAL_FEATURES)

        def uniform(shape: tuple[int, ...], fan_in: int) -> np.ndarray:
            bound = 1.0 / np.sqrt(fan_in)
            return rng.uniform(-bound, bound, shape)

        weights: dict[str, np.ndarray] = {}
        if recurrent:
            weights["lstm.w_ih"] = uniform((4 * hidden, g), hidden)
            weights["lstm.w_hh"] = uniform((4 * hidden, hidden), hidden)
            weights["lstm.b"] = uniform((4 * hidden,), hidden)
        else:
            weights["embed.w"] = uniform((hidden, g), g)
            weights["embed.b"] = uniform((hidden,), g)
        weights["pair1.w"] = uniform((width, N_INPUTS + hidden), N_INPUTS + hidden)
        weights["pair1.b"] = uniform((width,), N_INPUTS + hidden)
        weights["pair2.w"] = uniform((width, width), width)
        weights["pair2.b"] = uniform((width,), width)
        weights["out.w"] = uniform((1, width), width)
        weights["out.b"] = uniform((1,), width)
        return cls(
            weights,
            recurrent=recurrent,
            bandwidth=bandwidth,
            k=k,
            meta={"trained": False, "seed": seed},
        )

    # -- inference ------------------------------------------------------------------------------
    def initial_state(self) -> None:
        """Forget the recurrent state (at the start of every replay)."""
        self.h = np.zeros(self.hidden)
        self.c = np.zeros(self.hidden)

    def embed(self, glob: np.ndarray) -> np.ndarray:
        """Advance the recurrent state by one decision point; the new ``h``."""
        w = self._w
        if not self.recurrent:
            return np.tanh(w["embed.w"] @ glob + w["embed.b"])
        gates = w["lstm.w_ih"] @ glob + w["lstm.w_hh"] @ self.h + w["lstm.b"]
        n = self.hidden
        gate = _sigmoid(gates)  # input, forget, (cell: tanh below), output
        g = np.tanh(gates[2 * n : 3 * n])
        self.c = gate[n : 2 * n] * self.c + gate[:n] * g
        self.h = gate[3 * n :] * np.tanh(self.c)
        return self.h

    def scores(self, pairs: np.ndarray, glob: np.ndarray) -> np.ndarray:
        """One score in [−1, 1] per pair (shape ``pairs.shape[:2]``); advances the state."""
        h = self.embed(glob.astype(np.float64))
        k, n_acc, n_in = pairs.shape
        x = pairs.reshape(k * n_acc, n_in)
        w = self._w
        hidden = np.maximum(x @ self._p1x + (self._p1h @ h + w["pair1.b"]), 0.0)
        hidden = np.maximum(hidden @ self._p2 + w["pair2.b"], 0.0)
        return np.tanh(hidden @ self._out + w["out.b"][0]).reshape(k, n_acc)

    # -- files ----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        arrays: dict[str, Any] = {key: np.asarray(value) for key, value in self._w.items()}
        arrays |= {
            "format": np.array(FORMAT),
            "recurrent": np.array(self.recurrent),
            "bandwidth": np.array(self.bandwidth),
            "k": np.array(self.k),
            "meta": np.array(json.dumps(self.meta, sort_keys=True)),
        }
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> Actor:
        """Read a checkpoint; a file that is not one is an input error naming it."""
        field_name = "params.policy"
        try:
            with np.load(path, allow_pickle=False) as data:
                content = {key: data[key] for key in data.files}
        except FileNotFoundError:
            raise InputError(f"{path}: no such file", field=field_name) from None
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
            raise InputError(
                f"{path}: not a RELMAS checkpoint (an .npz file written by rtmm train relmas; "
                f"{reason})",
                field=field_name,
            ) from None
        if str(content.get("format", "")) != FORMAT:
            raise InputError(
                f"{path}: not a RELMAS checkpoint (format {FORMAT!r} expected)", field=field_name
            )
        try:
            meta = json.loads(str(content["meta"])) if "meta" in content else {}
            k = int(content["k"])
            if k < 1:
                raise ValueError(f"k must be at least 1, got {k}")
            return cls(
                {key: value for key, value in content.items() if "." in key},
                recurrent=bool(content["recurrent"]),
                bandwidth=bool(content["bandwidth"]),
                k=k,
                meta=meta if isinstance(meta, dict) else {},
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise InputError(f"{path}: broken RELMAS checkpoint: {exc}", field=field_name) from None
