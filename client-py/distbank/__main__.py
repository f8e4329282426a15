"""python3 -m distbank …: the command-line client (see distbank/cli.py)."""

import sys

from .cli import main

sys.exit(main())
