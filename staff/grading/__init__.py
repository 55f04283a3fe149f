"""The grading engine (staff only): grades student code in solution regions, safely.

    assignment.py   what an assignment must provide, and how the engine loads it
    grader.py       grade one submission: read, splice, run the probes, judge
    submission.py   read a zip or folder safely; splice the regions into the starter
    session.py      the probes' side: drives the student's code, answers with the references
    sandbox.py      where the executor runs: bubblewrap, the sandbox user, or (trusted) none
    executor.py     the one process that runs student code: commands in, values out
    protocol.py     the framed messages between the two (arrays without pickle)
    api.py          what an assignment's hidden tests are written with
    rubric.py       reads the assignment's rubric file
    results.py      Gradescope's results.json, feedback text, schema check
    report.py       the class report: scores, mistakes, code similarity
    gradescope.py   the entry point of run_autograder (Gradescope)
    grade.py        python -m staff.grading.grade: a whole class on one machine
    autograder.py   python -m staff.grading.autograder: the Gradescope bundle

It knows no assignment by name: the content (hidden tests, references,
rubric, known mistakes, the saved models' accuracies) is a package of its own,
staff/assignment/ for this repository, loaded as assignment.py describes and
importing from here only. grade.py and gradescope.py call grader.grade(); it
splices a submission with submission.py, runs each probe here through
session.py, which sends the executor (executor.py, in the sandbox of
sandbox.py) one call at a time, and judges what comes back with the
assignment's references. The answer key never leaves the grading process.
"""
