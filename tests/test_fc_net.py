"""Tests of TwoLayerNet and FullyConnectedNet (cs231n/classifiers/fc_net.py).

Gradient checks use the notebooks' setup (seed 231; N=2, D=15, H1=20, H2=30,
C=10; weight_scale 5e-2; float64; seed=123 for dropout) and the centered
differences of eval_numerical_gradient, through the `net_grad_check` fixture,
which also counts ReLU kink crossings.

How the errors are judged (see conftest.grad_error): the notebooks'
elementwise relative error, max |a - n| / max(|a| + |n|, 1e-8), must stay
below 1e-5 for every parameter, except that entries smaller than the rounding
noise of the finite difference (10 * eps * |loss| / h, about 5e-10 at h=1e-5)
are judged by their absolute difference. Without that floor the plain net's
W2 shows 2.2e-5 at reg 0, on an entry whose gradient is 5.7e-7: its
difference of 2.5e-11 is the rounding error of the loss (two ulps of 2.3
divided by h), not a kink (no ReLU input changes sign) and not a wrong
gradient. Batchnorm biases b1, b2 have an exact gradient of 0 (the batch mean
cancels them), so only the floor can judge them.
"""
import itertools

import numpy as np
import pytest

from cs231n.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from cs231n.layers import softmax_loss

N, D, H1, H2, C = 2, 15, 20, 30, 10

NORMALIZATIONS = [None, 'batchnorm', 'layernorm']
KEEP_RATIOS = [1, 0.75, 0.5]
REGS = [0, 3.14]


# ---------------------------------------------------------------------------
# TwoLayerNet: the 2019/2020 notebook cells
# ---------------------------------------------------------------------------

@pytest.fixture
def two_layer_setup():
    np.random.seed(231)
    N2, D2, H, C2 = 3, 5, 50, 7
    X = np.random.randn(N2, D2)
    y = np.random.randint(C2, size=N2)
    std = 1e-3
    model = TwoLayerNet(input_dim=D2, hidden_dim=H, num_classes=C2, weight_scale=std)
    return model, X, y, std, (N2, D2, H, C2)


def test_two_layer_net_initialization(two_layer_setup):
    model, _, _, std, (_, D2, H, C2) = two_layer_setup
    W1, b1, W2, b2 = (model.params[k] for k in ('W1', 'b1', 'W2', 'b2'))
    assert W1.shape == (D2, H) and W2.shape == (H, C2) and b1.shape == (H,) and b2.shape == (C2,)
    assert abs(W1.std() - std) < std / 10, 'First layer weights do not seem right'
    assert np.all(b1 == 0), 'First layer biases do not seem right'
    assert abs(W2.std() - std) < std / 10, 'Second layer weights do not seem right'
    assert np.all(b2 == 0), 'Second layer biases do not seem right'


def _two_layer_linspace(model, N2, D2, H, C2):
    model.params['W1'] = np.linspace(-0.7, 0.3, num=D2 * H).reshape(D2, H)
    model.params['b1'] = np.linspace(-0.1, 0.9, num=H)
    model.params['W2'] = np.linspace(-0.3, 0.4, num=H * C2).reshape(H, C2)
    model.params['b2'] = np.linspace(-0.9, 0.1, num=C2)
    return np.linspace(-5.5, 4.5, num=N2 * D2).reshape(D2, N2).T


