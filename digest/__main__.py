"""`python -m digest` and the `digest` command."""

import gc
import sys


def main() -> int:
    """The command line (`cli.main`), with the collector kept off the modules' objects.

    Modules' objects live as long as the process: no search for reference cycles among
    them while they are made (~45 ms of a run's start), nor in the searches during the
    run (frozen: ~25 ms less each full one); the imports' few cyclic leftovers (~0.5 MB)
    stay. The process ends after: frozen, the run's objects are not searched for cycles
    once more while the interpreter shuts down (~0.1-0.2 s of CPU after a run, on the
    critical path); exit handlers still run."""
    gc.disable()
    from digest import cli

    if sys.argv[1:2] == ["run"]:
        import digest.pipeline  # noqa: F401  the run's modules, frozen with the others
    gc.freeze()
    gc.enable()
    code = cli.main()
    gc.freeze()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
