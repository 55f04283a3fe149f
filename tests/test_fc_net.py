"""Self-check of TwoLayerNet and FullyConnectedNet (cs231n/classifiers/fc_net.py).

Reference numbers are the notebooks' (scores, initial losses); gradient
checks use the notebooks' setup (seed 231; N=2, D=15, H1=20, H2=30, C=10;
weight_scale 5e-2; float64; seed=123 for dropout) and the centered
differences of eval_numerical_gradient, through the `net_grad_check` fixture.
Everything else is a property that a correct network has, however its code
is written.

How the errors are judged (see conftest.grad_error): the notebooks'
elementwise relative error, max |a - n| / max(|a| + |n|, 1e-8), must stay
below 1e-5 for every parameter, except that entries smaller than the rounding
noise of the finite difference (10 * eps * |loss| / h, about 5e-10 at h=1e-5)
are judged by their absolute difference. Without that floor the plain net's
W2 shows 2.2e-5 at reg 0, on an entry whose gradient is 5.7e-7: its
difference of 2.5e-11 is the rounding error of the loss, not a wrong
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


def drawn_with_std(W, std):
    """True if W's mean and std fit W.size Gaussian draws of mean 0 and std `std`,
    within six standard errors: any correct way of drawing them passes (other
    calls, another order), a weight scale that is off by a third or more does not."""
    n = W.size
    return abs(W.std() / std - 1) < 6 / np.sqrt(2 * n) and abs(W.mean()) < 6 * std / np.sqrt(n)


def test_two_layer_net_initialization(two_layer_setup):
    model, _, _, std, (_, D2, H, C2) = two_layer_setup
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {'W1': (D2, H), 'b1': (H,), 'W2': (H, C2), 'b2': (C2,)}, (
        'TwoLayerNet.__init__: params has the shapes %s' % shapes)
    W1, b1, W2, b2 = (model.params[k] for k in ('W1', 'b1', 'W2', 'b2'))
    assert drawn_with_std(W1, std), 'TwoLayerNet.__init__: W1 has mean %g and std %g, expected ' \
        '0 and %g' % (W1.mean(), W1.std(), std)
    assert np.all(b1 == 0), 'TwoLayerNet.__init__: b1 must start at zero'
    assert drawn_with_std(W2, std), 'TwoLayerNet.__init__: W2 has mean %g and std %g, expected ' \
        '0 and %g' % (W2.mean(), W2.std(), std)
    assert np.all(b2 == 0), 'TwoLayerNet.__init__: b2 must start at zero'


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
    assert diff < 1e-6, (
        'TwoLayerNet.loss: test-time scores differ from the notebook\'s by %.1e in sum '
        '(expected < 1e-6)' % diff)

    y = np.asarray([0, 5, 1])
    loss, _ = model.loss(X, y)
    assert abs(loss - 3.4702243556) < 1e-10, (
        'TwoLayerNet.loss: loss %.12f, the notebook expects 3.4702243556 (difference %.1e)'
        % (loss, abs(loss - 3.4702243556)))
    model.reg = 1.0
    loss, _ = model.loss(X, y)
    assert abs(loss - 26.5948426952) < 1e-10, (
        'TwoLayerNet.loss: loss with reg=1.0 is %.12f, the notebook expects 26.5948426952 '
        '(difference %.1e; see the NOTE on the L2 term in the TODO)'
        % (loss, abs(loss - 26.5948426952)))


@pytest.mark.parametrize('reg', [0.0, 0.7], ids=['reg0', 'reg0.7'])
def test_two_layer_net_gradients(two_layer_setup, reg, net_grad_check, assert_net_grads):
    model, _, _, _, dims = two_layer_setup
    X = _two_layer_linspace(model, *dims)
    y = np.asarray([0, 5, 1])
    model.reg = reg
    _, checks = net_grad_check(model, X, y, h=1e-5)
    assert sorted(checks) == ['W1', 'W2', 'b1', 'b2']
    # The notebook's reference errors are at most 2.5e-7.
    assert_net_grads('TwoLayerNet.loss (reg %s)' % reg, checks, tol=1e-6)


# ---------------------------------------------------------------------------
# Both nets: scores are unbounded and not affine in X
# ---------------------------------------------------------------------------

def _random_net(net, rng):
    np.random.seed(7)
    if net == 'TwoLayerNet':
        model = TwoLayerNet(input_dim=6, hidden_dim=9, num_classes=5, weight_scale=1.0)
    else:
        model = FullyConnectedNet([9, 8], input_dim=6, num_classes=5, weight_scale=1.0,
                                  dtype=np.float64)
    for k in model.params:
        if k.startswith('b'):
            model.params[k] = model.params[k] + rng.randn(*model.params[k].shape)
    return model


@pytest.mark.parametrize('net', ['TwoLayerNet', 'FullyConnectedNet'])
def test_scores_can_be_negative(net, rng):
    """Scores feed the softmax, which takes any real number: with random
    weights and biases many of them are negative."""
    model = _random_net(net, rng)
    scores = model.loss(rng.randn(20, 6))
    assert np.any(scores < 0), (
        '%s.loss: every score is >= 0 (for random weights): is a ReLU applied to the output '
        'layer? The last affine layer gives the scores directly' % net)


@pytest.mark.parametrize('net', ['TwoLayerNet', 'FullyConnectedNet'])
def test_scores_are_not_affine_in_the_input(net, rng):
    """Without its hidden ReLUs a net is an affine map of X, for which
    scores(X) + scores(-X) = 2 scores(0). The ReLUs make the net bend."""
    model = _random_net(net, rng)
    X = rng.randn(20, 6)
    bend = model.loss(X) + model.loss(-X) - 2 * model.loss(np.zeros_like(X))
    assert np.abs(bend).max() > 1e-6, (
        '%s.loss: the scores are an affine function of X (scores(X) + scores(-X) = '
        '2 scores(0)): is a ReLU applied after every hidden affine layer?' % net)


def test_two_layer_net_loss_grows_with_reg(rng):
    np.random.seed(1)
    model = TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=3, weight_scale=0.5)
    X, y = rng.randn(4, 6), rng.randint(3, size=4)
    losses = []
    for reg in (0.0, 0.5, 1.0):
        model.reg = reg
        losses.append(model.loss(X, y)[0])
    extra = losses[1] - losses[0]
    assert extra > 1e-6, 'TwoLayerNet.loss: reg=0.5 adds %r to the loss, expected more' % extra
    assert abs((losses[2] - losses[0]) - 2 * extra) < 1e-10, (
        'TwoLayerNet.loss: the penalty must be proportional to reg: reg=0.5 adds %.12f, '
        'reg=1.0 adds %.12f' % (extra, losses[2] - losses[0]))


# ---------------------------------------------------------------------------
# FullyConnectedNet: initial losses of the notebooks
# ---------------------------------------------------------------------------

def test_each_batchnorm_layer_keeps_its_own_bn_param(rng):
    """After a training step, bn_params[i] holds the running statistics of
    hidden layer i + 1, whose width they have."""
    model = FullyConnectedNet([7, 5], input_dim=6, num_classes=3, normalization='batchnorm',
                              dtype=np.float64)
    try:
        model.loss(rng.randn(4, 6), rng.randint(3, size=4))
    except ValueError as e:
        if 'bn_param' not in str(e):
            raise
        raise AssertionError(
            'FullyConnectedNet.loss: a batchnorm layer got a bn_param holding running statistics '
            "of another width (%s): does each hidden layer use its own dict of self.bn_params?"
            % e) from None
    sizes = [np.size(p.get('running_mean')) for p in model.bn_params]
    assert sizes == [7, 5], (
        'FullyConnectedNet.loss: after a training step the running means in self.bn_params '
        'have %s entries, expected 7 and 5 (one bn_param per hidden layer, updated by that '
        'layer)' % sizes)


@pytest.mark.parametrize('normalization, expected', [
    (None, (2.3004790897684924, 7.052114776533016)),
    ('batchnorm', (2.2611955101340957, 6.996533220108303)),
], ids=['plain', 'batchnorm'])
def test_initial_losses_match_notebook(normalization, expected):
    # One seed, then both models drawn from the continuing stream, as in the
    # notebook: weights drawn in the order W1, W2, W3.
    np.random.seed(231)
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=N)
    for reg, want in zip(REGS, expected):
        model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, reg=reg,
                                  weight_scale=5e-2, dtype=np.float64,
                                  normalization=normalization)
        loss, _ = model.loss(X, y)
        assert abs(loss - want) < 1e-12, (
            'FullyConnectedNet(normalization=%s, reg=%s): initial loss %r, the notebook expects '
            '%r (difference %.1e)' % (normalization, reg, loss, want, abs(loss - want)))


def test_dropout_notebook_sequence(net_grad_check, assert_net_grads):
    """The Dropout notebook's cell: one seed(231), then for each keep ratio a
    model, its loss and its gradient checks. The dropout layers reseed the
    GLOBAL generator with 123 on every call, so the weights of the later
    models depend on those calls, and their losses on how the mask is drawn:
    only the loss without dropout is the notebook's number; with dropout, the
    loss of these small weights must stay near log(C), whatever valid mask
    was drawn, and the gradients must pass the numerical check."""
    np.random.seed(231)
    X = np.random.randn(N, D)
    y = np.random.randint(C, size=N)
    for keep in KEEP_RATIOS:
        model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, weight_scale=5e-2,
                                  dtype=np.float64, dropout_keep_ratio=keep, seed=123)
        loss, _ = model.loss(X, y)
        if keep == 1:
            assert abs(loss - 2.300479089768492) < 1e-12, (
                'FullyConnectedNet.loss: initial loss %r, the notebook expects '
                '2.300479089768492 (difference %.1e)' % (loss, abs(loss - 2.300479089768492)))
        else:
            # With the mask rand(*x.shape) < p the notebook printed 2.3024 (0.75), 2.3043 (0.5).
            assert abs(loss - np.log(C)) < 0.02, (
                'FullyConnectedNet.loss (dropout_keep_ratio=%s): initial loss %r, expected '
                'log(%d) = %.4f +- 0.02 for weights this small' % (keep, loss, C, np.log(C)))
        _, checks = net_grad_check(model, X, y, h=1e-5)
        assert_net_grads('FullyConnectedNet.loss (dropout_keep_ratio=%s)' % keep, checks,
                         tol=1e-5)


def test_dropout_net_applies_dropout(rng):
    """With dropout the training loss depends on the mask, so on the seed of
    dropout_param (test mode: the next test)."""
    X, y = rng.randn(6, 5), rng.randint(3, size=6)
    losses = []
    for seed in (1, 2):
        np.random.seed(0)
        model = FullyConnectedNet([8, 7], input_dim=5, num_classes=3, weight_scale=0.5,
                                  dtype=np.float64, dropout_keep_ratio=0.5, seed=seed)
        losses.append(model.loss(X, y)[0])
    assert losses[0] != losses[1], (
        'FullyConnectedNet.loss (dropout_keep_ratio=0.5): two dropout seeds give the same '
        'training loss %r: is self.dropout_param passed to a dropout layer after every hidden '
        'ReLU?' % losses[0])


@pytest.mark.parametrize('normalization', NORMALIZATIONS, ids=['plain', 'batchnorm', 'layernorm'])
def test_dropout_net_drops_nothing_in_test_mode(normalization, rng):
    """Test mode (y=None) drops no unit: the scores of a net with dropout do
    not depend on the dropout seed, and equal those of the same net (the same
    weights) without dropout."""
    X, y = rng.randn(6, 5), rng.randint(3, size=6)
    scores = {}
    for keep, seed in ((1, None), (0.5, 1), (0.5, 2)):
        np.random.seed(0)
        model = FullyConnectedNet([8, 7], input_dim=5, num_classes=3, weight_scale=0.5,
                                  dtype=np.float64, dropout_keep_ratio=keep, seed=seed,
                                  normalization=normalization)
        if normalization != 'batchnorm':   # (whose running statistics the masks would move)
            model.loss(X, y)               # a training step first, as the Solver does
        scores[keep, seed] = model.loss(X)
    what = 'FullyConnectedNet.loss (dropout_keep_ratio=0.5%s)' % (
        ', %s' % normalization if normalization else '')
    assert np.allclose(scores[0.5, 1], scores[0.5, 2], rtol=1e-12, atol=1e-12), (
        '%s: in test mode (y=None) the scores depend on the seed of dropout_param, by up to '
        '%.2g: test mode must not drop units; do the dropout layers get self.dropout_param, '
        'whose mode the given code sets?' % (what, np.abs(scores[0.5, 1] - scores[0.5, 2]).max()))
    assert np.allclose(scores[0.5, 1], scores[1, None], rtol=1e-12, atol=1e-12), (
        '%s: in test mode (y=None) the scores differ from those of the same net without '
        'dropout by up to %.2g: test mode passes every unit through unchanged'
        % (what, np.abs(scores[0.5, 1] - scores[1, None]).max()))


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
    # the normalization bends sharply. At h=1e-5 the centered difference of W1
    # then carries an O(h**2) truncation error of relative 1.1e-4 (the
    # notebook's "W1 ~1.1e-4"). How close other features come to that bend
    # depends on the dropout mask: at h=1e-6 some valid masks still leave a
    # truncation error of 1.1e-5 (13 masks tried); h=1e-7 cuts it another
    # 100-fold, to at most 2.1e-6, while the rounding error it raises
    # (eps * |loss| / h, about 2e-8 here) stays under the noise floor.
    h = 1e-7 if normalization == 'batchnorm' else 1e-5
    _, checks = net_grad_check(model, X, y, h=h)

    expected = {'W1', 'W2', 'W3', 'b1', 'b2', 'b3'}
    if normalization:
        expected |= {'gamma1', 'gamma2', 'beta1', 'beta2'}
    assert set(checks) == expected, (
        'FullyConnectedNet.loss: grads has the keys %s, expected %s'
        % (sorted(checks), sorted(expected)))
    assert_net_grads('FullyConnectedNet.loss (%s)' % _combo_id((normalization, keep, reg)),
                     checks, tol=1e-5)


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
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == expected, (
        'FullyConnectedNet.__init__ (normalization=%s): params has the shapes %s, expected %s'
        % (normalization, shapes, expected))
    assert model.num_layers == 4
    for k, v in model.params.items():
        if k.startswith('b') or k.startswith('beta'):
            assert np.all(v == 0), 'FullyConnectedNet.__init__: %s must start at zero' % k
        elif k.startswith('gamma'):
            assert np.all(v == 1), 'FullyConnectedNet.__init__: %s must start at one' % k
    all_w = np.concatenate([model.params['W%d' % i].ravel() for i in range(1, 5)])
    assert drawn_with_std(all_w, 0.5), (
        'FullyConnectedNet.__init__: the weights have mean %.3f and std %.3f, expected 0 and '
        'weight_scale = 0.5' % (all_w.mean(), all_w.std()))


@pytest.mark.parametrize('normalization', NORMALIZATIONS, ids=['plain', 'batchnorm', 'layernorm'])
def test_l2_regularization(normalization, net_grad_check, assert_net_grads):
    """The L2 penalty grows with reg, does not depend on the data, touches only
    the weights, and its gradient passes the numerical check."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(5, 6), rng.randint(3, size=5)
    X2, y2 = rng.randn(5, 6), rng.randint(3, size=5)
    kwargs = dict(input_dim=6, num_classes=3, dtype=np.float64, normalization=normalization,
                  weight_scale=0.3)
    models = {}
    for reg in (0.0, 0.4, 0.8):
        np.random.seed(1)
        models[reg] = FullyConnectedNet([4, 5], reg=reg, **kwargs)
    for k in models[0.0].params:           # non-zero biases, gammas and betas
        if not k.startswith('W'):
            models[0.0].params[k] += rng.rand(*models[0.0].params[k].shape)
            for reg in (0.4, 0.8):
                models[reg].params[k] = models[0.0].params[k].copy()
    (loss0, grads0), (loss4, grads4), (loss8, grads8) = (models[r].loss(X, y)
                                                          for r in (0.0, 0.4, 0.8))
    what = 'FullyConnectedNet.loss (%s)' % (normalization or 'no normalization')
    extra4, extra8 = loss4 - loss0, loss8 - loss0
    assert extra4 > 1e-6, '%s: reg=0.4 adds %r to the loss, expected a positive amount' % (
        what, extra4)
    assert abs(extra8 - 2 * extra4) < 1e-12, (
        '%s: the penalty must be proportional to reg: reg=0.4 adds %.12f, reg=0.8 adds %.12f'
        % (what, extra4, extra8))
    other = models[0.8].loss(X2, y2)[0] - models[0.0].loss(X2, y2)[0]
    assert abs(other - extra8) < 1e-12, (
        '%s: the penalty depends on the data: %.12f on one batch, %.12f on another'
        % (what, extra8, other))
    for k in grads8:
        if not k.startswith('W'):
            assert np.allclose(grads8[k], grads0[k], rtol=1e-12, atol=1e-14), (
                '%s: reg changed the gradient of %s; only the weights are regularized'
                % (what, k))
        else:
            assert not np.allclose(grads8[k], grads0[k], rtol=1e-6, atol=0), (
                '%s: reg did not change the gradient of %s' % (what, k))
    model = models[0.8]
    h = 1e-6 if normalization == 'batchnorm' else 1e-5
    _, checks = net_grad_check(model, X, y, h=h)
    assert_net_grads('%s, reg 0.8' % what, checks, tol=1e-5)


