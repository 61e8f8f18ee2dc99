"""`python -m digest` is the `digest` command."""

import gc
import sys

# Modules' objects live as long as the process: no search for reference cycles among them
# while they are made (~45 ms of a run's start), nor in the searches during the run
# (frozen: ~25 ms less each full one); the import's few cyclic leftovers (~0.5 MB) stay.
gc.disable()
from digest import cli  # noqa: E402

if sys.argv[1:2] == ["run"]:
    import digest.pipeline  # noqa: F401  the run's modules, frozen with the others
gc.freeze()
gc.enable()
code = cli.main()
# The process ends here and its memory goes back to the system whole: frozen, the run's
# objects are not searched for cycles once more while the interpreter shuts down (~0.1-0.2
# s of CPU after a run, on the critical path); exit handlers still run.
gc.freeze()
raise SystemExit(code)
