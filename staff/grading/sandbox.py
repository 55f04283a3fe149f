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
import contextlib
import fcntl
import json
import os
import pwd
import selectors
import shutil
import signal
import stat
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
    try:
        with user_lock(user):
            box = Box(user, 'bwrap')
            try:
                argv = bwrap_argv(box, python or sys.executable, user) + ['-c', 'import numpy']
                p = subprocess.run(as_user(user) + argv, capture_output=True, timeout=60)
            finally:
                box.remove()
    except (OSError, subprocess.SubprocessError, GraderError) as e:
        return 'bwrap could not be started (%s)' % e
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
        with user_lock(sandbox):
            out = subprocess.run(as_user(sandbox.user) + [sys.executable, '-I', '-c', probe]
                                 + existing, capture_output=True, text=True, timeout=60, cwd='/')
    except (OSError, subprocess.SubprocessError, GraderError) as e:
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
        """Remove the box, whatever the executor made in its scratch folder (folders it
        made unreadable, or nested deeper than Python recurses: then chmod and rm,
        which know no depth limit); GraderError if it cannot be removed."""
        try:
            shutil.rmtree(self.path)
        except FileNotFoundError:
            pass
        except (OSError, RecursionError):
            subprocess.run(['chmod', '-R', 'u+rwX', '--', self.path], capture_output=True,
                           timeout=300)
            subprocess.run(['rm', '-rf', '--', self.path], capture_output=True, timeout=300)
        if os.path.lexists(self.path):
            raise GraderError('could not remove the executor\'s folder %s' % self.path)


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
# Processes, their CPU time, and what the sandbox user leaves behind

CLOCK_TICKS = os.sysconf('SC_CLK_TCK')
CPUS = os.cpu_count() or 1


def _stat(pid):
    """(state, ppid, CPU clock ticks of the process and its reaped children) of pid."""
    fd = os.open('/proc/%d/stat' % pid, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fields = os.read(fd, 4096).rpartition(b')')[2].split()
    finally:
        os.close(fd)
    return fields[0], int(fields[1]), sum(int(x) for x in fields[11:15])


def _all_processes(uid=None):
    """{pid: (state, ppid, ticks)} of every live process (of uid, if given)."""
    out = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            if uid is not None and os.stat('/proc/' + name).st_uid != uid:
                continue
            out[int(name)] = _stat(int(name))
        except (OSError, IndexError, ValueError):
            continue
    return out


def descendants(pid, table):
    """pid and every process below it in table ({pid: (state, ppid, ticks)})."""
    children = {}
    for p, (_, ppid, _) in table.items():
        children.setdefault(ppid, []).append(p)
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p in table:
            found.append(p)
        todo += children.get(p, [])
    return found


def processes_of(uid):
    """The live processes of uid (a zombie has ended: it only waits to be reaped)."""
    return [p for p, (state, _, _) in _all_processes(uid).items() if state not in (b'Z', b'X')]


def kill_user(uid, seconds=10.0):
    """SIGKILL every process of uid until none is left (a killed process cannot fork)."""
    end = time.monotonic() + seconds
    while True:
        pids = [p for p in processes_of(uid) if p != os.getpid()]
        if not pids:
            return True
        if time.monotonic() > end:
            return False
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)


def files_of(uid, folders=WORLD_WRITABLE):
    """The first thing uid owns in the world-writable folders, or None (find, which
    never follows a link or leaves the file system, and knows no depth limit)."""
    for top in folders:
        if not os.path.isdir(top) or os.path.islink(top):
            continue
        found = subprocess.run(['find', top, '-xdev', '-mindepth', '1', '-user', str(uid),
                                '-print', '-quit'], capture_output=True, timeout=300)
        if found.stdout.strip():
            return found.stdout.decode('utf-8', 'replace').strip()
    return None


def remove_files_of(uid, folders=WORLD_WRITABLE):
    """Remove what uid owns in the world-writable folders (each thing it owns, whole);
    raise GraderError if anything of it is left."""
    for top in folders:
        if not os.path.isdir(top) or os.path.islink(top):
            continue
        # find's status is not used: in a shared /tmp other files come and go meanwhile.
        subprocess.run(['find', top, '-xdev', '-mindepth', '1', '-user', str(uid), '-prune',
                        '-exec', 'rm', '-rf', '--', '{}', '+'], capture_output=True, timeout=300)
    left = files_of(uid, folders)
    if left:
        raise GraderError('could not remove what %s left behind: %s' % (SANDBOX_USER, left))


