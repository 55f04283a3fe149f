"""Hostile submissions against the real grader: batch grading and run_autograder.

One real submission per attack a student who reads every file could try.
Each is the model answer with the attack written into some regions; where the
attack replaces a region's code, that part must score 0 (what a stub earns),
and everything else its points. After grading, nothing outside the
submission's scratch folder has changed, no process of the student's is
left, and the results are the grader's.

The attacks and the checks live in hostile.py (PrairieLearn's entrypoint is
graded against the same class in test_prairielearn.py). Batch grading runs in
bubblewrap where it works, with the grader run by this
user and (under root) also by the unprivileged user nobody, as a TA without
root would run it; run_autograder runs as
Gradescope runs it, as root with the unprivileged sandbox user (bubblewrap
off, as in a Docker container that refuses namespaces). Where neither
sandbox can run (no bwrap, not root), the tests skip with the reason.
"""
import csv
import http.server
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

import pytest

from staff.grading import grader, sandbox as SB
from staff.tests import grading_fixtures as G
from staff.tests.platforms import check_schema, gradescope_layout, run_autograder
from staff.tests.hostile import (MARKER, SECRET, _check_outputs_leak_nothing, _expected_total,
                                 _processes_with, _strays, _tree_digest, hostile_class)
from staff.tests.submissions import HELDOUT, ROOT, make_submission, prepend


def _available(kind):
    try:
        SB._chosen.clear()
        return SB.choose(kind), None
    except SB.SandboxUnavailable as e:
        return None, str(e)
    finally:
        SB._chosen.clear()


BWRAP, BWRAP_WHY = _available('bwrap')
USER, USER_WHY = (_available('user') if os.geteuid() == 0 else
                  (None, 'the sandbox user needs a grader running as root'))
needs_bwrap = pytest.mark.skipif(BWRAP is None, reason='no bubblewrap sandbox: %s' % BWRAP_WHY)
needs_user = pytest.mark.skipif(USER is None, reason='no sandbox user: %s' % USER_WHY)


@pytest.fixture(scope='module')
def rubric():
    return grader.load_rubric()


