"""Correct solutions pass the hidden tests, and known mistakes are named, whatever
inputs the grading's secret draws.

The grader mixes a secret drawn for each grading into every seed of the hidden
tests (api.case_salt), so each grading sees new inputs. A judge whose
tolerance only held for one draw would fail a correct student now and then.
Here the model answers and the alternative solution run every probe under many
salts (in process, in a child: staff/tests/probing.py's stand-in session), and
so does each variant of the catalogue (staff/assignment/mistakes/) for the
parts of the functions it edits: every judge must accept every draw and name
nothing. And each planting of the catalogue must fail a part of
a function it edits and be named there, and nowhere be named as another
mistake, at every draw of BUG_SALTS (CS231N_BUG_SALTS, default 4).

Staff-only: staff/ never ships.
"""
import concurrent.futures
import os
import pickle
import subprocess
import sys

import pytest

from staff.assignment import mistakes as M
from staff.bugs import runner
from staff.grading import api
from staff.tests.submissions import ROOT, write_alt_package, write_package

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
    """{part: [why it failed or named a mistake, at which salt]} of a correct package's runs."""
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
                    if M.name_mistakes(name, got):
                        raise api.Fail('names %s' % M.name_mistakes(name, got))
                except api.Fail as e:
                    failed.setdefault(name, []).append('%s: %s' % (salt, str(e)[:300]))
    return failed


def _passes(part, got):
    try:
        part.judge_fn(got)
        return True
    except api.Fail:
        return False


def parts_of(entry):
    """The parts that test the functions an entry of the catalogue edits (all, for
    an edit at a module's level)."""
    from staff.assignment import parts as P
    edited = {region.split(' part ')[0] for _, region, _, _ in entry.edits}
    return [name for name, part in P.load_parts().items()
            if '<module>' in edited or set(part.functions) & edited]


@pytest.mark.parametrize('who', ['model answers', 'alternative solution'])
def test_every_draw_accepts_a_correct_solution_and_names_nothing(starter, tmp_path, who):
    dest = str(tmp_path / 'package')
    if who == 'model answers':
        write_package(starter, dest)
    else:
        write_alt_package(starter, dest)
    failed = _failures(probe_under_salts(dest))
    assert not failed, {k: (len(v), v[:3]) for k, v in failed.items()}


def test_every_draw_accepts_each_variant_and_names_nothing(starter, tmp_path):
    """Each variant of the catalogue in a package of its own (two can depend on
    each other's caches), the parts of the functions it edits under every draw
    (test_mistakes runs every part of it at one draw)."""
    variants = [e for e in runner.catalogue_entries() if e.kind == 'variant']
    packages = {e.name: write_package(starter, str(tmp_path / e.name), e.edits)
                for e in variants}
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        runs = dict(zip(packages, pool.map(lambda e: probe_under_salts(
            packages[e.name], parts_of(e)), variants)))
    failed = {name: _failures(run) for name, run in runs.items()}
    failed = {name: {k: (len(v), v[:2]) for k, v in f.items()} for name, f in failed.items() if f}
    assert not failed, failed


# Draws for the bugs of the catalogue: each must be named at every draw (a
# reference, or an input, that only works for some draws names a mistake for
# some students and not for others with the same code).
BUG_SALTS = SALTS[:int(os.environ.get('CS231N_BUG_SALTS', '4'))]


def test_every_draw_names_each_planted_mistake(starter, tmp_path):
    from staff.assignment import parts as P
    parts = P.load_parts()
    bugs = [e for e in runner.catalogue_entries() if e.kind == 'bug']
    packages = {e.name: write_package(starter, str(tmp_path / e.name.replace(':', '_')),
                                      e.edits) for e in bugs}
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        runs = dict(zip(packages, pool.map(lambda name: probe_under_salts(
            packages[name], (), BUG_SALTS), packages)))
    missed = {}
    for entry in bugs:
        key = entry.name.split(':')[0]
        edited = {region.split(' part ')[0] for _, region, _, _ in entry.edits}
        for salt, data in runs[entry.name].items():
            named_own = False
            with api.case_salt(salt.encode()):
                for part, got in data.items():
                    if '__error__' in got:
                        got = {'__error__': got['__error__']}
                    elif _passes(parts[part], got):
                        continue
                    named = dict(M.name_mistakes(part, got))
                    own = '<module>' in edited or bool(set(parts[part].functions) & edited)
                    if not set(named) <= {key} or (own and key not in named):
                        missed.setdefault(entry.name, []).append('%s %s %s' % (salt, part,
                                                                              sorted(named)))
                    named_own |= own and key in named
            if not named_own:
                missed.setdefault(entry.name, []).append('%s: named in no part' % salt)
    assert not missed, missed
