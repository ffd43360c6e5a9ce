"""The build's one step beyond pyproject.toml: the engine's compiled core,
``rtmm_opt.engine.native`` (``rtmm_opt/engine/native.c``, ``docs/engine.md``). It is optional:
where no C compiler is found the package installs without it and the engine runs in pure
Python."""

import hashlib
import sys
from pathlib import Path

from setuptools import Extension, setup

SOURCE = "rtmm_opt/engine/native.c"
# No fused multiply-add: the core must round as the pure-Python path does.
FLAGS = ["/O2", "/fp:precise"] if sys.platform == "win32" else ["-O2", "-ffp-contract=off"]
# The module knows the source it was built from: rtmm_opt.engine.core does not use a core that
# is older than the native.c beside it (an editable install after an edit of the C source).
DIGEST = hashlib.sha256((Path(__file__).parent / SOURCE).read_bytes()).hexdigest()[:16]

setup(
    ext_modules=[
        Extension(
            "rtmm_opt.engine.native",
            [SOURCE],
            extra_compile_args=FLAGS,
            define_macros=[("RTMM_CORE_SOURCE", f'"{DIGEST}"')],
            optional=True,
        )
    ]
)
