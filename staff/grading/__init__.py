"""Grading (staff only): the machinery shared by the Gradescope autograder and batch grading.

    grader.py       grade one submission: read, splice, run the probes, judge
    submission.py   read a zip or folder safely; splice the regions into the starter
    sandbox.py      child processes with limits, watchdog and quarantine
    child.py        the child: runs the probes beside the student's code
    protocol.py     the framed messages from the child (arrays without pickle)
    api.py          what the hidden tests in parts/ are written with
    rubric.py       reads parts/rubric.txt
    notebooks.py    accuracies read from the executed notebooks
    results.py      Gradescope's results.json, feedback text, schema check
    gradescope.py   the entry point of run_autograder
    grade.py        python -m staff.grading.grade: a whole class on one machine
    autograder.py   python -m staff.grading.autograder: the Gradescope bundle
    parts/          the hidden tests, their references and the rubric

grade.py and gradescope.py call grader.grade(); it splices a submission with
submission.py, runs the probes of parts/ through sandbox.py and child.py, and
judges what comes back with the references of parts/.
"""
