"""Regrades: the previous grades stay in place until the new ones are complete.

A batch grading of OUT is *complete* when every submission has its result:
OUT/results/.complete then says when (written once, at the end of the run).
A later run that must grade anything again (a rubric or hidden-test change
changes the grader's fingerprint; --force; a new or changed zip) is a
*regrade*: it writes its results and feedback to OUT/.regrade/ instead,
copying there the results that still hold, and resumes from there when it is
stopped (the same command again). Only when every submission has its new
result is the new grading put in place, in an order that a crash at any
point leaves resumable:

    1. OUT/.regrade/PROMOTE names OUT/history/<when the old grading completed>/
    2. grades.csv and report.html are copied there; OUT/results and OUT/feedback
       are moved there, and OUT/.regrade/results and feedback take their place
    3. OUT/changes.csv compares the two (student, part, old, new, and the
       feedback line that explains the new score); OUT/.regrade/ is removed
    4. grade.py then writes grades.csv (atomically, as always) and the report,
       whose "Changes since the last grading" section reads changes.csv.

A run that finds PROMOTE finishes 2-3 before anything else, so grades.csv is
always whole: the previous grading's until the new one is complete.
"""
import csv
import io
import json
import os
import shutil
import time

STAGE = '.regrade'
HISTORY = 'history'
COMPLETE = '.complete'
JOURNAL = 'PROMOTE'
CHANGES = 'changes.csv'
HEADER = ['student', 'part', 'old', 'new', 'feedback']
KEPT = ('grades.csv', 'report.html')     # copied into the history beside results/ and feedback/


class Plan:
    """What a run grades: base (the folder it writes results/ and feedback/ to),
    staged (a regrade, base = OUT/.regrade), done ({zip: stored} already
    graded for this grader), todo ([zip] to grade)."""

    def __init__(self, base, staged, done, todo):
        self.base, self.staged, self.done, self.todo = base, staged, done, todo


def _write_text(path, text):
    from cs231n._files import atomic_write
    with atomic_write(path, 'w', encoding='utf-8') as f:
        f.write(text)


def is_complete(results_dir):
    return os.path.isfile(os.path.join(results_dir, COMPLETE))


def completed_at(results_dir):
    """When the grading in results_dir completed ('YYYY-MM-DD HH:MM:SS'), or None."""
    try:
        with open(os.path.join(results_dir, COMPLETE), encoding='utf-8') as f:
            return str(json.load(f)['completed_at'])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def mark_complete(results_dir, students):
    if not is_complete(results_dir):
        _write_text(os.path.join(results_dir, COMPLETE), json.dumps(
            {'completed_at': time.strftime('%Y-%m-%d %H:%M:%S'), 'students': students}))


def plan(out, zips, names, force, load):
    """The Plan of a run over `zips` ({zip: student} in names); load(path, zip)
    returns the stored result at path if it holds for that zip and this grader
    (grade.load_done), else None."""
    finish(out)                        # a promotion that was stopped: complete it first
    stage = os.path.join(out, STAGE)
    results = os.path.join(out, 'results')
    if force and os.path.isdir(stage):
        shutil.rmtree(stage)           # --force: a regrade from scratch
    current = {z: None if force else load(os.path.join(results, names[z] + '.json'), z)
               for z in zips}
    staged = os.path.isdir(stage) or (is_complete(results) and
                                     any(current[z] is None for z in zips))
    if not staged:
        done = {z: s for z, s in current.items() if s}
        return Plan(out, False, done, [z for z in zips if z not in done])
    for sub in ('results', 'feedback'):
        os.makedirs(os.path.join(stage, sub), exist_ok=True)
    done, todo = {}, []
    for z in zips:
        name = names[z]
        here = None if force else load(os.path.join(stage, 'results', name + '.json'), z)
        if here is None and current[z] is not None:    # still holds: carried over as it is
            feedback = os.path.join(out, 'feedback', name + '.txt')
            if os.path.isfile(feedback):
                shutil.copyfile(feedback, os.path.join(stage, 'feedback', name + '.txt'))
            shutil.copyfile(os.path.join(results, name + '.json'),
                            os.path.join(stage, 'results', name + '.json'))
            here = current[z]
        if here is None:
            todo.append(z)
        else:
            done[z] = here
    return Plan(stage, True, done, todo)


def complete(out, plan, students, verify=None):
    """Call when every submission of the run has its result: mark the grading
    complete and, for a regrade, put it in place (see the module's steps).
    Returns the changes (rows of changes.csv) of a regrade, else None."""
    mark_complete(os.path.join(plan.base, 'results'), students)
    if not plan.staged:
        return None
    when = completed_at(os.path.join(out, 'results')) or time.strftime('%Y-%m-%d %H:%M:%S')
    name = when.replace(' ', '_').replace(':', '-')
    history = os.path.join(out, HISTORY)
    k = 1
    while os.path.exists(os.path.join(history, name + ('' if k == 1 else '-%d' % k))):
        k += 1
    name += '' if k == 1 else '-%d' % k
    _write_text(os.path.join(plan.base, JOURNAL), json.dumps({'history': name}))
    return finish(out, verify)


