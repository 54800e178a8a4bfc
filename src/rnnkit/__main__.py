"""``python -m rnnkit``: the ``rnnkit`` command, for an environment without its script."""

from rnnkit.cli.main import main

raise SystemExit(main())
