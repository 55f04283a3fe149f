"""Time the start of the public self-check: `python -m pytest tests -k affine`
in a fresh student starter, the command a student runs hundreds of times.

    python bench/bench_selfcheck.py [--starter DIR] [--repeats N] [-k EXPR]

Builds a starter with `python -m staff.release` (or uses --starter DIR) and
prints the median wall time of the command as the starter ships it, and of
the same command with the nbval plugin forced in (`-p nbval --nbval-lax`, the
configuration before the plugin was loaded only for notebooks), with their
ratio. The target is <= 1.5 s on an idle 2-core machine. Also prints how long
`import nbval` alone takes. A figure to watch, not a test.
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


def timed(cmd, cwd, env):
    start = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if p.returncode not in (0, 1):     # 1: the starter's stubs fail their tests
        sys.exit('bench_selfcheck: %s exited with %d:\n%s'
                 % (' '.join(cmd), p.returncode, (p.stdout + p.stderr)[-2000:]))
    return seconds


def median_time(cmd, cwd, env, repeats):
    timed(cmd, cwd, env)               # warm the page cache and the bytecode
    return statistics.median(timed(cmd, cwd, env) for _ in range(repeats))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--starter', help='an existing starter (default: build one)')
    p.add_argument('--repeats', type=int, default=7)
    p.add_argument('-k', default='affine', help='the -k expression (default: affine)')
    args = p.parse_args()

    scratch = None
    starter = args.starter
    if starter is None:
        scratch = tempfile.mkdtemp(prefix='cs231n-bench-selfcheck-')
        starter = os.path.join(scratch, 'starter')
        subprocess.run([sys.executable, '-m', 'staff.release', starter], cwd=ROOT, check=True,
                       capture_output=True)
    env = dict(os.environ, MPLBACKEND='Agg')
    try:
        base = [sys.executable, '-m', 'pytest', 'tests', '-k', args.k, '-q',
                '-p', 'no:cacheprovider']
        shipped = median_time(base, starter, env, args.repeats)
        forced = median_time(base + ['-p', 'nbval', '--nbval-lax'], starter, env, args.repeats)
        imp = median_time([sys.executable, '-c', 'import nbval.plugin'], starter, env,
                          args.repeats)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    print('pytest tests -k %s in a starter; %d CPUs, load %.2f; median of %d runs'
          % (args.k, cpus, load, args.repeats))
    print('  as shipped:                %.2f s' % shipped)
    print('  with -p nbval --nbval-lax: %.2f s' % forced)
    print('  ratio:                     %.2fx' % (forced / shipped))
    print('  python -c "import nbval.plugin": %.2f s' % imp)
    return 0


if __name__ == '__main__':
    sys.exit(main())
