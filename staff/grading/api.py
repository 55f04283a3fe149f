"""What the hidden grading tests (an assignment's parts) are written with.

A part is a group of student functions worth some points in the rubric. It
has two halves, and both run in the grading process:

    adam = part('adam', functions=['adam'])

    @adam.probe
    def _(S):                      # drives the student's code in the sandbox
        optim = S.module('cs231n.optim')
        next_w, config = S.call('adam', optim.adam, w, dw, config)
        S.emit('step1', {'next_w': next_w, 'm': config['m']})

    @adam.judge
    def _(got):                    # judges what the probe emitted
        check_close('adam', 'next_w', got['step1']['next_w'], expected, 1e-7)

The probe calls the student's functions, through its session S (session.py),
on inputs it builds from seeds (rng(): fixed per part, mixed with a secret
drawn for each submission, so that no submission can know them in advance)
and keeps what they returned (S.emit). The judge rebuilds the same inputs,
computes the expected values with the staff references, and raises Fail with
a message naming the function and the size of the error; returning means the
part passes. The executor in the sandbox sees only the calls and their
inputs. A student function that raises, hangs, crashes or exits fails its
part with the reason, before the judge is asked (unless the part was declared
with partial=True: its judge then also sees what was emitted before the
failure and may pass on it, as the net parts do with the results of one layer
mode).

A part's judge may be several checks (each @p.judge adds one; p.judge_fn
runs them in order and raises the first Fail), so that an assignment can tell
which check a result fails. Extra arguments of p.judge_fn go to every check:
the assignment's judges take there the references they compare with.
"""
import contextlib
import contextvars
import hashlib

import numpy as np

from .protocol import Opaque

REGISTRY = {}
_salt = contextvars.ContextVar('case_salt', default=b'')


@contextlib.contextmanager
def case_salt(salt):
    """Within the block rng() mixes `salt` (bytes) into every seed."""
    token = _salt.set(salt)
    try:
        yield
    finally:
        _salt.reset(token)


def salt():
    """The salt that rng() mixes in here (bytes): a key for what is computed from its draws."""
    return _salt.get()


def rng(seed):
    """np.random.RandomState for the part's fixed `seed`, mixed with the submission's salt."""
    digest = hashlib.sha256(_salt.get() + str(seed).encode()).digest()
    return np.random.RandomState(int.from_bytes(digest[:4], 'little'))


class Fail(Exception):
    """The student's results are wrong; the message says how."""


class Part:
    def __init__(self, name, functions=(), partial=False, group='layers'):
        self.name = name
        self.functions = tuple(functions)
        self.partial = partial
        self.group = group
        self.probe_fn = None
        self.checks = []

    def probe(self, fn):
        self.probe_fn = fn
        return fn

    def judge(self, fn):
        """Add fn(got, *args) -> None or a note as the judge's next check."""
        self.checks.append(fn)
        return fn

    def judge_fn(self, got, *args):
        """Run the checks in order on `got`: the first Fail ends the judging; else
        returns the first note (None: the part passes without one)."""
        notes = [check(got, *args) for check in self.checks]
        return next((note for note in notes if note), None)

    def __repr__(self):
        return '<Part %s>' % self.name


def part(name, functions=(), partial=False, group='layers'):
    """Declare a part. `functions` are the qualified names of the student
    functions it tests: one that hangs or crashes is not run again by later
    parts (they get an error instead of waiting for the time limit again).
    The parts of one `group` share an executor; each group has its own (the
    nets', which the staff's layers answer, apart from the layers' own tests)."""
    if name in REGISTRY:
        raise ValueError('part %r declared twice' % name)
    p = Part(name, functions, partial, group)
    REGISTRY[name] = p
    return p


# ---------------------------------------------------------------------------
# Judging helpers

def case_part(name, cases, probe, judge, module, functions=None):
    """A part that runs the student's code on every case of cases() and judges each.

    Inputs:
    - name: The part's name; by default also the one student function it tests
    - cases: A function returning the list of cases (called in both processes)
    - probe(S, mod, case): Drives the student's code through the session S (mod
      is the student's `module`, a Remote) on one case; returns what to emit
    - module: The student's module the probe gets (e.g. 'cs231n.layers')
    - judge(result, case, *args): In the grading process, raises Fail if the
      result of one case is wrong (args: those of the part's judge_fn)

    Returns:
    - The Part
    """
    p = part(name, functions=functions or [name])

    @p.probe
    def _(S):
        mod = S.module(module)
        for k, case in enumerate(cases()):
            S.emit(k, probe(S, mod, case))

    @p.judge
    def _(got, *args):
        for k, case in enumerate(cases()):
            judge(got[k], case, *args)
    return p


