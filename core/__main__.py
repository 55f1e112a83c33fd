"""``python -m core``: the command-line face of the library (see ``python -m core --help``)."""

from core.cli import main

raise SystemExit(main())
