"""python -m staff.alt_solution: the alternative solution in a fresh starter (see run.py)."""
import sys

from .run import main

sys.exit(main())
