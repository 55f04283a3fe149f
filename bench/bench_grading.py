"""Grading time: one submission, and a generated class graded by the batch command.

    .venv/bin/python bench/bench_grading.py                  # a class of 600, --jobs 2
    .venv/bin/python bench/bench_grading.py --students 60 --sandbox user

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

        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = grader.grade(kinds[0], starter, rubric, sandbox=box, heldout=heldout)
            times.append(time.perf_counter() - started)
        assert result.total == rubric.total, [p.message for p in result.parts if not p.passed]
        print('one submission (the solution), sandbox %s: median %.2f s over %d runs '
              '(min %.2f, max %.2f)' % (box.describe(), statistics.median(times), len(times),
                                        min(times), max(times)))

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


if __name__ == '__main__':
    main()
