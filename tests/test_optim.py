"""Self-check of the update rules in cs231n/optim.py.

Each rule is checked on the notebook's setup (w, dw and the state as
linspace fills of shape (4, 5)) against the expected arrays the notebook
prints, to their 8 decimals, and for properties that every correct update
has. An update may change w in place or return a new array: the tests only
use the next_w it returns.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from cs231n import optim

N, D = 4, 5
RULES = ['sgd', 'sgd_momentum', 'rmsprop', 'adam']
STATE = {'sgd': (), 'sgd_momentum': ('velocity',), 'rmsprop': ('cache',), 'adam': ('m', 'v', 't')}
# The defaults the docstrings of cs231n/optim.py give (the given code fills them in).
DEFAULTS = {
    'sgd': {'learning_rate': 1e-2},
    'sgd_momentum': {'learning_rate': 1e-2, 'momentum': 0.9},
    'rmsprop': {'learning_rate': 1e-2, 'decay_rate': 0.99, 'epsilon': 1e-8},
    'adam': {'learning_rate': 1e-3, 'beta1': 0.9, 'beta2': 0.999, 'epsilon': 1e-8},
}


def lin(a, b):
    return np.linspace(a, b, num=N * D).reshape(N, D)


def assert_printed(what, actual, printed, decimals=8):
    """`actual` rounds to the notebook's printed array."""
    printed = np.asarray(printed)
    assert isinstance(actual, np.ndarray) and actual.shape == printed.shape, (
        '%s is %r, expected an array of shape %s' % (what, actual, printed.shape))
    diff = np.abs(actual - printed)
    ix = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape))
    assert diff[ix] <= 0.5 * 10.0 ** -decimals + 1e-15, (
        '%s differs from the notebook\'s expected array by up to %.1e (more than rounding to '
        '%d decimals); at %s: got %.10f, expected %.8f'
        % (what, diff[ix], decimals, ix, actual[ix], printed[ix]))


def step(rule, w, dw, config=None):
    """One update on copies of w and dw; returns (next_w, config)."""
    next_w, config = getattr(optim, rule)(w.copy(), dw.copy(), config)
    assert isinstance(next_w, np.ndarray) and next_w.shape == w.shape, (
        '%s returned next_w = %r, expected an array of shape %s' % (rule, next_w, w.shape))
    return next_w, config


# ---------------------------------------------------------------------------
# The notebook's checks
# ---------------------------------------------------------------------------

REFERENCE = json.loads(
    Path(__file__).with_name('optim_reference.json').read_text(encoding='utf-8'))


@pytest.mark.parametrize('rule', ['sgd_momentum', 'rmsprop', 'adam'])
def test_update_matches_notebook(rule):
    """One step on the notebook's setup gives the arrays the notebook expects."""
    config = {k: lin(*v) if isinstance(v, list) else v
              for k, v in REFERENCE[rule]['config'].items()}
    t = config.get('t')
    next_w, config = step(rule, lin(-0.4, 0.6), lin(-0.6, 0.4), config)
    if t is not None:
        assert config['t'] == t + 1, (
            "%s: config['t'] is %r after one step from t=%d, expected %d (increment t before "
            "using it)" % (rule, config['t'], t, t + 1))
    for key, printed in REFERENCE[rule]['expected'].items():
        actual = next_w if key == 'next_w' else config[key]
        assert_printed('%s: %s' % (rule, key if key == 'next_w' else "config['%s']" % key),
                       actual, printed)


# ---------------------------------------------------------------------------
# Properties of every rule
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('rule', RULES)
def test_zero_learning_rate_leaves_w_unchanged(rule):
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    config = None
    for k in range(3):
        config = dict(config or {}, learning_rate=0.0)
        next_w, config = step(rule, w, dw, config)
        assert np.allclose(next_w, w, rtol=0, atol=1e-15), (
            '%s: step %d with learning_rate 0 moved w by up to %.1e'
            % (rule, k + 1, np.max(np.abs(next_w - w))))


@pytest.mark.parametrize('rule', RULES)
def test_update_moves_against_the_gradient(rule):
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    dw[dw == 0] = 0.1
    next_w, _ = step(rule, w, dw)
    moved = next_w - w
    wrong = np.sign(moved) != -np.sign(dw)
    assert not wrong.any(), (
        '%s: the first step from a fresh config moves %d of %d weights along their gradient '
        'or not at all, expected every weight to move against it'
        % (rule, wrong.sum(), wrong.size))


