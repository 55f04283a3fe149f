"""The grading process's bounds against hostile input, part by part (staff only).

Each test feeds one piece of the grader (the zip and folder readers, the
saved-model reader, the channel's framing, the staff layers' callbacks, the
notebooks, the batch command's names) what a hostile submission can hand it,
and checks the bound: a one-line refusal that names what and why, and no
allocation out of proportion to the input. The same attacks, as real
submissions graded end to end, are in test_adversarial.py.
"""
import io
import json
import os
import stat
import zipfile

import numpy as np
import pytest

from staff.assignment import models as MOD
from staff.grading import safezip, submission as SUB
from staff.tests.submissions import HELDOUT, MODEL_FILES

MB = 1024 * 1024


def peak_mb(reset=False):
    """This process's peak resident memory in MB (VmHWM); reset=True starts it afresh
    from what the process holds now (Linux: clear_refs 5)."""
    if reset:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    with open('/proc/self/status') as f:
        return [int(line.split()[1]) / 1024 for line in f if line.startswith('VmHWM:')][0]


def bomb(path, method, member='cs231n/layers.py', size=512 * MB):
    """A zip whose one member inflates to `size` bytes of zeros, compressed with `method`."""
    info = zipfile.ZipInfo(member)
    info.compress_type = method
    with zipfile.ZipFile(path, 'w') as z:
        with z.open(info, 'w', force_zip64=True) as f:
            block = bytes(MB)
            for _ in range(size // MB):
                f.write(block)
    return path


@pytest.mark.parametrize('method, name', [(zipfile.ZIP_BZIP2, 'bzip2'),
                                          (zipfile.ZIP_LZMA, 'LZMA')])
def test_bzip2_and_lzma_members_are_refused_before_inflating(tmp_path, method, name):
    path = bomb(str(tmp_path / 'bomb.zip'), method, size=96 * MB)
    assert os.path.getsize(path) < 200 * 1024
    before = peak_mb(reset=True)
    with pytest.raises(SUB.Refused, match=r'unsafe zip: member .*layers.py.*%s.*only stored '
                                          r'and deflated' % name):
        SUB.read_zip(path)
    assert peak_mb() - before < 32, 'the member was inflated'


def test_a_member_is_read_in_chunks_within_its_limit(tmp_path):
    """A deflated member over its file's limit is not read (a note says so); one that
    inflates to more than it declares is cut there and refused."""
    path = str(tmp_path / 'big.zip')
    with zipfile.ZipFile(path, 'w', compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr('cs231n/layers.py', 'x = 1\n' * (SUB.MAX_CODE // 6 + 10))
        z.writestr('cs231n/optim.py', 'y = 2\n')
    files, notes = SUB.read_zip(path)
    assert 'cs231n/layers.py' not in files and files['cs231n/optim.py'] == b'y = 2\n'
    assert any(n.startswith('cs231n/layers.py: ') and 'over the limit' in n for n in notes), notes
    # A member that declares less than it holds.
    raw = bytearray(open(path, 'rb').read())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo('cs231n/optim.py')
    lie = str(tmp_path / 'lie.zip')
    with zipfile.ZipFile(lie, 'w', compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr('cs231n/optim.py', 'y = 2\n' * 1000)
    with zipfile.ZipFile(lie) as z:
        info = z.getinfo('cs231n/optim.py')
        info.file_size = 12
        with pytest.raises((safezip.UnsafeZip, zipfile.BadZipFile)):
            safezip.read_member(z, info, SUB.MAX_CODE)
    assert raw


def test_the_submission_reads_at_most_max_read_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(SUB, 'MAX_READ', 100)
    path = str(tmp_path / 'many.zip')
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr('cs231n/layers.py', 'a' * 60)
        z.writestr('cs231n/optim.py', 'b' * 60)
    files, notes = SUB.read_zip(path)
    assert len(files) == 1
    assert any('not read' in n and 'in all' in n for n in notes), notes


@pytest.mark.parametrize('method', [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_saved_model_with_a_bzip2_or_lzma_member_is_refused(method, rubric):
    """Inside the submission's .npz too: refused before numpy reads it."""
    buf = io.BytesIO()
    info = zipfile.ZipInfo('params/W1.npy')
    info.compress_type = method
    with zipfile.ZipFile(buf, 'w') as z:
        with z.open(info, 'w', force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, {'descr': '<f8', 'fortran_order': False,
                                                     'shape': (96 * MB // 8,)})
            for _ in range(96):
                f.write(bytes(MB))
    item = [i for i in rubric.accuracies if i.name == 'best_model_accuracy'][0]
    before = peak_mb(reset=True)
    passed, message, _ = MOD.grade_accuracy(item, {item.model: buf.getvalue()}, HELDOUT)
    assert not passed and 'only stored and deflated' in message, message
    assert peak_mb() - before < 32


def test_a_saved_model_whose_header_asks_for_more_than_it_holds_is_refused(rubric):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        with z.open('params/W1.npy', 'w') as f:
            np.lib.format.write_array_header_1_0(f, {'descr': '<f8', 'fortran_order': False,
                                                     'shape': (10 ** 10,)})
            f.write(bytes(64))
    item = [i for i in rubric.accuracies if i.name == 'best_model_accuracy'][0]
    passed, message, _ = MOD.grade_accuracy(item, {item.model: buf.getvalue()}, HELDOUT)
    assert not passed and 'declares an array of 80000000000 bytes in' in message, message
    # The models the tests grade with still pass this check.
    for path, data in MODEL_FILES.items():
        MOD.check_npz(data, path)


def test_only_regular_files_are_read_from_a_folder(tmp_path):
    """A FIFO where the grader looks for a file refuses the submission at once (it is
    never opened, so nothing waits for a writer); anything else that is not a regular
    file is ignored."""
    folder = tmp_path / 'upload'
    (folder / 'cs231n').mkdir(parents=True)
    (folder / 'cs231n' / 'layers.py').write_text('x = 1\n')
    os.mkfifo(str(folder / 'stray.fifo'))
    os.mkfifo(str(folder / 'a2_submission.zip'))
    files, _ = SUB.read_submission(str(folder))
    assert files == {'cs231n/layers.py': b'x = 1\n'}
    os.mkfifo(str(folder / 'cs231n' / 'optim.py'))
    with pytest.raises(SUB.Refused, match=r'cs231n/optim.py is a FIFO, not a regular file'):
        SUB.read_submission(str(folder))
    # A folder that holds only a zip, which is a FIFO: never opened either.
    other = tmp_path / 'other'
    other.mkdir()
    os.mkfifo(str(other / 'a2_submission.zip'))
    files, notes = SUB.read_submission(str(other))
    assert files == {} and any('missing' in n for n in notes)
    assert stat.S_ISFIFO(os.lstat(str(other / 'a2_submission.zip')).st_mode)


def test_long_student_names_are_cut_deterministically_and_never_meet():
    from staff.grading.grade import MAX_NAME, student_name
    long_a = 'a' * 247 + '1.zip'
    long_b = 'a' * 247 + '2.zip'
    for z in (long_a, long_b, 'é' * 200 + '.zip', '\udcff' * 300 + '.zip'):
        name = student_name(z)
        assert len(name.encode('utf-8')) <= MAX_NAME and name == student_name(z)
        assert len((name + '.json').encode('utf-8')) < 255
    assert student_name(long_a) != student_name(long_b)
    assert student_name(long_a).startswith('a' * 80)
    assert student_name('alice.zip') == 'alice' and student_name('a b.zip') == 'a_b'


def test_messages_are_bounded_before_they_are_parsed():
    from staff.grading import protocol as P
    honest = P.frame({'event': 'result', 'value': P.encode_value(np.arange(40000.0))})
    assert P.Reader().feed(honest)[0]['event'] == 'result'
    with pytest.raises(P.ProtocolError, match='over the limit'):
        P.Reader().feed(P.HEADER.pack(60 * MB) + b'[')
    many = b'{"event": "result", "value": [' + b'0,' * (P.MAX_VALUES + 10) + b'0]}'
    with pytest.raises(P.ProtocolError, match=r'holds about \d+ JSON values \(at most 100000\)'):
        P.Reader().feed(P.HEADER.pack(len(many)) + many)
    deep = b'[' * 40000 + b']' * 40000
    with pytest.raises(P.ProtocolError, match=r'nests 40000 levels deep \(at most 100\)'):
        P.Reader().feed(P.HEADER.pack(len(deep)) + deep)
    deep = b'[' * 5000 + b']' * 5000        # small: json itself refuses the depth
    with pytest.raises(P.ProtocolError, match=r'not JSON: maximum recursion depth'):
        P.Reader().feed(P.HEADER.pack(len(deep)) + deep)
    # Brackets and commas inside strings are not structure.
    quoted = json.dumps({'event': 'x', 'text': '[{,' * 50000}).encode()
    assert P.Reader().feed(P.HEADER.pack(len(quoted)) + quoted)[0]['event'] == 'x'
    with pytest.raises(P.ProtocolError, match='at most'):
        P.frame({'value': 'x' * P.MAX_MESSAGE})


def test_staff_layers_refuse_work_out_of_proportion():
    """The arguments' shapes bound the work before a staff layer runs: (8192, 1) by
    (1, 8192) is refused (a 512 MB product from 128 KB of arguments); the nets'
    honest calls are far below the floor."""
    from staff.grading import session as SE
    x, w, b = np.ones((8192, 1)), np.ones((1, 8192)), np.zeros(8192)
    assert SE.work([x, w, b]) >= 8192 * 8192 > SE.MIN_WORK
    assert SE.work([np.ones((8192, 1)), np.ones((1, 8192))]) == 8192 * 8192   # broadcasting
    honest = [np.ones((10, 3, 4, 5)), np.ones((60, 20)), np.zeros(20)]
    assert SE.work(honest) < SE.MIN_WORK
    assert SE.size_of({'a': np.zeros(1000), 'b': [1, 2.0, 'x']}) >= 8000


@pytest.mark.parametrize('text, why', [
    (b'[' * 100000 + b']' * 100000, 'nests 100000 levels deep (at most 64)'),
    (b'{"cells": [1, {"cell_type": "code", "outputs": [7]}]}', 'not shaped like a Jupyter'),
    (b'{"cells": "abc"', 'cannot read the notebook'),
    (b'[' + b'{},' * 300000 + b'{}]', 'JSON values (at most 200000)'),
])
def test_a_notebook_the_grader_cannot_parse_is_a_message(text, why, rubric):
    """Never an exception: the accuracy is still verified from the model, and the
    feedback says what is wrong with the notebook."""
    item = [i for i in rubric.accuracies if i.name == 'best_model_accuracy'][0]
    passed, message, _ = MOD.grade_accuracy(item, {item.notebook: text,
                                                   item.model: MODEL_FILES[item.model]}, HELDOUT)
    assert passed and why in message and '03_Dropout.ipynb' in message, message


def test_the_bundle_takes_a_private_heldout_set(tmp_path):
    """Images no student has: the bundle carries the given set, and says so in BUILD.txt."""
    from staff.grading import autograder
    from staff.tests import grading_fixtures as G
    private = G.heldout_file(str(tmp_path / 'private.npz'), G.synthetic_heldout(seed=7))
    out = str(tmp_path / 'autograder.zip')
    autograder.build(out, heldout_path=private)
    with zipfile.ZipFile(out) as z:
        carried = MOD.load_heldout(io.BytesIO(z.read('grader/' + MOD.HELDOUT_FILE)))
        build = z.read('BUILD.txt').decode()
    assert MOD.digest(carried) == MOD.digest(MOD.load_heldout(private))
    assert carried.X_train is not None and carried.ceiling == 1.0
    assert 'held-out set: private.npz (sha256 %s)' % MOD.digest(carried) in build
    assert autograder.main([str(tmp_path / 'x.zip'), '--heldout', str(tmp_path / 'no.npz')]) == 1
    # PrairieLearn's image takes the same set
    from staff.grading.prairielearn import bundle
    image = str(tmp_path / 'image')
    assert bundle.main([image, '--heldout', private]) == 0
    carried = MOD.load_heldout(os.path.join(image, 'grader', MOD.HELDOUT_FILE))
    assert MOD.digest(carried) == MOD.digest(MOD.load_heldout(private))
    with open(os.path.join(image, 'BUILD.txt')) as f:
        assert 'held-out set: private.npz' in f.read()


# ---------------------------------------------------------------------------
# Time and pipes: one executor, driven directly

EXECUTOR_MODULE = '''
import os, time

def nap(seconds):
    time.sleep(seconds)
    return 1

def spin():
    while True:
        pass

def stall():
    """From now on, stop reading the grader's pipe after one more read."""
    real, reads = os.read, [0]
    def read(fd, n):
        reads[0] += 1
        if reads[0] > 1:
            time.sleep(10 ** 6)
        return real(fd, n)
    os.read = read
    return 1

def echo(x):
    return x.shape
'''


@pytest.fixture
def child(tmp_path):
    from staff.grading import sandbox as SB
    workspace = tmp_path / 'ws'
    workspace.mkdir()
    (workspace / 'm.py').write_text(EXECUTOR_MODULE)
    box = SB.Sandbox('none', note='trusted code only')
    job = {'memory_mb': 2048, 'file_mb': 16, 'cpu_seconds': 120, 'modules': ['m']}
    c = SB.Child(box, str(workspace), job)
    c.start()
    try:
        yield c
    finally:
        c.stop()


def _call(child, deadline, name, *args):
    from staff.grading import protocol as P
    m = child.request({'op': 'import', 'module': 'm'}, deadline)['ref']
    return child.request({'op': 'call', 'fn': ['attr', ['h', m], name], 'function': name,
                          'args': P.encode_value(list(args)), 'kwargs': P.encode_value({})},
                         deadline)


def test_a_part_is_charged_cpu_time_not_wall_time(child):
    """Sleeping 1.5 s is within a limit of 1 s of CPU time (the backstop is 3 s); a loop
    is stopped once it has used 1 s of CPU time."""
    from staff.grading import sandbox as SB
    deadline = SB.Deadline(1.0, child)
    assert _call(child, deadline, 'nap', 1.5)['event'] == 'result'
    assert deadline.elapsed() >= 1.5 and deadline.charged() < 1.0
    deadline = SB.Deadline(1.0, child)
    with pytest.raises(SB.ChildFailure) as e:
        _call(child, deadline, 'spin')
    assert e.value.kind == 'timeout' and deadline.expired_by == 'cpu'
    assert deadline.cpu >= 1.0 and deadline.elapsed() < SB.WALL_FACTOR


def test_a_sleeping_part_meets_the_wall_clock_backstop(child):
    from staff.grading import sandbox as SB
    deadline = SB.Deadline(0.5, child)
    with pytest.raises(SB.ChildFailure):
        _call(child, deadline, 'nap', 60)
    assert deadline.expired_by == 'wall' and 1.5 <= deadline.elapsed() < 5


def test_an_executor_that_stops_reading_costs_its_part_never_the_grader(child):
    """A 1 MB argument to an executor that no longer reads its pipe: the write gives up
    at the part's deadline (it used to block for ever, and the batch with it)."""
    import threading
    from staff.grading import sandbox as SB
    assert _call(child, SB.Deadline(5, child), 'stall')['event'] == 'result'
    outcome = []

    def send():
        deadline = SB.Deadline(0.5, child, wall=2.0)
        try:
            _call(child, deadline, 'echo', np.zeros(100_000))
            outcome.append('answered')
        except SB.ChildFailure as e:
            outcome.append((e.kind, deadline.elapsed()))
    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    thread.join(30)
    assert outcome and outcome[0][0] == 'timeout' and outcome[0][1] < 5, outcome


# ---------------------------------------------------------------------------
# Graders that share a machine

HOLD = '''
import sys, time
sys.path.insert(0, sys.argv[1])
from staff.grading import sandbox as SB
with SB.UserLock(exclusive=True):
    print('holding', flush=True)
    time.sleep(float(sys.argv[2]))
'''


@pytest.mark.skipif(os.geteuid() != 0, reason='the lock is root\'s')
def test_a_grader_waits_for_the_one_that_holds_the_sandbox_user(tmp_path, monkeypatch, capsys):
    """An exclusive holder (a grader as the sandbox user without bubblewrap) keeps every
    other grader waiting; the waiting grader says so once, naming the holder."""
    import subprocess
    import sys
    import time
    from staff.grading import sandbox as SB
    from staff.tests.submissions import ROOT
    locks = tmp_path / 'locks'
    monkeypatch.setattr(SB, 'LOCK_DIR', str(locks))
    monkeypatch.setitem(SB._lock_state, 'said', False)
    holder = subprocess.Popen([sys.executable, '-c', HOLD, ROOT, '2'], stdout=subprocess.PIPE,
                              text=True, env=dict(os.environ, CS231N_LOCK_DIR=str(locks)))
    try:
        assert holder.stdout.readline().strip() == 'holding'
        started = time.monotonic()
        with SB.UserLock(exclusive=False):
            waited = time.monotonic() - started
        assert waited > 1.0
        said = capsys.readouterr().err
        assert 'sandbox: waiting for another grader that runs code as' in said, said
        assert str(holder.pid) in said, said
        assert stat.S_IMODE(os.stat(str(locks)).st_mode) == 0o700
    finally:
        holder.kill()
        holder.wait()