IPC_KINDS = (('shm', 'shmid', '-m'), ('msg', 'msqid', '-q'), ('sem', 'semid', '-s'))


def ipc_of(uid):
    """[(ipcrm's flag, id)] of the System V shared memory segments, message queues
    and semaphore sets that uid owns or created (/proc/sysvipc)."""
    found = []
    for kind, key, flag in IPC_KINDS:
        try:
            with open('/proc/sysvipc/' + kind) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:       # a kernel without System V IPC
            continue
        header = lines[0].split() if lines else []
        for line in lines[1:]:
            row = dict(zip(header, line.split()))
            if str(uid) in (row.get('uid'), row.get('cuid')):
                found.append((flag, row[key]))
    return found


def remove_ipc_of(uid):
    """Remove uid's System V IPC objects (ipcrm, util-linux); raise GraderError if any
    is left. They outlive every process: memory that is never freed, and a channel
    from one submission to the next."""
    for flag, ident in ipc_of(uid):
        subprocess.run(['ipcrm', flag, ident], capture_output=True, timeout=60)
    left = ipc_of(uid)
    if left:
        raise GraderError('could not remove the System V IPC objects of %s: %s'
                          % (SANDBOX_USER, ', '.join('%s %s' % o for o in left)))


def clean_user(uid):
    """Kill every process of uid and remove its IPC objects and files; GraderError if
    anything survives (fails closed)."""
    if not kill_user(uid):
        raise GraderError('processes of %s survived SIGKILL' % SANDBOX_USER)
    remove_ipc_of(uid)
    remove_files_of(uid)


# ---------------------------------------------------------------------------
# Graders that share a machine: a lock on the sandbox user

LOCK_DIR = os.environ.get('CS231N_LOCK_DIR', '/run/cs231n-grading')
_lock_state = {'shared': 0, 'fd': None, 'said': False}


def _lock_dir():
    """The lock folder: made by root, private to it, never a link (fails closed)."""
    try:
        os.makedirs(LOCK_DIR, mode=0o700, exist_ok=True)
        st = os.lstat(LOCK_DIR)
    except OSError as e:
        raise GraderError('cannot make the lock folder %s (%s)' % (LOCK_DIR, e))
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise GraderError('the lock folder %s must be a folder of the grader\'s user that '
                          'no one else may write' % LOCK_DIR)
    return LOCK_DIR


def _holders(path):
    """Who holds a lock on path: ['pid (command)'], from /proc/locks."""
    try:
        inode = os.stat(path).st_ino
        with open('/proc/locks') as f:
            rows = [line.split() for line in f]
    except OSError:
        return []
    out = []
    for row in rows:
        fields = row[1:] if row and row[0].endswith(':') else row
        if len(fields) >= 5 and fields[4].endswith(':%d' % inode) and fields[3].isdigit():
            pid = fields[3]
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as f:
                    cmd = f.read().replace(b'\0', b' ').decode('utf-8', 'replace').strip()
            except OSError:
                cmd = '?'
            if int(pid) != os.getpid():
                out.append('%s (%s)' % (pid, cmd[:120]))
    return sorted(set(out))


def _flock(fd, how, path, what):
    """flock, saying once per process who holds it when it has to wait."""
    try:
        fcntl.flock(fd, how | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    if not _lock_state['said']:
        _lock_state['said'] = True
        holders = _holders(path)
        print('sandbox: waiting for another grader that runs code as %s (%s): %s'
              % (SANDBOX_USER, ', '.join(holders) or 'its process is not visible here', what),
              file=sys.stderr, flush=True)
    fcntl.flock(fd, how)


def _open_lock(name):
    path = os.path.join(_lock_dir(), '%s.%s' % (SANDBOX_USER, name))
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600), path


