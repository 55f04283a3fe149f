"""The alternative solution (staff only): a second, differently written solution.

    README.md       what it holds and why each region is written as it is
    cs231n/         its regions, keyed by file and function (and part)
    notebooks/      its notebook regions, keyed by notebook and region number
    run.py          python -m staff.alt_solution: splice it into a fresh starter
                    (staff/release) and run the public self-check and the notebooks there
"""
