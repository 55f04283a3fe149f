"""Shared fixtures for the unit tests.

The reference setups of the assignment seed numpy's global generator
(np.random.seed(231)), and the dropout layer reseeds it on every call, so
every test runs with the global random state saved and restored around it:
no test sees another test's draws.

Gradient checks compare an analytic gradient with a centered numerical one
through `check_grad`, which fails with a message that says which gradient is
off, by how much, and where. `net_grad_check` runs the numerical check of
every parameter of a model and also counts ReLU kink crossings, so that a
large error can be told apart from a finite-difference artefact.
"""
import numpy as np
import pytest

import cs231n.layer_utils
from cs231n.gradient_check import eval_numerical_gradient

EPS64 = np.finfo(np.float64).eps


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
    ix = np.unravel_index(np.argmax(err), err.shape)
    return float(err[ix]), ix, err


def _check_grad(what, analytic, numeric, tol, atol=0.0):
    """Assert that an analytic gradient matches a numerical one.

    Inputs:
    - what: Name for the message, e.g. "affine_backward: dw"
    - analytic, numeric: Arrays of the same shape
    - tol: Largest relative error accepted (exclusive)
    - atol: Noise floor of the numerical gradient (see grad_error)
    """
    assert np.shape(analytic) == np.shape(numeric), (
        '%s: analytic gradient has shape %s, numerical %s'
        % (what, np.shape(analytic), np.shape(numeric)))
    assert np.all(np.isfinite(analytic)), '%s: analytic gradient is not finite' % what
    err, ix, _ = grad_error(analytic, numeric, atol=atol, tol=tol)
    a, n = np.asarray(analytic)[ix], np.asarray(numeric)[ix]
    floor = ' (noise floor %.1e)' % atol if atol else ''
    assert err < tol, (
        '%s: relative error %.1e (expected < %.0e)%s; worst entry %s: analytic %.10g, '
        'numerical %.10g' % (what, err, tol, floor, ix, a, n))
    return err


@pytest.fixture
def check_grad():
    """`check_grad(what, analytic, numeric, tol, atol=0.0)`: see _check_grad."""
    return _check_grad


class _KinkCounter:
    """Records which ReLU inputs are positive on every forward pass."""

    def __init__(self):
        self.recording = None

    def relu_forward(self, x, _relu_forward=cs231n.layer_utils.relu_forward):
        if self.recording is not None:
            self.recording.append(x > 0)
        return _relu_forward(x)


def _net_grad_check(model, X, y, h=1e-5, names=None):
    """Analytic and numerical gradients of every parameter of `model`.

    The numerical gradient is the centered difference of
    eval_numerical_gradient with step h. While it runs, every ReLU input is
    compared with the unperturbed pass: a perturbation that moves an input
    across 0 (a "kink") makes the finite difference meaningless for that
    entry, so the number of such crossings is returned too.

    Only the parameters in `names` are checked, if given.

    Returns (loss, {name: (analytic, numerical, noise_floor)}, kinks), where
    kinks counts the (perturbed pass, ReLU layer) pairs with a crossing.
    The noise floor is 10 * eps * max(|loss|, 1) / h: about ten times the
    rounding error of a centered difference of a float64 loss.
    """
    counter = _KinkCounter()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cs231n.layer_utils, 'relu_forward', counter.relu_forward)
        return _grads_and_kinks(counter, model, X, y, h, names)


def _grads_and_kinks(counter, model, X, y, h, names):
    counter.recording = []
    loss, grads = model.loss(X, y)
    baseline = counter.recording
    kinks = 0

    def f(_):
        nonlocal kinks
        counter.recording = []
        value = model.loss(X, y)[0]
        kinks += sum(int(np.any(now != then)) for now, then in zip(counter.recording, baseline))
        return value

    atol = 10 * EPS64 * max(abs(loss), 1.0) / h
    result = {}
    for name in sorted(grads if names is None else names):
        numeric = eval_numerical_gradient(f, model.params[name], verbose=False, h=h)
        result[name] = (grads[name], numeric, atol)
    counter.recording = None
    return loss, result, kinks


@pytest.fixture
def net_grad_check():
    """`net_grad_check(model, X, y, h=1e-5, names=None)`: see _net_grad_check."""
    return _net_grad_check


def _assert_net_grads(what, checks, kinks, tol):
    """Assert that no kink was crossed and every gradient of net_grad_check matches."""
    assert kinks == 0, (
        '%s: %d perturbed forward passes moved a ReLU input across 0, where the numerical '
        'gradient is not valid (choose another seed or a smaller h)' % (what, kinks))
    return {name: _check_grad('%s: %s' % (what, name), analytic, numeric, tol, atol=atol)
            for name, (analytic, numeric, atol) in checks.items()}


@pytest.fixture
def assert_net_grads():
    """`assert_net_grads(what, checks, kinks, tol)`: see _assert_net_grads."""
    return _assert_net_grads


@pytest.fixture(name='grad_error')
def _grad_error_fixture():
    """`grad_error(analytic, numeric, atol=0.0, tol=1.0)`: see grad_error."""
    return grad_error
