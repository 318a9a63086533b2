"""Compiles standard-library modules to sourceless .pyc, run by build/runtime.py
under the Python that will load them (its magic number, its marshal format).

    compile_stdlib.py STDLIB_DIR DEBIAN_STDLIB OUT_DIR RELATIVE.py...

Each OUT_DIR/RELATIVE.pyc is unchecked hash-based (PEP 552): no mtime in it,
so the build is reproducible; it records the module's path as Debian installs
it (DEBIAN_STDLIB/RELATIVE.py), which tracebacks name.
"""

import os
import py_compile
import sys

stdlib, debian_stdlib, out = sys.argv[1:4]
for relative in sys.argv[4:]:
    target = os.path.join(out, relative[: -len(".py")] + ".pyc")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    py_compile.compile(
        os.path.join(stdlib, relative),
        cfile=target,
        dfile=os.path.join(debian_stdlib, relative),
        doraise=True,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
