"""python -m staff.release OUT_DIR: write the student starter (see starter.py)."""
import sys

from .starter import main

sys.exit(main())
