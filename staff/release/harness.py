"""Running pytest in a starter, and finding the data (staff only).

    run = run_pytest(folder, ['tests', '-x'], junit_path, timeout)
    run.cases        [(test id, 'passed' | 'failed' | 'skipped', first line of the message)]
    run.returncode   pytest's exit status (None if it did not finish in time)

The release checks, the alternative solution and the bug runner all judge a
starter by one pytest run and its JUnit report; this is that run.
"""
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

from .starter import ROOT

BATCH_FILES = ('batches.meta', 'test_batch', 'data_batch_1', 'data_batch_5')


class PytestRun:
    """One pytest run: returncode (None: timed out), seconds, output (stdout and
    stderr), junit (the report's path, or None if pytest wrote none), cases."""

    def __init__(self, returncode, seconds, output, junit):
        self.returncode, self.seconds, self.output = returncode, seconds, output
        self.junit = junit if junit and os.path.isfile(junit) else None
        self.testcases = list(ET.parse(self.junit).getroot().iter('testcase')) \
            if self.junit else []

    @property
    def cases(self):
        return [junit_case(tc) for tc in self.testcases]

    def tail(self, lines=15):
        return '\n'.join(self.output.strip().splitlines()[-lines:])

    def summary(self):
        count = {o: sum(1 for _, outcome, _ in self.cases if outcome == o)
                 for o in ('passed', 'failed', 'skipped')}
        return '%d tests in %.0f s: %d passed, %d failed, %d skipped' % (
            len(self.cases), self.seconds, count['passed'], count['failed'], count['skipped'])


def junit_case(tc):
    """(test id, outcome, first line of its message) of one JUnit testcase element."""
    test_id = '%s::%s' % (tc.get('classname', ''), tc.get('name'))
    outcome = [ch for ch in tc if ch.tag in ('failure', 'error', 'skipped')]
    if not outcome:
        return test_id, 'passed', ''
    ch = outcome[0]
    message = ch.get('message') or ''
    return (test_id, 'skipped' if ch.tag == 'skipped' else 'failed',
            message.splitlines()[0][:200] if message else '')


def run_pytest(folder, args, junit, timeout, env=None):
    """pytest `args` in `folder` with this interpreter, its report at `junit`: a PytestRun."""
    cmd = [sys.executable, '-m', 'pytest', *args, '-q', '--no-header', '-p', 'no:cacheprovider',
           '--junitxml', junit]
    env = dict(os.environ, MPLBACKEND='Agg', PYTHONDONTWRITEBYTECODE='1', **(env or {}))
    start = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True,
                           timeout=timeout)
        code, output = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        code, output = None, e.stdout.decode('utf-8', 'replace') if isinstance(
            e.stdout, bytes) else str(e.stdout or '')
    return PytestRun(code, time.perf_counter() - start, output, junit)


def find_data_dir(root=ROOT):
    """The folder that holds a complete cifar-10-batches-py ($CS231N_DATA_DIR, else
    the repository's cs231n/datasets), or None."""
    for c in (os.environ.get('CS231N_DATA_DIR'), os.path.join(root, 'cs231n', 'datasets')):
        if c and all(os.path.isfile(os.path.join(c, 'cifar-10-batches-py', n))
                     for n in BATCH_FILES):
            return os.path.abspath(c)
    return None
