"""Staff-only: the model answers against the formulas written out, on the
notebooks' setups and on random cases.

These checks spell out what the student writes (update rules, the
normalizations, the dropout mask, the softmax loss and its gradient, the L2
term, the test-time forward pass of FullyConnectedNet, the composition of
the sandwich layer), so they must not ship: the public self-check in tests/
checks the same code against reference numbers, numerical gradients and
behavioural properties only. staff/release/manifest.txt keeps staff/ out of
the release.
"""
import itertools
import warnings

import numpy as np
import pytest

from cs231n import layer_utils, optim
from cs231n.classifiers.fc_net import FullyConnectedNet
from cs231n.layers import (affine_backward, affine_forward, batchnorm_forward, dropout_forward,
                           layernorm_forward, relu_forward, softmax_loss, svm_loss)
from tests.conftest import grad_error

N, D = 4, 5


def lin(a, b):
    return np.linspace(a, b, num=N * D).reshape(N, D)


def assert_formula(what, actual, expected, tol=1e-12):
    err = np.max(np.abs(actual - expected) / np.maximum(1e-8, np.abs(actual) + np.abs(expected)))
    assert err < tol, '%s: relative error %.1e to the formula' % (what, err)


# ---------------------------------------------------------------------------
# Update rules
# ---------------------------------------------------------------------------

def _momentum(w, dw, v, lr=1e-2, mu=0.9):
    v = mu * v - lr * dw
    return w + v, v


def _rmsprop(w, dw, cache, lr=1e-2, rho=0.99, eps=1e-8):
    cache = rho * cache + (1 - rho) * dw ** 2
    return w - lr * dw / (np.sqrt(cache) + eps), cache