def check_gradients(fn, result, expected, tol, context):
    """Check a (dx, dgamma, dbeta) result, as sent back, against the expected triple."""
    if not isinstance(result, list) or len(result) != 3:
        raise Fail('%s: returned %r, expected (dx, dgamma, dbeta)' % (fn, result))
    for gname, g, e in zip(('dx', 'dgamma', 'dbeta'), result, expected):
        check_close(fn, gname, g, e, tol, context)


def describe(value):
    if isinstance(value, np.ndarray):
        return 'an array of shape %s and dtype %s' % (value.shape, value.dtype)
    if isinstance(value, Opaque):
        return 'a %s' % value.what
    if isinstance(value, (list, dict)):
        return 'a %s of length %d' % (type(value).__name__, len(value))
    return repr(value)


def rel_error(got, expected, floor=1e-3, scale=None):
    """Largest elementwise |g - e| / max(|g| + |e|, floor * max|e|).

    The notebooks' rel_error, with a floor relative to the size of the
    expected array: entries far smaller than the rest (a gradient entry of 1e-17
    that is 0 in exact arithmetic) are judged by their absolute difference
    against the array's scale, so rounding never fails a correct answer.
    `scale` replaces max|e| when the array belongs to a larger whole (the
    gradient of a bias that batchnorm makes exactly 0 is all rounding noise:
    its scale is that of the other gradients).
    """
    g = np.asarray(got, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if g.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(e))) if scale is None else scale, 1e-300)
    denom = np.maximum(np.abs(g) + np.abs(e), floor * scale)
    return float(np.max(np.abs(g - e) / denom))


def _where(context):
    return ' (%s)' % context if context else ''


def check_array(fn, name, got, shape=None, context='', finite=True):
    """Fail unless `got` is a float array (of `shape`, if given), finite unless
    `finite` is False."""
    if not isinstance(got, np.ndarray) or got.dtype.kind not in 'fiub':
        raise Fail('%s: %s is %s, expected an array%s' % (fn, name, describe(got), _where(context)))
    if shape is not None and got.shape != tuple(shape):
        raise Fail('%s: %s has shape %s, expected %s%s'
                   % (fn, name, got.shape, tuple(shape), _where(context)))
    if finite and not np.all(np.isfinite(got)):
        raise Fail('%s: %s holds NaN or inf%s' % (fn, name, _where(context)))


def check_close(fn, name, got, expected, tol, context='', floor=1e-3, scale=None):
    """Fail unless the array `got` matches `expected` within relative error `tol`.
    Where `expected` is inf or NaN (a known mistake's formula can be), `got`
    must hold the same there."""
    expected = np.asarray(expected, dtype=np.float64)
    odd = ~np.isfinite(expected)
    check_array(fn, name, got, expected.shape, context, finite=not odd.any())
    if odd.any():
        if not (np.array_equal(got[odd], expected[odd], equal_nan=True)
                and np.all(np.isfinite(got[~odd]))):
            raise Fail('%s: %s holds NaN or inf elsewhere%s' % (fn, name, _where(context)))
        got, expected = got[~odd], expected[~odd]
    err = rel_error(got, expected, floor, scale)
    if not err <= tol:
        raise Fail('%s: %s relative error %.1e (tolerance %.0e)%s'
                   % (fn, name, err, tol, _where(context)))
    return err


def check_scalar(fn, name, got, expected, tol, context=''):
    """Fail unless the number `got` is within relative error `tol` of `expected`."""
    if isinstance(got, np.ndarray) and got.shape == ():
        got = float(got)
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        raise Fail('%s: %s is %s, expected a number%s' % (fn, name, describe(got), _where(context)))
    if not np.isfinite(expected) and (got == expected or np.isnan(got) and np.isnan(expected)):
        return 0.0    # inf or NaN as expected (a known mistake's formula can give it)
    if not np.isfinite(got):
        raise Fail('%s: %s is %r%s' % (fn, name, got, _where(context)))
    err = abs(got - expected) / max(abs(got) + abs(expected), 1e-12)
    if not err <= tol:
        raise Fail('%s: %s is %.10g, expected %.10g: relative error %.1e (tolerance %.0e)%s'
                   % (fn, name, got, expected, err, tol, _where(context)))
    return err


def copy_arrays(params, dtype=None):
    """A copy of a dict of parameters (a config, a bn_param) whose arrays are
    copied too, optionally cast to dtype; None stays None."""
    if params is None:
        return None
    return {k: (v.astype(dtype or v.dtype) if isinstance(v, np.ndarray) else v)
            for k, v in params.items()}


def tolerance(dtype_name, tol64, tol32):
    return tol32 if dtype_name == 'float32' else tol64