class UserLock:
    """The machine-wide right to run processes as the sandbox user (root's graders only).

    Executors in bubblewrap share it: each lives in its own namespaces. An executor
    in `user` mode holds it alone, from before it starts until everything of the
    user is killed and removed, so that graders on one machine (a TA's batch beside
    CI, two courses) never kill or clean each other's executors. A grader waiting
    for it says so once, naming the holders. Writers first: a turnstile keeps new
    sharers out while an exclusive holder waits."""

    def __init__(self, exclusive):
        self.exclusive = exclusive
        self.fd = None

    def acquire(self):
        with _lock:
            if not self.exclusive and _lock_state['shared']:
                _lock_state['shared'] += 1       # this process holds it shared already
                self.fd = 'shared'
                return self
        turnstile, tpath = _open_lock('turnstile')
        try:
            fd, path = _open_lock('lock')
            try:
                what = ('grading as the sandbox user waits until no other grader runs code as '
                        'that user' if self.exclusive else 'it grades as the sandbox user '
                        'without bubblewrap, one executor at a time on this machine')
                _flock(turnstile, fcntl.LOCK_EX, tpath, what)
                _flock(fd, fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH, path, what)
            except BaseException:
                os.close(fd)
                raise
        finally:
            os.close(turnstile)      # closing releases it
        if self.exclusive:
            self.fd = fd
            return self
        with _lock:
            if _lock_state['shared']:           # another thread got it meanwhile
                os.close(fd)
            else:
                _lock_state['fd'] = fd
            _lock_state['shared'] += 1
        self.fd = 'shared'
        return self

    def release(self):
        if self.fd is None:
            return
        with _lock:
            if self.fd == 'shared':
                _lock_state['shared'] -= 1
                if not _lock_state['shared'] and _lock_state['fd'] is not None:
                    os.close(_lock_state['fd'])
                    _lock_state['fd'] = None
            else:
                os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def user_lock(sandbox_or_user, exclusive=False):
    """The UserLock for running code as the sandbox user, or a no-op when the code
    runs as the grader's own user."""
    user = getattr(sandbox_or_user, 'user', sandbox_or_user)
    if not user:
        return contextlib.nullcontext()
    return UserLock(exclusive)


# ---------------------------------------------------------------------------
# A part's time

WALL_FACTOR = 3     # a part may take this many times its CPU limit in wall-clock time


class Deadline:
    """When a part's time is up.

    With a child (an executor), the part is charged the CPU time of the
    executor's processes (all of them: threads, and processes it started, as far
    as they can be seen), so that a neighbour on a busy machine cannot make an
    honest part run out of time; a wall-clock backstop of WALL_FACTOR times the
    limit stops a part that sleeps or blocks. Without a child, wall time alone."""

    def __init__(self, seconds, child=None, wall=None):
        self.limit = float(seconds)
        self.child = child
        self.wall = float(wall if wall is not None else
                          seconds * WALL_FACTOR if child is not None else seconds)
        self.started = time.monotonic()
        # The executor's own CPU time now: the rest of its sandbox (bubblewrap's two
        # processes, which use next to none) counts from 0, in the student's disfavour.
        self.cpu0 = child.main_cpu_seconds() if child is not None else 0.0
        self.cpu = 0.0
        self.next_look = 0.0
        self.expired_by = None

    def elapsed(self):
        return time.monotonic() - self.started

    def left(self):
        """Seconds to wait before looking again; 0 once the time is up."""
        now = time.monotonic()
        elapsed = now - self.started
        if elapsed >= self.wall:
            self.expired_by = 'wall'
            return 0.0
        if self.child is None:
            return min(0.5, self.wall - elapsed)
        # CPU time grows at most CPUS times as fast as wall time: no need to look before.
        if elapsed * CPUS >= self.limit and now >= self.next_look:
            self.cpu = max(self.cpu, self.child.cpu_seconds() - self.cpu0)
            self.next_look = now + 0.25
            if self.cpu >= self.limit:
                self.expired_by = 'cpu'
                return 0.0
        return max(0.01, min(0.5, self.wall - elapsed, (self.limit - self.cpu) / CPUS))

    def charged(self):
        """The seconds this part is charged: its CPU time (the executor's own, if it was
        never looked at in full), or a WALL_FACTOR-th of its wall time if that is more."""
        if self.child is not None and self.child.proc.poll() is None:
            self.cpu = max(self.cpu, self.child.main_cpu_seconds() - self.cpu0)
        wall = self.elapsed()
        return max(self.cpu, wall / WALL_FACTOR) if self.child is not None else wall


