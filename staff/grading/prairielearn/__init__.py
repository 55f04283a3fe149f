"""PrairieLearn's external grader: the same grader, PrairieLearn's directories and results.

    python -m staff.grading.prairielearn [--root ROOT] [--sandbox KIND]
    python -m staff.grading.prairielearn.bundle OUT_DIR     # the grader image's build folder

ROOT (default: $PRAIRIELEARN_ROOT, else /grade) is laid out as PrairieLearn
lays it out (docs: externalGrading.md, "The Grading Process"):

    ROOT/student/           the files the student submitted: a2_submission.zip (or its files)
    ROOT/data/data.json     the question's data object (not needed to grade; made private)
    ROOT/tests/, ROOT/serverFilesCourse/   the question's and the course's files, if any
    ROOT/results/results.json   written here, by this process only

The grader itself (grader/ with the hidden tests and the held-out images,
starter/) lives in the image, beside the entrypoint (bundle.py builds the
folder, Dockerfile says how). As on Gradescope, the container runs this as
root: the student's code runs in bubblewrap where the container allows it,
else as the unprivileged sandbox user, after the grader, the submission and
the results were made private to root and checked from that user's side.

results.json is always written (always.py, shared with Gradescope's
run_autograder), within PrairieLearn's limit of 1 MB:

    {"gradable": true, "score": 0.96 (a fraction), "message": "Total: 96 / 100",
     "output": the overall feedback,
     "tests": [{"name", "description", "points", "max_points", "message", "output"}]}

and {"gradable": false, "message": why, "format_errors": [why]} when the
submission cannot be graded (an unsafe or unreadable zip), when grading was
stopped, and when the grader itself failed: PrairieLearn then marks the
submission "invalid, not gradable" and it does not use up an attempt.
"""
import argparse
import json
import numbers
import os
import sys

from .. import always, grader, results as RES, sandbox as SB

MAX_BYTES = 1000 * 1000          # PrairieLearn: "this file should be limited to 1 MB"
MAX_TOP_OUTPUT = 64000
DESCRIPTIONS = {'part': 'hidden tests of your code',
                'accuracy': 'your saved model, scored on the validation images'}
CLIPS = (8000, 2000, 500, 100, 0)     # characters per output, until the file fits


def not_gradable(message):
    """results.json of a submission that was not graded (no attempt is used up)."""
    return {'gradable': False, 'message': message, 'format_errors': [message]}


def _first_line(text, limit=500):
    line = (text or '').strip().splitlines()[0] if (text or '').strip() else ''
    return line if len(line) <= limit else line[:limit] + ' [...]'


def results_json(result):
    """PrairieLearn's results.json for one grader.GradeResult."""
    if result.error:          # refused before any test ran: not the student's score
        return not_gradable(result.error)
    gradescope = RES.gradescope(result)
    tests = []
    for p in result.parts:
        tests.append({'name': p.name, 'description': DESCRIPTIONS.get(p.kind, p.kind),
                      'points': round(p.score, 4), 'max_points': p.points,
                      'message': _first_line(p.message), 'output': RES.test_output(p)})
    score = result.total / result.max_total if result.max_total else 0.0
    return {'gradable': True, 'score': round(min(max(score, 0.0), 1.0), 6),
            'message': 'Total: %g / %g' % (result.total, result.max_total),
            'output': RES._clip(gradescope['output'], MAX_TOP_OUTPUT), 'tests': tests}


def dump(data, limit=MAX_BYTES):
    """The JSON text of data, its outputs clipped until it fits in `limit` bytes."""
    text = json.dumps(data, indent=1, ensure_ascii=False)
    for clip in CLIPS:
        if len(text.encode('utf-8')) <= limit:
            return text
        data = dict(data)
        if isinstance(data.get('tests'), list):
            data['tests'] = [dict(t, output=RES._clip(t.get('output', ''), clip))
                             for t in data['tests']]
        for key in ('output', 'message'):
            if isinstance(data.get(key), str):
                data[key] = RES._clip(data[key], 4 * clip)
        text = json.dumps(data, indent=1, ensure_ascii=False)
    if len(text.encode('utf-8')) > limit:    # only names and numbers left: should never happen
        text = json.dumps(not_gradable('The results were too large to report (over %d bytes); '
                                       'please tell the course staff.' % limit))
    return text


