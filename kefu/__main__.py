"""`python -m kefu`: the same as the `kefu` command."""

from kefu.cli.main import main

raise SystemExit(main())