def finish(out, verify=None):
    """Put a complete regrade in place (idempotent: resumes where a crash stopped
    it); return the changes, or None if no regrade was waiting."""
    stage = os.path.join(out, STAGE)
    try:
        with open(os.path.join(stage, JOURNAL), encoding='utf-8') as f:
            name = json.load(f)['history']
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError('%s: unreadable (%s); remove %s to regrade from scratch'
                         % (os.path.join(stage, JOURNAL), e, stage))
    old = os.path.join(out, HISTORY, os.path.basename(str(name)))
    os.makedirs(old, exist_ok=True)
    for kept in KEPT:
        if os.path.isfile(os.path.join(out, kept)) and not os.path.exists(os.path.join(old, kept)):
            shutil.copy2(os.path.join(out, kept), os.path.join(old, kept))
    for sub in ('results', 'feedback'):
        new, here, before = (os.path.join(stage, sub), os.path.join(out, sub),
                             os.path.join(old, sub))
        if not os.path.isdir(new):
            continue                                   # already in place
        if os.path.isdir(here) and not os.path.exists(before):
            os.rename(here, before)
        if os.path.isdir(here):
            raise ValueError('%s: both %s and %s exist; move one of them away' % (
                out, here, before))
        os.rename(new, here)
    rows = changes(os.path.join(old, 'results'), os.path.join(out, 'results'), verify)
    write_changes(os.path.join(out, CHANGES), rows)
    shutil.rmtree(stage)
    return rows


def _load_all(folder, verify):
    out = {}
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return out
    for n in names:
        if n.startswith('.') or not n.endswith('.json'):    # .tmp-* of a stopped write
            continue
        try:
            with open(os.path.join(folder, n), encoding='utf-8') as f:
                stored = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(stored, dict) and isinstance(stored.get('scores'), dict) \
                and (verify is None or verify(stored)):
            out[str(stored.get('student', n[:-5]))] = stored
    return out


def _score(v):
    return '' if v is None else '%g' % v


def explanation(stored, part):
    """The first line of what the feedback says of `part` (of the total: the totals)."""
    for test in (stored.get('results') or {}).get('tests') or []:
        if isinstance(test, dict) and test.get('name') == part:
            lines = str(test.get('output', '')).strip().splitlines()
            return lines[0][:300] if lines else ''
    if stored.get('error'):
        return str(stored['error'])[:300]
    return ''


def changes(old_dir, new_dir, verify=None):
    """[[student, part, old, new, feedback]] of every score that differs between
    two gradings' results folders; a student whose total moved also gets a row
    for 'total'."""
    old, new = _load_all(old_dir, verify), _load_all(new_dir, verify)
    rows = []
    for student in sorted(set(old) | set(new)):
        o, n = old.get(student), new.get(student)
        if o is None:
            rows.append([student, 'total', '', _score(n.get('total')),
                         'no earlier result (a new submission, or one this OUT did not sign)'])
            continue
        if n is None:
            rows.append([student, 'total', _score(o.get('total')), '',
                         'not graded this time: no submission'])
            continue
        parts = list(n['scores']) + [p for p in o['scores'] if p not in n['scores']]
        for part in parts:
            a, b = o['scores'].get(part), n['scores'].get(part)
            if a != b:
                rows.append([student, part, _score(a), _score(b), explanation(n, part)])
        if o.get('total') != n.get('total'):
            rows.append([student, 'total', _score(o.get('total')), _score(n.get('total')),
                         'Total: %s -> %s' % (_score(o.get('total')), _score(n.get('total')))])
    return rows


def write_changes(path, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator='\n')
    w.writerow(HEADER)
    w.writerows(rows)
    _write_text(path, buf.getvalue())


def load_changes(out):
    """What the report shows of the last regrade: {'since': the previous grading's
    time, 'rows': changes.csv's rows, 'moved': [students whose total moved]}; None
    before the first regrade."""
    try:
        with open(os.path.join(out, CHANGES), encoding='utf-8', newline='') as f:
            rows = [r for r in csv.reader(f)][1:]
    except OSError:
        return None
    try:
        since = sorted(os.listdir(os.path.join(out, HISTORY)))[-1]
    except (OSError, IndexError):
        since = None
    moved = sorted({r[0] for r in rows if len(r) >= 4 and r[1] == 'total' and r[2] != r[3]})
    return {'since': since, 'rows': [r for r in rows if len(r) == len(HEADER)],
            'moved': moved}
