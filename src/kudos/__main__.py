"""``python -m kudos``: the same as the ``kudos`` command."""

from .cli import main

raise SystemExit(main())
