"""`python -m slakeeper.cli`, as the `slakeeper` console script."""

import sys

from slakeeper.cli import main

sys.exit(main())