def _adam(w, dw, m, v, t, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step from step count t (t is incremented first)."""
    t = t + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v, t


def test_sgd_formula():
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    next_w, config = optim.sgd(w.copy(), dw, {'learning_rate': 0.1})
    assert_formula('sgd next_w', next_w, w - 0.1 * dw)
    assert config == {'learning_rate': 0.1}


def test_sgd_momentum_formula():
    w, dw, v = lin(-0.4, 0.6), lin(-0.6, 0.4), lin(0.6, 0.9)
    w_expected, v_expected = _momentum(w, dw, v, lr=1e-3)
    next_w, config = optim.sgd_momentum(w.copy(), dw, {'learning_rate': 1e-3,
                                                       'velocity': v.copy()})
    assert_formula('sgd_momentum next_w', next_w, w_expected)
    assert_formula('sgd_momentum velocity', config['velocity'], v_expected)
    # defaults, zero velocity, then the stored velocity
    next_w, config = optim.sgd_momentum(w.copy(), dw)
    assert_formula('first step', next_w, w - 1e-2 * dw)
    next_w2, _ = optim.sgd_momentum(next_w.copy(), dw, config)
    v1 = -1e-2 * dw
    assert_formula('second step', next_w2, w + v1 + (0.9 * v1 - 1e-2 * dw))


def test_rmsprop_formula():
    w, dw, cache = lin(-0.4, 0.6), lin(-0.6, 0.4), lin(0.6, 0.9)
    w_expected, cache_expected = _rmsprop(w, dw, cache)
    next_w, config = optim.rmsprop(w.copy(), dw, {'learning_rate': 1e-2, 'cache': cache.copy()})
    assert_formula('rmsprop next_w', next_w, w_expected)
    assert_formula('rmsprop cache', config['cache'], cache_expected)
    assert config['decay_rate'] == 0.99 and config['epsilon'] == 1e-8


def test_adam_formula():
    w, dw, m, v = lin(-0.4, 0.6), lin(-0.6, 0.4), lin(0.6, 0.9), lin(0.7, 0.5)
    w_expected, m_expected, v_expected, _ = _adam(w, dw, m, v, t=5)
    config = {'learning_rate': 1e-2, 'm': m.copy(), 'v': v.copy(), 't': 5}
    next_w, config = optim.adam(w.copy(), dw, config)
    assert config['t'] == 6
    assert_formula('adam next_w', next_w, w_expected)
    assert_formula('adam m', config['m'], m_expected)
    assert_formula('adam v', config['v'], v_expected)


def test_adam_bias_correction_uses_beta_to_the_power_t():
    """From t=5 the step must use beta1**6 and beta2**6: with beta2**2 (or t=5)
    the step differs by far more than the public test's rounding tolerance."""
    w, dw, m, v = lin(-0.4, 0.6), lin(-0.6, 0.4), lin(0.6, 0.9), lin(0.7, 0.5)
    next_w, _ = optim.adam(w.copy(), dw, {'learning_rate': 1e-2, 'm': m.copy(),
                                          'v': v.copy(), 't': 5})
    m1, v1 = 0.9 * m + 0.1 * dw, 0.999 * v + 0.001 * dw ** 2
    for wrong_t1, wrong_t2 in ((6, 2), (5, 5), (2, 2), (6, 5)):
        wrong = w - 1e-2 * (m1 / (1 - 0.9 ** wrong_t1)) / (
            np.sqrt(v1 / (1 - 0.999 ** wrong_t2)) + 1e-8)
        assert np.max(np.abs(wrong - next_w)) > 1e-7, (wrong_t1, wrong_t2)


def test_adam_first_and_second_step():
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    next_w, config = optim.adam(w.copy(), dw)
    assert config['t'] == 1
    # With m = v = 0 and t = 1, m_hat = dw and v_hat = dw**2.
    assert_formula('adam first step', w - next_w, 1e-3 * dw / (np.abs(dw) + 1e-8))
    expected, _, _, _ = _adam(next_w.copy(), dw, config['m'].copy(), config['v'].copy(), t=1,
                              lr=1e-3)
    next_w2, config = optim.adam(next_w.copy(), dw, config)
    assert config['t'] == 2
    assert_formula('adam second step', next_w2, expected)


@pytest.mark.parametrize('rule', ['sgd_momentum', 'rmsprop', 'adam'])
def test_update_rules_on_random_cases(rule):
    rng = np.random.RandomState(5)
    for _ in range(5):
        w, dw = rng.randn(7, 3), rng.randn(7, 3)
        state = {'sgd_momentum': lambda: {'velocity': rng.randn(7, 3)},
                 'rmsprop': lambda: {'cache': rng.rand(7, 3)},
                 'adam': lambda: {'m': rng.randn(7, 3), 'v': rng.rand(7, 3),
                                  't': int(rng.randint(0, 50))}}[rule]()
        lr = float(10 ** rng.uniform(-4, -1))
        config = dict({k: (v.copy() if isinstance(v, np.ndarray) else v)
                       for k, v in state.items()}, learning_rate=lr)
        next_w, config = getattr(optim, rule)(w.copy(), dw, config)
        if rule == 'sgd_momentum':
            expected = _momentum(w, dw, state['velocity'], lr=lr)[0]
        elif rule == 'rmsprop':
            expected = _rmsprop(w, dw, state['cache'], lr=lr)[0]
        else:
            expected = _adam(w, dw, state['m'], state['v'], state['t'], lr=lr)[0]
        assert_formula('%s next_w' % rule, next_w, expected, tol=1e-11)


# ---------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------

def _logsumexp_loss(x, y):
    """Softmax loss computed another way: float64 log-sum-exp via logaddexp."""
    x = np.asarray(x, dtype=np.float64)
    lse = np.logaddexp.reduce(x, axis=1)
    return float(np.mean(lse - x[np.arange(len(y)), y]))


@pytest.mark.parametrize('dtype', [np.float32, np.float64], ids=['float32', 'float64'])
def test_softmax_loss_is_stable_for_large_logits(dtype):
    """The model answer works with log-probabilities, so it stays finite even
    where the probability of the correct class underflows to 0 (the public
    test only requires no overflow)."""
    rng = np.random.RandomState(1)
    x = (1e4 * rng.randn(20, 10)).astype(dtype)
    y = rng.randint(10, size=20)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        loss, dx = softmax_loss(x, y)
    expected = _logsumexp_loss(x, y)
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    assert abs(loss - expected) <= rtol * abs(expected)
    assert dx.dtype == dtype and np.all(np.isfinite(dx))
    # The gradient is (softmax - onehot) / N.
    p = np.exp(x - np.logaddexp.reduce(x.astype(np.float64), axis=1, keepdims=True))
    p[np.arange(20), y] -= 1
    assert np.allclose(dx, p / 20, atol=1e-7)


def test_losses_on_random_cases():
    rng = np.random.RandomState(3)
    for _ in range(5):
        n, c = rng.randint(1, 9), rng.randint(2, 7)
        x, y = 3 * rng.randn(n, c), rng.randint(c, size=n)
        loss, dx = softmax_loss(x, y)
        assert abs(loss - _logsumexp_loss(x, y)) < 1e-12
        margins = np.maximum(0, x - x[np.arange(n), y][:, None] + 1)
        margins[np.arange(n), y] = 0
        assert abs(svm_loss(x, y)[0] - margins.sum() / n) < 1e-12


def test_affine_formula_on_random_cases():
    rng = np.random.RandomState(4)
    x, w, b = rng.randn(3, 2, 4), rng.randn(8, 5), rng.randn(5)
    out, cache = affine_forward(x, w, b)
    assert np.allclose(out, x.reshape(3, -1) @ w + b, rtol=1e-13, atol=1e-13)
    dout = rng.randn(3, 5)
    dx, dw, db = affine_backward(dout, cache)
    assert np.allclose(dx, (dout @ w.T).reshape(x.shape), atol=1e-13)
    assert np.allclose(dw, x.reshape(3, -1).T @ dout, atol=1e-13)
    assert np.allclose(db, dout.sum(0), atol=1e-13)


def test_batchnorm_running_averages_follow_momentum():
    rng = np.random.RandomState(0)
    x1, x2 = rng.randn(8, 4) * 3 + 1, rng.randn(8, 4) - 2
    bn_param = {'mode': 'train', 'momentum': 0.7}
    gamma, beta = np.ones(4), np.zeros(4)
    batchnorm_forward(x1, gamma, beta, bn_param)
    batchnorm_forward(x2, gamma, beta, bn_param)
    # running stats start at 0; biased (divide by N) variance
    mean = 0.7 * (0.3 * x1.mean(0)) + 0.3 * x2.mean(0)
    var = 0.7 * (0.3 * x1.var(0)) + 0.3 * x2.var(0)
    assert np.allclose(bn_param['running_mean'], mean, rtol=1e-12)
    assert np.allclose(bn_param['running_var'], var, rtol=1e-12)


def test_batchnorm_formula_in_both_modes():
    rng = np.random.RandomState(2)
    x, gamma, beta = rng.randn(9, 4) * 4 + 2, rng.randn(4), rng.randn(4)
    bn_param = {'mode': 'train'}
    out, _ = batchnorm_forward(x, gamma, beta, bn_param)
    expected = gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) + beta
    assert np.allclose(out, expected, rtol=1e-12, atol=1e-12)
    bn_param['mode'] = 'test'
    x2 = rng.randn(3, 4)
    out, _ = batchnorm_forward(x2, gamma, beta, bn_param)
    expected = gamma * (x2 - bn_param['running_mean']) / np.sqrt(
        bn_param['running_var'] + 1e-5) + beta
    assert np.allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_layernorm_row_formula():
    rng = np.random.RandomState(0)
    x = rng.randn(6, 7) * rng.rand(6, 1) * 10 + rng.randn(6, 1) * 5
    gamma, beta = rng.randn(7), rng.randn(7)
    out, _ = layernorm_forward(x, gamma, beta, {})
    for i in range(6):
        row = x[i]
        expected = gamma * (row - row.mean()) / np.sqrt(row.var() + 1e-5) + beta
        assert np.allclose(out[i], expected, rtol=1e-12, atol=1e-12)


