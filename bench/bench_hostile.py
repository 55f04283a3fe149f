"""The grading process on the hostile class: its peak memory, and its honest neighbours' time.

    .venv/bin/python bench/bench_hostile.py              # --jobs 2, as the staff guide quotes

Builds the hostile class of staff/tests/test_adversarial.py (staff/tests/hostile.py: every
attack, a zip name of 251 characters, two zips for one student, a FIFO named like a zip)
with honest neighbours graded last, beside the slowest attacks; grades honest submissions
alone first, then the class, with `python -m staff.grading.grade --jobs 2 --part-timeout
5`, and prints the grading process's peak memory against its documented bound and the
neighbours' seconds beside the attacks against their seconds alone.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def grade(folder, starter, heldout, jobs, sandbox):
    argv = [sys.executable, '-m', 'staff.grading.grade', folder, '--jobs', str(jobs),
            '--starter', starter, '--heldout', heldout, '--no-progress', '--part-timeout', '5']
    argv += ['--trusted'] if sandbox == 'none' else ['--sandbox', sandbox]
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(proc.stderr[-3000:])
    results = {}
    for name in os.listdir(os.path.join(folder, 'grading', 'results')):
        with open(os.path.join(folder, 'grading', 'results', name)) as f:
            stored = json.load(f)
        results[stored['student']] = stored
    return proc.stdout, results, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--jobs', type=int, default=2)
    parser.add_argument('--neighbours', type=int, default=3)
    parser.add_argument('--sandbox', default='auto', choices=('auto', 'bwrap', 'user', 'none'))
    args = parser.parse_args()

    from staff.release import starter as REL
    from staff.tests import grading_fixtures as G
    from staff.tests.hostile import batch_extras, hostile_class
    from staff.tests.submissions import HELDOUT

    tmp = tempfile.mkdtemp(prefix='bench-hostile-')
    try:
        os.chmod(tmp, 0o755)
        starter = os.path.join(tmp, 'starter')
        REL.release(starter)
        heldout = G.heldout_file(os.path.join(tmp, 'heldout.npz'), HELDOUT)
        klass = os.path.join(tmp, 'class')
        os.mkdir(klass)
        made = hostile_class(starter, klass, os.path.join(klass, 'grading'), [ROOT], 9)
        made.update(batch_extras(klass, made['alice'][0]))
        alone = os.path.join(tmp, 'alone')
        os.mkdir(alone)
        for k in range(args.neighbours):
            shutil.copy(made['alice'][0], os.path.join(klass, 'neighbour_%d.zip' % k))
        # Alone: as many again, after one per job that pays for the imports.
        for k in range(args.jobs + args.neighbours):
            shutil.copy(made['alice'][0], os.path.join(alone, 'honest_%d.zip' % k))
        shutil.rmtree(os.path.join(klass, 'made'))

        load = os.getloadavg()[0]
        _, honest, _ = grade(alone, starter, heldout, args.jobs, args.sandbox)
        alone_seconds = [honest['honest_%d' % k]['seconds']
                         for k in range(args.jobs, args.jobs + args.neighbours)]
        printed, results, wall = grade(klass, starter, heldout, args.jobs, args.sandbox)
        peak = re.search(r'grading process: peak memory .*', printed).group(0)
        sandbox = re.search(r'sandbox: (.*)', printed).group(1)
        neighbours = [results['neighbour_%d' % k]['seconds'] for k in range(args.neighbours)]
        slowest = max(results.values(), key=lambda s: s['seconds'])
        print('hostile class of %d submissions, --jobs %d, sandbox %s, load %.1f to %.1f: '
              'graded in %.1f s' % (len(results), args.jobs, sandbox, load,
                                    os.getloadavg()[0], wall))
        print(peak)
        print('honest neighbours: median %.2f s beside the attacks (max %.2f), %.2f s alone; '
              'scores %s' % (statistics.median(neighbours), max(neighbours),
                             statistics.median(alone_seconds),
                             sorted({results['neighbour_%d' % k]['total']
                                     for k in range(args.neighbours)})))
        print('slowest submission: %s, %.1f s' % (slowest['student'][:40], slowest['seconds']))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