# ---------------------------------------------------------------------------
# FullyConnectedNet: train and test mode of the normalization layers
# ---------------------------------------------------------------------------

def _set_bn_momentum(model, momentum):
    for bn_param in model.bn_params:
        bn_param['momentum'] = momentum


def test_batchnorm_test_mode_uses_running_stats(rng):
    """With momentum 0 the running statistics are those of the last training
    batch, so test mode on that batch computes what train mode did: its scores
    give the train-time loss. Test mode changes no running statistic, treats
    every row on its own, and is not normalized away on a batch of identical
    rows, which train mode normalizes to the same loss whatever the row."""
    np.random.seed(0)
    model = FullyConnectedNet([6, 5], input_dim=8, num_classes=3, normalization='batchnorm',
                              dtype=np.float64, weight_scale=0.3)
    for k in model.params:                 # move gamma and beta away from 1 and 0
        if k.startswith(('gamma', 'beta')):
            model.params[k] += 0.2 * rng.randn(*model.params[k].shape)
    for _ in range(3):                     # populate the running statistics
        model.loss(rng.randn(10, 8) * 2 + 1, rng.randint(3, size=10))
    X, y = rng.randn(7, 8) * 3 - 2, rng.randint(3, size=7)

    _set_bn_momentum(model, 0.0)
    train_loss, _ = model.loss(X, y)
    stats = [(p['running_mean'].copy(), p['running_var'].copy()) for p in model.bn_params]
    scores = model.loss(X)
    test_loss = softmax_loss(scores, y)[0]
    assert abs(test_loss - train_loss) < 1e-10, (
        'FullyConnectedNet with batchnorm: with momentum 0, test mode on the last training '
        'batch gives the loss %r, train mode gave %r: test mode must normalize with '
        'running_mean and running_var' % (test_loss, train_loss))
    for i, (p, (m, v)) in enumerate(zip(model.bn_params, stats)):
        assert np.array_equal(p['running_mean'], m) and np.array_equal(p['running_var'], v), \
            'FullyConnectedNet: a test-time forward pass changed bn_params[%d]' % i
    for i in range(len(X)):
        assert np.allclose(model.loss(X[i:i + 1])[0], scores[i], rtol=1e-12, atol=1e-12), (
            'FullyConnectedNet with batchnorm: in test mode row %d scores differently alone '
            'than in the batch' % i)

    _set_bn_momentum(model, 0.9)
    const_a, const_b = np.tile(X[:1], (4, 1)), np.tile(X[1:2], (4, 1))
    y4 = np.array([0, 1, 2, 0])
    assert not np.allclose(model.loss(const_a), model.loss(const_b)), (
        'FullyConnectedNet with batchnorm: in test mode two different inputs give the same '
        'scores')
    loss_a, loss_b = model.loss(const_a, y4)[0], model.loss(const_b, y4)[0]
    assert abs(loss_a - loss_b) < 1e-10, (
        'FullyConnectedNet with batchnorm: in train mode a batch of identical rows normalizes '
        'to the same activations whatever the row, but the losses differ: %r and %r'
        % (loss_a, loss_b))