def test_dropout_mask_formula_and_cache():
    x = np.random.RandomState(0).randn(6, 7)
    out, (param, mask) = dropout_forward(x, {'mode': 'train', 'p': 0.3, 'seed': 11})
    np.random.seed(11)
    expected = x * (np.random.rand(*x.shape) < 0.3) / 0.3
    assert np.allclose(out, expected, rtol=1e-15, atol=0)
    _, cache = dropout_forward(x, {'mode': 'test', 'p': 0.3})
    assert cache[1] is None, 'the model answer keeps no mask in test mode'


# ---------------------------------------------------------------------------
# The sandwich, composed by hand
# ---------------------------------------------------------------------------

def _reference_forward(x, w, b, gamma, beta, normalization, dropout_param):
    """The sandwich composed from the separate layers, returning the ReLU input too."""
    a, _ = affine_forward(x, w, b)
    if normalization == 'batchnorm':
        a, _ = batchnorm_forward(a, gamma, beta, {'mode': 'train'})
    elif normalization == 'layernorm':
        a, _ = layernorm_forward(a, gamma, beta, {})
    out, _ = relu_forward(a)
    if dropout_param is not None:
        out, _ = dropout_forward(out, dict(dropout_param))
    return out, a


@pytest.mark.parametrize('keep', [None, 0.75], ids=['no_dropout', 'dropout0.75'])
@pytest.mark.parametrize('normalization', [None, 'batchnorm', 'layernorm'],
                         ids=['plain', 'batchnorm', 'layernorm'])
