"""The executor: the one process that runs a student's code, inside the sandbox.

Started by sandbox.py as `python -I -u executor.py CMD_FD MSG_FD`, with this
file and protocol.py as all of the grader it can see. It knows nothing of the
hidden tests: the grading process sends it one command at a time (framed
JSON on CMD_FD) and it answers each on MSG_FD:

    import MODULE              -> a reference to the student's module
    call EXPR ARGS KWARGS      -> a reference to what the call returned, with its kind
    fetch EXPR                 -> the value itself (arrays, numbers, lists, dicts)
    put VALUE                  -> a reference to a new object (a dict the student may change)
    setitem EXPR KEY VALUE     -> EXPR[KEY] = VALUE
    layers MODE MODULE         -> the student's code calls the staff's functions of MODULE
                                  ('reference': each call is answered by the grading
                                  process, which keeps the caches), or its own ('own'),
                                  with some functions' results reported (RECORD)

EXPR is ["h", N] (an object it holds), ["attr", EXPR, NAME] or ["item", EXPR, KEY].
Before any student code runs it limits its own memory, CPU time, file sizes and
processes, and denies itself sockets (and a few other system calls: DENIED)
with a seccomp filter; when the job requires them and one of these fails, it
refuses to run anything and says why (the grading process then refuses to
grade). It never judges anything: the answers go
back to the grading process, which alone decides a score.
"""
import errno
import os
import resource
import sys
import traceback
import types

# -I leaves the script's folder off sys.path: protocol.py lies beside this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402

class StudentError(Exception):
    """A student function raised, or could not be run; the message says why."""


class Stopped(BaseException):
    """Raised by a function that hung or crashed in an earlier part."""


class Channel:
    def __init__(self, cmd_fd, msg_fd):
        self.cmd_fd, self.msg_fd = cmd_fd, msg_fd
        self.reader = protocol.Reader()
        self.pending = []

    def send(self, message):
        view = memoryview(protocol.frame(message))
        while view:
            view = view[os.write(self.msg_fd, view):]

    def receive(self):
        while not self.pending:
            data = os.read(self.cmd_fd, 1 << 16)
            if not data:
                os._exit(0)     # the grading process is gone or done
            self.pending += self.reader.feed(data)
        return self.pending.pop(0)


class CacheToken:
    """A cache that a reference layer keeps in the grading process."""

    def __init__(self, number):
        self.number = number

    def __repr__(self):
        return '<cache of a staff reference layer>'


def redirect(fn, target, key):
    """Make every call of the function object fn run target(*args, **kwargs).

    Swapping the code of the function object, rather than the module attribute,
    also reaches the references a student's code keeps elsewhere (a dict of
    layer functions built at import, a default argument). Returns a callable
    that undoes it."""
    fn = getattr(fn, '__func__', fn)
    name = '__grading_%s__' % key
    fn.__globals__[name] = target
    namespace = {}
    exec('def trampoline(*args, **kwargs):\n    return %s(*args, **kwargs)\n' % name, namespace)
    old = fn.__code__
    fn.__code__ = namespace['trampoline'].__code__

    def undo():
        fn.__code__ = old
    return undo


def original(fn):
    """A copy of the function object fn as it is now (before a redirect)."""
    fn = getattr(fn, '__func__', fn)
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                              fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    return copy


