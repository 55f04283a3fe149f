"""Shared fixtures for the self-check.

The reference setups of the assignment seed numpy's global generator
(np.random.seed(231)), and the dropout layer reseeds it on every call, so
every test runs with the global random state saved and restored around it:
no test sees another test's draws.

Gradient checks compare an analytic gradient with a centered numerical one
through `check_grad`, which fails with a message that names the function and
the gradient, gives the size of the error and the entry where it peaks, e.g.

    affine_backward: dw relative error 3.2e-01 (expected < 1e-07); worst entry ...

`net_grad_check` computes the numerical gradient of every parameter of a
model, and `assert_net_grads` checks them all the same way. When a net's
check fails, its message also says where to look: it takes the numerical
gradient again at smaller steps. If the analytic gradient agrees with one of
them, the backward pass is consistent with the forward pass, and the loss
only bends sharply within the check's step: the forward pass is off, and the
message names the layers whose forward pass fails a quick probe. If it
disagrees at every step, the backward pass is at fault.
"""
import os

import numpy as np
import pytest

from cs231n.gradient_check import eval_numerical_gradient

EPS64 = np.finfo(np.float64).eps
PACKAGE = os.path.dirname(os.path.abspath(__import__('cs231n').__file__))

# What a numerical warning inside a function usually means, by function and
# kind of warning (the words numpy uses: overflow, divide, invalid).
WARNING_HINTS = {
    ('softmax_loss', 'overflow'): 'overflowed at large scores: shift each row of scores by its '
                                  'maximum before exp',
    ('softmax_loss', 'divide'): 'took the log of a probability that underflowed to 0: take the '
                                'loss from log-probabilities',
    ('softmax_loss', 'invalid'): 'produced nan (inf - inf or 0 * inf): shift each row of scores '
                                 'by its maximum before exp',
    ('batchnorm_forward', ''): 'divided by a zero variance: does the normalization use '
                               'bn_param["eps"]?',
    ('layernorm_forward', ''): 'divided by a zero variance: does the normalization use '
                               'ln_param["eps"]?',
}


def _function_at_fault(tb):
    """(qualified name, file:line) of the innermost frame of the traceback
    that runs code of the cs231n package, or (None, None)."""
    found = (None, None)
    while tb is not None:
        code = tb.tb_frame.f_code
        if os.path.abspath(code.co_filename).startswith(PACKAGE + os.sep):
            name = getattr(code, 'co_qualname', code.co_name)
            where = '%s:%d' % (os.path.relpath(code.co_filename, os.path.dirname(PACKAGE)),
                               tb.tb_lineno)
            found = (name, where)
        tb = tb.tb_next
    return found


def warning_message(exc):
    """The failure message of a numerical warning (raised as an error) inside
    the package: it names the function first, e.g. "softmax_loss overflowed
    at large scores: shift each row ...", or None outside the package."""
    fn, where = _function_at_fault(exc.__traceback__)
    if fn is None:
        return None
    short = fn.rsplit('.', 1)[-1] if fn.split('.')[0] not in ('TwoLayerNet',
                                                             'FullyConnectedNet') else fn
    text = str(exc)
    kind = next((k for k in ('overflow', 'divide', 'invalid') if k in text), '')
    hint = WARNING_HINTS.get((short, kind)) or WARNING_HINTS.get((short, ''))
    if hint is None:
        hint = 'a numerical warning inside %s: look for a value that grows without bound, a ' \
               'division by zero or the log of 0' % short
    return '%s %s (numpy: %s, at %s)' % (short, hint, text, where)


# The files whose functions you write; an exception raised in them (numpy's
# "shapes (2,4,5,6) and (120,3) not aligned", an IndexError, ...) fails the
# test with a message that names the function first.
YOUR_FILES = ('cs231n/layers.py', 'cs231n/layer_utils.py', 'cs231n/classifiers/fc_net.py',
              'cs231n/optim.py')

# What such an exception usually means, by function and by words of numpy's message.
ERROR_HINTS = {
    ('affine_forward', ('aligned', 'core dimension', 'broadcast')):
        'is x reshaped into rows of D = d_1 * ... * d_k values before the product with w, as '
        'the TODO says?',
}


