"""The hidden tests' probes run in process, without the sandbox (staff tests only).

The real probes of the assignment's parts drive a spliced package through
InProcessSession, a stand-in for the grading session (staff/grading/session.py)
whose values cross through the protocol's encoding as they would, and whose
'reference' mode patches in the staff's layers with the executor's own
redirect(). probe_workspace() runs them in a child process whose cs231n is the
workspace's; the real judges then get what the probes emitted, in this process.

    probe_workspace(workspace, names)   {part: what its probe emitted}
    run_probes(names)                   the same, for the package importable here
    judged(part, data)                  None if the part's judge accepts data, else why
"""
import contextlib
import os
import pickle
import subprocess
import sys

from staff.grading import api
from staff.tests.submissions import ROOT


class _Result(tuple):
    """A call's tuple result with what a session Remote tells of it."""

    @property
    def length(self):
        return len(self)

    @property
    def type_name(self):
        return 'tuple'


class InProcessSession:
    """The probe's S (staff/grading/session.py) with the student's code in this
    process: values cross through the protocol's encoding, as they would."""

    def __init__(self, data):
        from staff.grading import protocol, session
        self.Error = session.StudentError
        self._protocol = protocol
        self.data = data
        self.records = []
        self.mode = None

    def module(self, name):
        import importlib
        try:
            return importlib.import_module(name)
        except Exception as e:
            raise self.Error('importing %s failed: %s' % (name, e))

    def call(self, function, fn, *args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except Exception as e:
            raise self.Error('%s raised %s: %s' % (function, type(e).__name__, e))
        return _Result(result) if isinstance(result, tuple) else result

    def fetch(self, value):
        return self._protocol.decode_value(self._protocol.encode_value(value))

    def value(self, value):
        return self.fetch(value)

    def emit(self, key, value):
        self.data[key] = self.fetch(value)

    @contextlib.contextmanager
    def layers(self, mode, record=()):
        sys.path.append(os.path.join(ROOT, 'staff', 'grading'))
        import executor  # the sandbox's own redirect(), run as a script there
        import cs231n.layers
        from staff.assignment import references as ref
        undo = []
        for name, target in ref.LAYERS.items():
            fn = getattr(cs231n.layers, name)
            if mode == 'own':
                if name not in record:
                    continue
                target = self._recorder(executor.original(fn))
            undo.append(executor.redirect(fn, target, '%s_%s' % (mode, name)))
        self.mode, self.records = mode, []
        try:
            yield
        finally:
            self.mode = None
            for u in reversed(undo):
                u()

    def _recorder(self, fn):
        def record(x, dropout_param, *args, **kwargs):
            result = fn(x, dropout_param, *args, **kwargs)
            self.records.append({'fn': 'dropout_forward', 'mode': dropout_param.get('mode'),
                                 'x': self.fetch(x), 'out': self.fetch(result[0])})
            return result
        return record


def run_probes(names):
    """{part: what its probe emitted} for the package importable here."""
    from staff.assignment import parts as P
    from staff.grading import session
    parts = P.load_parts()
    out = {}
    for name in names:
        data = {}
        S = InProcessSession(data)
        try:
            parts[name].probe_fn(S)
        except (session.StudentError, api.Fail) as e:
            data['__error__'] = str(e)
        except Exception as e:
            data['__error__'] = 'unexpected result: %s: %s' % (type(e).__name__, e)
        out[name] = data
    return out


_CHILD = ('import pickle, sys\n'
          'workspace, root, out = sys.argv[1:4]\n'
          'sys.path[:0] = [workspace, root]\n'
          'from staff.tests.probing import run_probes\n'
          'with open(out, "wb") as f:\n'
          '    pickle.dump(run_probes(sys.argv[4:]), f)\n')


def probe_workspace(workspace, names):
    """run_probes(names) in a child process whose cs231n is the workspace's."""
    out = os.path.join(workspace, 'probed.pickle')
    proc = subprocess.run([sys.executable, '-c', _CHILD, workspace, ROOT, out] + list(names),
                          cwd=workspace, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, 'rb') as f:
        return pickle.load(f)     # written by our own child: trusted


def judged(part, data):
    """None if the part's judge accepts data, else its Fail message."""
    from staff.assignment import parts as P
    try:
        P.load_parts()[part].judge_fn(data)
        return None
    except api.Fail as e:
        return str(e)
