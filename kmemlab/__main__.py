"""``python -m kmemlab ...``: the ``kmemlab`` command without its console script."""
import sys

from .cli import main

sys.exit(main())
