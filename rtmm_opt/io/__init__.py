"""Reading user files strictly: every error names the file, the field path and the reason."""

from rtmm_opt.io.strict import Fields, check_number, load_json, load_yaml, suggest

__all__ = ["Fields", "check_number", "load_json", "load_yaml", "suggest"]
