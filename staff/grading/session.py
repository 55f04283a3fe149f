"""The probes' side of grading: the hidden tests drive the student's code from here.

A probe (parts/*.py) runs in the grading process. It reaches the student's
code only through its Session S, which sends one command at a time to the
executor in the sandbox (sandbox.Child, executor.py):

    layers = S.module('cs231n.layers')               # a Remote: the object stays there
    out, cache = S.call('affine_forward', layers.affine_forward, x, w, b)
    S.emit('case 1', out)                            # fetched: now a value here

A Remote names an object the executor holds; attributes and items of it
(`model.params['W1']`) are Remotes too, resolved only when used. A call's
arguments may mix values and Remotes. So the executor gets the inputs of
each call and nothing else: no probe, no reference, no judge.

In S.layers('reference') the student's code calls the staff's functions (the
assignment's REFERENCES, e.g. its layers) instead of its own: the executor
asks back for each call, answered here (caches stay here, as tokens). In
S.layers('own', record=[...]) it calls its own, and the calls of the functions
named in `record` are reported (S.records), so that a judge can check a net
against, say, the masks the student's own dropout drew.

run_parts() runs groups of parts, each group in its own executor (a fresh
one after a part hangs, crashes or floods the output), and returns what
each part's probe emitted, or why it was stopped (or hands each part to a
judge as soon as it ends, so that only one part's results are kept at a time).

Bounds: a part is charged the CPU time of its executor (sandbox.Deadline),
keeps at most MAX_DATA bytes of what the student's code sent back (results,
records, the caches of the staff layers), and the staff layers answer at most
MAX_CALLBACKS calls, each asking for no more work than the part's own inputs
justify (work()).
"""
import contextlib
import time

import numpy as np

from . import protocol
from .api import Fail
from .sandbox import WALL_FACTOR, ChildFailure, Child, Deadline, GraderError, describe_exit

KEEP_OUTPUT = 4000          # characters of a part's output kept for the feedback
MAX_DATA = 32 * 1024 * 1024  # bytes a part keeps of what the student's code sent (honest: 4 MB)
MAX_RECORDS = 10_000        # calls recorded in one part (honest: a few dozen)
MAX_CALLBACKS = 10_000      # calls of the staff layers in one part (honest: about 50)
MIN_WORK = 1 << 20          # numbers a staff layer may compute in one call, at least
WORK_FACTOR = 16            # ... or this many times the largest array the probe sent


