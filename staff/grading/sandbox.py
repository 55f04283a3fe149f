"""Run the probes of a submission's parts in child processes, under limits.

The student's code runs only in the child (staff/grading/child.py): a new
session (so the whole process group can be killed), with limits on address
space, CPU time and file size, a scrubbed environment, a scratch folder as
its working directory, and its stdout/stderr captured and truncated. The
child reports on a pipe; this module validates every message and never lets
the child decide a score.

Per part, a watchdog here enforces the time limit and the output limit. A
part that hangs, prints too much, kills its process (os._exit, a crash, the
memory limit) or corrupts the channel is stopped with the reason, and a
fresh child carries on with the next part. The function that was running
when that happened is put in quarantine: later parts get an error from it
at once instead of hanging again.
"""
import json
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from . import protocol

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'child.py')
STARTUP_TIMEOUT = 120.0
KEEP_OUTPUT = 4000          # characters of a part's output kept for the feedback

_lock = threading.Lock()
_live = {}                  # pid -> Popen of every running child, for stop_all and reaping
_stopping = threading.Event()


class GraderError(RuntimeError):
    """The grading machinery itself failed (not the student's code)."""


class PartRun:
    """What happened when a part's probe ran."""

    def __init__(self, name):
        self.name = name
        self.data = {}
        self.complete = False
        self.error = None        # why the part was stopped, if it was
        self.output = ''
        self.output_bytes = 0
        self.seconds = 0.0
        self.last_call = None
        self.mode = None

    def add_output(self, data):
        self.output_bytes += len(data)
        if len(self.output) < KEEP_OUTPUT:
            self.output += data.decode('utf-8', errors='replace')[:KEEP_OUTPUT - len(self.output)]


# ---------------------------------------------------------------------------
# Process bookkeeping

def stop_all():
    """Kill every running child (Ctrl-C of a batch); no new child starts."""
    _stopping.set()
    with _lock:
        procs = list(_live.values())
    for proc in procs:
        _kill(proc)


