"""Grading time: one submission, and a generated class graded by the batch command.

    .venv/bin/python bench/bench_grading.py                  # a class of 600, --jobs 2
    .venv/bin/python bench/bench_grading.py --students 60 --sandbox user
    .venv/bin/python bench/bench_grading.py --against /tmp/old --students 0
        # one submission's grading by this tree and by another checkout (git worktree add
        # /tmp/old COMMIT), interleaved in one run: the medians and their ratio

The class is made of real zips (staff/tests' make_submission: the model
answers, the five classic bugs of the grading tests, the untouched starter),
copied under 600 student names; the saved models are the test teacher's,
scored on synthetic held-out images of the same size as the real ones. It
prints the median of one submission's grading over --repeat runs, and the wall
time of `python -m staff.grading.grade` over the class (targets: under 1 s per
submission, under 10 minutes for 600 on 2 cores).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--students', type=int, default=600)
    parser.add_argument('--jobs', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=7)
    parser.add_argument('--sandbox', default='auto', choices=('auto', 'bwrap', 'user', 'none'))
    parser.add_argument('--against', metavar='DIR',
                        help='another checkout of the repository: time one submission\'s '
                        'grading by both, interleaved')
    args = parser.parse_args()

    from staff.grading import grader, sandbox as SB
    from staff.release import starter as REL
    from staff.tests import grading_fixtures as G
    from staff.tests.submissions import CLASSIC_BUGS as BUGS, make_submission

    box = SB.choose(args.sandbox)
    tmp = tempfile.mkdtemp(prefix='bench-grading-')
    try:
        starter = os.path.join(tmp, 'starter')
        REL.release(starter)
        made = os.path.join(tmp, 'made')
        os.mkdir(made)
        kinds = [make_submission(starter, made, 'solution')]
        kinds += [make_submission(starter, made, name, edits) for name, (edits, _, _) in
                  sorted(BUGS.items())]
        kinds.append(make_submission(starter, made, 'starter', bodies='starter',
                                     notebooks=False))
        heldout = G.synthetic_heldout()
        heldout_path = G.heldout_file(os.path.join(tmp, 'heldout.npz'), heldout)
        rubric = grader.load_rubric()

        if args.against:
            compare(args, starter, kinds[0], heldout_path, box)
        else:
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                result = grader.grade(kinds[0], starter, rubric, sandbox=box, heldout=heldout)
                times.append(time.perf_counter() - started)
            assert result.total == rubric.total, [p.message for p in result.parts
                                                  if not p.passed]
            print('one submission (the solution), sandbox %s: median %.2f s over %d runs '
                  '(min %.2f, max %.2f)' % (box.describe(), statistics.median(times),
                                            len(times), min(times), max(times)))
        if not args.students:
            return

        folder = os.path.join(tmp, 'class')
        os.mkdir(folder)
        for k in range(args.students):
            shutil.copy(kinds[k % len(kinds)], os.path.join(folder, 'student%04d.zip' % k))
        argv = [sys.executable, '-m', 'staff.grading.grade', folder, '--jobs', str(args.jobs),
                '--starter', starter, '--heldout', heldout_path, '--no-progress']
        argv += ['--trusted'] if box.kind == 'none' else ['--sandbox', box.kind]
        started = time.perf_counter()
        proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            sys.exit(proc.stderr[-3000:])
        print('a class of %d with --jobs %d: %.1f s wall (%.2f min), %.2f s per submission; '
              'targets: < 1 s per submission, < 10 min for 600'
              % (args.students, args.jobs, wall, wall / 60, wall / args.students))
        print([line for line in proc.stdout.splitlines() if line.startswith('graded')][0])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# One grading in a fresh process of the checkout ROOT (after one untimed grading, which
# pays for the imports): prints its seconds.
ONE = r'''
import sys, time
sys.path.insert(0, sys.argv[1])
from staff.grading import grader, sandbox as SB
try:
    from staff.assignment import models as MOD
except ImportError:  # a checkout from before the engine and the content were apart
    from staff.grading import models as MOD
box = SB.choose(sys.argv[5])
heldout = MOD.load_heldout(sys.argv[4])
rubric = grader.load_rubric(grader_root=sys.argv[1])
for timed in (False, True):
    started = time.perf_counter()
    result = grader.grade(sys.argv[2], sys.argv[3], rubric, grader_root=sys.argv[1],
                          sandbox=box, heldout=heldout)
    assert result.total == rubric.total, [p.message for p in result.parts if not p.passed]
print(time.perf_counter() - started)
'''


def compare(args, starter, zip_path, heldout_path, box):
    """Time one submission's grading by this checkout and by args.against, interleaved."""
    roots = {'this tree': ROOT, 'against': os.path.abspath(args.against)}
    times = {k: [] for k in roots}
    load = os.getloadavg()[0]
    for _ in range(args.repeat):
        for name, root in roots.items():
            out = subprocess.run([sys.executable, '-c', ONE, root, zip_path, starter,
                                  heldout_path, box.kind], cwd=root, capture_output=True,
                                 text=True)
            if out.returncode != 0:
                sys.exit('%s: %s' % (root, out.stderr[-2000:]))
            times[name].append(float(out.stdout.split()[-1]))
    new, old = statistics.median(times['this tree']), statistics.median(times['against'])
    print('one submission (the solution), sandbox %s, %d runs each, interleaved, load %.1f '
          'to %.1f: this tree median %.3f s, %s median %.3f s: %+.1f%%'
          % (box.describe(), args.repeat, load, os.getloadavg()[0], new, args.against, old,
             100 * (new / old - 1)))


if __name__ == '__main__':
    main()
