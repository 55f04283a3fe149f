"""The gradebook export (staff/grading/gradebook.py): grade --roster writes gradebook.csv for Canvas.

A real class of zips is graded by the real command with a roster in the
layout of Canvas's gradebook export; then rosters that do not match the
submissions, and a roster that cannot be used.

Staff-only: staff/ never ships.
"""
import csv
import shutil

import pytest

from staff.tests.platforms import grade_cli
from staff.tests.submissions import CLASSIC_BUGS, make_submission

CANVAS_HEADER = ['Student', 'ID', 'SIS User ID', 'SIS Login ID', 'Section']


def _roster(path, students, extra_columns=True):
    """A roster as Canvas exports its gradebook: the student columns, the course's
    assignment columns, a Points Possible row and the Test Student."""
    with open(str(path), 'w', newline='', encoding='utf-8-sig') as f:
        w = csv.writer(f)
        w.writerow(CANVAS_HEADER + (['Assignment 1 (4241)', 'Current Score']
                                    if extra_columns else []))
        w.writerow(['    Points Possible', '', '', '', ''] + (['10', '(read only)']
                                                               if extra_columns else []))
        for k, (name, login) in enumerate(students):
            w.writerow([name, str(100 + k), 'S%d' % (100 + k), login, 'Section %d' % (k % 2)]
                       + (['9', '90'] if extra_columns else []))
        w.writerow(['Student, Test', '999', '', 'teststudent', 'Section 0']
                   + (['', ''] if extra_columns else []))
    return str(path)


def _rows(path):
    with open(str(path), encoding='utf-8', newline='') as f:
        return list(csv.reader(f))


@pytest.fixture(scope='module')
def graded(tmp_path_factory, starter):
    """(class folder, the arguments) of a class graded once: alice (the model answers),
    bob (Adam's classic bug), carol (not a zip)."""
    base = tmp_path_factory.mktemp('gradebook')
    folder = base / 'class'
    folder.mkdir()
    shutil.copy(make_submission(starter, base, 'a'), str(folder / 'alice.zip'))
    shutil.copy(make_submission(starter, base, 'b', CLASSIC_BUGS['adam-bias-correction:beta2-squared'][0]),
                str(folder / 'bob.zip'))
    (folder / 'carol.zip').write_bytes(b'not a zip')
    roster = _roster(base / 'roster.csv', [('Smith, Alice', 'alice'), ('Brown, Bob', 'bob'),
                                           ('Chen, Carol', 'carol')])
    args = ['--starter', starter, '--jobs', '2', '--no-progress']
    proc = grade_cli(folder, *(args + ['--roster', roster, '--canvas-assignment',
                                       'Assignment 2 (4242)', '--gradebook-parts']))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return folder, base, args


def test_grade_writes_the_gradebook_in_canvas_layout(graded, rubric):
    folder, base, args = graded
    rows = _rows(folder / 'grading' / 'gradebook.csv')
    parts = ['Assignment 2 - %s' % i.name for i in rubric.items]
    assert rows[0] == CANVAS_HEADER + ['Assignment 2 (4242)'] + parts
    assert rows[1] == ['Points Possible', '', '', '', '', '100'] + [
        '%g' % i.points for i in rubric.items]
    assert [r[:6] for r in rows[2:]] == [
        ['Smith, Alice', '100', 'S100', 'alice', 'Section 0', '100'],
        ['Brown, Bob', '101', 'S101', 'bob', 'Section 1', '96'],
        ['Chen, Carol', '102', 'S102', 'carol', 'Section 0', '0']]      # no Test Student
    bob = dict(zip(rows[0], rows[3]))
    assert bob['Assignment 2 - adam'] == '0' and bob['Assignment 2 - affine_forward'] == '3'
    # The totals are grades.csv's.
    grades = {r['student']: r['total'] for r in csv.DictReader(
        open(str(folder / 'grading' / 'grades.csv'), encoding='utf-8'))}
    assert grades == {'alice': '100', 'bob': '96', 'carol': '0'}


def test_a_roster_that_does_not_match_names_every_student_and_writes_no_gradebook(graded):
    folder, base, args = graded
    roster = _roster(base / 'other.csv', [('Smith, Alice', 'alice'), ('Brown, Bob', 'bob'),
                                          ('Diaz, Dave', 'dave'), ('Evans, Erin', 'erin')],
                     extra_columns=False)
    proc = grade_cli(folder, *(args + ['--roster', roster]))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert '0 to grade' in proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('gradebook: 2 student(s) of the roster without a submission: '
                           'dave (Diaz, Dave Section 0), erin (Evans, Erin Section 1); '
                           '1 submission(s) not on the roster: carol.zip'), last
    assert 'SIS Login ID' in last and 'Traceback' not in proc.stderr
    assert not (folder / 'grading' / 'gradebook.csv').exists()
    assert (folder / 'grading' / 'grades.csv').exists()
    # --missing blank: the students without a submission get an empty cell (Canvas leaves
    # their grade alone); a submission off the roster is still an error.
    proc = grade_cli(folder, *(args + ['--roster', roster, '--missing', 'blank']))
    assert proc.returncode == 1 and 'not on the roster: carol.zip' in proc.stderr
    assert 'of the roster without a submission' not in proc.stderr.strip().splitlines()[-1]
    roster = _roster(base / 'third.csv', [('Smith, Alice', 'alice'), ('Brown, Bob', 'bob'),
                                          ('Chen, Carol', 'carol'), ('Diaz, Dave', 'dave')])
    proc = grade_cli(folder, *(args + ['--roster', roster, '--missing', 'blank']))
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = _rows(folder / 'grading' / 'gradebook.csv')
    assert [r[3:6] for r in rows[2:]] == [['alice', 'Section 0', '100'], ['bob', 'Section 1', '96'],
                                          ['carol', 'Section 0', '0'], ['dave', 'Section 1', '']]


@pytest.mark.parametrize('content, expected', [
    ('Name,Login\nAlice,alice\n', "--roster %s: no column 'Student', 'ID', 'SIS User ID', "
                                   "'SIS Login ID', 'Section'"),
    ('Student,ID,SIS User ID,SIS Login ID,Section\n"A",1,,alice,S\n"B",2,,alice,S\n',
     '--roster %s: lines 2 and 3 both name the zip alice.zip'),
    ('Student,ID,SIS User ID,SIS Login ID,Section\n"A",1,,,S\n',
     '--roster %s: line 2 (A) has no SIS Login ID'),
])
def test_a_roster_that_cannot_be_used_is_refused_in_one_line_before_grading(
        tmp_path, content, expected):
    folder = tmp_path / 'class'
    folder.mkdir()
    (folder / 'alice.zip').write_bytes(b'not a zip')
    roster = tmp_path / 'roster.csv'
    roster.write_text(content)
    proc = grade_cli(folder, '--roster', str(roster), '--no-progress')
    assert proc.returncode == 1
    assert proc.stderr.startswith('grade: --roster ')
    assert (expected % roster) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (folder / 'grading' / 'grades.csv').exists()