@pytest.mark.parametrize('rule', RULES)
def test_defaults_and_state_kept_in_config(rule):
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    _, config = step(rule, w, dw)
    for key, value in DEFAULTS[rule].items():
        assert config.get(key) == value, (
            '%s: config[%r] is %r after a call without config, expected the default %r'
            % (rule, key, config.get(key), value))
    for key in STATE[rule]:
        assert key in config, '%s: config has no %r after a step' % (rule, key)
        if key != 't':
            assert isinstance(config[key], np.ndarray) and config[key].shape == w.shape, (
                "%s: config[%r] is %r, expected an array shaped like w"
                % (rule, key, config[key]))


@pytest.mark.parametrize('rule', RULES)
def test_next_step_depends_only_on_the_state_in_config(rule):
    """The second step from a config must equal a first step from a fresh
    config that holds copies of the same state: everything a rule remembers
    lives in config."""
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    dw2 = lin(0.3, -0.5)
    lr = {'sgd': 1e-2, 'sgd_momentum': 1e-2, 'rmsprop': 1e-2, 'adam': 1e-3}[rule]
    w1, config = step(rule, w, dw, {'learning_rate': lr})
    copied = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in config.items()}
    w2, _ = step(rule, w1, dw2, config)
    w2_again, _ = step(rule, w1, dw2, copied)
    assert np.allclose(w2, w2_again, rtol=1e-14, atol=1e-15), (
        '%s: two steps in a row differ from the same second step made from a copy of the '
        'config by up to %.1e' % (rule, np.max(np.abs(w2 - w2_again))))
    if rule != 'sgd':
        fresh, _ = step(rule, w1, dw2, {'learning_rate': lr})
        assert not np.allclose(w2, fresh, rtol=1e-6, atol=0), (
            '%s: the second step ignores the state that the first step stored in config' % rule)


@pytest.mark.parametrize('rule, key', [(rule, key) for rule in RULES for key in DEFAULTS[rule]])
def test_every_hyperparameter_in_config_is_read(rule, key):
    """Two steps with config[key] moved away from its default must differ from
    two steps with the default: a rule that hard-codes a value ignores it."""
    w, dw, dw2 = lin(-0.4, 0.6), lin(-0.6, 0.4), lin(0.3, -0.5)

    def two_steps(config):
        w1, config = step(rule, w, dw, config)
        return step(rule, w1, dw2, config)[0]
    base = dict(DEFAULTS[rule])
    moved = dict(base, **{key: 0.1 if key == 'epsilon' else base[key] * 0.5})
    a, b = two_steps(dict(base)), two_steps(moved)
    assert not np.allclose(a, b, rtol=1e-9, atol=0), (
        "%s: changing config['%s'] from %g to %g changes nothing in two steps: is it read from "
        "config (not a number written in the code)?" % (rule, key, base[key], moved[key]))


def test_momentum_zero_is_sgd():
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    expected, _ = step('sgd', w, dw, {'learning_rate': 0.05})
    config = {'learning_rate': 0.05, 'momentum': 0.0}
    got, config = step('sgd_momentum', w, dw, config)
    got2, _ = step('sgd_momentum', got, dw, config)
    expected2, _ = step('sgd', expected, dw, {'learning_rate': 0.05})
    for what, a, b in (('first', got, expected), ('second', got2, expected2)):
        assert np.allclose(a, b, rtol=1e-13, atol=1e-15), (
            'sgd_momentum with momentum 0: the %s step differs from sgd by up to %.1e'
            % (what, np.max(np.abs(a - b))))


def test_adam_counts_steps_from_zero():
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    next_w, config = step('adam', w, dw)
    assert config['t'] == 1, "adam: config['t'] is %r after the first call, expected 1" % (
        config['t'],)
    # Bias correction makes the very first step about learning_rate long for
    # every weight, whatever the size of its gradient.
    moved = np.abs(next_w - w)
    assert np.allclose(moved, 1e-3, rtol=1e-4), (
        'adam: the first step from a fresh config moves the weights by %.3g to %.3g, expected '
        'about learning_rate = 1e-3 each (is the bias correction complete?)'
        % (moved.min(), moved.max()))
    _, config = step('adam', next_w, dw, config)
    assert config['t'] == 2


@pytest.mark.parametrize('rule', RULES)
def test_update_keeps_float32(rule, assert_dtype):
    w = lin(-0.4, 0.6).astype(np.float32)
    dw = lin(-0.6, 0.4).astype(np.float32)
    update = getattr(optim, rule)
    config = None
    for _ in range(3):
        w, config = update(w, dw, config)
    assert_dtype('%s returned next_w' % rule, w, np.float32)
    for key in STATE[rule]:
        if key != 't':
            assert_dtype("%s left config[%r]" % (rule, key), config[key], np.float32)
