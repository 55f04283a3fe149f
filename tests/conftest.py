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
model, and `assert_net_grads` checks them all the same way.
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
    package's code fails the test with a message that names that function."""
    outcome = yield
    excinfo = outcome.excinfo
    if excinfo is not None and issubclass(excinfo[0], RuntimeWarning):
        message = warning_message(excinfo[1])
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
    assert err < tol, (
        '%s relative error %.1e (expected < %.0e)%s; worst entry %s: analytic %.10g, '
        'numerical %.10g' % (what, err, tol, floor, ix, a, n))
    return err


@pytest.fixture
def check_grad():
    """`check_grad(what, analytic, numeric, tol, atol=0.0)`: see _check_grad."""
    return _check_grad


def _net_grad_check(model, X, y, h=1e-5, names=None):
    """Analytic and numerical gradients of the parameters of `model`.

    The numerical gradient is the centered difference of
    eval_numerical_gradient with step h, of every parameter (or of those in
    `names`).

    Returns (loss, {name: (analytic, numerical, noise_floor)}). The noise
    floor is 10 * eps * max(|loss|, 1) / h: about ten times the rounding error
    of a centered difference of a float64 loss.
    """
    loss, grads = model.loss(X, y)
    atol = 10 * EPS64 * max(abs(loss), 1.0) / h
    f = lambda _: model.loss(X, y)[0]
    result = {}
    for name in sorted(grads if names is None else names):
        numeric = eval_numerical_gradient(f, model.params[name], verbose=False, h=h)
        result[name] = (grads[name], numeric, atol)
    return loss, result


@pytest.fixture
def net_grad_check():
    """`net_grad_check(model, X, y, h=1e-5, names=None)`: see _net_grad_check."""
    return _net_grad_check


def _assert_net_grads(what, checks, tol):
    """Assert that every gradient of net_grad_check matches its numerical gradient."""
    return {name: _check_grad('%s: grads[%r]' % (what, name), analytic, numeric, tol, atol=atol)
            for name, (analytic, numeric, atol) in checks.items()}


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