def test_two_layer_net_scores_and_losses_match_notebook(two_layer_setup):
    model, _, _, _, dims = two_layer_setup
    X = _two_layer_linspace(model, *dims)
    scores = model.loss(X)
    correct_scores = np.asarray(
        [[11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434, 15.33206765, 16.09215096],
         [12.05769098, 12.74614105, 13.43459113, 14.1230412, 14.81149128, 15.49994135, 16.18839143],
         [12.58373087, 13.20054771, 13.81736455, 14.43418138, 15.05099822, 15.66781506, 16.2846319]])
    diff = np.abs(scores - correct_scores).sum()
    assert diff < 1e-6, 'TwoLayerNet test-time scores differ from the notebook by %.1e' % diff

    y = np.asarray([0, 5, 1])
    loss, _ = model.loss(X, y)
    assert abs(loss - 3.4702243556) < 1e-10, 'TwoLayerNet loss %.12f, expected 3.4702243556' % loss
    model.reg = 1.0
    loss, _ = model.loss(X, y)
    assert abs(loss - 26.5948426952) < 1e-10, (
        'TwoLayerNet loss with reg=1.0 is %.12f, expected 26.5948426952 (L2 is 0.5 * reg * '
        'sum(W**2) over the weights only)' % loss)


@pytest.mark.parametrize('reg', [0.0, 0.7], ids=['reg0', 'reg0.7'])
def test_two_layer_net_gradients(two_layer_setup, reg, net_grad_check, assert_net_grads):
    model, _, _, _, dims = two_layer_setup
    X = _two_layer_linspace(model, *dims)
    y = np.asarray([0, 5, 1])
    model.reg = reg
    _, checks, kinks = net_grad_check(model, X, y, h=1e-5)
    assert sorted(checks) == ['W1', 'W2', 'b1', 'b2']
    # The notebook's reference errors are at most 2.5e-7.
    assert_net_grads('TwoLayerNet (reg %s)' % reg, checks, kinks, tol=1e-6)


# ---------------------------------------------------------------------------
# FullyConnectedNet: initial losses of the notebooks
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('normalization, expected', [
    (None, (2.3004790897684924, 7.052114776533016)),
    ('batchnorm', (2.2611955101340957, 6.996533220108303)),
], ids=['plain', 'batchnorm'])
def test_initial_losses_match_notebook(normalization, expected):
    # One seed, then both models drawn from the continuing stream, as in the notebook.
    np.random.seed(231)
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=N)
    for reg, want in zip(REGS, expected):
        model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, reg=reg,
                                  weight_scale=5e-2, dtype=np.float64,
                                  normalization=normalization)
        loss, _ = model.loss(X, y)
        assert abs(loss - want) < 1e-12, (
            'FullyConnectedNet(%s, reg=%s): initial loss %r, expected %r'
            % (normalization, reg, loss, want))


def test_dropout_notebook_sequence(net_grad_check, assert_net_grads):
    """The Dropout notebook's cell: one seed(231), then for each keep ratio a
    model, its loss and its gradient checks. The dropout layers reseed the
    GLOBAL generator with 123 on every call, so the weights of the later
    models depend on those calls: the sequence is reproduced as it is."""
    np.random.seed(231)
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=N)
    expected = {1: 2.300479089768492, 0.75: 2.302371489704412, 0.5: 2.30427592207859}
    for keep in KEEP_RATIOS:
        model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, weight_scale=5e-2,
                                  dtype=np.float64, dropout_keep_ratio=keep, seed=123)
        loss, _ = model.loss(X, y)
        assert abs(loss - expected[keep]) < 1e-12, (
            'dropout_keep_ratio=%s: initial loss %r, expected %r' % (keep, loss, expected[keep]))
        _, checks, kinks = net_grad_check(model, X, y, h=1e-5)
        assert_net_grads('dropout_keep_ratio=%s' % keep, checks, kinks, tol=1e-5)


# ---------------------------------------------------------------------------
# FullyConnectedNet: gradient checks of every combination
# ---------------------------------------------------------------------------

def _combo_id(combo):
    normalization, keep, reg = combo
    return '%s-keep%s-reg%s' % (normalization or 'plain', keep, reg)


COMBOS = list(itertools.product(NORMALIZATIONS, KEEP_RATIOS, REGS))