class Executor:
    def __init__(self, channel, job):
        self.channel = channel
        self.workspace = job['workspace']
        self.quarantine = dict(job.get('quarantine', {}))   # qualified name -> reason
        self.modules = [str(m) for m in job.get('modules', [])]   # where quarantine looks
        self.stubbed = set()
        self.objects = {}
        self.next_handle = 1
        self.restore = []

    # -- references ----------------------------------------------------------
    def hold(self, obj):
        h = self.next_handle
        self.next_handle += 1
        self.objects[h] = obj
        return h

    def resolve(self, expr):
        if not isinstance(expr, list) or not expr:
            raise protocol.ProtocolError('bad reference %r' % (expr,))
        kind = expr[0]
        if kind == 'h' and len(expr) == 2 and expr[1] in self.objects:
            return self.objects[expr[1]]
        if kind == 'attr' and len(expr) == 3 and isinstance(expr[2], str):
            return getattr(self.resolve(expr[1]), expr[2])
        if kind == 'item' and len(expr) == 3:
            return self.resolve(expr[1])[self.decode(expr[2])]
        raise protocol.ProtocolError('bad reference %r' % (expr,))

    def decode(self, value):
        def special(v):
            if '__ref__' in v:
                return self.resolve(v['__ref__'])
            return CacheToken(v['__token__'])
        value = protocol.decode_value(value, special=special)
        return value

    @staticmethod
    def encode(value):
        def other(v):
            if isinstance(v, CacheToken):
                return {'__token__': v.number}
            return None
        return protocol.encode_value(value, other=other)

    # -- commands ------------------------------------------------------------
    def serve(self):
        while True:
            cmd = self.channel.receive()
            try:
                reply = self.dispatch(cmd)
            except StudentError as e:
                reply = {'event': 'error', 'message': str(e)}
            except protocol.ProtocolError as e:
                reply = {'event': 'error', 'message': 'bad command: %s' % e}
            except Exception as e:  # resolving or fetching what the student's code returned
                reply = {'event': 'error', 'message': self.explain(e)}
            sys.stdout.flush()
            sys.stderr.flush()
            try:
                self.channel.send(reply)
            except protocol.ProtocolError as e:   # a value too large to send back
                self.channel.send({'event': 'error', 'message': 'what your code returned could '
                                   'not be sent back to the grader: %s' % e})

    def dispatch(self, cmd):
        op = cmd.get('op')
        if op == 'import':
            return self.do_import(cmd['module'])
        if op == 'call':
            return self.do_call(cmd)
        if op == 'fetch':
            return {'event': 'result', 'value': self.encode(self.resolve(cmd['obj']))}
        if op == 'put':
            return {'event': 'result', 'ref': self.hold(self.decode(cmd['value']))}
        if op == 'setitem':
            self.resolve(cmd['obj'])[self.decode(cmd['key'])] = self.decode(cmd['value'])
            return {'event': 'result'}
        if op == 'layers':
            self.set_layers(cmd.get('mode'), cmd.get('module'), cmd.get('names', []),
                            cmd.get('record', []))
            return {'event': 'result'}
        raise protocol.ProtocolError('unknown command %r' % op)

    def do_import(self, name):
        function = 'import ' + name
        if function in self.quarantine:
            raise StudentError('%s was not run: %s' % (function, self.quarantine[function]))
        try:
            import importlib
            module = importlib.import_module(name)
        except BaseException as e:  # noqa: B902 (SystemExit too)
            raise StudentError('importing %s failed: %s' % (name, self.explain(e)))
        self.apply_quarantine()
        return {'event': 'result', 'ref': self.hold(module)}

    def do_call(self, cmd):
        function = cmd.get('function', '?')
        fn = self.resolve(cmd['fn'])
        args = self.decode(cmd.get('args', []))
        kwargs = self.decode(cmd.get('kwargs', {}))
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise protocol.ProtocolError('bad arguments')
        try:
            result = fn(*args, **{str(k): v for k, v in kwargs.items()})
        except BaseException as e:  # noqa: B902: whatever the student's code raised
            raise StudentError('%s raised %s' % (function, self.explain(e)))
        reply = {'event': 'result', 'ref': self.hold(result), 'type': type(result).__name__}
        if isinstance(result, (tuple, list)):
            reply['kind'], reply['len'] = type(result).__name__, len(result)
        elif isinstance(result, dict):
            reply['kind'] = 'dict'
        return reply

    # -- the staff's layers, answered by the grading process -------------------
    def callback(self, name, args, kwargs):
        self.channel.send({'event': 'callback', 'fn': name, 'args': self.encode(list(args)),
                           'kwargs': self.encode(dict(kwargs))})
        answer = self.channel.receive()
        if answer.get('op') == 'raise':
            raise ValueError(str(answer.get('message', '')))
        if answer.get('op') != 'return':
            raise protocol.ProtocolError('expected the answer of a reference layer')
        # The reference layers update the running statistics in the student's dicts.
        updates = self.decode(answer.get('updates')) or {}
        for index, changed in updates.items() if isinstance(updates, dict) else ():
            target = args[int(index)]
            if isinstance(target, dict) and isinstance(changed, dict):
                target.update(changed)
        value = self.decode(answer.get('value'))
        return tuple(value) if isinstance(value, list) else value

    def recorder(self, name, fn):
        def record(*args, **kwargs):
            result = fn(*args, **kwargs)
            try:
                param = args[1] if len(args) > 1 else kwargs.get('dropout_param')
                mode = param.get('mode') if isinstance(param, dict) else None
                out = result[0] if isinstance(result, tuple) and result else result
                self.channel.send({'event': 'record', 'fn': name, 'mode': self.encode(mode),
                                   'x': self.encode(args[0] if args else None),
                                   'out': self.encode(out)})
            except Exception:   # nothing to record: the judge says so
                pass
            return result
        return record

    def set_layers(self, mode, module, names, record):
        for undo in reversed(self.restore):
            undo()
        self.restore = []
        layers = sys.modules.get(module) if isinstance(module, str) else None
        if mode is None or layers is None:
            return
        for name in names if mode == 'reference' else record:
            fn = getattr(layers, name, None)
            if not isinstance(fn, types.FunctionType):
                continue
            if mode == 'reference':
                def proxy(*args, _name=name, **kwargs):
                    return self.callback(_name, args, kwargs)
                target = proxy
            else:
                target = self.recorder(name, original(fn))
            self.restore.append(redirect(fn, target, '%s_%s' % (mode, name)))

    # -- helpers -------------------------------------------------------------
    def explain(self, e):
        """One line about an exception from student code, with where it was raised."""
        if isinstance(e, Stopped):
            return str(e)
        if isinstance(e, SystemExit):
            return 'SystemExit: the code called sys.exit(%r)' % (e.code,)
        text = '%s: %s' % (type(e).__name__, str(e).strip().replace('\n', ' ')[:600])
        if isinstance(e, NotImplementedError):
            return text
        where = None
        for frame, line in traceback.walk_tb(e.__traceback__):
            path = os.path.abspath(frame.f_code.co_filename)
            if path.startswith(self.workspace + os.sep):
                where = (os.path.relpath(path, self.workspace), line, frame.f_code.co_name)
        if where:
            text += ' (%s, line %d, in %s)' % where
        return text

    def apply_quarantine(self):
        """Functions that hung or crashed before raise at once when called."""
        for qualname, reason in self.quarantine.items():
            if qualname.startswith(('mode:', 'import ')) or qualname in self.stubbed:
                continue
            message = '%s was not run: %s' % (qualname, reason)

            def stop(*args, _message=message, **kwargs):
                raise Stopped(_message)

            cls_name, _, attr = qualname.rpartition('.')
            for name in self.modules:
                owner = getattr(sys.modules.get(name), cls_name, None) if cls_name \
                    else sys.modules.get(name)
                fn = getattr(owner, attr, None) if owner is not None else None
                if callable(fn):
                    try:
                        redirect(fn, stop, 'stop_' + qualname.replace('.', '_'))
                    except (TypeError, ValueError, AttributeError):
                        setattr(owner, attr, stop)
                    self.stubbed.add(qualname)
                    break


