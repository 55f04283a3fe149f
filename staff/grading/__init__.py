"""Grading (staff only): the machinery shared by the Gradescope autograder and batch grading.

    grader.py       grade one submission: read, splice, run the probes, judge
    submission.py   read a zip or folder safely; splice the regions into the starter
    session.py      the probes' side: drives the student's code, answers with the references
    sandbox.py      where the executor runs: bubblewrap, the sandbox user, or (trusted) none
    executor.py     the one process that runs student code: commands in, values out
    protocol.py     the framed messages between the two (arrays without pickle)
    api.py          what the hidden tests in parts/ are written with
    rubric.py       reads parts/rubric.txt
    models.py       the saved models scored on held-out images with the staff's layers
    notebooks.py    what the executed notebooks printed (compared with models.py)
    results.py      Gradescope's results.json, feedback text, schema check
    gradescope.py   the entry point of run_autograder
    grade.py        python -m staff.grading.grade: a whole class on one machine
    autograder.py   python -m staff.grading.autograder: the Gradescope bundle
    parts/          the hidden tests, their references and the rubric

grade.py and gradescope.py call grader.grade(); it splices a submission with
submission.py, runs each probe of parts/ here through session.py, which sends
the executor (executor.py, in the sandbox of sandbox.py) one call at a time,
and judges what comes back with the references of parts/. The answer key
never leaves the grading process.
"""
