import sys

from staff.bugs.runner import main

sys.exit(main())