def error_message(exc):
    """The failure message of an exception raised inside a function of
    YOUR_FILES, naming the function first: "affine_forward raised ValueError:
    shapes (2,4,5,6) and (120,3) not aligned ... (at cs231n/layers.py:41): is
    x reshaped ...?"; None if the exception comes from elsewhere or its
    message already starts with the function's name (the given code's one-line
    refusals)."""
    fn, where = _function_at_fault(exc.__traceback__)
    if fn is None or not where.startswith(YOUR_FILES):
        return None
    short = fn.rsplit('.', 1)[-1] if fn.split('.')[0] not in ('TwoLayerNet',
                                                             'FullyConnectedNet') else fn
    text = str(exc).strip()
    if text.startswith((short, fn)):
        return None
    hint = next((h for (f, words), h in ERROR_HINTS.items()
                 if f == short and any(w in text for w in words)), '')
    return '%s raised %s: %s (at %s)%s' % (short, type(exc).__name__, text.splitlines()[0]
                                           if text else '', where, ': ' + hint if hint else '')


# The tests of the layers run first, then those of what is built on them, so
# that the first failure names the function at fault rather than a net that
# calls it.
MODULE_ORDER = ['test_layers', 'test_layer_utils', 'test_optim', 'test_gradient_check',
                'test_fc_net', 'test_solver']


def pytest_collection_modifyitems(session, config, items):
    def rank(item):
        name = item.module.__name__.rsplit('.', 1)[-1] if getattr(item, 'module', None) else ''
        return MODULE_ORDER.index(name) if name in MODULE_ORDER else len(MODULE_ORDER)
    items.sort(key=rank)          # stable: the order within a module is kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """A RuntimeWarning (an error in this self-check) raised inside the
    package's code, or an exception raised inside your code (not a stub's
    NotImplementedError), fails the test with a message that names that
    function first."""
    outcome = yield
    excinfo = outcome.excinfo
    if excinfo is None or not issubclass(excinfo[0], Exception):
        return
    if issubclass(excinfo[0], RuntimeWarning):
        message = warning_message(excinfo[1])
    elif issubclass(excinfo[0], (AssertionError, NotImplementedError)):
        message = None
    else:
        message = error_message(excinfo[1])
    if message is not None:
        outcome.force_exception(AssertionError(message))


@pytest.fixture(autouse=True)
def _isolate_global_rng():
    """Save numpy's global random state before each test and restore it after."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)


@pytest.fixture
def rng():
    """A private seeded generator, for tests that need random data but no
    particular reference draw."""
    return np.random.RandomState(0)


