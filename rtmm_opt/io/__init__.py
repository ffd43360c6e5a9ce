"""Reading user files strictly: every error names the file, the field path and the reason."""

from rtmm_opt.io.strict import (
    Fields,
    check_number,
    dump_yaml,
    integer_array,
    load_json,
    load_yaml,
    parse_yaml,
    suggest,
)

__all__ = [
    "Fields",
    "check_number",
    "dump_yaml",
    "integer_array",
    "load_json",
    "load_yaml",
    "parse_yaml",
    "suggest",
]
