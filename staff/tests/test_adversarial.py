"""Hostile submissions against the real grader: batch grading and run_autograder.

One real submission per attack a student who reads every file could try
(staff/tests/hostile.py builds them). Each is the model answer with the attack
written into some regions; where the attack replaces a region's code, that
part must score 0 (what a stub earns), and everything else its points. After
grading, nothing outside the submission's scratch folder has changed, no
process or System V IPC object of the student's is left, the results are the
grader's, the grading process stayed under its documented memory bound, every
submission was graded within its time limit, and the honest neighbours graded
beside the attacks scored in full in their usual time.

Batch grading runs in bubblewrap where it works, with the grader run by this
user and (under root) also by the unprivileged user nobody, as a TA without
root would run it; run_autograder runs as
Gradescope runs it, as root with the unprivileged sandbox user (bubblewrap
off, as in a Docker container that refuses namespaces). Where neither
sandbox can run (no bwrap, not root), the tests skip with the reason.
"""
import csv
import json
import os
import pathlib
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

import pytest

from staff.grading import grade as GRADE, grader, sandbox as SB
from staff.tests import grading_fixtures as G
from staff.tests.hostile import (FORKS, IPC_KEY, MARKER, SECRET, THREADS, batch_extras,
                                 check_outputs_leak_nothing, expected_total, hostile_class,
                                 processes_with, serve, strays, tree_digest)
from staff.tests.platforms import check_schema, gradescope_layout, peak_memory, run_autograder
from staff.tests.submissions import HELDOUT, ROOT, make_submission, prepend

PART_TIMEOUT = 3        # seconds of CPU time per part: the hanging attacks cost 3 (9 in all)
NEIGHBOURS = 3          # honest submissions graded beside the attacks


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
    with serve() as (port, hits):
        yield port, hits


