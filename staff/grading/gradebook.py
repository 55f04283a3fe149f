"""The gradebook export: OUT/gradebook.csv, in the layout that Canvas imports.

    python -m staff.grading.grade SUBMISSIONS_DIR --roster ROSTER.csv
        [--roster-key "SIS Login ID"] [--canvas-assignment "Assignment 2 (123456)"]
        [--gradebook-parts] [--missing error|zero|blank]

The roster is a CSV with Canvas's student columns, Student, ID, SIS User ID,
SIS Login ID and Section: Canvas's own gradebook export (Grades > Export)
works as it is (its "Points Possible" row and its Test Student are skipped,
its other columns ignored). The mapping from zips to students: a zip's
student name (alice.zip -> alice, as grade names it) is the value of the
roster's --roster-key column (default SIS Login ID), compared after the same
clean-up of characters. Every roster row must have a distinct key.

gradebook.csv holds the five student columns as the roster has them, then one
column for the assignment's total, named --canvas-assignment (Canvas matches
"Name (ID)" to its assignment of that ID; a name it does not know becomes a
new assignment), and with --gradebook-parts one column per rubric item
("Name - part"). Its second row is "Points Possible", as in Canvas's export.

It is written only when every submission has its grade, and only when the
roster and the submissions match: a roster student without a submission and
a submission not on the roster are an error that names each one (no
gradebook.csv is left behind), unless --missing zero or blank says what a
student without a submission gets.
"""
import csv
import io
import os
import re

COLUMNS = ('Student', 'ID', 'SIS User ID', 'SIS Login ID', 'Section')
SKIPPED = ('Points Possible', 'Student, Test', 'Test Student')
DEFAULT_KEY = 'SIS Login ID'
DEFAULT_ASSIGNMENT = 'Assignment 2'
MISSING = ('error', 'zero', 'blank')
FILE = 'gradebook.csv'


class GradebookError(ValueError):
    """The roster cannot be used, or does not match the submissions (one line)."""


def add_arguments(parser):
    parser.add_argument('--roster', metavar='ROSTER.csv',
                        help='write OUT/gradebook.csv for Canvas, with the students of this '
                        'CSV (Canvas\'s gradebook export works as it is)')
    parser.add_argument('--roster-key', default=DEFAULT_KEY, metavar='COLUMN',
                        help='the roster column that names each student\'s zip (default: '
                        '"%s": alice.zip is the student whose login is alice)' % DEFAULT_KEY)
    parser.add_argument('--canvas-assignment', default=DEFAULT_ASSIGNMENT, metavar='NAME',
                        help='the total\'s column in gradebook.csv; "Name (ID)" updates that '
                        'Canvas assignment (default: "%s")' % DEFAULT_ASSIGNMENT)
    parser.add_argument('--gradebook-parts', action='store_true',
                        help='also one gradebook column per rubric item')
    parser.add_argument('--missing', choices=MISSING, default='error',
                        help='a roster student without a submission: an error (default), '
                        'zero points, or a blank cell (Canvas then leaves the grade alone)')


def _clean(value):
    """A roster key as grade cleans a zip's name (grade.student_name)."""
    return re.sub(r'[^\w.@+-]', '_', value.strip()) or '_'


def read_roster(path, key=DEFAULT_KEY):
    """[{column: value}] of the roster's students, in its order; GradebookError
    (naming --roster, the file and what is wrong) if it cannot be used."""
    try:
        with open(path, encoding='utf-8-sig', newline='') as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise GradebookError('--roster %s: cannot read it (%s)' % (path, e))
    if not rows:
        raise GradebookError('--roster %s: empty, expected a CSV with the columns %s'
                             % (path, ', '.join(COLUMNS)))
    header = [h.strip() for h in rows[0]]
    missing = [c for c in COLUMNS + (key,) if c not in header]
    if missing:
        raise GradebookError('--roster %s: no column %s; expected a CSV whose first row names '
                             'the columns %s (Canvas\'s gradebook export has them)'
                             % (path, ', '.join(repr(c) for c in dict.fromkeys(missing)),
                                ', '.join(COLUMNS)))
    students, seen = [], {}
    for n, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        entry = {c: (row[header.index(c)].strip() if header.index(c) < len(row) else '')
                 for c in dict.fromkeys(COLUMNS + (key,))}
        if entry['Student'] in SKIPPED:
            continue
        if not entry[key]:
            raise GradebookError('--roster %s: line %d (%s) has no %s; every student needs '
                                 'one to be matched with a zip' % (path, n, entry['Student'],
                                                                   key))
        name = _clean(entry[key])
        if name in seen:
            raise GradebookError('--roster %s: lines %d and %d both name the zip %s.zip (%s %r)'
                                 % (path, seen[name], n, name, key, entry[key]))
        seen[name] = n
        entry['_name'] = name
        students.append(entry)
    if not students:
        raise GradebookError('--roster %s: no student rows' % path)
    return students


def mismatches(roster, names):
    """(roster students without a submission, submission names not on the roster)."""
    on_roster = {s['_name'] for s in roster}
    names = set(names)
    return ([s for s in roster if s['_name'] not in names],
            sorted(n for n in names if n not in on_roster))


def describe(roster, names, key=DEFAULT_KEY, missing='error'):
    """The one-line error of a mismatch, or None."""
    absent, unknown = mismatches(roster, names)
    if missing != 'error':
        absent = []
    if not absent and not unknown:
        return None
    said = []
    if absent:
        said.append('%d student(s) of the roster without a submission: %s' % (len(absent), ', '.join(
            '%s (%s %s)' % (s['_name'], s['Student'] or '?', s['Section'] or '') for s in absent)))
    if unknown:
        said.append('%d submission(s) not on the roster: %s' % (len(unknown), ', '.join(
            n + '.zip' for n in unknown)))
    return ('gradebook: %s. Each zip must be named after the student\'s %s; --missing zero '
            'or blank grades the students without a submission' % ('; '.join(said), key))


def _column(assignment, part):
    return '%s - %s' % (re.sub(r'\s*\(\d+\)\s*$', '', assignment), part)


def render(roster, stored, rubric, assignment=DEFAULT_ASSIGNMENT, parts=False,
           missing='error'):
    """gradebook.csv's text. stored: {student name: stored result (grade.py)}."""
    items = [i for i in rubric.items] if parts else []
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator='\n')
    w.writerow(list(COLUMNS) + [assignment] + [_column(assignment, i.name) for i in items])
    w.writerow(['Points Possible', '', '', '', ''] + ['%g' % rubric.total]
               + ['%g' % i.points for i in items])
    for s in roster:
        result = stored.get(s['_name'])
        if result is None:
            cells = ['' if missing == 'blank' else '0'] * (1 + len(items))
        else:
            cells = ['%g' % result['total']] + ['%g' % result['scores'].get(i.name, 0)
                                               for i in items]
        w.writerow([s[c] for c in COLUMNS] + cells)
    return buf.getvalue()


def write(out, roster, stored, rubric, args):
    """Write OUT/gradebook.csv (atomically) and return its path; GradebookError if the
    roster and the submissions do not match (an older gradebook.csv is removed)."""
    from cs231n._files import atomic_write
    path = os.path.join(out, FILE)
    problem = describe(roster, stored, args.roster_key, args.missing)
    if problem:
        if os.path.exists(path):
            os.unlink(path)
            problem += ' (the previous %s was removed)' % FILE
        raise GradebookError(problem)
    text = render(roster, stored, rubric, args.canvas_assignment, args.gradebook_parts,
                  args.missing)
    with atomic_write(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return path