def size_of(value):
    """Bytes a decoded value holds, roughly (arrays exactly, plus a fixed cost for
    every Python object)."""
    if isinstance(value, np.ndarray):
        return value.nbytes + 112
    if isinstance(value, (str, bytes)):
        return len(value) + 64
    if isinstance(value, dict):
        return 240 + sum(size_of(k) + size_of(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return 64 + sum(8 + size_of(v) for v in value)
    return 32


def arrays_in(value, depth=0):
    """The arrays in a decoded value (lists, tuples and dicts searched)."""
    if isinstance(value, np.ndarray):
        yield value
    elif depth < 25 and isinstance(value, (list, tuple)):
        for v in value:
            yield from arrays_in(v, depth + 1)
    elif depth < 25 and isinstance(value, dict):
        for v in value.values():
            yield from arrays_in(v, depth + 1)


def work(arrays):
    """An upper bound on the numbers a layer computes from these arrays: the largest
    of them, their broadcast shape (elementwise work), and the square of the
    longest axis (a product of two matrices)."""
    arrays = list(arrays)
    if not arrays:
        return 0
    largest = max(a.size for a in arrays)
    ndim = max(a.ndim for a in arrays)
    broadcast = 1
    for axis in range(1, ndim + 1):
        broadcast *= max(a.shape[-axis] if a.ndim >= axis else 1 for a in arrays)
    longest = max(max(a.shape) if a.ndim else 1 for a in arrays)
    return max(largest, broadcast, longest * longest)


class StudentError(Exception):
    """The student's code raised, or returned something a probe cannot use."""


class PartRun:
    """What happened when a part's probe ran."""

    def __init__(self, name):
        self.name = name
        self.data = {}
        self.error = None        # why the part was stopped, if it was
        self.output = ''
        self.output_bytes = 0
        self.seconds = 0.0
        self.cpu_seconds = 0.0      # what the part was charged (sandbox.Deadline)
        self.received = 0           # bytes kept of what the student's code sent
        self.last_call = None
        self.mode = None
        self.output_limit = None

    def keep(self, value):
        """Count value against the part's MAX_DATA; stop the part when it is over."""
        self.received += size_of(value)
        if self.received > MAX_DATA:
            raise ChildFailure('data')
        return value

    def add_output(self, data):
        self.output_bytes += len(data)
        if len(self.output) < KEEP_OUTPUT:
            self.output += data.decode('utf-8', errors='replace')[:KEEP_OUTPUT - len(self.output)]
        if self.output_limit is not None and self.output_bytes > self.output_limit:
            raise ChildFailure('output')


class Remote:
    """An object held by the executor: EXPR names it there."""

    __slots__ = ('_session', '_expr', 'kind', 'length', 'type_name')

    def __init__(self, session, expr, kind=None, length=None, type_name=None):
        self._session, self._expr = session, expr
        self.kind, self.length, self.type_name = kind, length, type_name

    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        return Remote(self._session, ['attr', self._expr, name])

    def __getitem__(self, key):
        return Remote(self._session, ['item', self._expr, protocol.encode_value(key)])

    def __setitem__(self, key, value):
        self._session._send({'op': 'setitem', 'obj': self._expr, 'key': protocol.encode_value(key),
                             'value': self._session._encode(value)})

    def __iter__(self):
        if self.length is None:
            raise StudentError('returned %s, expected a tuple' % (self.type_name or 'an object'))
        return (self[i] for i in range(self.length))

    def __len__(self):
        if self.length is None:
            raise StudentError('returned %s, expected a tuple' % (self.type_name or 'an object'))
        return self.length

    def __repr__(self):
        return '<Remote %s>' % (self._expr,)


class Session:
    """The `S` a probe gets; one per part."""

    Error = StudentError

    def __init__(self, child, run, deadline, quarantine, references):
        self.child, self.run, self.deadline = child, run, deadline
        self.quarantine = quarantine
        # (module, {name: staff function}) answering the student's calls in 'reference' mode
        self.references_module, self.references = references
        self.mode = None
        self.records = []
        self.caches = {}
        self.callbacks = 0
        self.largest_sent = 0       # elements of the largest array sent to the executor

    # -- what probes call ----------------------------------------------------
    def module(self, name):
        """A module of the student's package; StudentError if importing it fails."""
        function = 'import ' + name
        self._before_call(function)
        reply = self._send({'op': 'import', 'module': name})
        return Remote(self, ['h', reply['ref']])

    def call(self, function, fn, *args, **kwargs):
        """fn(*args, **kwargs) in the executor, for the student function `function`."""
        self._before_call(function)
        reply = self._send({'op': 'call', 'fn': fn._expr, 'args': self._encode(list(args)),
                            'kwargs': self._encode(kwargs), 'function': function})
        return Remote(self, ['h', reply['ref']], reply.get('kind'), reply.get('len'),
                      reply.get('type'))

    def fetch(self, value):
        """value with every Remote in it replaced by a copy of what it names."""
        if isinstance(value, Remote):
            reply = self._send({'op': 'fetch', 'obj': value._expr})
            return self.run.keep(protocol.decode_value(reply.get('value')))
        if isinstance(value, dict):
            return {k: self.fetch(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.fetch(v) for v in value]
        return value

    def value(self, value):
        """A Remote copy of value (a dict that the student's code may change)."""
        return Remote(self, ['h', self._send({'op': 'put', 'value': self._encode(value)})['ref']])

    def emit(self, key, value):
        """Keep value (fetched) as the probe's result `key`, for the judge."""
        self.run.data[key] = self.fetch(value)

    @contextlib.contextmanager
    def layers(self, mode, record=()):
        """Within the block the student's code uses the staff's 'reference' functions,
        or its 'own', reporting the calls of the functions named in `record`."""
        if mode == 'own' and 'mode:own' in self.quarantine:
            raise StudentError('not run with your own layers: %s' % self.quarantine['mode:own'])
        self._send({'op': 'layers', 'mode': mode, 'module': self.references_module,
                    'names': sorted(self.references), 'record': list(record)})
        self.mode, self.records, self.caches = mode, [], {}
        try:
            yield
        finally:
            self.mode = None
            self._send({'op': 'layers', 'mode': None})

    # -- the channel ---------------------------------------------------------
    def _before_call(self, function):
        if function in self.quarantine:
            raise StudentError('%s was not run: %s' % (function, self.quarantine[function]))
        self.run.last_call, self.run.mode = function, self.mode

    def _encode(self, value):
        def other(v):
            if isinstance(v, Remote):
                return {'__ref__': v._expr}
            return None
        for a in arrays_in(value):
            self.largest_sent = max(self.largest_sent, a.size)
        return protocol.encode_value(value, other=other)

    def _send(self, command):
        reply = self.child.request(command, self.deadline, self._on_event)
        if reply.get('event') == 'error':
            raise StudentError(str(reply.get('message', ''))[:2000])
        return reply

    def _on_event(self, msg):
        if msg['event'] == 'record':
            if self.mode == 'own':
                if len(self.records) >= MAX_RECORDS:
                    raise ChildFailure('data')
                self.records.append(self.run.keep({k: protocol.decode_value(msg.get(k))
                                                   for k in ('fn', 'mode', 'x', 'out')}))
            return None
        return self._answer_callback(msg)

    def _answer_callback(self, msg):
        """A staff layer's answer to the student's net, in reference mode only."""
        name = msg.get('fn')
        if self.mode != 'reference' or name not in self.references:
            return {'op': 'raise', 'message': 'the staff layers answer only while the grader '
                                              'runs your net with them'}
        self.callbacks += 1
        if self.callbacks > MAX_CALLBACKS:
            return {'op': 'raise', 'message': 'staff %s: refused: your code called the staff '
                    'layers more than %d times in this test' % (name, MAX_CALLBACKS)}
        try:
            args = protocol.decode_value(msg.get('args'), special=self._cache_of)
            kwargs = protocol.decode_value(msg.get('kwargs'), special=self._cache_of)
            # Work out of proportion to the test is refused before it is done.
            needed = work(arrays_in([args, kwargs]))
            allowed = max(MIN_WORK, WORK_FACTOR * self.largest_sent)
            if needed > allowed:
                return {'op': 'raise', 'message': 'staff %s: refused: arguments of these shapes '
                        'could make it compute %d numbers, out of proportion to this test (at '
                        'most %d)' % (name, needed, allowed)}
            result = self.references[name](*args, **kwargs)
        except Exception as e:   # the student's net called a layer with unusable arguments
            return {'op': 'raise', 'message': 'staff %s: %s: %s' % (name, type(e).__name__,
                                                                      str(e)[:300])}
        if name.endswith('_forward') and isinstance(result, tuple) and len(result) == 2:
            token = len(self.caches) + 1
            self.caches[token] = self.run.keep(result[1])
            result = (result[0], _Token(token))
        updates = {str(i): a for i, a in enumerate(args) if isinstance(a, dict)}
        encode = lambda v: protocol.encode_value(  # noqa: E731
            v, other=lambda t: {'__token__': t.number} if isinstance(t, _Token) else None)
        return {'op': 'return', 'value': encode(result), 'updates': encode(updates)}

    def _cache_of(self, ref):
        token = ref.get('__token__')
        if token not in self.caches:
            raise ValueError('a cache that no staff layer made')
        return self.caches[token]


class _Token:
    def __init__(self, number):
        self.number = number


# ---------------------------------------------------------------------------
# Running the parts

def _reason(failure, timeout, output_limit):
    if failure.kind == 'timeout':
        deadline = failure.detail
        if isinstance(deadline, Deadline) and deadline.expired_by == 'wall':
            return ('stopped after %g s without finishing (time limit: %g s of CPU time, %g s '
                    'in all): it waited or slept, or was far too slow'
                    % (deadline.wall, timeout, deadline.wall))
        return 'stopped after %g s of CPU time (time limit): an infinite loop, or far too slow' \
            % timeout
    if failure.kind == 'output':
        return 'stopped: printed more than %d KB' % (output_limit // 1024)
    if failure.kind == 'data':
        return ('stopped: your code sent back more than %d MB (or %d recorded calls) in this '
                'test' % (MAX_DATA >> 20, MAX_RECORDS))
    if failure.kind == 'protocol':
        return ('stopped: the grading channel was corrupted (%s); does your code write to file '
                'descriptors it did not open?' % failure.detail)
    return 'the grading process %s' % describe_exit(failure.detail)


def _short(error):
    if error.startswith('stopped after'):
        return 'hung'
    if error.startswith('stopped: printed'):
        return 'printed too much'
    if error.startswith('stopped: your code sent back'):
        return 'sent back too much'
    return 'crashed the grading process'


def run_parts(workspace, groups, parts, settings, sandbox, assignment, python=None,
              on_done=None):
    """Run the probes of `groups` (lists of part names) on the workspace.

    Each group runs in executors of its own, so that nothing the student's code
    keeps in memory passes from one group to the next.

    Inputs:
    - workspace: a folder holding the spliced cs231n package
    - parts: {name: api.Part}
    - settings: the rubric's settings (part_timeout, memory_mb, output_kb, file_mb,
      submission_timeout)
    - sandbox: a sandbox.Sandbox; assignment: the assignment (assignment.py): its
      STUDENT_MODULES and REFERENCES
    - on_done(name, run): called with each PartRun as soon as its part ends (a
      judge); its data is dropped after

    Returns ({part name: PartRun}, the executor's report on its limits).
    """
    timeout = float(settings['part_timeout'])
    output_limit = int(settings['output_kb']) * 1024
    budget = float(settings.get('submission_timeout', 1e9))
    runs = {name: PartRun(name) for group in groups for name in group}
    quarantine = {}
    started = time.monotonic()
    spent = 0.0                 # seconds charged to the parts so far
    report = {}

    def new_child(group):
        nonlocal started
        job = {'memory_mb': settings['memory_mb'], 'file_mb': settings['file_mb'],
               'cpu_seconds': int(timeout * len(group) + 120), 'quarantine': dict(quarantine),
               'modules': list(assignment.STUDENT_MODULES)}
        child = Child(sandbox, workspace, job, python)
        started += child.waited         # waiting for another grader is not the student's time
        return child

    # With namespaces every group's executor starts now: they import numpy side by
    # side. As the sandbox user one runs at a time: stopping one kills every
    # process of that user, and two at once could talk to each other.
    together = sandbox.kind != 'user'
    children = [None] * len(groups)
    try:
        for k, group in enumerate(groups if together else ()):
            children[k] = new_child(group)
        for k, group in enumerate(groups):
            startup_failures = 0
            for name in group:
                run = runs[name]
                if spent > budget or time.monotonic() - started > budget * WALL_FACTOR:
                    run.error = 'not run: the submission used up its %d s of grading time' % budget
                    _done(on_done, name, run)
                    continue
                child = children[k]
                if child is None:
                    child = children[k] = new_child(group)
                run.output_limit = output_limit
                child.output_sink = run.add_output
                part_started = time.monotonic()
                S = Session(child, run, None, quarantine, assignment.REFERENCES)
                try:
                    try:
                        child.start()
                    except ChildFailure as e:
                        child.stop()
                        children[k] = None
                        startup_failures += 1
                        if startup_failures >= 2:
                            said = child.startup_output.decode('utf-8', 'replace') + \
                                run.output
                            raise GraderError('the grading executor did not start: %s (%s)'
                                              % (_reason(e, timeout, output_limit),
                                                 said[-1000:]))
                        children[k] = child = new_child(group)
                        child.output_sink = run.add_output
                        S.child = child
                        child.start()
                    report = child.report or report
                    S.deadline = Deadline(timeout, child)
                    parts[name].probe_fn(S)
                except StudentError as e:
                    run.data['__error__'] = str(e)
                except Fail as e:
                    run.data['__error__'] = str(e)
                except ChildFailure as e:
                    run.error = _reason(e, timeout, output_limit)
                    if run.last_call and run.mode == 'own':
                        quarantine['mode:own'] = 'your own layers %s in %s' % (
                            _short(run.error), name)
                    elif run.last_call:
                        quarantine[run.last_call] = 'it %s in the test %s' % (
                            _short(run.error), name)
                    child.stop()
                    children[k] = None
                except (KeyboardInterrupt, GraderError):
                    raise
                except Exception as e:  # the probe could not use what the student's code returned
                    run.data['__error__'] = 'unexpected result: %s: %s' % (
                        type(e).__name__, str(e)[:300])
                finally:
                    child.output_sink = None
                    run.seconds = time.monotonic() - part_started
                    if S.deadline is not None:
                        run.cpu_seconds = S.deadline.charged()
                    spent += run.cpu_seconds if S.deadline is not None else run.seconds
                    S.records, S.caches = [], {}
                _done(on_done, name, run)
            if children[k] is not None:
                children[k].stop()
                children[k] = None
    except BaseException:
        _stop(children, quietly=True)
        raise
    _stop(children)
    return runs, report


def _stop(children, quietly=False):
    """Stop every child, even if stopping one fails; then raise the first failure
    (unless quietly: another exception is on its way already)."""
    errors = []
    for child in children:
        if child is not None:
            try:
                child.stop()
            except GraderError as e:
                errors.append(e)
    if errors and not quietly:
        raise errors[0]


def _done(on_done, name, run):
    """Hand a finished part to its judge; keep only the verdict's inputs it needs no more."""
    if on_done is not None:
        on_done(name, run)
        run.data = {}
