"""Grade a whole class on this machine (staff only).

    python -m staff.grading.grade SUBMISSIONS_DIR [--jobs N] [--out DIR] [--sandbox KIND]

SUBMISSIONS_DIR holds one zip per student (the zip tools.collect_submission
writes), named after the student: alice.zip -> student "alice". Each is
graded with the same code as the Gradescope autograder (staff/grading), and
the results go to OUT (default: SUBMISSIONS_DIR/grading):

    OUT/grades.csv             one row per student, one column per part, the total, and
                               the known mistakes recognised (their keys)
    OUT/report.html            the class report: scores, common mistakes, code similarity
    OUT/feedback/STUDENT.txt   what each part got and why
    OUT/results/STUDENT.json   the full result (Gradescope's results.json, plus the
                               zip's sha256 and the grader's fingerprint)
    OUT/changes.csv, OUT/history/   after a regrade: what changed, and the previous
                               grading (regrade.py)
    OUT/gradebook.csv          with --roster: the totals for Canvas's import (gradebook.py)

--compare-with DIR adds reference corpora to the report's similarity check
(corpus.py).

Every submission runs in a sandbox (sandbox.py): bubblewrap where it works,
else, as root, the dedicated sandbox user (one submission at a time; the
grader's files, the submissions and OUT must then be private to root). With
neither it refuses; --trusted grades without one, for the staff's own code.

Stop it at any time (Ctrl-C, SIGTERM): every finished student is already
written, and the next run skips the students whose result matches their
zip's hash and the grader (rubric, hidden tests, starter) and carries this
OUT's signature (an HMAC with the key in OUT/.grader-key, which only the
grader reads); --force regrades everyone. One bad submission never stops the
batch: it gets zero with the reason.
"""
import argparse
import concurrent.futures
import csv
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import sys
import tempfile
import time

from staff.release import starter as REL
from . import assignment as A, grader, gradebook, regrade, results, sandbox

ROOT = REL.ROOT


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


MAX_NAME = 100      # bytes of a student's name in OUT's file names


def student_name(zip_path):
    """The student's name from the zip's: characters other than letters, digits and
    ._@+- become _, and a name over MAX_NAME bytes (UTF-8) is cut, with a hash of
    the whole name after it (the same name every run; two names never meet)."""
    stem = os.path.splitext(os.path.basename(zip_path))[0]
    name = re.sub(r'[^\w.@+-]', '_', stem) or '_'
    raw = name.encode('utf-8')
    if len(raw) > MAX_NAME:
        digest = hashlib.sha256(stem.encode('utf-8', 'surrogateescape')).hexdigest()[:16]
        name = '%s-%s' % (raw[:MAX_NAME - 17].decode('utf-8', 'ignore'), digest)
    return name


def _atomic_write_text(path, text):
    from cs231n._files import atomic_write
    with atomic_write(path, 'w', encoding='utf-8') as f:
        f.write(text)


KEY_FILE = '.grader-key'


def grader_key(out):
    """This OUT's signing key (created on first use, readable by the grader's user only)."""
    path = os.path.join(out, KEY_FILE)
    os.makedirs(out, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(path, 'rb') as f:
            key = f.read()
        if len(key) != 32:
            raise ValueError('%s: %d bytes, expected a 32-byte key (delete it and use --force)'
                             % (path, len(key)))
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, 'wb') as f:
        f.write(key)
    return key


def signature(stored, key):
    body = json.dumps({k: v for k, v in stored.items() if k != 'signature'}, sort_keys=True)
    return hmac.new(key, body.encode('utf-8'), hashlib.sha256).hexdigest()


def load_done(path, digest, fp, key):
    """The stored result at path if it belongs to this zip and this grader and
    carries this OUT's signature, else None."""
    try:
        with open(path, encoding='utf-8') as f:
            stored = json.load(f)
    except (OSError, ValueError):
        return None
    if isinstance(stored, dict) and stored.get('zip_sha256') == digest \
            and stored.get('grader') == fp and isinstance(stored.get('results'), dict) \
            and hmac.compare_digest(str(stored.get('signature', '')), signature(stored, key)):
        return stored
    return None