@pytest.mark.parametrize('normalization, keep, reg', COMBOS, ids=[_combo_id(c) for c in COMBOS])
def test_fc_net_gradients(normalization, keep, reg, net_grad_check, assert_net_grads):
    np.random.seed(231)
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=N)
    model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, reg=reg,
                              weight_scale=5e-2, dtype=np.float64,
                              normalization=normalization, dropout_keep_ratio=keep, seed=123)
    # With N=2, batchnorm's output for layer-1 feature 17 is +-0.46 rather than
    # +-1: its two inputs differ by 3.3e-3, close to sqrt(eps) = 3.2e-3, where
    # x_hat = d / sqrt(d**2 + eps) bends sharply. At h=1e-5 the centered
    # difference of W1 then carries an O(h**2) truncation error of 1.3e-3 on a
    # gradient of -6.13 (relative 1.1e-4, the "W1 ~1.1e-4" of the notebook); no
    # ReLU input changes sign. h=1e-6 cuts that error 100-fold
    # (test_batchnorm_w1_error_is_truncation_not_a_kink shows it).
    h = 1e-6 if normalization == 'batchnorm' else 1e-5
    _, checks, kinks = net_grad_check(model, X, y, h=h)

    expected = {'W1', 'W2', 'W3', 'b1', 'b2', 'b3'}
    if normalization:
        expected |= {'gamma1', 'gamma2', 'beta1', 'beta2'}
    assert set(checks) == expected, 'gradients for %s, expected %s' % (sorted(checks), sorted(expected))
    assert_net_grads(_combo_id((normalization, keep, reg)), checks, kinks, tol=1e-5)


def test_batchnorm_w1_error_is_truncation_not_a_kink(net_grad_check, grad_error):
    """Why the batchnorm nets are checked with h=1e-6 (see test_fc_net_gradients)."""
    np.random.seed(231)
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=N)
    model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, weight_scale=5e-2,
                              dtype=np.float64, normalization='batchnorm')
    errors = {}
    for h in (1e-5, 1e-6):
        _, checks, kinks = net_grad_check(model, X, y, h=h, names=['W1'])
        assert kinks == 0
        analytic, numeric, atol = checks['W1']
        errors[h] = grad_error(analytic, numeric, atol=atol, tol=1e-5)
    (err5, ix5, _), (err6, _, all6) = errors[1e-5], errors[1e-6]
    assert 5e-5 < err5 < 5e-4, 'W1 error at h=1e-5 is %.1e, the notebook reports ~1.1e-4' % err5
    # O(h**2): the same entry is about 100 times more accurate at h=1e-6.
    assert all6[ix5] < err5 / 30, 'W1%s: error %.1e at h=1e-5, %.1e at h=1e-6' % (
        ix5, err5, all6[ix5])
    assert err6 < 1e-5


# ---------------------------------------------------------------------------
# FullyConnectedNet: structure
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('normalization', NORMALIZATIONS, ids=['plain', 'batchnorm', 'layernorm'])
def test_fc_net_parameters(normalization):
    hidden = [7, 6, 5]
    np.random.seed(0)
    model = FullyConnectedNet(hidden, input_dim=8, num_classes=4, weight_scale=0.5,
                              normalization=normalization, dtype=np.float64)
    dims = [8] + hidden + [4]
    expected = {}
    for i in range(1, 5):
        expected['W%d' % i] = (dims[i - 1], dims[i])
        expected['b%d' % i] = (dims[i],)
        if normalization and i < 4:       # the last affine layer is never normalized
            expected['gamma%d' % i] = expected['beta%d' % i] = (dims[i],)
    assert {k: v.shape for k, v in model.params.items()} == expected
    assert model.num_layers == 4
    for k, v in model.params.items():
        if k.startswith('b') or k.startswith('beta'):
            assert np.all(v == 0), '%s must start at zero' % k
        elif k.startswith('gamma'):
            assert np.all(v == 1), '%s must start at one' % k
    all_w = np.concatenate([model.params['W%d' % i].ravel() for i in range(1, 5)])
    assert abs(all_w.std() - 0.5) < 0.1 and abs(all_w.mean()) < 0.1
    expected_bn = {'batchnorm': [{'mode': 'train'}] * 3, 'layernorm': [{}] * 3, None: []}
    assert model.bn_params == expected_bn[normalization]


