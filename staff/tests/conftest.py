"""Staff tests share the public suite's fixtures (rng, check_grad, ...), and add:

- a gradient check that counts ReLU kink crossings (it needs the package's
  internals);
- the grading tests' fixtures: a starter (written once per session by
  staff.release), the rubric, a folder for a module's submissions, and the
  Gradescope bundle. The helpers that build submissions and run the platforms
  live in submissions.py and platforms.py beside this file."""
import numpy as np
import pytest

import cs231n.classifiers.fc_net
import cs231n.layer_utils
from cs231n.gradient_check import eval_numerical_gradient
from tests.conftest import *  # noqa: F401,F403
from tests.conftest import EPS64


class _KinkCounter:
    """Records which ReLU inputs are positive on every forward pass."""

    def __init__(self, relu_forward):
        self.recording = None
        self._relu_forward = relu_forward

    def relu_forward(self, x):
        if self.recording is not None:
            self.recording.append(x > 0)
        return self._relu_forward(x)


def _kink_grad_check(model, X, y, h=1e-5, names=None):
    """Analytic and numerical gradients of the parameters of `model`, and the
    number of ReLU kink crossings while the numerical gradient ran.

    Every ReLU input (the model answer's relu_forward, wherever fc_net and
    layer_utils call it) is compared with the unperturbed pass: a
    perturbation that moves an input across 0 makes the finite difference
    meaningless for that entry.

    Returns (loss, {name: (analytic, numerical, noise_floor)}, kinks), where
    kinks counts the (perturbed pass, ReLU layer) pairs with a crossing.
    """
    counter = _KinkCounter(cs231n.layer_utils.relu_forward)
    with pytest.MonkeyPatch.context() as mp:
        for module in (cs231n.layer_utils, cs231n.classifiers.fc_net):
            mp.setattr(module, 'relu_forward', counter.relu_forward)
        counter.recording = []
        loss, grads = model.loss(X, y)
        baseline = counter.recording
        assert baseline, 'no ReLU was recorded: the kink counter misses the forward pass'
        kinks = 0

        def f(_):
            nonlocal kinks
            counter.recording = []
            value = model.loss(X, y)[0]
            kinks += sum(int(np.any(now != then))
                         for now, then in zip(counter.recording, baseline))
            return value

        atol = 10 * EPS64 * max(abs(loss), 1.0) / h
        result = {}
        for name in sorted(grads if names is None else names):
            numeric = eval_numerical_gradient(f, model.params[name], verbose=False, h=h)
            result[name] = (grads[name], numeric, atol)
        return loss, result, kinks


@pytest.fixture
def kink_grad_check():
    """`kink_grad_check(model, X, y, h=1e-5, names=None)`: see _kink_grad_check."""
    return _kink_grad_check


@pytest.fixture(scope='session')
def starter(tmp_path_factory):
    """A fresh student starter, written by staff.release (never modified by a test)."""
    from staff.release import starter as REL
    out = tmp_path_factory.mktemp('grading') / 'starter'
    REL.release(str(out))
    return str(out)


@pytest.fixture(scope='session')
def rubric():
    from staff.grading import grader
    return grader.load_rubric()


@pytest.fixture(scope='module')
def subs(tmp_path_factory):
    """A folder for this module's submission zips."""
    return tmp_path_factory.mktemp('submissions')


@pytest.fixture(scope='session')
def bundle(tmp_path_factory):
    """The Gradescope autograder bundle, built by staff.grading.autograder."""
    from staff.grading import autograder
    out = str(tmp_path_factory.mktemp('bundle') / 'autograder.zip')
    autograder.build(out)
    return out