def validate(data):
    """Problems (strings) of a results.json dict for PrairieLearn; [] if valid (its
    size is dump()'s business)."""
    def number(v):
        return isinstance(v, numbers.Real) and not isinstance(v, bool) and v == v

    if not isinstance(data, dict):
        return ['results must be a JSON object']
    problems = []
    gradable = data.get('gradable', True)
    if not isinstance(gradable, bool):
        problems.append('gradable must be true or false')
    if gradable:
        if not number(data.get('score')) or not 0 <= data['score'] <= 1:
            problems.append('score must be a number in [0, 1], got %r' % (data.get('score'),))
    elif not isinstance(data.get('format_errors', []), (list, str)):
        problems.append('format_errors must be a string or a list of strings')
    for key in ('message', 'output'):
        if key in data and not isinstance(data[key], str):
            problems.append('%s must be a string' % key)
    tests = data.get('tests', [])
    if not isinstance(tests, list):
        return problems + ['tests must be a list']
    for i, t in enumerate(tests):
        where = 'tests[%d]' % i
        if not isinstance(t, dict) or not isinstance(t.get('name'), str) or not t['name']:
            problems.append('%s must be an object with a name' % where)
            continue
        for key in ('points', 'max_points'):
            if key in t and not number(t[key]):
                problems.append('%s: %s must be a number' % (where, key))
        if number(t.get('points')) and number(t.get('max_points')) \
                and not 0 <= t['points'] <= t['max_points']:
            problems.append('%s: points %r outside [0, max_points %r]'
                            % (where, t['points'], t['max_points']))
        for key in ('message', 'output', 'description'):
            if key in t and not isinstance(t[key], str):
                problems.append('%s: %s must be a string' % (where, key))
    return problems


PRIVATE = ('student', 'results', 'data', 'tests', 'serverFilesCourse')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m staff.grading.prairielearn')
    parser.add_argument('--root', default=os.environ.get('PRAIRIELEARN_ROOT', '/grade'),
                        help='PrairieLearn\'s job folder (default: $PRAIRIELEARN_ROOT, else /grade)')
    parser.add_argument('--sandbox', default=os.environ.get('CS231N_SANDBOX', 'auto'),
                        choices=('auto',) + SB.KINDS[:2],
                        help='how the student\'s code is isolated (default: auto)')
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)
    grader_root = grader.GRADER_ROOT
    source = os.path.dirname(grader_root)       # the image's grader folder: grader/, starter/
    starter = os.path.join(source, 'starter')
    student = os.path.join(root, 'student')
    out_dir = os.path.join(root, 'results')
    out = os.path.join(out_dir, 'results.json')
    os.makedirs(out_dir, exist_ok=True)     # PrairieLearn does not create it
    if grader_root not in sys.path:
        sys.path.append(grader_root)
    from ..gradescope import make_private

    def grade():
        private = [os.path.join(root, d) for d in PRIVATE]
        make_private([source] + private)
        rubric = grader.load_rubric(grader_root=grader_root)
        box = SB.choose(args.sandbox)
        SB.check_private(box, [source, grader_root] + private)
        if not os.path.isdir(student) or not os.listdir(student):
            return not_gradable('Nothing was submitted: upload a2_submission.zip, the zip that '
                                'python -m tools.collect_submission writes.')
        result = grader.grade(student, starter, rubric, student='submission',
                              grader_root=grader_root, sandbox=box)
        print(RES.feedback(result))
        return results_json(result)

    return always.write_always(out, grade, lambda kind, text: not_gradable(text), validate,
                               dump)