def grad_error(analytic, numeric, atol=0.0, tol=1.0):
    """Elementwise relative error between two gradients, and where it peaks.

    error_i = |a_i - n_i| / max(|a_i| + |n_i|, 1e-8, atol / tol)

    With atol = 0 the maximum is the notebooks' rel_error. A positive atol is
    the noise of the numerical gradient: entries smaller than atol / tol are
    then judged by their absolute difference (error < tol iff |a - n| < atol),
    since a finite difference cannot resolve them to relative precision.

    Returns (max error, index of the max, array of errors).
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    assert a.shape == n.shape, 'gradient shapes differ: analytic %s, numerical %s' % (
        a.shape, n.shape)
    denom = np.maximum(np.abs(a) + np.abs(n), max(1e-8, atol / tol))
    err = np.abs(a - n) / denom
    if err.size == 0:
        return 0.0, (), err
    ix = tuple(int(i) for i in np.unravel_index(np.argmax(err), err.shape))
    return float(err[ix]), ix, err


def _check_grad(what, analytic, numeric, tol, atol=0.0):
    """Assert that an analytic gradient matches a numerical one.

    Inputs:
    - what: The function and the gradient, for the message: "affine_backward: dw"
    - analytic, numeric: Arrays of the same shape
    - tol: Largest relative error accepted (exclusive)
    - atol: Noise floor of the numerical gradient (see grad_error)
    """
    assert analytic is not None, '%s is None' % what
    assert np.shape(analytic) == np.shape(numeric), (
        '%s has shape %s, expected %s (the shape of what it is the gradient of)'
        % (what, np.shape(analytic), np.shape(numeric)))
    assert np.all(np.isfinite(analytic)), '%s is not finite: %s' % (what, analytic)
    err, ix, _ = grad_error(analytic, numeric, atol=atol, tol=tol)
    a, n = np.asarray(analytic)[ix], np.asarray(numeric)[ix]
    floor = ' (noise floor %.1e)' % atol if atol else ''
    if not err < tol:
        raise AssertionError('%s relative error %.1e (expected < %.0e)%s; worst entry %s: '
                             'analytic %.10g, numerical %.10g' % (what, err, tol, floor, ix, a, n))
    return err


@pytest.fixture
def check_grad():
    """`check_grad(what, analytic, numeric, tol, atol=0.0)`: see _check_grad."""
    return _check_grad


class NetGradChecks(dict):
    """{name: (analytic, numerical, noise_floor)}, with the model, the data
    and the step they came from (for the diagnosis of a failed check)."""
    model = X = y = h = None


def _noise_floor(loss, h):
    """About ten times the rounding error of a centered difference of a
    float64 loss at step h."""
    return 10 * EPS64 * max(abs(loss), 1.0) / h


def _net_grad_check(model, X, y, h=1e-5, names=None):
    """Analytic and numerical gradients of the parameters of `model`.

    The numerical gradient is the centered difference of
    eval_numerical_gradient with step h, of every parameter (or of those in
    `names`).

    Returns (loss, {name: (analytic, numerical, noise_floor)}), the dict a
    NetGradChecks. The noise floor is 10 * eps * max(|loss|, 1) / h: about
    ten times the rounding error of a centered difference of a float64 loss.
    """
    loss, grads = model.loss(X, y)
    atol = _noise_floor(loss, h)
    f = lambda _: model.loss(X, y)[0]
    result = NetGradChecks()
    result.model, result.X, result.y, result.h = model, X, y, h
    for name in sorted(grads if names is None else names):
        numeric = eval_numerical_gradient(f, model.params[name], verbose=False, h=h)
        result[name] = (grads[name], numeric, atol)
    return loss, result


@pytest.fixture
def net_grad_check():
    """`net_grad_check(model, X, y, h=1e-5, names=None)`: see _net_grad_check."""
    return _net_grad_check


def _assert_net_grads(what, checks, tol):
    """Assert that every gradient of net_grad_check matches its numerical
    gradient; a failure says whether the backward or the forward pass is at
    fault (see _diagnose_net_grad)."""
    errors = {}
    for name, (analytic, numeric, atol) in checks.items():
        try:
            errors[name] = _check_grad('%s: grads[%r]' % (what, name), analytic, numeric, tol,
                                       atol=atol)
        except AssertionError as e:
            raise AssertionError('%s. %s' % (e, _diagnose_net_grad(checks, name, tol))) from None
    return errors


# Smaller steps at which a failed net check is taken again: a centered
# difference's truncation error shrinks with h**2, its rounding error grows
# with 1 / h (the noise floor covers it).
RECHECK_STEPS = (10.0, 100.0)


def _diagnose_net_grad(checks, name, tol):
    """Where to look when grads[name] of a net fails its numerical check: the
    backward pass, if the analytic gradient also disagrees with numerical
    gradients taken at smaller steps; else the forward pass, whose loss bends
    within the check's step (the message names the layers that fail a probe
    of their forward pass)."""
    model, X, y, h = checks.model, checks.X, checks.y, checks.h
    if model is None:
        return ''
    analytic = checks[name][0]
    f = lambda _: model.loss(X, y)[0]
    best = None
    for divisor in RECHECK_STEPS:
        step = h / divisor
        numeric = eval_numerical_gradient(f, model.params[name], verbose=False, h=step)
        err = grad_error(analytic, numeric, atol=_noise_floor(f(None), step), tol=tol)[0]
        if best is None or err < best[1]:
            best = (step, err)
    step, err = best
    if err >= tol:
        return ('The numerical gradient at the smaller step h = %.0e disagrees as well (error '
                '%.1e): the backward pass does not match the forward pass. Look at the backward '
                'pass of %s and of the layers it calls (their own tests run first).'
                % (step, err, type(model).__name__ + '.loss'))
    suspects = forward_suspects(model)
    where = ('; '.join(suspects) if suspects else
             'the layers pass a probe of their forward pass, so look at how %s.loss chains '
             'them' % type(model).__name__)
    return ('At the smaller step h = %.0e the numerical gradient agrees with it (error %.1e): '
            'the backward pass is consistent with the loss that the forward pass computes, but '
            'that loss bends sharply within h = %.0e of these parameters, where the right '
            'forward pass is smooth enough for this check. The forward pass is off: %s.' % (step, err, h, where))


def forward_suspects(model):
    """Messages about the forward passes of the layers `model` uses that fail
    a quick probe: the notebooks' reference outputs of affine_forward and
    relu_forward, and the properties of a normalized output and of a
    dropout mask. [] if every probe passes."""
    from cs231n import layers
    rng = np.random.RandomState(0)
    probes = [('affine_forward', _probe_affine), ('relu_forward', _probe_relu)]
    normalization = getattr(model, 'normalization', None)
    if normalization in ('batchnorm', 'layernorm'):
        probes.append(('%s_forward' % normalization, _probe_norm))
    if getattr(model, 'use_dropout', False):
        probes.append(('dropout_forward', _probe_dropout))
    found = []
    for fn, probe in probes:
        try:
            problem = probe(getattr(layers, fn), fn, rng)
        except Exception as e:  # a refusal or a crash is a finding too
            problem = 'raised %s: %s' % (type(e).__name__, str(e).splitlines()[0][:120])
        if problem:
            found.append('%s %s (see its own tests: pytest tests -k %s)'
                         % (fn, problem, fn.split('_')[0]))
    return found


def _probe_affine(forward, fn, rng):
    x = np.linspace(-0.1, 0.5, num=240).reshape(2, 4, 5, 6)
    w = np.linspace(-0.2, 0.3, num=360).reshape(120, 3)
    b = np.linspace(-0.3, 0.1, num=3)
    want = np.array([[1.49834967, 1.70660132, 1.91485297], [3.25553199, 3.5141327, 3.77273342]])
    out = forward(x, w, b)[0]
    if np.max(np.abs(out - want)) > 1e-7:
        return "differs from the notebook's correct_out"


def _probe_relu(forward, fn, rng):
    x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
    before = x.copy()
    out = forward(x)[0]
    if not np.array_equal(x, before):
        return 'changes its input x'
    want = np.array([[0., 0., 0., 0.], [0., 0., 0.04545455, 0.13636364],
                     [0.22727273, 0.31818182, 0.40909091, 0.5]])
    if np.max(np.abs(out - want)) > 1e-7:
        return "differs from the notebook's correct_out"


def _probe_norm(forward, fn, rng):
    x = rng.randn(6, 5) * (1 + 5 * rng.rand(6, 1)) + 3 * rng.randn(6, 1)
    out = forward(x, np.ones(5), np.zeros(5), {'mode': 'train'})[0]
    axis, what = (0, 'column') if fn.startswith('batchnorm') else (1, 'row')
    means, stds = out.mean(axis=axis), out.std(axis=axis)
    if np.abs(means).max() > 1e-6 or np.abs(stds - 1).max() > 1e-3:
        return ('gives, with gamma 1 and beta 0, %s means up to %.2g and %s stds from %.3g to '
                '%.3g (expected 0 and 1)' % (what, np.abs(means).max(), what, stds.min(),
                                            stds.max()))


def _probe_dropout(forward, fn, rng):
    x = rng.rand(50, 40) + 1
    out = forward(x, {'mode': 'train', 'p': 0.5, 'seed': 0})[0]
    kept = out != 0
    if not np.allclose(out[kept], 2 * x[kept], rtol=1e-6, atol=0) or not 0.4 < kept.mean() < 0.6:
        return 'with p = 0.5 does not keep about half of the units, scaled by 1/p'
    if not np.array_equal(forward(x, {'mode': 'test', 'p': 0.5})[0], x):
        return 'changes its input in test mode'


@pytest.fixture
def assert_net_grads():
    """`assert_net_grads(what, checks, tol)`: see _assert_net_grads."""
    return _assert_net_grads


@pytest.fixture(name='grad_error')
def _grad_error_fixture():
    """`grad_error(analytic, numeric, atol=0.0, tol=1.0)`: see grad_error."""
    return grad_error


def _assert_dtype(what, array, dtype):
    """Assert that a result has the dtype of the inputs, naming the function and
    the result: "dropout_backward returned dx of dtype float64 for float32 input"."""
    got = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
    assert isinstance(array, np.ndarray) and array.dtype == dtype, (
        '%s of dtype %s for %s input' % (what, got, np.dtype(dtype)))


@pytest.fixture
def assert_dtype():
    """`assert_dtype("dropout_backward returned dx", dx, np.float32)`: see _assert_dtype."""
    return _assert_dtype