# ---------------------------------------------------------------------------
# One executor

NPROC = 16      # processes and threads per executor (RLIMIT_NPROC, counted per user namespace)


class Child:
    """One executor in its sandbox. Start it, then request() one command at a time."""

    def __init__(self, sandbox, workspace, job, python=None, startup_timeout=120.0):
        self.sandbox = sandbox
        self.python = python or sys.executable
        # As the sandbox user: its lock first (waiting for it is no part's time).
        asked = time.monotonic()
        self.lock = user_lock(sandbox, exclusive=sandbox.kind == 'user')
        self.lock.__enter__()
        self.waited = time.monotonic() - asked
        try:
            if sandbox.kind == 'user':
                _dirty_before(sandbox.user[0])
            self.box = Box(sandbox.user, sandbox.kind, workspace)
        except BaseException:
            self.lock.__exit__(None, None, None)
            raise
        self.reader = protocol.Reader()
        self.pending = []
        self.ready = False
        self.report = None
        self.startup_output = b''
        self.output_sink = None         # callable(bytes) for the part running now
        self.main_pid = None            # the executor's own process (start())
        self.startup = Deadline(startup_timeout)
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
                self.lock.__exit__(None, None, None)
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
                self.lock.__exit__(None, None, None)
                raise
            finally:
                os.close(cmd_r)
                os.close(msg_w)
            _live.add(self)
        self.main_pid = self.proc.pid
        os.set_blocking(self.cmd_w, False)
        job = dict(job, workspace=self.box.inside('work'), scratch=self.box.inside('scratch'))
        if sandbox.kind != 'none':
            # Per executor: bubblewrap's user namespace counts its own processes; as the
            # sandbox user without it, one executor runs at a time on the machine (UserLock).
            job['nproc'] = NPROC
            job['require_limits'] = True
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.msg_r, selectors.EVENT_READ, 'msg')
        self.sel.register(self.proc.stdout.fileno(), selectors.EVENT_READ, 'out')
        self.closed = set()
        try:
            self._write(job, self.startup)
        except ChildFailure:
            pass        # reported by the first request

    # -- CPU time ------------------------------------------------------------
    def cpu_seconds(self):
        """CPU seconds used so far by all the executor's processes: as the sandbox user
        without bubblewrap every process of that user (this grader holds it alone), else
        every process below the executor's (bubblewrap's own, the executor, and what it
        started: in bubblewrap nothing leaves that tree)."""
        if self.sandbox.kind == 'user':
            table = _all_processes(self.sandbox.user[0])
            pids = list(table)
        else:
            table = _all_processes()
            pids = descendants(self.proc.pid, table)
        return sum(table[p][2] for p in pids) / CLOCK_TICKS

    def main_cpu_seconds(self):
        """CPU seconds of the executor's own process (all its threads, and the children it
        reaped): one read, for the start and the end of each part."""
        try:
            return _stat(self.main_pid)[2] / CLOCK_TICKS
        except (OSError, IndexError, ValueError):
            return 0.0

    # -- channel -------------------------------------------------------------
    def _pump(self, wait, writing=False):
        """Wait up to `wait` seconds; read what the executor sent (its messages to
        pending, its output to output_sink). True if the command pipe can be written."""
        if writing:
            self.sel.register(self.cmd_w, selectors.EVENT_WRITE, 'cmd')
        try:
            events = self.sel.select(timeout=wait)
        finally:
            if writing:
                self.sel.unregister(self.cmd_w)
        can_write = False
        for key, _ in events:
            if key.data == 'cmd':
                can_write = True
                continue
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
        return can_write

    def _write(self, message, deadline):
        """Send one message, within the deadline: an executor that stops reading its
        pipe costs its part, never the grader (the write never blocks)."""
        try:
            data = memoryview(protocol.frame(message))
        except protocol.ProtocolError as e:
            raise ChildFailure('protocol', str(e))
        while data:
            if _stopping.is_set():
                raise KeyboardInterrupt('grading stopped')
            try:
                data = data[os.write(self.cmd_w, data):]
                continue
            except BlockingIOError:     # the pipe is full: wait until it is not
                pass
            except OSError:
                raise ChildFailure('exit', self._exit_code())
            wait = deadline.left()
            if wait <= 0:
                raise ChildFailure('timeout', deadline)
            self._pump(wait, writing=True)

    def _next_message(self, deadline):
        """The next message from the executor; its output goes to output_sink meanwhile."""
        while not self.pending:
            if _stopping.is_set():
                raise KeyboardInterrupt('grading stopped')
            wait = deadline.left()
            if wait <= 0:
                raise ChildFailure('timeout', deadline)
            if 'msg' in self.closed:
                self._drain_output(0.2)
                raise ChildFailure('exit', self._exit_code())
            self._pump(wait)
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

    def _exit_code(self, seconds=5):
        try:
            return self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None

    def start(self):
        """Wait until the executor is ready (before any student code ran); refuse to
        grade (SandboxUnavailable) if it could not limit itself."""
        if self.ready:
            return
        msg = self._next_message(self.startup)
        if msg.get('event') == 'refused':
            raise SandboxUnavailable('refusing to grade: the executor could not limit itself '
                                     'before running the student\'s code: %s'
                                     % str(msg.get('reason'))[:500])
        if msg.get('event') != 'ready':
            raise ChildFailure('protocol', 'expected ready, got %r' % msg.get('event'))
        self.ready = True
        self.report = msg.get('report') if isinstance(msg.get('report'), dict) else {}
        # Its own process: the one below bubblewrap's that imported numpy (no student
        # code has run yet, so nothing else has used any CPU time to speak of).
        table = _all_processes()
        tree = descendants(self.proc.pid, table)
        self.main_pid = max(tree, key=lambda p: table[p][2]) if tree else self.proc.pid

    def request(self, command, deadline, on_event=None):
        """Send one command and return its reply (a result or an error message).

        on_event(message) answers the events the executor sends meanwhile (a
        reference layer's callback, a record) and returns the answer to send
        back, or None."""
        self.start()
        self._write(command, deadline)
        while True:
            msg = self._next_message(deadline)
            event = msg.get('event')
            if event in ('result', 'error'):
                return msg
            if event in ('callback', 'record') and on_event is not None:
                answer = on_event(msg)
                if answer is not None:
                    self._write(answer, deadline)
                continue
            raise ChildFailure('protocol', 'unexpected %r' % (event,))

    # -- the end -------------------------------------------------------------
    def stop(self):
        """Kill the executor and everything it started; remove its folder. As the
        sandbox user, every process, IPC object and file of that user goes too.
        Everything is attempted; then GraderError if anything survived (fails closed)."""
        errors = []
        try:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.kill()
            except OSError:
                pass
            if self._exit_code(30) is None:
                errors.append(GraderError('the executor (pid %d) survived SIGKILL'
                                          % self.proc.pid))
            if self.sandbox.kind == 'user':
                try:
                    clean_user(self.sandbox.user[0])
                    _dirty_after(self.sandbox.user[0])
                except GraderError as e:
                    errors.append(e)
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
            try:
                self.box.remove()
            except GraderError as e:
                errors.append(e)
        finally:
            with _lock:
                _live.discard(self)
            self.lock.__exit__(None, None, None)
        if errors:
            raise errors[0]


def _dirty_path(uid):
    return os.path.join(_lock_dir(), '%s.dirty' % SANDBOX_USER)


def _dirty_before(uid):
    """Before an executor starts as the sandbox user (holding its lock alone): if the
    last one was never cleaned up (its grader was killed), clean up now; then mark
    the user as in use."""
    path = _dirty_path(uid)
    if os.path.exists(path) or processes_of(uid) or ipc_of(uid):
        clean_user(uid)
    with open(path, 'w') as f:
        f.write('%d\n' % os.getpid())


def _dirty_after(uid):
    try:
        os.unlink(_dirty_path(uid))
    except FileNotFoundError:
        pass


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

