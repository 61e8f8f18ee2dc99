"""`python -m digest` is the `digest` command."""

from digest.cli import main

raise SystemExit(main())
