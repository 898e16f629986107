"""``python -m xdist`` runs the command line."""

import sys

from xdist.cli import main

sys.exit(main())
