"""Tests of the update rules in cs231n/optim.py.

Each rule is checked twice on the notebook's setup (w, dw and the state as
linspace fills of shape (4, 5)): against the values the notebook's expected
arrays start and end with (to their 8 printed decimals), and against the
textbook formula written out here for every entry.
"""
import math

import numpy as np
import pytest

from cs231n import optim

N, D = 4, 5


def lin(a, b):
    return np.linspace(a, b, num=N * D).reshape(N, D)


def assert_printed(what, actual, index, printed):
    """actual.flat[index] rounds to the notebook's 8-decimal value."""
    got = actual.flat[index]
    assert abs(got - printed) <= 5e-9 + 1e-15, (
        '%s[%d] = %.10f, the notebook expects %.8f' % (what, index, got, printed))


def assert_formula(what, actual, expected, tol=1e-12):
    err = np.max(np.abs(actual - expected) / np.maximum(1e-8, np.abs(actual) + np.abs(expected)))
    assert err < tol, '%s: relative error %.1e to the textbook formula' % (what, err)


def test_sgd():
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    expected = w - 0.1 * dw
    next_w, config = optim.sgd(w.copy(), dw, {'learning_rate': 0.1})
    assert_formula('sgd next_w', next_w, expected)
    assert config == {'learning_rate': 0.1}


def test_sgd_momentum_matches_notebook():
    w, dw, v = lin(-0.4, 0.6), lin(-0.6, 0.4), lin(0.6, 0.9)
    lr, mu = 1e-3, 0.9
    v_expected = mu * v - lr * dw
    w_expected = w + v_expected

    next_w, config = optim.sgd_momentum(w.copy(), dw, {'learning_rate': lr, 'velocity': v.copy()})
    velocity = config['velocity']
    for i, value in ((0, 0.1406), (1, 0.20738947), (2, 0.27417895), (18, 1.34281053),
                     (19, 1.4096)):
        assert_printed('sgd_momentum next_w', next_w, i, value)
    for i, value in ((0, 0.5406), (1, 0.55475789), (19, 0.8096)):
        assert_printed('sgd_momentum velocity', velocity, i, value)
    assert_formula('sgd_momentum next_w', next_w, w_expected)
    assert_formula('sgd_momentum velocity', velocity, v_expected)


def test_sgd_momentum_defaults_and_state():
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    next_w, config = optim.sgd_momentum(w.copy(), dw)
    assert config['learning_rate'] == 1e-2 and config['momentum'] == 0.9
    assert_formula('first step (zero velocity)', next_w, w - 1e-2 * dw)
    # the second step builds on the stored velocity
    v1 = -1e-2 * dw
    next_w2, config = optim.sgd_momentum(next_w, dw, config)
    assert_formula('second step', next_w2, w + v1 + (0.9 * v1 - 1e-2 * dw))


def test_rmsprop_matches_notebook():
    w, dw, cache = lin(-0.4, 0.6), lin(-0.6, 0.4), lin(0.6, 0.9)
    lr, rho, eps = 1e-2, 0.99, 1e-8
    cache_expected = rho * cache + (1 - rho) * dw ** 2
    w_expected = w - lr * dw / (np.sqrt(cache_expected) + eps)

    next_w, config = optim.rmsprop(w.copy(), dw, {'learning_rate': lr, 'cache': cache.copy()})
    for i, value in ((0, -0.39223849), (1, -0.34037513), (19, 0.59576619)):
        assert_printed('rmsprop next_w', next_w, i, value)
    for i, value in ((0, 0.5976), (1, 0.6126277), (19, 0.8926)):
        assert_printed('rmsprop cache', config['cache'], i, value)
    assert_formula('rmsprop next_w', next_w, w_expected)
    assert_formula('rmsprop cache', config['cache'], cache_expected)
    assert config['decay_rate'] == 0.99 and config['epsilon'] == 1e-8


