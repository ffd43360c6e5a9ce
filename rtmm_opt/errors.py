"""The one exception type for bad input.

Every parser, loader and validator of user input raises :class:`InputError`, which carries the
file, the field path inside it and the reason. The CLI prints it as one line and exits with
status 2 (SPEC §6); nothing else about it is special.
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad user input: ``file``, ``field`` (a path such as ``tasks[2].fps``) and ``reason``."""

    def __init__(
        self, reason: str, *, file: str | Path | None = None, field: str | None = None
    ) -> None:
        self.reason = reason
        self.file = str(file) if file is not None else None
        self.field = field or None
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
