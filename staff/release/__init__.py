"""The student release (staff only): the starter generated from this repository.

    starter.py          python -m staff.release OUT_DIR: write the starter
    manifest.txt        what ships: the tracked files minus staff/, .ci/ and bench/,
                        with student_README.md as README.md
    regions.py          the solution regions of .py files and notebooks: find, stub, splice
    check.py            python -m staff.release.check: CI's checks of a fresh starter
    leak_patterns.txt   the formulas of stubbed functions that no shipped file may hold
    student_README.md   the starter's README.md

starter.py stubs every region with regions.py; check.py builds a starter with
starter.py and checks it, against leak_patterns.txt among others. Grading
(staff/grading) splices submissions with regions.py too.
"""
