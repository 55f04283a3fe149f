"""The grading child: runs the probes of some parts beside the student's code.

Started by staff/grading/sandbox.py as `python -I -u child.py`, one process per
submission (and a fresh one after a part hangs or kills its process). It reads
its job (a JSON line) from stdin, limits its own memory, CPU time and file
sizes, puts the student's workspace first on sys.path, and for each part
sends framed messages (staff/grading/protocol.py) on the file descriptor the
job names:

    ready                      before any student code is imported
    start PART                 before the part's probe runs
    call FUNCTION MODE         before each call of a student function
    data PART KEY VALUE        what the probe sends back (S.emit)
    end PART                   after the probe
    done                       after the last part

It never judges and never writes results: the grading process does both.
"""
import contextlib
import json
import os
import resource
import sys
import traceback

STUDENT_MODULES = ('cs231n.layers', 'cs231n.layer_utils', 'cs231n.classifiers.fc_net',
                   'cs231n.optim')


class StudentError(Exception):
    """A student function raised, or could not be run; the message says why."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class Stopped(BaseException):
    """Raised by a function that hung or crashed in an earlier part."""


def _limit(which, value):
    if value and hasattr(resource, which):
        try:
            resource.setrlimit(getattr(resource, which), (value, value))
        except (ValueError, OSError):
            pass


class Channel:
    def __init__(self, fd, nonce):
        self.fd, self.nonce = fd, nonce

    def send(self, message):
        from staff.grading import protocol
        message['nonce'] = self.nonce
        data = protocol.frame(message)
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]


class Probe:
    """The `S` that a part's probe gets."""

    Error = StudentError

    def __init__(self, channel, workspace, quarantine):
        self.channel = channel
        self.workspace = workspace
        self.quarantine = dict(quarantine)  # qualified name -> reason
        self.part = None
        self.mode = None
        self.stubbed = set()

    # -- what probes call --------------------------------------------------
    def module(self, name):
        """Import a module of the student's package; StudentError if that fails."""
        function = 'import ' + name
        self.channel.send({'event': 'call', 'function': function, 'mode': self.mode})
        if function in self.quarantine:
            raise StudentError('%s was not run: %s' % (function, self.quarantine[function]))
        try:
            import importlib
            mod = importlib.import_module(name)
        except BaseException as e:  # noqa: B902 (SystemExit too)
            raise StudentError('importing %s failed: %s' % (name, self.explain(e)))
        self._apply_quarantine()
        return mod

    def call(self, function, fn, *args, **kwargs):
        """fn(*args, **kwargs) for the student function `function`."""
        self.channel.send({'event': 'call', 'function': function, 'mode': self.mode})
        if function in self.quarantine:
            raise StudentError('%s was not run: %s' % (function, self.quarantine[function]))
        try:
            return fn(*args, **kwargs)
        except BaseException as e:  # noqa: B902
            raise StudentError('%s raised %s' % (function, self.explain(e)))

    def emit(self, key, value):
        from staff.grading import protocol
        self.channel.send({'event': 'data', 'part': self.part, 'key': key,
                           'value': protocol.encode_value(value)})

    @contextlib.contextmanager
    def layers(self, mode):
        """Within the block the student's nets use mode 'reference' layers (the
        staff's, patched into the student's modules) or their 'own'."""
        self.channel.send({'event': 'mode', 'mode': mode})
        if mode == 'own' and 'mode:own' in self.quarantine:
            raise StudentError('not run with your own layers: %s' % self.quarantine['mode:own'])
        restore = []
        if mode == 'reference':
            from staff.grading.parts import references
            layers = sys.modules.get('cs231n.layers')
            for fn_name, ref in references.LAYERS.items():
                fn = getattr(layers, fn_name, None)
                if fn is not None:
                    restore.append(redirect(fn, ref, 'ref_' + fn_name))
        self.mode = mode
        try:
            yield
        finally:
            self.mode = None
            for undo in reversed(restore):
                undo()

    # -- helpers -----------------------------------------------------------
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

    def _apply_quarantine(self):
        for qualname, reason in self.quarantine.items():
            if qualname.startswith(('mode:', 'import ')) or qualname in self.stubbed:
                continue
            message = '%s was not run: %s' % (qualname, reason)

            def stop(*args, _message=message, **kwargs):
                raise Stopped(_message)

            cls_name, _, attr = qualname.rpartition('.')
            for name in STUDENT_MODULES:
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


def redirect(fn, target, key):
    """Make every call of the function object fn run target(*args, **kwargs).

    Swapping the code of the function object, rather than the module
    attribute, also reaches the references a student's code keeps elsewhere
    (a dict of layer functions built at import, a default argument). Returns
    a callable that undoes it."""
    fn = getattr(fn, '__func__', fn)
    name = '__grading_%s__' % key
    fn.__globals__[name] = target
    namespace = {}
    exec('def trampoline(*args, **kwargs):\n    return %s(*args, **kwargs)\n' % name,
         namespace)
    old = fn.__code__
    fn.__code__ = namespace['trampoline'].__code__

    def undo():
        fn.__code__ = old
    return undo


def main():
    job = json.loads(sys.stdin.readline())
    sys.stdin.close()
    mb = 1024 * 1024
    _limit('RLIMIT_AS', int(job['memory_mb']) * mb)
    _limit('RLIMIT_CPU', int(job['cpu_seconds']))
    _limit('RLIMIT_FSIZE', int(job['file_mb']) * mb)
    _limit('RLIMIT_CORE', 0)

    workspace = os.path.abspath(job['workspace'])
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [workspace] + [p for p in sys.path if p and os.path.abspath(p) != here] \
        + [job['grader_root']]
    os.chdir(job['scratch'])

    import warnings
    warnings.simplefilter('ignore')
    import numpy as np
    from staff.grading import api
    import staff.grading.parts
    parts = staff.grading.parts.load_parts()

    channel = Channel(int(job['fd']), job['nonce'])
    S = Probe(channel, workspace, job.get('quarantine', {}))
    channel.send({'event': 'ready'})
    for name in job['parts']:
        S.part = name
        channel.send({'event': 'start', 'part': name})
        np.random.seed(0)
        try:
            parts[name].probe_fn(S)
        except StudentError as e:
            S.emit('__error__', e.message)
        except api.Fail as e:
            S.emit('__error__', str(e))
        except BaseException as e:  # noqa: B902: the probe could not use the results
            S.emit('__error__', 'unexpected result: %s' % S.explain(e))
        sys.stdout.flush()
        sys.stderr.flush()
        channel.send({'event': 'end', 'part': name})
    channel.send({'event': 'done'})
    os._exit(0)


if __name__ == '__main__':
    main()
