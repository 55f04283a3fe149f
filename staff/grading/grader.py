"""Grade one submission: the code shared by the Gradescope autograder and batch grading.

    result = grade(submission, starter_dir)     # a zip, or a folder holding one or its files

1. Read the submission (submission.py; an unsafe zip is refused with the reason).
2. Splice its regions into a fresh copy of the starter (the workspace).
3. Run every part's probe here, driving the student's code in executors in
   the sandbox (session.py, sandbox.py, executor.py): the executor gets the
   calls to make and their inputs, never a probe, a reference or a judge.
   The inputs are drawn from seeds mixed with a secret drawn for this grading.
4. Judge each part here, and grade the rubric's other lines (the saved models'
   accuracies) from the submission's files, with the assignment's own code
   (assignment.py says what an assignment provides).

Nothing the student's code does can write the result: the caller writes it,
after the student's processes are gone.
"""
import hashlib
import os
import secrets
import shutil
import sys
import tempfile
import time

from . import api, assignment as A, rubric as RUB, sandbox as SB, session, submission
from .api import Fail
from .sandbox import GraderError

GRADER_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# What the engine itself imports from outside staff/grading (relative to GRADER_ROOT).
SOURCES = ('staff/__init__.py', 'staff/release/__init__.py', 'staff/release/regions.py',
           'cs231n/_files.py')


class PartResult:
    def __init__(self, name, kind, points, passed, message, output='', output_bytes=0,
                 seconds=0.0, mistakes=()):
        self.name, self.kind, self.points = name, kind, points
        self.passed, self.message = passed, message
        self.output, self.output_bytes, self.seconds = output, output_bytes, seconds
        self.mistakes = list(mistakes)     # (key, message) of the known mistakes recognised
        self.flag = None                   # why a person should look at it, or None

    @property
    def score(self):
        return self.points if self.passed else 0.0


class GradeResult:
    def __init__(self, student, parts, notes=(), error=None, seconds=0.0):
        self.student, self.parts, self.notes = student, list(parts), list(notes)
        self.error, self.seconds = error, seconds
        self.sandbox = {}

    @property
    def total(self):
        return sum(p.score for p in self.parts)

    @property
    def max_total(self):
        return sum(p.points for p in self.parts)

    def scores(self):
        return {p.name: p.score for p in self.parts}

    def mistakes(self):
        """{part name: [[key, message], ...]} of the known mistakes recognised."""
        return {p.name: [list(m) for m in p.mistakes] for p in self.parts if p.mistakes}

    def flags(self):
        """{part name: why a person should look at it} (none changes a score)."""
        return {p.name: p.flag for p in self.parts if p.flag}


# The grading process's memory. BASE_MB: what it holds for itself (the interpreter, numpy,
# the grader and the hidden tests, the held-out images, the worker threads), measured with
# room to spare. What one submission can add is bounded by the limits, whatever it holds:
MB = 1024 * 1024
BASE_MB = 160


def submission_mb():
    """The most one submission can add to the grading process's memory, in MB: its
    files (submission.MAX_READ), and the largest of reading one of them (MAX_FILE more,
    for a moment), running its parts (session.MAX_DATA kept, three times over while
    it is judged, and a message being parsed: at most 12 times MAX_MESSAGE with its
    values), and grading the rubric's other lines (the assignment's ITEM_MEMORY_MB)."""
    from . import protocol
    parts = 3 * session.MAX_DATA + 12 * protocol.MAX_MESSAGE
    items = getattr(A.current(), 'ITEM_MEMORY_MB', 0) * MB
    return (submission.MAX_READ + max(submission.MAX_FILE, parts, items)) // MB


def memory_bound_mb(jobs=1):
    """The documented bound on the grading process's peak memory with `jobs` submissions
    graded at once, in MB."""
    return BASE_MB + jobs * submission_mb()


def peak_memory_mb():
    """The grading process's peak resident memory so far, in MB: VmHWM, the high-water
    mark of its own memory (getrusage's ru_maxrss would also count what the process
    that started it held before the exec)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_parts(grader_root=GRADER_ROOT):
    if grader_root not in sys.path:
        sys.path.append(grader_root)
    return A.current().load_parts()


def load_rubric(path=None, grader_root=GRADER_ROOT):
    parts = load_parts(grader_root)
    return RUB.load(path or A.current().RUBRIC, known_parts=list(parts))


def fingerprint(starter_dir, rubric, grader_root=GRADER_ROOT):
    """A hash of everything a grade depends on besides the submission: the
    rubric, the engine, the assignment (hidden tests, references) and the
    starter's package."""
    assignment = A.current()
    h = hashlib.sha256(rubric.text.encode('utf-8'))
    folders = [os.path.join(grader_root, 'staff', 'grading'),
               os.path.dirname(os.path.abspath(assignment.__file__)),
               os.path.join(starter_dir, assignment.PACKAGE)]
    files = [os.path.join(grader_root, rel) for rel in SOURCES + tuple(assignment.SOURCES)]
    for folder in folders:
        for here, dirs, names in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != '__pycache__' and not d.startswith('.')
                             and d != 'cifar-10-batches-py')
            files += [os.path.join(here, n) for n in sorted(names)
                      if n.endswith(('.py', '.txt'))]
    for path in files:
        h.update(os.path.relpath(path, os.path.dirname(path)).encode())
        with open(path, 'rb') as f:
            h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def _not_implemented(message):
    return 'NotImplementedError' in message


