"""Grading machinery shared by the Gradescope autograder and batch grading (staff only).

    grader.py       grade one submission: read, splice, run the probes, judge
    submission.py   read a zip or folder safely; splice the regions into the starter
    sandbox.py      child processes with limits, watchdog and quarantine
    child.py        the child: runs the probes beside the student's code
    protocol.py     the framed messages from the child (arrays without pickle)
    api.py          what the hidden tests in staff/grading are written with
    rubric.py       staff/grading/rubric.txt
    notebooks.py    accuracies read from the executed notebooks
    results.py      Gradescope's results.json, feedback text, schema check
    gradescope.py   the entry point of run_autograder

The commands: python -m tools.grade (a class, on one machine) and
python -m tools.autograder (the Gradescope bundle).
"""
