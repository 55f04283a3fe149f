"""Everything staff-only; staff/ never ships with the student starter.

    release/        the starter generated from this repository, and its checks
    grading/        the grader: machinery, hidden tests, rubric, the batch command and
                    the Gradescope bundle
    alt_solution/   a second, differently written solution, run in a fresh starter by CI
    tests/          the staff tests: formulas, internals, the release, grading, the data tools

Imports go from staff/ to cs231n/ and tools/, never back.
"""