def test_layernorm_same_in_train_and_test(rng):
    np.random.seed(0)
    model = FullyConnectedNet([6, 5], input_dim=8, num_classes=3, normalization='layernorm',
                              dtype=np.float64, weight_scale=0.3)
    for k in model.params:                 # move gamma and beta away from 1 and 0
        model.params[k] += 0.1 * rng.randn(*model.params[k].shape)
    X, y = rng.randn(7, 8), rng.randint(3, size=7)
    scores = model.loss(X)
    loss, _ = model.loss(X, y)
    test_loss = softmax_loss(scores, y)[0]
    assert abs(loss - test_loss) < 1e-12, (
        'FullyConnectedNet with layernorm: the train-mode loss %r is not the loss of the '
        'test-mode scores (%r)' % (loss, test_loss))
    for i in range(len(X)):
        assert np.allclose(model.loss(X[i:i + 1])[0], scores[i], rtol=1e-12, atol=1e-12), (
            'FullyConnectedNet with layernorm: row %d scores differently alone than in the '
            'batch' % i)


# ---------------------------------------------------------------------------
# float32 models
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('normalization', NORMALIZATIONS, ids=['plain', 'batchnorm', 'layernorm'])
@pytest.mark.parametrize('keep', [1, 0.5], ids=['no_dropout', 'dropout'])
def test_float32_model_forward_and_backward(normalization, keep, rng, assert_dtype):
    np.random.seed(0)
    model = FullyConnectedNet([6, 5], input_dim=12, num_classes=3, normalization=normalization,
                              dropout_keep_ratio=keep, reg=0.1)
    X = rng.randn(4, 3, 2, 2)              # float64 data, as get_CIFAR10_data gives
    y = rng.randint(3, size=4)
    loss, grads = model.loss(X, y)
    scores = model.loss(X)
    what = 'FullyConnectedNet(dtype=np.float32, normalization=%s, dropout_keep_ratio=%s)' % (
        normalization, keep)
    assert np.isfinite(loss), '%s: loss %r' % (what, loss)
    for k, v in model.params.items():
        assert_dtype('%s: params[%r] is' % (what, k), v, np.float32)
    for k, v in grads.items():
        assert_dtype('%s.loss returned grads[%r]' % (what, k), v, np.float32)
    assert_dtype('%s.loss returned scores' % what, scores, np.float32)
    for i, p in enumerate(model.bn_params):
        for k in ('running_mean', 'running_var'):
            if k in p:
                assert_dtype('%s: bn_params[%d][%r] is' % (what, i, k), p[k], np.float32)


def test_two_layer_net_float32(rng, assert_dtype):
    np.random.seed(0)
    model = TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=3, dtype=np.float32, reg=0.1)
    X, y = rng.randn(4, 6), rng.randint(3, size=4)
    loss, grads = model.loss(X, y)
    assert_dtype('TwoLayerNet(dtype=np.float32).loss returned scores', model.loss(X), np.float32)
    for k in model.params:
        assert_dtype('TwoLayerNet(dtype=np.float32): params[%r] is' % k, model.params[k],
                     np.float32)
        assert_dtype('TwoLayerNet(dtype=np.float32).loss returned grads[%r]' % k, grads[k],
                     np.float32)