def judge_part(part, run, points):
    """PartResult of one code part from its PartRun."""
    kw = dict(output=run.output, output_bytes=run.output_bytes, seconds=run.seconds)
    if run.error and not (part.partial and run.data):
        return PartResult(part.name, 'part', points, False, run.error,
                          mistakes=A.current().name_mistakes(part.name, {'__error__': run.error}),
                          **kw)
    if '__error__' in run.data:
        message = str(run.data['__error__'])
        named = A.current().name_mistakes(part.name, {'__error__': message})
        if _not_implemented(message):
            message = 'not implemented: ' + message
        return PartResult(part.name, 'part', points, False, message, mistakes=named, **kw)
    try:
        note = part.judge_fn(run.data)
    except Fail as e:
        message = str(e)
        if run.error:
            message = run.error
        elif _not_implemented(message):
            message = 'not implemented: ' + message
        # The known mistakes whose results these match, by name.
        named = A.current().name_mistakes(part.name, run.data)
        return PartResult(part.name, 'part', points, False, message, mistakes=named, **kw)
    except Exception as e:  # results of an unexpected shape or type
        message = run.error or 'your results could not be checked (%s: %s)' % (
            type(e).__name__, str(e)[:300])
        return PartResult(part.name, 'part', points, False, message, **kw)
    message = note or 'passed'
    if run.error:
        message += ' (on the results sent before the part was stopped: %s)' % run.error
    return PartResult(part.name, 'part', points, True, message, **kw)


def groups_of(rubric, parts):
    """The rubric's parts in executor groups: each api.Part's group, in rubric order."""
    groups = {}
    for item in rubric.parts:
        groups.setdefault(parts[item.name].group, []).append(item.name)
    return list(groups.values())


def grade(path, starter_dir, rubric=None, student=None, grader_root=GRADER_ROOT, sandbox='auto',
          python=None, settings=None, workdir=None, heldout=None):
    """Grade the submission at `path` (zip or folder) against the starter in starter_dir.

    Inputs:
    - rubric: a rubric.Rubric (default: the assignment's)
    - sandbox: a sandbox.Sandbox, or the kind to choose ('auto', 'bwrap', 'user';
      'none' only for trusted code); SandboxUnavailable if none can run here
    - settings: overrides of the rubric's settings (e.g. {'part_timeout': 5})
    - workdir: where the temporary workspace goes (default: the system's)
    - heldout: what the rubric's other lines are graded with (the assignment's
      load_data: the bundle's held-out images, else built from the local data)
    """
    started = time.monotonic()
    parts = load_parts(grader_root)
    rubric = rubric or load_rubric(grader_root=grader_root)
    settings = dict(rubric.settings, **(settings or {}))
    student = student or os.path.splitext(os.path.basename(os.path.normpath(path)))[0]
    box = sandbox if isinstance(sandbox, SB.Sandbox) else SB.choose(sandbox, python)

    try:
        files, notes = submission.read_submission(path)
    except submission.Refused as e:
        return refused(student, rubric, 'Submission refused: %s' % e, time.monotonic() - started)

    assignment = A.current()
    salt = secrets.token_bytes(16)
    points = {item.name: item.points for item in rubric.items}
    judged = {}

    def judge(name, run):
        # Each part is judged as soon as it ends: only one part's results are kept at a time.
        judged[name] = judge_part(parts[name], run, points[name])

    workspace = tempfile.mkdtemp(prefix='cs231n-grading-', dir=workdir)
    try:
        notes += submission.build_workspace(starter_dir, files, workspace)
        with api.case_salt(salt):
            _, report = session.run_parts(workspace, groups_of(rubric, parts), parts, settings,
                                          box, assignment, python, on_done=judge)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    results = []
    others = [i for i in rubric.items if i.kind != 'part']
    heldout = heldout or (assignment.load_data(grader_root) if others else None)
    with api.case_salt(salt):
        for item in rubric.items:
            if item.kind == 'part':
                results.append(judged[item.name])
                continue
            try:
                graded = assignment.grade_item(item, files, heldout)
            except (KeyboardInterrupt, GraderError):
                raise
            except Exception as e:  # noqa: BLE001 the student's files cost this line only
                graded = False, 'your files for %s could not be graded (%s: %s)' % (
                    item.name, type(e).__name__, str(e)[:300])
            part = PartResult(item.name, item.kind, item.points, graded[0], graded[1])
            part.flag = graded[2] if len(graded) > 2 else None
            results.append(part)
    result = GradeResult(student, results, notes, seconds=time.monotonic() - started)
    result.sandbox = dict(report, kind=box.describe())
    return result


def refused(student, rubric, reason, seconds=0.0):
    """The result of a submission the grader could not grade at all."""
    return GradeResult(student, [PartResult(i.name, i.kind, i.points, False, reason)
                                 for i in rubric.items], error=reason, seconds=seconds)
