"""The one exception type for bad input.

Every parser, loader and validator of user input raises :class:`InputError`, which carries the
file, the field path inside it and the reason. The CLI prints it as one line and exits with
status 2 (docs/design.md §6); nothing else about it is special.

A reason that quotes a value quotes :func:`excerpt` of it: at most ~80 characters, however big
the value (a hostile file may hold a string of megabytes or a structure of billions of nodes).
"""

from __future__ import annotations

import reprlib
from pathlib import Path

EXCERPT_WIDTH = 80
MAX_FIELD_WIDTH = 200

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = EXCERPT_WIDTH
_REPR.maxlong = 40
_REPR.maxother = EXCERPT_WIDTH
for _attribute in ("maxlist", "maxtuple", "maxdict", "maxset", "maxfrozenset", "maxarray"):
    setattr(_REPR, _attribute, 8)


def excerpt(value: object, width: int = EXCERPT_WIDTH) -> str:
    """A short ``repr`` of ``value`` for an error message: at most ``width`` characters.

    The repr is built lazily (:mod:`reprlib` looks at the first few items and levels only), so
    the cost does not grow with the value; longer text is cut with ``...``.
    """
    try:
        text = _REPR.repr(value)
    except ValueError:  # an int of more digits than Python converts to text
        digits = int(value.bit_length() * 0.30103) + 1 if isinstance(value, int) else 0
        text = f"<an integer of about {digits} digits>"
    except Exception:  # a repr that fails: say what it is at least
        text = f"<{type(value).__name__}>"
    return text if len(text) <= width else text[: width - 3] + "..."


class InputError(Exception):
    """Bad user input: ``file``, ``field`` (a path such as ``tasks[2].fps``) and ``reason``."""

    def __init__(
        self, reason: str, *, file: str | Path | None = None, field: str | None = None
    ) -> None:
        self.reason = reason
        self.file = str(file) if file is not None else None
        # a field path holds the file's own keys, which a hostile file may make megabytes long
        self.field = (
            field if not field or len(field) <= MAX_FIELD_WIDTH else field[:MAX_FIELD_WIDTH] + "..."
        ) or None
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [part for part in (self.file, self.field) if part]
        return ": ".join([*where, self.reason])

    def located(self, file: str | Path | None = None, prefix: str | None = None) -> InputError:
        """The same error with a file filled in (if missing) and a field prefix prepended."""
        field = self.field
        if prefix:
            field = (
                f"{prefix}.{field}"
                if field and not field.startswith("[")
                else (f"{prefix}{field}" if field else prefix)
            )
        return InputError(
            self.reason, file=self.file or (str(file) if file is not None else None), field=field
        )
