"""Agreement with peer simulators: the XRBench harness and the Dysta simulator.

Each module runs the project on a peer's reference inputs and compares the results with the
peer's own outputs (``shared/xrbench/reference``, ``shared/dysta/reference``);
``scripts/validate_references.py`` turns the records into ``docs/validation.md``.
"""