def grade_one(zip_path, out, starter, rubric, fp, key, box, settings=None, heldout=None):
    """Grade one zip and write its result and feedback; return the stored dict."""
    student = student_name(zip_path)
    digest = sha256(zip_path)
    started = time.monotonic()
    try:
        result = grader.grade(zip_path, starter, rubric, student=student, sandbox=box,
                              settings=settings, heldout=heldout)
    except KeyboardInterrupt:
        raise
    except Exception as e:  # a grader failure on this zip must not stop the batch
        result = grader.refused(student, rubric, 'Not graded: the grader failed on this '
                                'submission (%s: %s)' % (type(e).__name__, e),
                                time.monotonic() - started)
    return store(out, zip_path, digest, fp, key, result, rubric)


def store(out, zip_path, digest, fp, key, result, rubric):
    """Write one student's result and feedback (signed, atomically); the stored dict."""
    student = result.student
    stored = {'student': student, 'zip': os.path.abspath(zip_path), 'zip_sha256': digest,
              'grader': fp, 'graded_at': time.strftime('%Y-%m-%d %H:%M:%S'),
              'seconds': round(result.seconds, 2), 'total': result.total,
              'max_total': result.max_total, 'scores': result.scores(),
              'mistakes': result.mistakes(), 'error': result.error,
              'sandbox': result.sandbox.get('kind'), 'flags': result.flags(),
              'results': results.gradescope(result, rubric.settings['visibility'])}
    stored['signature'] = signature(stored, key)
    _atomic_write_text(os.path.join(out, 'feedback', student + '.txt'), results.feedback(result))
    # last: marks the student done
    _atomic_write_text(os.path.join(out, 'results', student + '.json'),
                       json.dumps(stored, indent=1))
    return stored


