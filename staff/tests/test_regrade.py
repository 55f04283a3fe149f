"""Regrades (staff/grading/regrade.py): the previous grades stay until the new ones are complete.

A real class of zips is graded by the real command from a copy of the
grader; then one hidden tolerance of that copy changes (Adam's float64
tolerance, 1e-5 -> 1e-9: correct code that folds Adam's bias corrections into
the step size is about 1e-8 off the official rule, the model answer exactly
on it), the class is regraded, stopped half-way by SIGTERM (the old grades
must be untouched) and resumed: exactly the student with the folded Adam
moves, with the right old and new scores, in changes.csv and in the report.

Staff-only: staff/ never ships.
"""
import csv
import hashlib
import json
import os
import re
import shutil
import signal
import time

import pytest

from staff.grading import regrade as RG
from staff.tests.platforms import copy_grader, grade_cli
from staff.assignment.mistakes.variants import RULES_IN_PLACE
from staff.tests.submissions import (CLASSIC_BUGS, make_submission,
                                     prepend)

ADAM_TOLERANCE = "TOL64_RULE = {'adam': 1e-5}"


def _digests(folder):
    out = {}
    for here, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(here, name)
            with open(path, 'rb') as f:
                out[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return out


def _csv(path):
    with open(path, encoding='utf-8', newline='') as f:
        return list(csv.reader(f))


def test_a_changed_tolerance_regrades_the_class_and_lists_exactly_what_moved(
        tmp_path, starter, rubric):
    grader_root = copy_grader(tmp_path / 'grader')
    folder = tmp_path / 'class'
    folder.mkdir()
    made = tmp_path / 'made'
    made.mkdir()
    for student, edits in [
            ('alice', {}),                                                # the model answers
            ('bob', [e for e in RULES_IN_PLACE if e[1] == 'adam']),       # Adam, folded
            ('carol', CLASSIC_BUGS['adam-bias-correction:beta2-squared'][0]),             # Adam, wrong
            ('zed', {'relu_forward': prepend('import time', 'time.sleep(60)')})]:  # slow
        shutil.copy(make_submission(starter, made, student, edits), str(folder / (student + '.zip')))
    out = folder / 'grading'
    args = ('--starter', starter, '--jobs', '1', '--part-timeout', '3', '--no-progress')

    first = grade_cli(folder, *args, root=grader_root)
    assert first.returncode == 0, first.stderr[-3000:]
    assert RG.is_complete(str(out / 'results'))
    before = _digests(str(out))
    grades_before = (out / 'grades.csv').read_text()
    totals = {r[0]: r for r in _csv(str(out / 'grades.csv'))}
    header = totals.pop('student')
    adam = header.index('adam')
    assert [totals[s][adam] for s in ('alice', 'bob', 'carol', 'zed')] == ['4', '4', '0', '4']
    assert 'No earlier grading of this class' in (out / 'report.html').read_text()

    # One hidden tolerance changes, for real, in the grader's copy.
    optim = os.path.join(grader_root, 'staff', 'assignment', 'parts', 'optim.py')
    with open(optim, encoding='utf-8') as f:
        text = f.read()
    assert ADAM_TOLERANCE in text, 'the tolerance to change moved: update this test'
    with open(optim, 'w', encoding='utf-8') as f:
        f.write(text.replace(ADAM_TOLERANCE, "TOL64_RULE = {'adam': 1e-9}"))

    # The regrade, stopped by SIGTERM half-way: nothing of the old grading changed.
    proc = grade_cli(folder, *args, root=grader_root, popen=True)
    stage = out / RG.STAGE / 'results'
    deadline = time.monotonic() + 300
    while not (stage / 'carol.json').exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    time.sleep(1.0)                           # zed's part is running (3 s)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout + stderr
    assert 'previous grades are unchanged' in stderr
    assert (out / 'grades.csv').read_text() == grades_before
    now = _digests(str(out))
    assert {k: v for k, v in now.items() if not k.startswith(RG.STAGE)} == before
    assert not (out / RG.HISTORY).exists() and not (out / RG.CHANGES).exists()

    # Resumed: the staged results count, the new grading is put in place.
    again = grade_cli(folder, *args, root=grader_root)
    assert again.returncode == 0, again.stderr[-3000:]
    assert '3 already graded, 1 to grade' in again.stdout, again.stdout
    assert '1 student(s) whose total moved' in again.stdout, again.stdout
    assert not (out / RG.STAGE).exists()
    rows = _csv(str(out / RG.CHANGES))
    assert rows[0] == RG.HEADER
    assert [r[:4] for r in rows[1:]] == [['bob', 'adam', '4', '0'], ['bob', 'total', '100', '96']]
    assert re.search(r'adam: .*relative error .*\(tolerance 1e-09\)', rows[1][4]), rows[1][4]
    # The previous grading is kept whole; the new one is in place.
    history = out / RG.HISTORY
    (kept,) = os.listdir(str(history))
    assert (history / kept / 'grades.csv').read_text() == grades_before
    old_bob = json.loads((history / kept / 'results' / 'bob.json').read_text())
    new_bob = json.loads((out / 'results' / 'bob.json').read_text())
    assert (old_bob['total'], new_bob['total']) == (100, 96)
    new = {r[0]: r for r in _csv(str(out / 'grades.csv'))}
    assert [new[s][adam] for s in ('alice', 'bob', 'carol', 'zed')] == ['4', '0', '0', '4']
    assert {s: new[s][-2] for s in new if s != 'student'} == {
        'alice': '100', 'bob': '96', 'carol': '96', 'zed': '98'}
    assert 'tolerance 1e-09' in (out / 'feedback' / 'bob.txt').read_text()
    report = (out / 'report.html').read_text()
    section = report[report.index('id="changes"'):report.index('Named mistakes')]
    assert '1 student whose total moved' in section
    assert 'bob' in section and '>100<' in section and '>96<' in section
    assert 'alice' not in section and 'carol' not in section and 'zed' not in section


def _stored(student, total, scores, outputs):
    return {'student': student, 'total': total, 'scores': scores,
            'results': {'tests': [{'name': k, 'output': v} for k, v in outputs.items()]}}


def _write(folder, stored):
    os.makedirs(folder, exist_ok=True)
    for s in stored:
        with open(os.path.join(folder, s['student'] + '.json'), 'w') as f:
            json.dump(s, f)


def test_a_promotion_stopped_at_any_step_is_finished_by_the_next_run(tmp_path, monkeypatch):
    """The steps that put a regrade in place, each interrupted in turn (a crash
    between two renames): the next run finishes them, and grades.csv is never
    half written."""
    old = [_stored('ann', 10, {'p': 4, 'q': 6}, {'p': 'passed', 'q': 'passed'}),
           _stored('ben', 4, {'p': 4, 'q': 0}, {'p': 'passed', 'q': 'q: wrong'})]
    new = [_stored('ann', 6, {'p': 0, 'q': 6}, {'p': 'p: now off by 1e-3', 'q': 'passed'}),
           _stored('ben', 4, {'p': 4, 'q': 0}, {'p': 'passed', 'q': 'q: wrong'})]
    expected = [['ann', 'p', '4', '0', 'p: now off by 1e-3'], ['ann', 'total', '10', '6',
                                                             'Total: 10 -> 6']]
    real_rename = os.rename
    for crash_at in range(4):             # 4 renames: results and feedback, out and in
        out = str(tmp_path / ('out%d' % crash_at))
        _write(os.path.join(out, 'results'), old)
        os.makedirs(os.path.join(out, 'feedback'))
        RG.mark_complete(os.path.join(out, 'results'), 2)
        with open(os.path.join(out, 'grades.csv'), 'w') as f:
            f.write('old grades\n')
        stage = os.path.join(out, RG.STAGE)
        _write(os.path.join(stage, 'results'), new)
        os.makedirs(os.path.join(stage, 'feedback'))
        plan = RG.Plan(stage, True, {}, [])
        calls = []

        def rename(a, b):
            calls.append(a)
            if len(calls) == crash_at + 1:
                raise OSError('simulated crash')
            return real_rename(a, b)
        monkeypatch.setattr(RG.os, 'rename', rename)
        with pytest.raises(OSError):
            RG.complete(out, plan, 2)
        monkeypatch.setattr(RG.os, 'rename', real_rename)
        with open(os.path.join(out, 'grades.csv')) as f:
            assert f.read() == 'old grades\n'
        # The next run's plan finishes the promotion before anything else.
        nxt = RG.plan(out, [], {}, False, lambda path, z: None)
        assert not nxt.staged and not os.path.exists(stage)
        assert _csv(os.path.join(out, RG.CHANGES))[1:] == expected
        (kept,) = os.listdir(os.path.join(out, RG.HISTORY))
        with open(os.path.join(out, RG.HISTORY, kept, 'results', 'ann.json')) as f:
            assert json.load(f)['total'] == 10
        with open(os.path.join(out, 'results', 'ann.json')) as f:
            assert json.load(f)['total'] == 6
        assert RG.is_complete(os.path.join(out, 'results'))
        assert RG.load_changes(out)['moved'] == ['ann']