def _limit(which, value):
    """Set the limit `which` to `value` (or to the hard limit, if that is lower); True
    if the kernel now enforces at most `value`."""
    if not hasattr(resource, which):
        return False
    kind = getattr(resource, which)
    try:
        soft, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value))
        return resource.getrlimit(kind)[0] == value
    except (ValueError, OSError):
        return False


# System calls the student's code does without (seccomp), and what they return instead.
DENIED = (
    # No network, whatever the sandbox is.
    ('socket', errno.EACCES), ('socketpair', errno.EACCES),
    # setsid() succeeds and does nothing: every process stays in the executor's
    # session, so the kernel's autogroup scheduler gives the executor one CPU share
    # however many processes it starts.
    ('setsid', 0),
    # The kernel's keyrings and POSIX message queues outlive the processes that made
    # them: a channel to the next submission that the sandbox user's cleanup cannot see.
    ('add_key', errno.ENOSYS), ('keyctl', errno.ENOSYS), ('request_key', errno.ENOSYS),
    ('mq_open', errno.ENOSYS),
)


def deny_syscalls():
    """A seccomp filter (libseccomp's bindings, or pyseccomp with the same API)
    for DENIED. Returns None when it is loaded, else why not."""
    try:
        import seccomp
    except ImportError:
        try:
            import pyseccomp as seccomp
        except ImportError:
            return 'no seccomp bindings installed (pyseccomp, staff/requirements.txt)'
    try:
        f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        for name, code in DENIED:
            f.add_rule(seccomp.ERRNO(code), name)
        f.load()
    except Exception as e:  # an unsupported kernel or architecture
        return 'seccomp filter not loaded (%s: %s)' % (type(e).__name__, e)
    return None


def main():
    cmd_fd, msg_fd = int(sys.argv[1]), int(sys.argv[2])
    channel = Channel(cmd_fd, msg_fd)
    job = channel.receive()
    mb = 1024 * 1024
    limits = [('RLIMIT_AS', int(job['memory_mb']) * mb), ('RLIMIT_CPU', int(job['cpu_seconds'])),
              ('RLIMIT_FSIZE', int(job['file_mb']) * mb), ('RLIMIT_CORE', 0)]
    if job.get('nproc'):
        limits.append(('RLIMIT_NPROC', int(job['nproc'])))
    # The filter first: finding libseccomp may start a process (ldconfig), which the
    # process limit could refuse.
    why = deny_syscalls()
    failed = [which for which, value in limits if not _limit(which, value)]
    report = {'uid': os.getuid(), 'limits': [w for w, _ in limits if w not in failed],
              'seccomp': why or 'denied: ' + ', '.join(name for name, _ in DENIED)}
    if job.get('require_limits') and (failed or why):
        # Fails closed: no student code runs without every limit in place.
        problems = ['could not set %s' % ', '.join(failed)] if failed else []
        channel.send({'event': 'refused', 'reason': '; '.join(problems + ([why] if why else [])),
                      'report': report})
        os._exit(3)
    sys.path[:] = [job['workspace']] + [p for p in sys.path[1:] if p]
    os.chdir(job['scratch'])
    import warnings
    warnings.simplefilter('ignore')
    import numpy  # noqa: F401: loaded before any student code, as the student's code expects
    channel.send({'event': 'ready', 'report': report})
    Executor(channel, job).serve()


if __name__ == '__main__':
    main()