def test_dropout_param_and_use_dropout():
    assert FullyConnectedNet([3], input_dim=4).dropout_param == {}
    assert not FullyConnectedNet([3], input_dim=4).use_dropout
    model = FullyConnectedNet([3], input_dim=4, dropout_keep_ratio=0.3, seed=5)
    assert model.use_dropout
    assert model.dropout_param == {'mode': 'train', 'p': 0.3, 'seed': 5}
    assert 'seed' not in FullyConnectedNet([3], input_dim=4, dropout_keep_ratio=0.3).dropout_param


@pytest.mark.parametrize('normalization', NORMALIZATIONS, ids=['plain', 'batchnorm', 'layernorm'])
def test_l2_regularizes_weights_only(normalization):
    rng = np.random.RandomState(0)
    X, y = rng.randn(5, 6), rng.randint(3, size=5)
    kwargs = dict(input_dim=6, num_classes=3, dtype=np.float64, normalization=normalization)
    np.random.seed(1)
    plain = FullyConnectedNet([4, 5], reg=0.0, **kwargs)
    np.random.seed(1)
    reg = FullyConnectedNet([4, 5], reg=0.8, **kwargs)
    for k in reg.params:                   # non-zero biases, gammas and betas
        if not k.startswith('W'):
            reg.params[k] += rng.rand(*reg.params[k].shape)
            plain.params[k] = reg.params[k].copy()
    loss0, grads0 = plain.loss(X, y)
    loss1, grads1 = reg.loss(X, y)
    penalty = 0.5 * 0.8 * sum(np.sum(reg.params['W%d' % i] ** 2) for i in (1, 2, 3))
    assert abs((loss1 - loss0) - penalty) < 1e-12, (
        'reg adds %.12f to the loss, expected 0.5 * reg * sum(W**2) = %.12f'
        % (loss1 - loss0, penalty))
    for k in grads1:
        extra = 0.8 * reg.params[k] if k.startswith('W') else 0
        assert np.allclose(grads1[k], grads0[k] + extra, rtol=1e-12, atol=1e-14), (
            'grad of %s: reg must add reg * W to weights and nothing to other params' % k)


# ---------------------------------------------------------------------------
# FullyConnectedNet: test-time behaviour of the normalization layers
# ---------------------------------------------------------------------------

def _manual_scores(model, X, normalize):
    """Test-time forward pass written out with numpy."""
    h = X.reshape(len(X), -1)
    L = model.num_layers
    for i in range(1, L):
        a = h @ model.params['W%d' % i] + model.params['b%d' % i]
        a = normalize(i, a) * model.params['gamma%d' % i] + model.params['beta%d' % i]
        h = np.maximum(a, 0)
    return h @ model.params['W%d' % L] + model.params['b%d' % L]


def test_batchnorm_test_time_uses_running_stats(rng):
    np.random.seed(0)
    model = FullyConnectedNet([6, 5], input_dim=8, num_classes=3, normalization='batchnorm',
                              dtype=np.float64, weight_scale=0.3)
    for _ in range(5):                     # populate the running statistics
        Xb = rng.randn(10, 8) * 2 + 1
        model.loss(Xb, rng.randint(3, size=10))
    stats = [(p['running_mean'].copy(), p['running_var'].copy()) for p in model.bn_params]
    assert all(np.any(m != 0) and np.any(v != 0) for m, v in stats)

    X = rng.randn(7, 8) * 3 - 2
    scores = model.loss(X)
    expected = _manual_scores(model, X, lambda i, a: (a - stats[i - 1][0]) / np.sqrt(
        stats[i - 1][1] + 1e-5))
    assert np.allclose(scores, expected, rtol=1e-12, atol=1e-12), (
        'test-time batchnorm does not normalize with running_mean / running_var')
    for p, (m, v) in zip(model.bn_params, stats):
        assert np.array_equal(p['running_mean'], m) and np.array_equal(p['running_var'], v), \
            'a test-time forward pass changed the running statistics'
    # each row's scores depend on that row only
    for i in range(len(X)):
        assert np.allclose(model.loss(X[i:i + 1])[0], scores[i], rtol=1e-13, atol=1e-13)
    # while in train mode the batch statistics are used, which differ
    batch_mode = _manual_scores(model, X, lambda i, a: (a - a.mean(0)) / np.sqrt(a.var(0) + 1e-5))
    assert not np.allclose(scores, batch_mode)