def test_sandwich_is_the_layers_chained(normalization, keep):
    rng = np.random.RandomState(231)
    x, w, b = rng.randn(5, 2, 3), rng.randn(6, 7), rng.randn(7)
    gamma, beta = 1 + 0.1 * rng.randn(7), 0.1 * rng.randn(7)
    norm_param = {'mode': 'train'} if normalization == 'batchnorm' else {}
    dropout_param = None if keep is None else {'mode': 'train', 'p': keep, 'seed': 123}
    if normalization is None:
        gamma = beta = None
    out, _ = layer_utils.affine_norm_relu_dropout_forward(
        x, w, b, gamma, beta, norm_param=norm_param, normalization=normalization,
        dropout_param=dropout_param)
    expected, relu_input = _reference_forward(x, w, b, gamma, beta, normalization,
                                              dropout_param)
    assert np.allclose(out, expected, rtol=1e-12, atol=1e-15)
    # The public test's numerical gradients are valid: no ReLU input lies
    # within reach of an h = 1e-5 perturbation of the kink.
    assert np.abs(relu_input).min() > 1e-3


# ---------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('normalization', [None, 'batchnorm', 'layernorm'],
                         ids=['plain', 'batchnorm', 'layernorm'])
def test_l2_term_formula(normalization):
    rng = np.random.RandomState(0)
    X, y = rng.randn(5, 6), rng.randint(3, size=5)
    kwargs = dict(input_dim=6, num_classes=3, dtype=np.float64, normalization=normalization)
    np.random.seed(1)
    plain = FullyConnectedNet([4, 5], reg=0.0, **kwargs)
    np.random.seed(1)
    reg = FullyConnectedNet([4, 5], reg=0.8, **kwargs)
    for k in reg.params:
        if not k.startswith('W'):
            reg.params[k] += rng.rand(*reg.params[k].shape)
            plain.params[k] = reg.params[k].copy()
    loss0, grads0 = plain.loss(X, y)
    loss1, grads1 = reg.loss(X, y)
    penalty = 0.5 * 0.8 * sum(np.sum(reg.params['W%d' % i] ** 2) for i in (1, 2, 3))
    assert abs((loss1 - loss0) - penalty) < 1e-12
    for k in grads1:
        extra = 0.8 * reg.params[k] if k.startswith('W') else 0
        assert np.allclose(grads1[k], grads0[k] + extra, rtol=1e-12, atol=1e-14), k


def _manual_scores(model, X, normalize):
    """Test-time forward pass written out with numpy."""
    h = X.reshape(len(X), -1)
    L = model.num_layers
    for i in range(1, L):
        a = h @ model.params['W%d' % i] + model.params['b%d' % i]
        a = normalize(i, a) * model.params['gamma%d' % i] + model.params['beta%d' % i]
        h = np.maximum(a, 0)
    return h @ model.params['W%d' % L] + model.params['b%d' % L]


def test_batchnorm_net_test_time_formula(rng):
    np.random.seed(0)
    model = FullyConnectedNet([6, 5], input_dim=8, num_classes=3, normalization='batchnorm',
                              dtype=np.float64, weight_scale=0.3)
    for _ in range(5):
        model.loss(rng.randn(10, 8) * 2 + 1, rng.randint(3, size=10))
    stats = [(p['running_mean'].copy(), p['running_var'].copy()) for p in model.bn_params]
    X = rng.randn(7, 8) * 3 - 2
    scores = model.loss(X)
    expected = _manual_scores(model, X, lambda i, a: (a - stats[i - 1][0]) / np.sqrt(
        stats[i - 1][1] + 1e-5))
    assert np.allclose(scores, expected, rtol=1e-12, atol=1e-12)
    batch_mode = _manual_scores(model, X, lambda i, a: (a - a.mean(0)) / np.sqrt(a.var(0) + 1e-5))
    assert not np.allclose(scores, batch_mode)