def become_subreaper():
    """Make orphaned descendants (a student's daemon) children of this process,
    so that reap_orphans() can kill them. Linux only; a no-op elsewhere."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_CHILD_SUBREAPER = 36
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except Exception:
        return False


def reap_orphans():
    """Kill and collect this process's children that are not running children
    of ours: descendants of a student's process that outlived it."""
    me = os.getpid()
    try:
        pids = [int(p) for p in os.listdir('/proc') if p.isdigit()]
    except OSError:
        return 0
    killed = 0
    with _lock:
        known = set(_live)
        for pid in pids:
            if pid in known:
                continue
            try:
                with open('/proc/%d/stat' % pid, 'rb') as f:
                    stat = f.read()
                ppid = int(stat[stat.rindex(b')') + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == me and _from_grading_child(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    killed += 1
                except (OSError, ChildProcessError):
                    pass
    return killed


def _from_grading_child(pid):
    """True for a process that inherited a grading child's environment: an
    orphan of the student's code, not a process some other code started."""
    try:
        with open('/proc/%d/environ' % pid, 'rb') as f:
            return b'CS231N_GRADING_CHILD=1' in f.read().split(b'\0')
    except OSError:
        return False


def _kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except OSError:
        pass


# ---------------------------------------------------------------------------
# Snapshots of the files the student's code must not touch

def snapshot(paths):
    state = {}
    for root in paths:
        if os.path.isdir(root):
            for folder, dirs, files in os.walk(root):
                for name in dirs + files:
                    p = os.path.join(folder, name)
                    try:
                        st = os.lstat(p)
                        state[p] = (st.st_size, st.st_mtime_ns, st.st_mode)
                    except OSError:
                        pass
        else:
            try:
                st = os.lstat(root)
                state[root] = (st.st_size, st.st_mtime_ns, st.st_mode)
            except OSError:
                state[root] = None
    return state


def _changes(before, after):
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def _undo(changed):
    """Remove what the student's code created or changed among the protected
    paths; the grader writes its own results after the run."""
    for p in changed:
        if os.path.lexists(p):
            try:
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    os.unlink(p)
            except OSError:
                pass


# ---------------------------------------------------------------------------
# Running parts

def _env(scratch):
    return {
        'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
        'HOME': scratch, 'TMPDIR': scratch, 'MPLCONFIGDIR': scratch,
        'LANG': 'C.UTF-8', 'LC_ALL': 'C.UTF-8',
        'OPENBLAS_NUM_THREADS': '1', 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1',
        'MPLBACKEND': 'Agg',
        'PYTHONHASHSEED': '0', 'PYTHONDONTWRITEBYTECODE': '1',
        'CS231N_GRADING_CHILD': '1',
    }


def run_parts(workspace, parts, settings, grader_root, protect=(), python=None):
    """Run the probes of `parts` (names, in order) on the workspace.

    Inputs:
    - workspace: a folder holding the spliced cs231n package
    - settings: the rubric's settings (part_timeout, memory_mb, output_kb, file_mb,
      submission_timeout)
    - grader_root: the folder that holds staff/grading and staff/grading
    - protect: files or folders the student's code must not change (the results)
    - python: the interpreter of the child (default: this one)

    Returns {part name: PartRun}.
    """
    python = python or sys.executable
    timeout = float(settings['part_timeout'])
    output_limit = int(settings['output_kb']) * 1024
    budget = float(settings.get('submission_timeout', 1e9))
    runs = {name: PartRun(name) for name in parts}
    remaining = list(parts)
    quarantine = {}
    started = time.monotonic()
    before = snapshot(protect)
    scratch = tempfile.mkdtemp(prefix='cs231n-grading-scratch-')
    startup_failures = 0
    try:
        while remaining:
            if _stopping.is_set():
                raise KeyboardInterrupt('grading stopped')
            if time.monotonic() - started > budget:
                for name in remaining:
                    runs[name].error = ('not run: the submission used up its %d s of grading '
                                        'time' % budget)
                break
            job = {'workspace': os.path.abspath(workspace), 'grader_root': grader_root,
                   'parts': remaining, 'quarantine': quarantine, 'scratch': scratch,
                   'memory_mb': settings['memory_mb'], 'file_mb': settings['file_mb'],
                   'cpu_seconds': int(timeout * len(remaining) + STARTUP_TIMEOUT)}
            failure = _one_child(python, job, runs, remaining, quarantine, timeout,
                                 output_limit, protect, before, scratch)
            if failure:  # the child failed before it imported any student code
                startup_failures += 1
                if startup_failures >= 2:
                    raise GraderError('the grading child did not start: %s' % failure)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return runs


def _describe_exit(code):
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


def _one_child(python, job, runs, remaining, quarantine, timeout, output_limit, protect,
               before, scratch):
    """Run one child over the remaining parts; update runs, remaining and
    quarantine in place. Returns None, or why the child failed before it
    got ready (a grader problem: no student code had run yet)."""
    nonce = secrets.token_hex(16)
    r_msg, w_msg = os.pipe()
    job = dict(job, fd=w_msg, nonce=nonce)
    with _lock:
        if _stopping.is_set():
            os.close(r_msg)
            os.close(w_msg)
            raise KeyboardInterrupt('grading stopped')
        try:
            proc = subprocess.Popen(
                [python, '-I', '-u', CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, pass_fds=(w_msg,), start_new_session=True,
                env=_env(scratch), cwd=scratch, close_fds=True)
        finally:
            os.close(w_msg)
        _live[proc.pid] = proc
    reader = protocol.Reader()
    sel = selectors.DefaultSelector()
    current = None          # PartRun of the part running now
    ready = False
    startup_output = []
    reason = None           # why this child was stopped, if it was
    done = False
    deadline = time.monotonic() + STARTUP_TIMEOUT
    try:
        try:
            proc.stdin.write((json.dumps(job) + '\n').encode())
            proc.stdin.close()
        except OSError:
            pass
        sel.register(r_msg, selectors.EVENT_READ, 'msg')
        sel.register(proc.stdout.fileno(), selectors.EVENT_READ, 'out')
        open_fds = 2
        part_started = None
        while open_fds and not done:
            wait = deadline - time.monotonic()
            if wait <= 0:
                reason = ('timeout', None)
                break
            # Poll the process too: its pipes stay open while a process it
            # started (a daemon) holds them, after the child itself is gone.
            exited = proc.poll() is not None
            events = sel.select(timeout=0 if exited else min(wait, 0.5))
            if _stopping.is_set():
                raise KeyboardInterrupt('grading stopped')
            if exited and not events:
                break   # everything it wrote has been read
            for key, _ in events:
                fd = key.fd
                try:
                    data = os.read(fd, 1 << 16)
                except OSError:
                    data = b''
                if not data:
                    sel.unregister(fd)
                    open_fds -= 1
                    continue
                if key.data == 'out':
                    if current is None:
                        if sum(map(len, startup_output)) < KEEP_OUTPUT:
                            startup_output.append(data)
                    else:
                        current.add_output(data)
                        if current.output_bytes > output_limit:
                            reason = ('output', None)
                            break
                    continue
                try:
                    messages = reader.feed(data)
                except protocol.ProtocolError as e:
                    reason = ('protocol', str(e))
                    break
                for msg in messages:
                    try:
                        event = _validate(msg, nonce, current, remaining, ready)
                    except protocol.ProtocolError as e:
                        reason = ('protocol', str(e))
                        break
                    if event == 'ready':
                        ready = True
                    elif event == 'start':
                        current = runs[msg['part']]
                        current.data, current.error, current.complete = {}, None, False
                        part_started = time.monotonic()
                        deadline = part_started + timeout
                    elif event == 'call':
                        current.last_call = msg.get('function')
                        current.mode = msg.get('mode')
                    elif event == 'mode':
                        current.mode = msg.get('mode')
                    elif event == 'data':
                        try:
                            current.data[msg['key']] = protocol.decode_value(msg['value'])
                        except protocol.ProtocolError as e:
                            reason = ('protocol', str(e))
                            break
                    elif event == 'end':
                        current.complete = True
                        current.seconds = time.monotonic() - part_started
                        _check_protected(current, protect, before)
                        remaining.pop(0)
                        current = None
                        deadline = time.monotonic() + timeout  # between parts: no student code
                    elif event == 'done':
                        done = True
                if reason:
                    break
            if reason:
                break
        if not reason and not done:
            # The child exited, or closed its pipes.
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            reason = ('exit', proc.poll())
    finally:
        sel.close()
        os.close(r_msg)
        _kill(proc)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            proc.stdout.close()
        except OSError:
            pass
        with _lock:
            _live.pop(proc.pid, None)
        reap_orphans()   # what the student's code started and left (with become_subreaper)

    if done:
        return None
    kind, detail = reason
    if not ready:
        return '%s (%s); its output: %s' % (
            kind, _describe_exit(detail) if kind == 'exit' else detail,
            b''.join(startup_output).decode('utf-8', 'replace')[-2000:])
    # Blame the part that was running, or the next one if the child died between parts.
    run = current or runs[remaining[0]]
    if kind == 'timeout':
        run.error = 'stopped after %g s (time limit): an infinite loop, or far too slow' % timeout
    elif kind == 'output':
        run.error = 'stopped: printed more than %d KB' % (output_limit // 1024)
    elif kind == 'protocol':
        run.error = ('stopped: the grading channel was corrupted (%s); does your code write to '
                     'file descriptors it did not open?' % detail)
    else:
        run.error = 'the grading process %s' % _describe_exit(detail)
    if run.last_call and run.mode == 'own':
        quarantine['mode:own'] = 'your own layers %s in %s' % (_short(run.error), run.name)
    elif run.last_call:
        quarantine[run.last_call] = 'it %s in the test %s' % (_short(run.error), run.name)
    _check_protected(run, protect, before)
    if current is not None:
        run.seconds = time.monotonic() - part_started
    if remaining and remaining[0] == run.name:
        remaining.pop(0)
    return None


def _short(error):
    if error.startswith('stopped after'):
        return 'hung'
    if error.startswith('stopped: printed'):
        return 'printed too much'
    return 'crashed the grading process'


def _check_protected(run, protect, before):
    if not protect:
        return
    after = snapshot(protect)
    changed = _changes(before, after)
    if changed:
        _undo(changed)
        run.error = ('your code wrote to the grader\'s results (%s): not allowed, so this part '
                     'gets no points' % ', '.join(os.path.basename(p) for p in changed[:3]))
        run.complete = False


def _validate(msg, nonce, current, remaining, ready):
    if msg.get('nonce') != nonce:
        raise protocol.ProtocolError('a message without the grader\'s token')
    event = msg.get('event')
    if event == 'ready':
        if ready:
            raise protocol.ProtocolError('ready twice')
        return event
    if not ready:
        raise protocol.ProtocolError('%r before ready' % event)
    if event == 'start':
        if current is not None or not remaining or msg.get('part') != remaining[0]:
            raise protocol.ProtocolError('unexpected start of %r' % msg.get('part'))
        return event
    if event in ('call', 'mode'):
        if current is None:
            raise protocol.ProtocolError('%s outside a part' % event)
        return event
    if event == 'data':
        if current is None or msg.get('part') != current.name:
            raise protocol.ProtocolError('data outside its part')
        key = msg.get('key')
        if not isinstance(key, (str, int)) or isinstance(key, bool):
            raise protocol.ProtocolError('bad data key')
        return event
    if event == 'end':
        if current is None or msg.get('part') != current.name:
            raise protocol.ProtocolError('unexpected end')
        return event
    if event == 'done':
        if current is not None or remaining:
            raise protocol.ProtocolError('done with parts left')
        return event
    raise protocol.ProtocolError('unknown event %r' % event)
