"""Allow `python -m adaptsched`."""

from adaptsched.cli.main import main

raise SystemExit(main())
