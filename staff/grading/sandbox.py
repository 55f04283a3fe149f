"""The sandbox: where and as whom the executor (and so the student's code) runs.

Three kinds, chosen once per grading process (choose()):

    bwrap   bubblewrap: new user, PID, network, IPC, UTS and mount namespaces; the
            executor sees read-only views of the system's libraries, the Python it
            runs on, its own two files and the submission's workspace, a scratch
            folder it may write, and a private /tmp. When the namespace's first
            process ends, the kernel kills every process in it. As root it runs
            as the dedicated sandbox user.
    user    the dedicated unprivileged user (Gradescope's documented practice),
            for a grader that runs as root where namespaces are not allowed (a
            Docker container): the grader's files, the submission and the results
            must be private to root (check_private); afterwards every process of
            that user is killed and what it wrote in the world-writable folders
            is removed. One submission at a time.
    none    no sandbox, for trusted code only (the staff's own solutions), when
            asked for explicitly.

Anything else refuses with one line that names both ways (SandboxUnavailable).

A Child is one executor process in its sandbox, with its command and message
pipes; its stdout and stderr are captured and bounded by the caller
(session.py), which drives it one command at a time.
"""
import json
import os
import pwd
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from . import protocol

HERE = os.path.dirname(os.path.abspath(__file__))
EXECUTOR_FILES = ('executor.py', 'protocol.py')
SANDBOX_USER = os.environ.get('CS231N_SANDBOX_USER', 'cs231n-sandbox')
KINDS = ('bwrap', 'user', 'none')
# Where a process of the sandbox user may write on a Debian or Ubuntu system
# besides its scratch folder: cleaned after each executor in user mode.
WORLD_WRITABLE = ('/tmp', '/var/tmp', '/dev/shm', '/dev/mqueue', '/run/lock', '/var/lock')
IN_BOX = '/sandbox'

_lock = threading.Lock()
_live = set()                  # Child objects running now, for stop_all
_stopping = threading.Event()


class GraderError(RuntimeError):
    """The grading machinery itself failed (not the student's code)."""


class SandboxUnavailable(GraderError):
    """No sandbox can run here; the message says what would make one."""


class ChildFailure(Exception):
    """The executor stopped answering: kind is 'timeout', 'output', 'protocol' or 'exit'."""

    def __init__(self, kind, detail=None):
        super().__init__(kind, detail)
        self.kind, self.detail = kind, detail


# ---------------------------------------------------------------------------
# Choosing the sandbox

class Sandbox:
    """How executors are started: kind, and the user they run as (uid, gid) or None."""

    def __init__(self, kind, user=None, note=''):
        self.kind, self.user, self.note = kind, user, note

    def describe(self):
        who = ' as %s (uid %d)' % (SANDBOX_USER, self.user[0]) if self.user else ''
        return '%s%s%s' % (self.kind, who, ' (%s)' % self.note if self.note else '')


def sandbox_user():
    """(uid, gid) of the dedicated sandbox user, or None if it does not exist."""
    try:
        entry = pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        return None
    if entry.pw_uid == 0 or entry.pw_gid == 0:
        raise GraderError('the sandbox user %s must not be root' % SANDBOX_USER)
    return entry.pw_uid, entry.pw_gid


def as_user(user):
    """The argv prefix that runs a command as user (uid, gid), with no supplementary
    groups and no way to gain privileges again; [] for None.

    Not subprocess's user=/group=: CPython then changes the credentials in a
    vfork()ed child that shares the grader's memory, and glibc's setuid, which
    applies to every thread of a process, reached the grader's own threads (an
    OpenBLAS worker thread vanished, and the next matrix product hung).
    setpriv (util-linux) changes them in the child after the fork."""
    if not user:
        return []
    setpriv = shutil.which('setpriv')
    if not setpriv:
        raise SandboxUnavailable('setpriv (util-linux) is needed to run as the sandbox user')
    return [setpriv, '--reuid=%d' % user[0], '--regid=%d' % user[1], '--clear-groups',
            '--no-new-privs', '--']


