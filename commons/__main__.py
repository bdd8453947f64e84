"""``python -m commons``: the same as the ``commons`` console script."""

import sys

from commons.cli import main

sys.exit(main())