# ---------------------------------------------------------------------------
# The class

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
    made.update(batch_extras(folder, made['alice'][0]))
    for k in range(NEIGHBOURS):      # graded last, beside the slowest attacks
        made['neighbour_%d' % k] = (shutil.copy(made['alice'][0], str(folder / (
            'neighbour_%d.zip' % k))), set())
    shutil.rmtree(str(folder / 'made'))
    heldout = str(base / 'heldout.npz')
    G.heldout_file(heldout, HELDOUT)
    before = tree_digest(os.path.join(ROOT, 'staff'), os.path.join(ROOT, 'cs231n'), starter,
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
                         '--no-progress', '--part-timeout', str(PART_TIMEOUT)]
    proc = subprocess.run(command + ['--sandbox=bwrap'], cwd=ROOT, capture_output=True,
                          text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert 'sandbox: bwrap' in proc.stdout
    assert 'bwrap' in open(os.path.join(out, 'sandbox.txt')).read()
    # The grading process stayed under its documented bound, with two jobs.
    peak, bound = peak_memory(proc.stdout)
    assert bound == grader.memory_bound_mb(2) and peak <= bound, (peak, bound)
    time.sleep(0.5)            # a surviving daemon would rewrite the results meanwhile
    name_of = {n: GRADE.student_name(path) for n, (path, _) in made.items()}
    stored = {n: json.load(open(os.path.join(out, 'results', name_of[n] + '.json')))
              for n in made}
    if uid is not None:
        assert os.stat(os.path.join(out, 'grades.csv')).st_uid == uid
    backstop = SB.WALL_FACTOR * PART_TIMEOUT
    for name, (_, zero) in made.items():
        got = stored[name]
        lost = {k for k, v in got['scores'].items()
                if v < [i.points for i in rubric.items if i.name == k][0]}
        assert lost == zero, (name, {k: t['output'][:300] for t in got['results']['tests']
                                     for k in [t['name']] if k in lost ^ zero})
        assert got['total'] == expected_total(rubric, zero), name
        # Graded within its time: a backstop per part it lost, and a minute besides.
        assert got['seconds'] <= backstop * len(zero) + 60, (name, got['seconds'])
        assert got['error'] or got['sandbox'].startswith('bwrap'), name
        feedback = open(os.path.join(out, 'feedback', name_of[name] + '.txt')).read()
        check_outputs_leak_nothing(feedback, name)
    # Honest neighbours graded beside the attacks: full marks, in their usual time (alone,
    # about 1 s on 2 cores; the spinning threads made them take 21-33 s).
    for k in range(NEIGHBOURS):
        assert stored['neighbour_%d' % k]['seconds'] < 15, stored['neighbour_%d' % k]['seconds']
    with open(os.path.join(out, 'grades.csv'), newline='') as f:
        rows = {r['student']: r['total'] for r in csv.DictReader(f)}
    assert {n: float(t) for n, t in rows.items()} == dict(
        {name_of[n]: expected_total(rubric, z) for n, (_, z) in made.items()},
        mallory_twin=0.0)
    _check_hostile_feedback(stored, out, name_of)
    twin = json.load(open(os.path.join(out, 'results', 'mallory_twin.json')))
    assert 'mallory_twin.ZIP, mallory_twin.zip' in twin['error'], twin['error']
    assert 'map to the student name mallory_twin' in proc.stderr
    assert stat.S_ISFIFO(os.lstat(str(folder / 'mallory_fifo.zip')).st_mode)
    assert not os.path.exists(os.path.join(out, 'results', 'mallory_fifo.json'))
    report = open(os.path.join(out, 'report.html')).read()
    assert 'Flagged for a person to look at' in report and 'mallory_memorise' in report
    assert 'bwrap as' in report or 'bwrap (' in report
    assert tree_digest(os.path.join(ROOT, 'staff'), os.path.join(ROOT, 'cs231n'), starter,
                        str(folder)) == before
    assert not strays(), strays()
    assert not processes_with(MARKER), 'a daemon outlived grading'
    _check_nothing_of_the_student_is_left()
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
    assert again['total'] == expected_total(rubric, made['mallory_steal'][1]), [
        (t['name'], t['output'][:300]) for t in again['results']['tests']
        if t['score'] < t['max_score']]


def _test_output(stored, name, part):
    return [t['output'] for t in stored[name]['results']['tests'] if t['name'] == part][0]


def _check_hostile_feedback(stored, out, name_of):
    """What each attack of the bounds got, in its own words."""
    steal_out = _test_output(stored, 'mallory_steal', 'affine_forward')
    assert 'nothing found' in steal_out, steal_out
    liar = _test_output(stored, 'mallory_accuracy', 'best_model_accuracy')
    assert 'does not reach' in liar, liar
    if 'mallory_bzip2' in stored:
        assert 'bzip2' in stored['mallory_bzip2']['error'], stored['mallory_bzip2']['error']
        assert 'only stored and deflated' in _test_output(stored, 'mallory_npz_bomb',
                                                          'best_model_accuracy')
    forked = re.findall(r'FORKED (\d+)', _test_output(stored, 'mallory_forkbomb',
                                                      'relu_forward'))
    assert forked and max(map(int, forked)) < SB.NPROC < FORKS, forked
    threads = re.findall(r'THREADS (\d+)', _test_output(stored, 'mallory_threads',
                                                        'affine_forward'))
    assert threads and max(map(int, threads)) < SB.NPROC < THREADS, threads
    assert 'of CPU time' in _test_output(stored, 'mallory_threads', 'affine_forward')
    assert 'without finishing' in _test_output(stored, 'mallory_stall', 'dropout_forward')
    assert 'could not be sent back' in _test_output(stored, 'mallory_results', 'relu_forward')
    assert 'JSON values' in _test_output(stored, 'mallory_json', 'softmax_loss')
    callback = _test_output(stored, 'mallory_callback', 'fc_net')
    assert 'REFUSED staff affine_forward: refused' in callback and 'COMPUTED' not in callback
    memorised = _test_output(stored, 'mallory_memorise', 'best_model_accuracy')
    assert 'flagged for the course staff' in memorised, memorised
    assert stored['mallory_memorise']['flags'] == {'best_model_accuracy': stored[
        'mallory_memorise']['flags']['best_model_accuracy']}
    assert not any(s.get('flags') for n, s in stored.items() if n != 'mallory_memorise')
    deep = _test_output(stored, 'mallory_notebook_deep', 'best_model_accuracy')
    assert 'nests 100000 levels deep' in deep, deep
    big = stored['mallory_notebook_big']['results']['output']
    assert 'notebooks/01_FullyConnectedNets.ipynb: 62914' in big and 'not read' in big, big


def _check_nothing_of_the_student_is_left():
    """No process the attacks started (they carry MARKER), and no System V IPC object of
    the attack or of the sandbox user. (Not every process of the sandbox user: on a
    machine shared with other graders some of theirs may run meanwhile.)"""
    assert not processes_with(MARKER), 'a process of the student\'s outlived grading'
    keys = {str(IPC_KEY), str(IPC_KEY + 1)}        # /proc/sysvipc writes keys in decimal
    for kind in ('shm', 'msg', 'sem'):
        with open('/proc/sysvipc/' + kind) as f:
            assert not [line for line in f if line.split()[0] in keys], kind
    if os.geteuid() == 0 and SB.sandbox_user():
        assert not SB.ipc_of(SB.sandbox_user()[0]), SB.ipc_of(SB.sandbox_user()[0])


def _run_autograder(root, env=None, signal_after=None):
    return run_autograder(root, dict(env or {}, CS231N_TEST_MARKER=SECRET), signal_after)


# What each attack of the bounds must find in the results: (part or None for the
# whole output, a phrase).
SAID = {
    'mallory_bzip2': (None, 'only stored and deflated members are read'),
    'mallory_npz_bomb': ('best_model_accuracy', 'only stored and deflated'),
    'mallory_threads': ('affine_forward', 'of CPU time'),
    'mallory_stall': ('dropout_forward', 'without finishing'),
    'mallory_results': ('relu_forward', 'could not be sent back'),
    'mallory_json': ('softmax_loss', 'JSON values'),
    'mallory_callback': ('fc_net', 'REFUSED staff affine_forward: refused'),
    'mallory_memorise': ('best_model_accuracy', 'flagged for the course staff'),
    'mallory_notebook_deep': ('best_model_accuracy', 'nests 100000 levels deep'),
    'mallory_notebook_big': (None, 'not read'),
    'mallory_forkbomb': ('relu_forward', 'FORKED'),
    'mallory_ipc': ('sgd_momentum', 'IPC'),
}


@needs_user
@pytest.mark.parametrize('name', ['mallory_steal', 'mallory_daemon', 'mallory_kill',
                                  'mallory_peers', 'mallory_snoop', 'mallory_outside',
                                  'mallory_network', 'mallory_accuracy'] + sorted(SAID))
def test_run_autograder_as_the_sandbox_user(tmp_path, bundle, starter, rubric, server,
                                            name):
    """Gradescope's layout, root grading, the student's code as the sandbox user."""
    port, hits = server
    root = gradescope_layout(tmp_path, bundle, {'part_timeout': PART_TIMEOUT})
    grader_root = str(root / 'source' / 'grader')
    folder = tmp_path / 'subs'
    folder.mkdir()
    results = str(root / 'results')
    made = hostile_class(starter, folder, results, [grader_root], port, only=[name])
    path, zero = made[name]
    if name == 'mallory_bzip2':     # the zip as uploaded (extracting it inflates the bomb)
        shutil.copy(path, str(root / 'submission' / 'a2_submission.zip'))
    else:
        with zipfile.ZipFile(path) as z:
            z.extractall(str(root / 'submission'))
    before = tree_digest(str(root / 'source'), starter)
    started = time.monotonic()
    data, status, stdout, stderr = _run_autograder(root, {'CS231N_SANDBOX': 'user'})
    seconds = time.monotonic() - started
    assert status == 0, stderr[-3000:]
    time.sleep(0.5)
    with open(os.path.join(results, 'results.json')) as f:
        assert json.load(f) == data, 'results.json changed after the grader wrote it'
    check_schema(data, rubric)
    lost = {t['name'] for t in data['tests'] if t['score'] < t['max_score']}
    assert lost == zero, {t['name']: t['output'][:300] for t in data['tests']
                          if t['name'] in lost ^ zero}
    assert data['score'] == expected_total(rubric, zero)
    check_outputs_leak_nothing(json.dumps(data), name)
    assert sorted(os.listdir(results)) == ['results.json']
    assert tree_digest(str(root / 'source'), starter) == before
    assert not strays(), strays()
    assert not SB.processes_of(USER.user[0]), 'a process of the sandbox user outlived grading'
    _check_nothing_of_the_student_is_left()
    assert hits == []
    peak, bound = peak_memory(stderr)
    assert bound == grader.memory_bound_mb(1) and peak <= bound, (peak, bound)
    assert seconds <= SB.WALL_FACTOR * PART_TIMEOUT * len(zero) + 60, seconds
    if name != 'mallory_bzip2':
        assert 'Your code ran in the sandbox: user as %s' % SB.SANDBOX_USER in data['output']
    if name in SAID:
        part, phrase = SAID[name]
        text = data['output'] if part is None else [t['output'] for t in data['tests']
                                                    if t['name'] == part][0]
        assert phrase in text, text[:1000]
        for count in re.findall(r'(?:FORKED|THREADS) (\d+)', text):
            assert int(count) < SB.NPROC, text[:1000]


@needs_user
def test_run_autograder_never_opens_a_fifo(tmp_path, bundle, starter, rubric):
    """A FIFO where a notebook should be, in the files Gradescope extracted: refused at
    once with the reason (it used to wait in open() until Gradescope killed it)."""
    root = gradescope_layout(tmp_path, bundle)
    with zipfile.ZipFile(make_submission(starter, tmp_path, 'fifo')) as z:
        z.extractall(str(root / 'submission'))
    notebook = root / 'submission' / 'notebooks' / '03_Dropout.ipynb'
    notebook.unlink()
    os.mkfifo(str(notebook))
    started = time.monotonic()
    data, status, stdout, stderr = _run_autograder(root, {'CS231N_SANDBOX': 'user'})
    assert status == 0 and time.monotonic() - started < 60, stderr[-3000:]
    check_schema(data, rubric)
    assert data['score'] == 0
    assert 'notebooks/03_Dropout.ipynb is a FIFO, not a regular file' in data['output'], \
        data['output']


@needs_user
def test_two_graders_side_by_side_as_the_sandbox_user(tmp_path, bundle, starter, rubric):
    """Two run_autograders on one machine, each running the student's code as the
    sandbox user (two courses on one server, a TA's batch beside CI): neither kills
    or cleans the other's executors (one takes the machine-wide lock while the other
    holds it, and says so), and both grade correctly. Each submission is correct but
    slow, so that each grader's executors live long enough to be killed by the
    other's cleanup, if it could."""
    slow = prepend('import time as _time', '_time.sleep(0.1)')
    roots = []
    for k, functions in enumerate([('affine_forward', 'relu_forward', 'svm_loss', 'adam'),
                                   ('relu_forward', 'sgd_momentum')]):
        root = gradescope_layout(tmp_path / ('course%d' % k), bundle)
        with zipfile.ZipFile(make_submission(starter, tmp_path, 'slow%d' % k, {
                f: slow for f in functions})) as z:
            z.extractall(str(root / 'submission'))
        roots.append(root)
    got = [None, None]

    def run(k):
        got[k] = _run_autograder(roots[k], {'CS231N_SANDBOX': 'user'})
    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for data, status, stdout, stderr in got:
        assert status == 0, stderr[-3000:]
        check_schema(data, rubric)
        assert data['score'] == rubric.total, [(t['name'], t['output'][:300])
                                               for t in data['tests']
                                               if t['score'] < t['max_score']]
    assert any('sandbox: waiting for another grader that runs code as %s' % SB.SANDBOX_USER in
               stderr for _, _, _, stderr in got), [g[3][-2000:] for g in got]
    assert not SB.processes_of(USER.user[0])


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
    assert not processes_with('time.sleep(60)')
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
