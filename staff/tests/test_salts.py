"""Correct solutions pass the hidden tests whatever inputs the grading's secret draws.

The grader mixes a secret drawn for each grading into every seed of the hidden
tests (api.case_salt), so each grading sees new inputs. A judge whose
tolerance only held for one draw would fail a correct student now and then.
Here the model answers, the alternative solution and the in-place and
alternative formulations (staff/tests/submissions.py) run every probe under
many salts (in process, in a child: staff/tests/probing.py's stand-in
session), and every judge must accept every draw. And each known bug
(staff/tests/known_bugs.py) must be
named at every draw of BUG_SALTS (CS231N_BUG_SALTS, default 4: about 30 s).

Staff-only: staff/ never ships.
"""
import concurrent.futures
import os
import pickle
import subprocess
import sys

import pytest

from staff.assignment import mistakes as M
from staff.grading import api
from staff.tests.known_bugs import known_bugs
from staff.tests.submissions import (ALTERNATIVE_FORMULATIONS, ROOT, write_alt_package,
                                     write_package)

SALTS = [('salt-%d' % k).encode() for k in range(int(os.environ.get('CS231N_SALTS', '24')))]

_CHILD = ('import pickle, sys\n'
          'workspace, root, out, names = sys.argv[1:5]\n'
          'sys.path[:0] = [workspace, root]\n'
          'from staff.grading import api\n'
          'from staff.tests.probing import run_probes\n'
          'from staff.assignment import parts as P\n'
          'names = names.split(",") if names else list(P.load_parts())\n'
          'runs = {}\n'
          'for salt in sys.argv[5:]:\n'
          '    with api.case_salt(salt.encode()):\n'
          '        runs[salt] = run_probes(names)\n'
          'with open(out, "wb") as f:\n'
          '    pickle.dump(runs, f)\n')


def probe_under_salts(workspace, parts=(), salts=SALTS):
    """{salt: {part: what its probe emitted}} of the parts (default: all)."""
    out = os.path.join(workspace, 'salted.pickle')
    proc = subprocess.run([sys.executable, '-c', _CHILD, workspace, ROOT, out, ','.join(parts)]
                          + [s.decode() for s in salts], cwd=workspace, capture_output=True,
                          text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, 'rb') as f:
        return pickle.load(f)     # written by our own child: trusted


def _failures(runs):
    from staff.assignment import parts as P
    parts = P.load_parts()
    failed = {}
    for salt, data in runs.items():
        with api.case_salt(salt.encode()):
            for name, got in data.items():
                try:
                    if '__error__' in got:
                        raise api.Fail(got['__error__'])
                    parts[name].judge_fn(got)
                except api.Fail as e:
                    failed.setdefault(name, []).append('%s: %s' % (salt, str(e)[:300]))
    return failed


def _variants():
    return ALTERNATIVE_FORMULATIONS


@pytest.mark.parametrize('who', ['model answers', 'alternative solution',
                                 'alternative formulations'])
def test_every_draw_accepts_a_correct_solution(starter, tmp_path, who):
    dest = str(tmp_path / 'package')
    if who == 'model answers':
        write_package(starter, dest)
    elif who == 'alternative solution':
        write_alt_package(starter, dest)
    else:
        write_package(starter, dest, _variants())
    failed = _failures(probe_under_salts(dest))
    assert not failed, {k: (len(v), v[:3]) for k, v in failed.items()}


# Draws for the bugs of test_mistakes: each must be named at every draw (a
# matcher, or an input, that only works for some draws names a mistake for
# some students and not for others with the same code).
BUG_SALTS = SALTS[:int(os.environ.get('CS231N_BUG_SALTS', '4'))]


def test_every_draw_names_each_catalogued_mistake(starter, tmp_path):
    bugs = known_bugs()
    packages = {key: write_package(starter, str(tmp_path / key), spec[0])
                for key, spec in bugs.items()}
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        runs = dict(zip(bugs, pool.map(lambda key: probe_under_salts(
            packages[key], bugs[key][1], BUG_SALTS), bugs)))
    missed = {}
    for key, by_salt in runs.items():
        for salt, data in by_salt.items():
            with api.case_salt(salt.encode()):
                for part, got in data.items():
                    got = {'__error__': got['__error__']} if '__error__' in got else got
                    if key not in dict(M.name_mistakes(part, got)):
                        missed.setdefault(key, []).append('%s %s' % (salt, part))
    assert not missed, missed
