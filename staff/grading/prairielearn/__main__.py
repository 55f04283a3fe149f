"""python -m staff.grading.prairielearn: PrairieLearn's entrypoint (see __init__.py)."""
import sys

from . import main

sys.exit(main())