@pytest.fixture(scope='module')
def server():
    """A real HTTP server on 127.0.0.1 that counts the requests it gets."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'exfiltrated')

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], hits
    httpd.shutdown()


@needs_bwrap
def test_batch_grading_of_a_hostile_class(tmp_path, starter, rubric, server):
    _grade_hostile_class(tmp_path, starter, rubric, server)


NOBODY = 65534


def _nobody_runs_python():
    """None if the user nobody can run this interpreter and read the grader, else why not."""
    if os.geteuid() != 0:
        return 'switching to another user needs root'
    proc = subprocess.run(['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY,
                           '--clear-groups', sys.executable, '-c', 'import staff.grading.grade'],
                          cwd=ROOT, capture_output=True, text=True)
    return None if proc.returncode == 0 else 'nobody cannot run the grader here: %s' % (
        proc.stderr.strip().splitlines() or ['?'])[-1]


@needs_bwrap
def test_batch_grading_of_a_hostile_class_by_a_staff_user_without_root(starter, rubric, server):
    """A TA grading on a laptop: the grader itself runs as an unprivileged user
    (nobody here) and puts each submission in bubblewrap."""
    why = _nobody_runs_python()
    if why:
        pytest.skip(why)
    base = tempfile.mkdtemp(prefix='cs231n-staff-')
    try:
        os.chmod(base, 0o755)
        own_starter = os.path.join(base, 'starter')
        shutil.copytree(starter, own_starter)
        _grade_hostile_class(pathlib.Path(base), own_starter, rubric, server, uid=NOBODY)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _grade_hostile_class(base, starter, rubric, server, uid=None):
    """Batch-grade the hostile class in bubblewrap, by this user or (uid) by
    another one, who then owns the class and its output; check every result."""
    port, hits = server
    folder = base / 'class'
    folder.mkdir()
    out = str(base / 'out')
    made = hostile_class(starter, folder, out, [ROOT], port)
    shutil.rmtree(str(folder / 'made'))
    heldout = str(base / 'heldout.npz')
    G.heldout_file(heldout, HELDOUT)
    before = _tree_digest(os.path.join(ROOT, 'staff'), os.path.join(ROOT, 'cs231n'), starter,
                          str(folder))
    env = dict(os.environ, CS231N_TEST_MARKER=SECRET)
    as_user = []
    if uid is not None:
        for here, dirs, files in os.walk(str(base)):
            for name in [here] + [os.path.join(here, n) for n in dirs + files]:
                os.lchown(name, uid, uid)
        as_user = ['setpriv', '--reuid=%d' % uid, '--regid=%d' % uid, '--clear-groups']
        env.update(HOME=str(base), MPLCONFIGDIR=str(base / 'mpl'), PYTHONDONTWRITEBYTECODE='1')
    command = as_user + [sys.executable, '-m', 'staff.grading.grade', str(folder), '--out', out,
                         '--starter', starter, '--heldout', heldout, '--jobs', '2',
                         '--no-progress']
    proc = subprocess.run(command + ['--sandbox=bwrap'], cwd=ROOT, capture_output=True,
                          text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert 'sandbox: bwrap' in proc.stdout
    time.sleep(0.5)            # a surviving daemon would rewrite the results meanwhile
    stored = {n: json.load(open(os.path.join(out, 'results', n + '.json'))) for n in made}
    if uid is not None:
        assert os.stat(os.path.join(out, 'grades.csv')).st_uid == uid
    for name, (_, zero) in made.items():
        got = stored[name]
        lost = {k for k, v in got['scores'].items()
                if v < [i.points for i in rubric.items if i.name == k][0]}
        assert lost == zero, (name, {k: t['output'][:300] for t in got['results']['tests']
                                     for k in [t['name']] if k in lost ^ zero})
        assert got['total'] == _expected_total(rubric, zero), name
        feedback = open(os.path.join(out, 'feedback', name + '.txt')).read()
        _check_outputs_leak_nothing(feedback, name)
    with open(os.path.join(out, 'grades.csv'), newline='') as f:
        rows = {r['student']: r['total'] for r in csv.DictReader(f)}
    assert {n: float(t) for n, t in rows.items()} == {
        n: _expected_total(rubric, z) for n, (_, z) in made.items()}
    steal_out = [t['output'] for t in stored['mallory_steal']['results']['tests']
                 if t['name'] == 'affine_forward'][0]
    assert 'nothing found' in steal_out, steal_out
    liar = [t['output'] for t in stored['mallory_accuracy']['results']['tests']
            if t['name'] == 'best_model_accuracy'][0]
    assert 'does not reach' in liar, liar
    assert _tree_digest(os.path.join(ROOT, 'staff'), os.path.join(ROOT, 'cs231n'), starter,
                        str(folder)) == before
    assert not _strays(), _strays()
    assert not _processes_with(MARKER), 'a daemon outlived grading'
    assert hits == [], 'the student\'s code reached the network'
    # A resumed run trusts nothing it did not sign: a forged result is regraded.
    forged = dict(stored['mallory_steal'], total=100.0)
    with open(os.path.join(out, 'results', 'mallory_steal.json'), 'w') as f:
        json.dump(forged, f)
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '%d already graded, 1 to grade' % (len(made) - 1) in proc.stdout, proc.stdout
    again = json.load(open(os.path.join(out, 'results', 'mallory_steal.json')))
    assert again['total'] == _expected_total(rubric, made['mallory_steal'][1]), [
        (t['name'], t['output'][:300]) for t in again['results']['tests']
        if t['score'] < t['max_score']]


def _run_autograder(root, env=None, signal_after=None):
    return run_autograder(root, dict(env or {}, CS231N_TEST_MARKER=SECRET), signal_after)


@needs_user
@pytest.mark.parametrize('name', ['mallory_steal', 'mallory_daemon', 'mallory_kill',
                                  'mallory_peers', 'mallory_snoop', 'mallory_outside',
                                  'mallory_network', 'mallory_accuracy'])
def test_run_autograder_as_the_sandbox_user(tmp_path, bundle, starter, rubric, server,  
                                            name):
    """Gradescope's layout, root grading, the student's code as the sandbox user."""
    port, hits = server
    root = gradescope_layout(tmp_path, bundle)
    grader_root = str(root / 'source' / 'grader')
    folder = tmp_path / 'subs'
    folder.mkdir()
    results = str(root / 'results')
    made = hostile_class(starter, folder, results, [grader_root], port)
    path, zero = made[name]
    with zipfile.ZipFile(path) as z:
        z.extractall(str(root / 'submission'))
    before = _tree_digest(str(root / 'source'), starter)
    data, status, stdout, stderr = _run_autograder(root, {'CS231N_SANDBOX': 'user'})
    assert status == 0, stderr[-3000:]
    time.sleep(0.5)
    with open(os.path.join(results, 'results.json')) as f:
        assert json.load(f) == data, 'results.json changed after the grader wrote it'
    check_schema(data, rubric)
    lost = {t['name'] for t in data['tests'] if t['score'] < t['max_score']}
    assert lost == zero, {t['name']: t['output'][:300] for t in data['tests']
                          if t['name'] in lost ^ zero}
    assert data['score'] == _expected_total(rubric, zero)
    _check_outputs_leak_nothing(json.dumps(data), name)
    assert sorted(os.listdir(results)) == ['results.json']
    assert _tree_digest(str(root / 'source'), starter) == before
    assert not _strays(), _strays()
    assert not SB.processes_of(USER.user[0]), 'a process of the sandbox user outlived grading'
    assert hits == []


@needs_user
def test_sigterm_of_the_autograder_still_writes_results(tmp_path, bundle, starter, rubric):  
    root = gradescope_layout(tmp_path, bundle)
    path = make_submission(starter, tmp_path, 'sleeper', {
        'affine_forward': prepend('import time', 'time.sleep(60)')})
    shutil.copy(path, str(root / 'submission' / 'a2_submission.zip'))
    data, status, stdout, stderr = _run_autograder(root, {'CS231N_SANDBOX': 'user'},
                                                   signal_after=6)
    assert status != 0
    check_schema(dict(data, tests=[]), rubric) if data['tests'] else None
    assert data['score'] == 0 and 'stopped by SIGTERM' in data['output'], data
    assert not SB.processes_of(USER.user[0])


@needs_bwrap
def test_sigterm_of_a_batch_leaves_a_resumable_state(tmp_path, starter, rubric):  
    folder = tmp_path / 'class'
    folder.mkdir()
    shutil.copy(make_submission(starter, tmp_path, 'a'), str(folder / 'alice.zip'))
    shutil.copy(make_submission(starter, tmp_path, 'b', {
        'affine_forward': prepend('import time', 'time.sleep(60)')}), str(folder / 'zed.zip'))
    heldout = str(tmp_path / 'heldout.npz')
    G.heldout_file(heldout, HELDOUT)
    out = str(tmp_path / 'out')
    argv = [sys.executable, '-m', 'staff.grading.grade', str(folder), '--out', out, '--starter',
            starter, '--heldout', heldout, '--jobs', '1', '--no-progress']
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(os.path.join(out, 'results', 'alice.json')):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    time.sleep(1.0)                              # zed's sleep is running now
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert 'run the same command again to resume' in stderr
    assert not _processes_with('time.sleep(60)')
    with open(os.path.join(out, 'grades.csv')) as f:
        assert [r.split(',')[0] for r in f.readlines()[1:]] == ['alice']
    proc = subprocess.run(argv + ['--part-timeout', '2'], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r'1 already graded, 1 to grade', proc.stdout), proc.stdout


def test_no_sandbox_refuses_with_both_ways(monkeypatch):
    """Without bubblewrap and without root, grading untrusted code is refused in one line."""
    monkeypatch.setattr(SB, 'bwrap_problem', lambda *a, **k: 'bwrap: no permissions to create '
                        'a new namespace')
    monkeypatch.setattr(SB.os, 'geteuid', lambda: 1000)
    SB._chosen.clear()
    try:
        with pytest.raises(SB.SandboxUnavailable) as e:
            SB.choose('auto')
    finally:
        SB._chosen.clear()
    message = str(e.value)
    assert 'bubblewrap' in message and 'root' in message and '--trusted' in message
    assert 'no permissions to create a new namespace' in message     # bubblewrap's own words
    assert '\n' not in message