def bwrap_problem(user=None, python=None):
    """None if bubblewrap can start this Python in the sandbox built here, else
    why not, in one line that ends with bubblewrap's own error."""
    if not shutil.which('bwrap'):
        return 'bwrap is not installed (Debian package bubblewrap)'
    box = Box(user, 'bwrap')
    try:
        argv = bwrap_argv(box, python or sys.executable, user) + ['-c', 'import numpy']
        p = subprocess.run(as_user(user) + argv, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        return 'bwrap could not be started (%s)' % e
    finally:
        box.remove()
    if p.returncode == 0:
        return None
    said = p.stderr.decode('utf-8', 'replace').strip().splitlines()
    return 'bwrap exited with status %d: %s' % (p.returncode, said[-1][:300] if said else
                                                'no message')


def bwrap_works(user=None, python=None):
    """True if bubblewrap can start this Python in the sandbox built here."""
    return bwrap_problem(user, python) is None


_chosen = {}


def choose(kind='auto', python=None):
    """The Sandbox to grade with. kind: 'auto' (bwrap, else user), or one of KINDS.

    Raises SandboxUnavailable when the kind asked for cannot run here."""
    key = (kind, python)
    if key in _chosen:
        return _chosen[key]
    if kind not in ('auto',) + KINDS:
        raise ValueError('sandbox must be auto, %s; got %r' % (', '.join(KINDS), kind))
    if kind == 'none':
        return _chosen.setdefault(key, Sandbox('none', note='trusted code only'))
    root = os.geteuid() == 0
    user = sandbox_user() if root else None
    if root and user is None:
        raise SandboxUnavailable(
            'refusing to run untrusted code: the grader runs as root and the sandbox user %s '
            'does not exist (create it: useradd --system --no-create-home --shell '
            '/usr/sbin/nologin %s), or pass --trusted for the staff\'s own code'
            % (SANDBOX_USER, SANDBOX_USER))
    problem = None
    if kind in ('auto', 'bwrap'):
        problem = bwrap_problem(user, python)
        if problem is None:
            return _chosen.setdefault(key, Sandbox('bwrap', user))
        if kind == 'bwrap':
            raise SandboxUnavailable(
                'bubblewrap cannot run here: %s (install the Debian package bubblewrap; it '
                'needs unprivileged user namespaces)' % problem)
    if root:
        note = 'bubblewrap unavailable: %s' % problem if problem else ''
        if problem:
            # Said once, where the staff see it: a weaker sandbox is never silent.
            print('sandbox: bubblewrap cannot run here, grading as the sandbox user %s '
                  'instead: %s' % (SANDBOX_USER, problem), file=sys.stderr)
        return _chosen.setdefault(key, Sandbox('user', user, note))
    raise SandboxUnavailable(
        'refusing to run untrusted code: no sandbox here (%s). Install bubblewrap (Debian '
        'package bubblewrap, with unprivileged user namespaces), or run the grader as root with '
        'the sandbox user %s (as under Gradescope); --trusted grades the staff\'s own code '
        'without one' % (problem, SANDBOX_USER))


def check_private(sandbox, paths):
    """Raise SandboxUnavailable if the sandbox user can read any of `paths`
    (user mode only: there the filesystem's permissions are the only wall).

    Fails closed: a probe that cannot start, is killed, times out or does not
    report its last line refuses grading too, with the reason."""
    if sandbox.kind != 'user':
        return
    done = 'privacy check done'
    probe = ('import os, sys\n'
             'for p in sys.argv[1:]:\n'
             '    try:\n'
             '        os.listdir(p) if os.path.isdir(p) else open(p, "rb").close()\n'
             '        print(p)\n'
             '    except OSError:\n'
             '        pass\n'
             'print(%r)\n' % done)
    existing = [os.path.abspath(p) for p in paths if os.path.exists(p)]
    refuse = ('refusing to grade: could not check, as the sandbox user %s, that it cannot read '
              'the grader\'s files (%%s)' % SANDBOX_USER)
    try:
        out = subprocess.run(as_user(sandbox.user) + [sys.executable, '-I', '-c', probe]
                             + existing, capture_output=True, text=True, timeout=60, cwd='/')
    except (OSError, subprocess.SubprocessError) as e:
        raise SandboxUnavailable(refuse % e)
    lines = [line for line in out.stdout.splitlines() if line]
    if out.returncode != 0 or not lines or lines[-1] != done:
        said = (out.stderr.strip().splitlines() or ['no message'])[-1][:300]
        how = 'ended before its last line' if out.returncode == 0 else \
            describe_exit(out.returncode).split(' (')[0]
        raise SandboxUnavailable(refuse % ('the check %s: %s' % (how, said)))
    readable = lines[:-1]
    if readable:
        raise SandboxUnavailable(
            'refusing to grade: the sandbox user %s can read %s; make it private to root '
            '(chmod 700), or use bubblewrap' % (SANDBOX_USER, ', '.join(readable)))


# ---------------------------------------------------------------------------
# The folder an executor sees

class Box:
    """A folder holding what one executor sees: work/ (the workspace, read-only),
    grader/ (executor.py and protocol.py, read-only) and scratch/ (writable)."""

    def __init__(self, user, kind, workspace=None):
        self.path = tempfile.mkdtemp(prefix='cs231n-box-')
        self.kind = kind
        self.work = os.path.join(self.path, 'work')
        self.grader = os.path.join(self.path, 'grader')
        self.scratch = os.path.join(self.path, 'scratch')
        if workspace:
            shutil.copytree(workspace, self.work)
        else:
            os.mkdir(self.work)
        os.mkdir(self.grader)
        for name in EXECUTOR_FILES:
            shutil.copy(os.path.join(HERE, name), self.grader)
        os.mkdir(self.scratch, 0o700)
        if user:
            # Readable, never writable, by the sandbox user; its scratch is its own.
            for here, dirs, files in os.walk(self.path):
                for d in dirs:
                    os.chmod(os.path.join(here, d), 0o755)
                for f in files:
                    os.chmod(os.path.join(here, f), 0o644)
            os.chmod(self.path, 0o755)
            os.chown(self.scratch, user[0], user[1])
            os.chmod(self.scratch, 0o700)

    def inside(self, which):
        """The path of work, grader or scratch as the executor sees it."""
        if self.kind == 'bwrap':
            return IN_BOX + '/' + which
        return getattr(self, which)

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


def _python_paths(python):
    """Folders the interpreter needs: its installation, its environment's, and
    what its sys.path adds (a .pth file naming another environment)."""
    probe = subprocess.run([python, '-I', '-c', 'import sys, site, json; print(json.dumps('
                            '[sys.base_prefix, sys.prefix, sys.executable] + site.getsitepackages()'
                            ' + [p for p in sys.path if p]))'],
                           capture_output=True, text=True, timeout=60)
    try:
        paths = json.loads(probe.stdout)
    except ValueError:
        raise GraderError('cannot ask %s where it lives: %s' % (python, probe.stderr.strip()))
    folders = set()
    for p in paths + [os.path.dirname(python)]:
        for q in (p, os.path.realpath(p)):
            if os.path.isfile(q):
                q = os.path.dirname(q)
            if os.path.isdir(q) and not (q == '/usr' or q.startswith('/usr/')):
                folders.add(q)
    # The outermost folders only: a venv's bin/ lies inside the venv.
    return sorted(f for f in folders if not any(f != g and f.startswith(g + '/') for g in folders))


_paths_cache = {}


def bwrap_argv(box, python, user=None):
    """The bwrap command line up to the program to run (the interpreter)."""
    if python not in _paths_cache:
        _paths_cache[python] = _python_paths(python)
    # The empty mounts first: a later --tmpfs /tmp would hide a Python, a venv or
    # a box that lives under /tmp (a clone there, a CI workspace, mkdtemp's box).
    argv = ['bwrap', '--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL',
            '--clearenv', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
            '--tmpfs', '/dev/shm']
    for top in ('/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'):
        if os.path.islink(top):
            argv += ['--symlink', os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ['--ro-bind', top, top]
    for f in ('/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/localtime'):
        argv += ['--ro-bind-try', f, f]
    for folder in _paths_cache[python]:
        argv += ['--ro-bind', folder, folder]
    argv += ['--dir', IN_BOX,
             '--ro-bind', box.work, IN_BOX + '/work', '--ro-bind', box.grader, IN_BOX + '/grader',
             '--bind', box.scratch, IN_BOX + '/scratch', '--chdir', IN_BOX + '/scratch']
    for key, value in _env(IN_BOX + '/scratch').items():
        argv += ['--setenv', key, value]
    return argv + ['--', python]


def _env(scratch):
    return {
        'PATH': '/usr/bin:/bin', 'HOME': scratch, 'TMPDIR': scratch, 'MPLCONFIGDIR': scratch,
        'LANG': 'C.UTF-8', 'LC_ALL': 'C.UTF-8',
        'OPENBLAS_NUM_THREADS': '1', 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1',
        'MPLBACKEND': 'Agg', 'PYTHONHASHSEED': '0', 'PYTHONDONTWRITEBYTECODE': '1',
    }


# ---------------------------------------------------------------------------
# Processes of the sandbox user (user mode)

def processes_of(uid):
    """The live processes of uid (a zombie has ended: it only waits to be reaped)."""
    pids = []
    for name in os.listdir('/proc'):
        if name.isdigit():
            try:
                if os.stat('/proc/' + name).st_uid != uid:
                    continue
                with open('/proc/%s/stat' % name, 'rb') as f:
                    state = f.read().rpartition(b')')[2].split()[0]
            except (OSError, IndexError):
                continue
            if state not in (b'Z', b'X'):
                pids.append(int(name))
    return pids


def kill_user(uid, rounds=50):
    """SIGKILL every process of uid until none is left (a killed process cannot fork)."""
    for _ in range(rounds):
        pids = [p for p in processes_of(uid) if p != os.getpid()]
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)
    return not processes_of(uid)


def remove_files_of(uid, folders=WORLD_WRITABLE):
    """Remove what uid owns in the world-writable folders."""
    for top in folders:
        if not os.path.isdir(top) or os.path.islink(top):
            continue
        for here, dirs, files in os.walk(top, topdown=False):
            for name in files + dirs:
                path = os.path.join(here, name)
                try:
                    if os.lstat(path).st_uid == uid:
                        if os.path.isdir(path) and not os.path.islink(path):
                            shutil.rmtree(path, ignore_errors=True)
                        else:
                            os.unlink(path)
                except OSError:
                    pass


# ---------------------------------------------------------------------------
# One executor

class Child:
    """One executor in its sandbox. Start it, then request() one command at a time."""

    def __init__(self, sandbox, workspace, job, python=None, startup_timeout=120.0):
        self.sandbox = sandbox
        self.python = python or sys.executable
        self.box = Box(sandbox.user, sandbox.kind, workspace)
        self.reader = protocol.Reader()
        self.pending = []
        self.ready = False
        self.report = None
        self.startup_output = b''
        self.output_sink = None         # callable(bytes) for the part running now
        self.startup_deadline = time.monotonic() + startup_timeout
        cmd_r, self.cmd_w = os.pipe()
        self.msg_r, msg_w = os.pipe()
        executor = os.path.join(self.box.inside('grader'), 'executor.py')
        if sandbox.kind == 'bwrap':
            argv = bwrap_argv(self.box, self.python, sandbox.user)
            env, cwd = {}, '/'
        else:
            argv = [self.python]
            env, cwd = _env(self.box.scratch), self.box.scratch
        argv = as_user(sandbox.user) + argv + ['-I', '-u', executor, str(cmd_r), str(msg_w)]
        with _lock:
            if _stopping.is_set():
                for fd in (cmd_r, self.cmd_w, self.msg_r, msg_w):
                    os.close(fd)
                self.box.remove()
                raise KeyboardInterrupt('grading stopped')
            try:
                self.proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, pass_fds=(cmd_r, msg_w), start_new_session=True,
                    env=env, cwd=cwd, close_fds=True)
            except BaseException:
                for fd in (self.cmd_w, self.msg_r):
                    os.close(fd)
                self.box.remove()
                raise
            finally:
                os.close(cmd_r)
                os.close(msg_w)
            _live.add(self)
        job = dict(job, workspace=self.box.inside('work'), scratch=self.box.inside('scratch'))
        if sandbox.kind == 'user':
            job['nproc'] = 64      # the dedicated user runs nothing else
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.msg_r, selectors.EVENT_READ, 'msg')
        self.sel.register(self.proc.stdout.fileno(), selectors.EVENT_READ, 'out')
        self.closed = set()
        try:
            self._write(job)
        except ChildFailure:
            pass        # reported by the first request

    # -- channel -------------------------------------------------------------
    def _write(self, message):
        try:
            data = memoryview(protocol.frame(message))
            while data:
                data = data[os.write(self.cmd_w, data):]
        except (OSError, protocol.ProtocolError) as e:
            raise ChildFailure('exit', self.proc.poll()) if isinstance(e, OSError) \
                else ChildFailure('protocol', str(e))

    def _next_message(self, deadline):
        """The next message from the executor; its output goes to output_sink meanwhile."""
        while not self.pending:
            if _stopping.is_set():
                raise KeyboardInterrupt('grading stopped')
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise ChildFailure('timeout')
            if 'msg' in self.closed:
                self._drain_output(0.2)
                raise ChildFailure('exit', self._exit_code())
            for key, _ in self.sel.select(timeout=min(wait, 0.5)):
                try:
                    data = os.read(key.fd, 1 << 16)
                except OSError:
                    data = b''
                if not data:
                    self.sel.unregister(key.fd)
                    self.closed.add(key.data)
                elif key.data == 'out':
                    self._output(data)
                else:
                    try:
                        self.pending += self.reader.feed(data)
                    except protocol.ProtocolError as e:
                        raise ChildFailure('protocol', str(e))
        return self.pending.pop(0)

    def _output(self, data):
        if self.output_sink is not None:
            self.output_sink(data)
        elif len(self.startup_output) < 4000:
            self.startup_output += data[:4000]

    def _drain_output(self, seconds):
        end = time.monotonic() + seconds
        while 'out' not in self.closed and time.monotonic() < end:
            events = self.sel.select(timeout=max(0.0, end - time.monotonic()))
            if not events:
                break
            for key, _ in events:
                if key.data != 'out':
                    continue
                data = os.read(key.fd, 1 << 16)
                if not data:
                    self.sel.unregister(key.fd)
                    self.closed.add('out')
                else:
                    self._output(data)

    def _exit_code(self):
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def start(self):
        """Wait until the executor is ready (before any student code ran)."""
        if self.ready:
            return
        msg = self._next_message(self.startup_deadline)
        if msg.get('event') != 'ready':
            raise ChildFailure('protocol', 'expected ready, got %r' % msg.get('event'))
        self.ready = True
        self.report = msg.get('report') if isinstance(msg.get('report'), dict) else {}

    def request(self, command, deadline, on_event=None):
        """Send one command and return its reply (a result or an error message).

        on_event(message) answers the events the executor sends meanwhile (a
        reference layer's callback, a record) and returns the answer to send
        back, or None."""
        self.start()
        self._write(command)
        while True:
            msg = self._next_message(deadline)
            event = msg.get('event')
            if event in ('result', 'error'):
                return msg
            if event in ('callback', 'record') and on_event is not None:
                answer = on_event(msg)
                if answer is not None:
                    self._write(answer)
                continue
            raise ChildFailure('protocol', 'unexpected %r' % (event,))

    # -- the end -------------------------------------------------------------
    def stop(self):
        """Kill the executor and everything it started; remove its folder."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.kill()
        except OSError:
            pass
        self._exit_code()
        if self.sandbox.kind == 'user':
            if not kill_user(self.sandbox.user[0]):
                raise GraderError('processes of %s survived SIGKILL' % SANDBOX_USER)
            remove_files_of(self.sandbox.user[0])
        for fd in (self.cmd_w, self.msg_r):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.proc.stdout.close()
        except OSError:
            pass
        self.sel.close()
        self.box.remove()
        with _lock:
            _live.discard(self)


def stop_all():
    """Kill every running executor (Ctrl-C or SIGTERM of the grader); none starts after."""
    _stopping.set()
    with _lock:
        children = list(_live)
    for child in children:
        try:
            os.killpg(child.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass


def describe_exit(code):
    if code is None:
        return 'was stopped'
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = 'signal %d' % -code
        extra = {'SIGKILL': ' (killed: out of memory?)', 'SIGXCPU': ' (CPU time limit)',
                 'SIGSEGV': ' (a crash)', 'SIGXFSZ': ' (it wrote a file over the size limit)'}
        return 'was killed by %s%s' % (name, extra.get(name, ''))
    return 'exited with status %d (sys.exit/os._exit in your code?)' % code

