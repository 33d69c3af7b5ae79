"""`python -m cdrtui`: the same as the `cdrtui` command."""

import sys

from .cli import main

sys.exit(main())