def _adam_textbook(w, dw, m, v, t, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step from step count t (t is incremented first)."""
    t = t + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v, t


def test_adam_matches_notebook():
    w, dw, m, v = lin(-0.4, 0.6), lin(-0.6, 0.4), lin(0.6, 0.9), lin(0.7, 0.5)
    w_expected, m_expected, v_expected, _ = _adam_textbook(w, dw, m, v, t=5)

    config = {'learning_rate': 1e-2, 'm': m.copy(), 'v': v.copy(), 't': 5}
    next_w, config = optim.adam(w.copy(), dw, config)
    for i, value in ((0, -0.40094747), (1, -0.34836187), (19, 0.59801459)):
        assert_printed('adam next_w', next_w, i, value)
    for i, value in ((0, 0.69966), (1, 0.68908382), (19, 0.49966)):
        assert_printed('adam v', config['v'], i, value)
    for i, value in ((0, 0.48), (1, 0.49947368), (19, 0.85)):
        assert_printed('adam m', config['m'], i, value)
    assert config['t'] == 6, 'adam: t is %r after one step from t=5, expected 6' % config['t']
    assert_formula('adam next_w', next_w, w_expected)
    assert_formula('adam m', config['m'], m_expected)
    assert_formula('adam v', config['v'], v_expected)


def test_adam_bias_correction_uses_beta_to_the_power_t():
    """From t=5 the step must use beta1**6 and beta2**6: with beta2**2 (or t=5)
    the step differs by far more than the tolerance."""
    w, dw, m, v = lin(-0.4, 0.6), lin(-0.6, 0.4), lin(0.6, 0.9), lin(0.7, 0.5)
    expected, _, _, _ = _adam_textbook(w, dw, m, v, t=5)
    next_w, _ = optim.adam(w.copy(), dw, {'learning_rate': 1e-2, 'm': m.copy(),
                                          'v': v.copy(), 't': 5})
    assert_formula('adam next_w from t=5', next_w, expected)
    # the alternatives this test must tell apart
    m1, v1 = 0.9 * m + 0.1 * dw, 0.999 * v + 0.001 * dw ** 2
    for wrong_t1, wrong_t2 in ((6, 2), (5, 5), (2, 2)):
        wrong = w - 1e-2 * (m1 / (1 - 0.9 ** wrong_t1)) / (
            np.sqrt(v1 / (1 - 0.999 ** wrong_t2)) + 1e-8)
        err = np.max(np.abs(wrong - next_w) / (np.abs(wrong) + np.abs(next_w)))
        assert err > 1e-5, 'beta1**%d, beta2**%d: %.1e' % (wrong_t1, wrong_t2, err)


def test_adam_increments_t_before_use():
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    next_w, config = optim.adam(w.copy(), dw)
    assert config['t'] == 1, 'adam: t is %r after the first call, expected 1' % config['t']
    # With m = v = 0 and t = 1, m_hat = dw and v_hat = dw**2: the first step is
    # lr * dw / (|dw| + eps), i.e. lr * sign(dw) (t = 0 would divide by zero).
    assert_formula('adam first step', w - next_w, 1e-3 * dw / (np.abs(dw) + 1e-8))
    # and it keeps going with the stored state
    w2 = next_w.copy()
    expected, _, _, _ = _adam_textbook(w2, dw, config['m'].copy(), config['v'].copy(), t=1,
                                       lr=1e-3)
    next_w2, config = optim.adam(next_w, dw, config)
    assert config['t'] == 2
    assert_formula('adam second step', next_w2, expected)


@pytest.mark.parametrize('rule', ['sgd', 'sgd_momentum', 'rmsprop', 'adam'])
def test_update_keeps_float32(rule):
    w = lin(-0.4, 0.6).astype(np.float32)
    dw = lin(-0.6, 0.4).astype(np.float32)
    update = getattr(optim, rule)
    config = None
    for _ in range(3):
        w, config = update(w, dw, config)
    state = {k: v.dtype for k, v in config.items() if isinstance(v, np.ndarray)}
    assert w.dtype == np.float32, '%s: next_w is %s' % (rule, w.dtype)
    assert all(d == np.float32 for d in state.values()), '%s: state dtypes %s' % (rule, state)
    expected_state = {'sgd': set(), 'sgd_momentum': {'velocity'}, 'rmsprop': {'cache'},
                      'adam': {'m', 'v'}}[rule]
    assert set(state) == expected_state