def test_layernorm_net_formula(rng):
    np.random.seed(0)
    model = FullyConnectedNet([6, 5], input_dim=8, num_classes=3, normalization='layernorm',
                              dtype=np.float64, weight_scale=0.3)
    for k in model.params:
        model.params[k] += 0.1 * rng.randn(*model.params[k].shape)
    X = rng.randn(7, 8)
    expected = _manual_scores(model, X, lambda i, a: (a - a.mean(1, keepdims=True)) / np.sqrt(
        a.var(1, keepdims=True) + 1e-5))
    assert np.allclose(model.loss(X), expected, rtol=1e-12, atol=1e-12)


def test_dropout_param_and_use_dropout():
    assert FullyConnectedNet([3], input_dim=4).dropout_param == {}
    assert not FullyConnectedNet([3], input_dim=4).use_dropout
    model = FullyConnectedNet([3], input_dim=4, dropout_keep_ratio=0.3, seed=5)
    assert model.use_dropout
    assert model.dropout_param == {'mode': 'train', 'p': 0.3, 'seed': 5}
    assert 'seed' not in FullyConnectedNet([3], input_dim=4, dropout_keep_ratio=0.3).dropout_param
    expected_bn = {'batchnorm': [{'mode': 'train'}] * 2, 'layernorm': [{}] * 2, None: []}
    for normalization, bn_params in expected_bn.items():
        assert FullyConnectedNet([3, 3], input_dim=4,
                                 normalization=normalization).bn_params == bn_params


# ---------------------------------------------------------------------------
# The public tolerances: no ReLU kink in the reference setups
# ---------------------------------------------------------------------------

NORMALIZATIONS = [None, 'batchnorm', 'layernorm']
COMBOS = list(itertools.product(NORMALIZATIONS, [1, 0.75, 0.5], [0, 3.14]))


@pytest.mark.parametrize('normalization, keep, reg', COMBOS,
                         ids=['%s-keep%s-reg%s' % (n or 'plain', k, r) for n, k, r in COMBOS])
def test_public_gradient_setups_cross_no_kink(normalization, keep, reg, kink_grad_check):
    """tests/test_fc_net.py judges these setups with tol 1e-5: valid only if no
    perturbation of the numerical gradient moves a ReLU input across 0."""
    np.random.seed(231)
    X = np.random.randn(2, 15)
    y = np.random.randint(10, size=2)
    model = FullyConnectedNet([20, 30], input_dim=15, num_classes=10, reg=reg,
                              weight_scale=5e-2, dtype=np.float64,
                              normalization=normalization, dropout_keep_ratio=keep, seed=123)
    h = 1e-6 if normalization == 'batchnorm' else 1e-5
    _, _, kinks = kink_grad_check(model, X, y, h=h, names=['W1', 'b1'])
    assert kinks == 0


def test_batchnorm_w1_error_is_truncation_not_a_kink(kink_grad_check):
    """Why the batchnorm nets are checked with h=1e-6 in tests/test_fc_net.py."""
    np.random.seed(231)
    X = np.random.randn(2, 15)
    y = np.random.randint(10, size=2)
    model = FullyConnectedNet([20, 30], input_dim=15, num_classes=10, weight_scale=5e-2,
                              dtype=np.float64, normalization='batchnorm')
    errors = {}
    for h in (1e-5, 1e-6):
        _, checks, kinks = kink_grad_check(model, X, y, h=h, names=['W1'])
        assert kinks == 0
        analytic, numeric, atol = checks['W1']
        errors[h] = grad_error(analytic, numeric, atol=atol, tol=1e-5)
    (err5, ix5, _), (err6, _, all6) = errors[1e-5], errors[1e-6]
    assert 5e-5 < err5 < 5e-4, 'W1 error at h=1e-5 is %.1e, the notebook reports ~1.1e-4' % err5
    # O(h**2): the same entry is about 100 times more accurate at h=1e-6.
    assert all6[ix5] < err5 / 30
    assert err6 < 1e-5