def write_csv(out, rubric, stored):
    names = [i.name for i in rubric.items]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator='\n')
    w.writerow(['student'] + names + ['total', 'mistakes'])
    for s in sorted(stored, key=lambda s: s['student']):
        keys = [k for found in (s.get('mistakes') or {}).values() for k, _ in found]
        w.writerow([s['student']] + ['%g' % s['scores'].get(n, 0) for n in names]
                   + ['%g' % s['total'], ' '.join(keys)])
    _atomic_write_text(os.path.join(out, 'grades.csv'), buf.getvalue())


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m staff.grading.grade',
        description='Grade every submission zip in SUBMISSIONS_DIR with the hidden tests.')
    parser.add_argument('submissions', metavar='SUBMISSIONS_DIR')
    parser.add_argument('--jobs', '-j', type=int, default=os.cpu_count() or 1,
                        help='submissions graded at once (default: the number of cores)')
    parser.add_argument('--out', help='output folder (default: SUBMISSIONS_DIR/grading)')
    parser.add_argument('--starter', help='a starter written by staff.release (default: '
                        'generate one from this repository now)')
    parser.add_argument('--force', action='store_true', help='regrade every submission')
    parser.add_argument('--part-timeout', type=float, help='override the rubric\'s seconds per part')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--heldout', metavar='FILE.npz',
                        help='score the saved models on these held-out images (written by '
                        'staff.assignment.models.save_heldout; default: the local CIFAR-10)')
    parser.add_argument('--compare-with', metavar='DIR', action='append', default=[],
                        help='a reference corpus for the similarity check (repeatable): '
                        'earlier terms\' submission zips and public solutions (.py files), '
                        'at any depth (corpus.py)')
    gradebook.add_arguments(parser)
    how = parser.add_mutually_exclusive_group()
    how.add_argument('--sandbox', choices=('auto',) + sandbox.KINDS[:2], default='auto',
                     help='how the students\' code is isolated (default: bwrap where it works, '
                     'else the sandbox user as root)')
    how.add_argument('--trusted', action='store_true',
                     help='no sandbox: only for code the staff trust (their own solutions)')
    args = parser.parse_args(argv)

    folder = os.path.abspath(args.submissions)
    if not os.path.isdir(folder):
        print('grade: %s is not a folder' % folder, file=sys.stderr)
        return 1
    if args.jobs < 1:
        print('grade: --jobs must be at least 1', file=sys.stderr)
        return 1
    for d in args.compare_with:
        if not os.path.isdir(d):
            print('grade: --compare-with %s: not a folder (expected a folder of earlier '
                  'submissions\' zips or of .py files)' % d, file=sys.stderr)
            return 1
    out = os.path.abspath(args.out or os.path.join(folder, 'grading'))
    roster = None
    if args.roster:
        try:
            roster = gradebook.read_roster(args.roster, args.roster_key)
        except gradebook.GradebookError as e:
            print('grade: %s' % e, file=sys.stderr)
            return 1
    zips = sorted(os.path.join(folder, n) for n in os.listdir(folder)
                  if n.lower().endswith('.zip') and os.path.isfile(os.path.join(folder, n)))
    # Zips that map to one student name (alice.zip, alice.ZIP) are not graded: a result
    # for that name says why; everybody else is.
    by_name = {}
    for z in zips:
        by_name.setdefault(student_name(z), []).append(z)
    clashes = {n: group for n, group in by_name.items() if len(group) > 1}
    for n, group in sorted(clashes.items()):
        print('grade: %s map to the student name %s: not graded (keep one zip per student)'
              % (', '.join(os.path.basename(z) for z in group), n), file=sys.stderr)
    zips = [z for z in zips if student_name(z) not in clashes]
    if roster is not None:
        problem = gradebook.describe(roster, [student_name(z) for z in zips] + sorted(clashes),
                                     args.roster_key, args.missing)
        if problem:      # said now, so that a long grading can be stopped; an error at the end
            print('warning: %s' % problem, file=sys.stderr)
    rubric = grader.load_rubric(grader_root=ROOT)
    settings = {'part_timeout': args.part_timeout} if args.part_timeout else None
    try:
        box = sandbox.choose('none' if args.trusted else args.sandbox)
        os.makedirs(out, exist_ok=True)
        # A private held-out set too: no student may see the images they are scored on.
        sandbox.check_private(box, [os.path.join(ROOT, 'staff'), folder, out]
                              + ([args.starter] if args.starter else [])
                              + ([args.heldout] if args.heldout else []))
        key = grader_key(out)
        heldout = A.current().load_data(ROOT, args.heldout) if args.heldout else None
    except (sandbox.SandboxUnavailable, OSError, ValueError, KeyError) as e:
        print('grade: %s' % e, file=sys.stderr)
        return 1
    if box.kind == 'user' and args.jobs > 1:
        print('grade: one submission at a time as the sandbox user (without bubblewrap)')
        args.jobs = 1
    print('sandbox: %s' % box.describe())
    _atomic_write_text(os.path.join(out, 'sandbox.txt'), 'The last run graded in the sandbox: '
                       '%s (each result in results/ names its own)\n' % box.describe())

    with tempfile.TemporaryDirectory(prefix='cs231n-grade-') as tmp:
        starter = args.starter
        if not starter:
            starter = os.path.join(tmp, 'starter')
            REL.release(starter)
        if heldout is None and rubric.accuracies:
            heldout = A.current().load_data(ROOT)
        fp = grader.fingerprint(starter, rubric)
        if heldout is not None:     # other held-out images, other grades
            fp = hashlib.sha256((fp + A.current().data_digest(heldout)).encode()).hexdigest()
        digests = {}

        def load(path, z):
            if z not in digests:
                digests[z] = sha256(z)
            return load_done(path, digests[z], fp, key)
        names = {z: student_name(z) for z in zips}
        try:
            plan = regrade.plan(out, zips, names, args.force, load)     # regrade.py
        except (OSError, ValueError) as e:
            print('grade: %s' % e, file=sys.stderr)
            return 1
        stored, todo = dict(plan.done), plan.todo
        for n, group in sorted(clashes.items()):
            stored[group[0]] = store(plan.base, group[0], None, fp, key, grader.refused(
                n, rubric, 'Not graded: %d zips map to the student name %s (%s); keep one zip '
                'per student' % (len(group), n, ', '.join(os.path.basename(z) for z in group))),
                rubric)
        print('%d submissions in %s: %d already graded, %d to grade with %d job(s); rubric '
              'total %g' % (len(zips) + len(clashes), folder, len(stored) - len(clashes),
                            len(todo), args.jobs, rubric.total))
        if plan.staged:
            print('regrade: the previous grades stay in place until every submission has its '
                  'new result (in %s)' % plan.base)
        try:
            from tqdm import tqdm
        except ImportError:  # tqdm is a dependency; a plain count otherwise
            tqdm = None
        bar = tqdm(total=len(zips), initial=len(stored) - len(clashes), unit='submission',
                   dynamic_ncols=True, disable=args.no_progress) if tqdm else None
        started = time.monotonic()
        interrupted = False
        from cs231n._files import terminate_as_interrupt
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
        futures = {}
        try:
            with terminate_as_interrupt():
                futures = {pool.submit(grade_one, z, plan.base, starter, rubric, fp, key, box,
                                       settings, heldout): z for z in todo}
                for future in concurrent.futures.as_completed(futures):
                    z = futures[future]
                    try:
                        stored[z] = future.result()
                    except Exception as e:  # writing the result failed: report, go on
                        print('\ngrade: %s: %s: %s' % (os.path.basename(z), type(e).__name__, e),
                              file=sys.stderr)
                    if bar:
                        bar.set_postfix_str(student_name(z), refresh=False)
                        bar.update(1)
        except KeyboardInterrupt:
            interrupted = True
            sandbox.stop_all()
            for f in futures:
                f.cancel()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if bar:
                bar.close()
        elapsed = time.monotonic() - started
        complete = not interrupted and all(z in stored for z in zips)
        changes = None
        if complete:       # a regrade is put in place now, its changes in changes.csv
            try:
                changes = regrade.complete(out, plan, len(zips) + len(clashes),
                                           lambda s: hmac.compare_digest(
                                               str(s.get('signature', '')), signature(s, key)))
            except (OSError, ValueError) as e:
                print('grade: the new grades could not be put in place (%s); the same command '
                      'finishes it' % e, file=sys.stderr)
                return 1
        wrote_csv = complete or not plan.staged
        if wrote_csv:
            write_csv(out, rubric, list(stored.values()))
        gradebook_path = gradebook_error = None
        if complete and roster is not None:
            try:
                gradebook_path = gradebook.write(out, roster, {s['student']: s
                                                               for s in stored.values()},
                                                 rubric, args)
            except gradebook.GradebookError as e:
                gradebook_error = str(e)
        report_path = None
        if not interrupted and stored:
            from . import report
            report_started = time.monotonic()
            try:
                report_path = report.write_report(
                    out, rubric, list(stored.values()),
                    {student_name(z): z for z in zips}, starter,
                    changes=regrade.load_changes(out),
                    references=[os.path.abspath(d) for d in args.compare_with] or None)
                report_seconds = time.monotonic() - report_started
            except Exception as e:  # the grades stand without the report
                print('grade: the class report failed (%s: %s)' % (type(e).__name__, e),
                      file=sys.stderr)
    graded = [s for z, s in stored.items() if z in todo]
    if graded:
        print('graded %d submission(s) in %.1f s: %.2f s each with %d job(s) (%.2f s of grading '
              'per submission)' % (len(graded), elapsed, elapsed / len(graded), args.jobs,
                                   sum(s['seconds'] for s in graded) / len(graded)))
    if wrote_csv:
        print('wrote %s (%d students), feedback in %s'
              % (os.path.join(out, 'grades.csv'), len(stored), os.path.join(out, 'feedback')))
    if changes is not None:
        moved = len({row[0] for row in changes if row[1] == 'total'})
        print('wrote %s: %d change(s), %d student(s) whose total moved; the previous grading '
              'is in %s' % (os.path.join(out, regrade.CHANGES), len(changes), moved,
                            os.path.join(out, regrade.HISTORY)))
    if report_path:
        print('wrote %s (%.1f s): scores, common mistakes, code similarity'
              % (report_path, report_seconds))
    if gradebook_path:
        print('wrote %s (%d students, for Canvas\'s gradebook import)'
              % (gradebook_path, len(roster)))
    print('grading process: peak memory %.0f MB (bound %d MB with %d job(s): %d + %d per '
          'submission)' % (grader.peak_memory_mb(), grader.memory_bound_mb(args.jobs), args.jobs,
                           grader.BASE_MB, grader.submission_mb()))
    if gradebook_error:
        print(gradebook_error, file=sys.stderr)
        return 1
    if interrupted:
        print('stopped: %d of %d submissions graded; run the same command again to resume'
              % (len(stored), len(zips)), file=sys.stderr)
        if plan.staged:
            print('the previous grades are unchanged until the regrade is complete',
                  file=sys.stderr)
        return 130
    return 0


if __name__ == '__main__':
    sys.exit(main())