def test_layernorm_same_in_train_and_test(rng):
    np.random.seed(0)
    model = FullyConnectedNet([6, 5], input_dim=8, num_classes=3, normalization='layernorm',
                              dtype=np.float64, weight_scale=0.3, reg=0.2)
    for k in model.params:                 # move gamma and beta away from 1 and 0
        model.params[k] += 0.1 * rng.randn(*model.params[k].shape)
    X, y = rng.randn(7, 8), rng.randint(3, size=7)
    scores = model.loss(X)
    expected = _manual_scores(model, X, lambda i, a: (a - a.mean(1, keepdims=True)) / np.sqrt(
        a.var(1, keepdims=True) + 1e-5))
    assert np.allclose(scores, expected, rtol=1e-12, atol=1e-12)
    # The train-mode loss is the softmax loss of the same scores.
    loss, _ = model.loss(X, y)
    penalty = 0.5 * 0.2 * sum(np.sum(model.params['W%d' % i] ** 2) for i in (1, 2, 3))
    train_scores_loss = softmax_loss(scores, y)[0] + penalty
    assert abs(loss - train_scores_loss) < 1e-12, (
        'layernorm: the train-mode loss %r is not the loss of the test-mode scores (%r)'
        % (loss, train_scores_loss))
    for i in range(len(X)):
        assert np.allclose(model.loss(X[i:i + 1])[0], scores[i], rtol=1e-13, atol=1e-13)


# ---------------------------------------------------------------------------
# float32 models
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('normalization', NORMALIZATIONS, ids=['plain', 'batchnorm', 'layernorm'])
@pytest.mark.parametrize('keep', [1, 0.5], ids=['no_dropout', 'dropout'])
def test_float32_model_forward_and_backward(normalization, keep, rng):
    np.random.seed(0)
    model = FullyConnectedNet([6, 5], input_dim=12, num_classes=3, normalization=normalization,
                              dropout_keep_ratio=keep, reg=0.1)
    X = rng.randn(4, 3, 2, 2)              # float64 data, as get_CIFAR10_data gives
    y = rng.randint(3, size=4)
    loss, grads = model.loss(X, y)
    scores = model.loss(X)
    assert np.isfinite(loss)
    bad = {k: v.dtype for k, v in itertools.chain(
        (('param ' + k, v) for k, v in model.params.items()),
        (('grad ' + k, v) for k, v in grads.items()),
        [('scores', scores)]) if v.dtype != np.float32}
    for i, p in enumerate(model.bn_params):
        for k in ('running_mean', 'running_var'):
            if k in p and p[k].dtype != np.float32:
                bad['bn_params[%d][%s]' % (i, k)] = p[k].dtype
    assert not bad, 'float32 model produced other dtypes: %s' % bad


def test_two_layer_net_float32(rng):
    np.random.seed(0)
    model = TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=3, dtype=np.float32, reg=0.1)
    X, y = rng.randn(4, 6), rng.randint(3, size=4)
    loss, grads = model.loss(X, y)
    assert model.loss(X).dtype == np.float32
    assert all(v.dtype == np.float32 for v in list(grads.values()) + list(model.params.values()))
