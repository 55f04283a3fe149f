"""Self-check of cs231n/layers.py.

The reference numbers come from the notebooks (FullyConnectedNets,
BatchNormalization, Dropout), reproduced with the notebooks' exact setups:
the same seeds, shapes and linspace fills, drawn in the same order. Gradients
are checked against centered numerical gradients
(eval_numerical_gradient_array, h = 1e-5) in float64. Everything else is a
property that any correct implementation has, however it is written.
"""
import warnings

import numpy as np
import pytest

from cs231n.gradient_check import eval_numerical_gradient_array, rel_error
from cs231n.layers import (affine_backward, affine_forward, batchnorm_backward,
                           batchnorm_backward_alt, batchnorm_forward, dropout_backward,
                           dropout_forward, layernorm_backward, layernorm_forward,
                           relu_backward, relu_forward, softmax_loss, svm_loss)


def assert_close_to_printed(what, actual, printed, decimals=8):
    """Assert that `actual` rounds to the values the notebook printed."""
    actual, printed = np.asarray(actual, dtype=np.float64), np.asarray(printed)
    diff = np.max(np.abs(actual - printed))
    assert diff <= 0.5 * 10.0 ** -decimals + 1e-15, (
        '%s: got %s, the notebook printed %s (max difference %.1e, more than rounding '
        'to %d decimals)' % (what, np.array2string(actual, precision=decimals + 2),
                             printed, diff, decimals))


def assert_rel_error(what, actual, expected, tol):
    """Assert rel_error(actual, expected) < tol, naming the function and the error."""
    assert np.shape(actual) == np.shape(expected), (
        '%s has shape %s, expected %s' % (what, np.shape(actual), np.shape(expected)))
    err = rel_error(actual, expected)
    assert err < tol, '%s relative error %.1e (expected < %.0e)' % (what, err, tol)


# ---------------------------------------------------------------------------
# affine
# ---------------------------------------------------------------------------

def test_affine_forward_matches_notebook():
    num_inputs, input_shape, output_dim = 2, (4, 5, 6), 3
    input_size = num_inputs * np.prod(input_shape)
    weight_size = output_dim * np.prod(input_shape)
    x = np.linspace(-0.1, 0.5, num=input_size).reshape(num_inputs, *input_shape)
    w = np.linspace(-0.2, 0.3, num=weight_size).reshape(np.prod(input_shape), output_dim)
    b = np.linspace(-0.3, 0.1, num=output_dim)

    out, _ = affine_forward(x, w, b)
    correct_out = np.array([[1.49834967, 1.70660132, 1.91485297],
                            [3.25553199, 3.5141327, 3.77273342]])
    # correct_out is printed to 8 decimals: the notebook's error is about 1e-9.
    assert_rel_error('affine_forward: out', out, correct_out, 1e-8)


def test_affine_forward_leaves_its_inputs_unchanged():
    rng = np.random.RandomState(0)
    x, w, b = rng.randn(3, 2, 2), rng.randn(4, 5), rng.randn(5)
    before = [a.copy() for a in (x, w, b)]
    out, cache = affine_forward(x, w, b)
    for name, a, a0 in zip('xwb', (x, w, b), before):
        assert np.array_equal(a, a0), 'affine_forward changed its input %s in place' % name
    affine_backward(np.ones_like(out), cache)
    for name, a, a0 in zip('xwb', (x, w, b), before):
        assert np.array_equal(a, a0), 'affine_backward changed %s, which the cache holds' % name


def test_affine_backward_matches_numerical_gradient(check_grad):
    np.random.seed(231)
    x = np.random.randn(10, 2, 3)
    w = np.random.randn(6, 5)
    b = np.random.randn(5)
    dout = np.random.randn(10, 5)

    dx_num = eval_numerical_gradient_array(lambda x: affine_forward(x, w, b)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda w: affine_forward(x, w, b)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda b: affine_forward(x, w, b)[0], b, dout)
    dx, dw, db = affine_backward(dout, affine_forward(x, w, b)[1])

    check_grad('affine_backward: dx', dx, dx_num, 1e-7)
    check_grad('affine_backward: dw', dw, dw_num, 1e-7)
    check_grad('affine_backward: db', db, db_num, 1e-7)


# ---------------------------------------------------------------------------
# relu
# ---------------------------------------------------------------------------

def test_relu_forward_matches_notebook():
    x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
    out, _ = relu_forward(x)
    correct_out = np.array([[0., 0., 0., 0.],
                            [0., 0., 0.04545455, 0.13636364],
                            [0.22727273, 0.31818182, 0.40909091, 0.5]])
    # printed to 8 decimals: the notebook's error is about 5e-8
    assert_rel_error('relu_forward: out', out, correct_out, 1e-7)


def test_relu_forward_leaves_its_input_unchanged():
    """relu_forward returns a new array: its caller keeps using x (the
    numerical gradient checks perturb it entry by entry). Runs before the
    backward tests, whose numerical gradients an overwritten x would spoil."""
    x = np.random.RandomState(0).randn(4, 5)
    before = x.copy()
    out, cache = relu_forward(x)
    assert np.array_equal(x, before), (
        'relu_forward changed its input x in place (%d of its %d entries): compute out as a '
        'new array and leave x as it is' % (np.sum(x != before), x.size))
    relu_backward(np.ones_like(out), cache)
    assert np.array_equal(x, before), 'relu_backward changed its cache x, the input of relu_forward'


def test_relu_backward_matches_numerical_gradient(check_grad):
    np.random.seed(231)
    x = np.random.randn(10, 10)
    dout = np.random.randn(*x.shape)
    # No input within h of the kink at 0, so the finite difference is exact.
    assert np.abs(x).min() > 1e-4
    dx_num = eval_numerical_gradient_array(lambda x: relu_forward(x)[0], x, dout)
    dx = relu_backward(dout, relu_forward(x)[1])
    check_grad('relu_backward: dx', dx, dx_num, 1e-7)


# ---------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------

def _loss_setup():
    np.random.seed(231)
    num_classes, num_inputs = 10, 50
    x = 0.001 * np.random.randn(num_inputs, num_classes)
    y = np.random.randint(num_classes, size=num_inputs)
    return x, y


@pytest.mark.parametrize('loss_fn, expected', [(svm_loss, 8.999602749096233),
                                               (softmax_loss, 2.302545844500738)],
                         ids=['svm', 'softmax'])
def test_loss_value_and_gradient_match_notebook(loss_fn, expected, check_grad):
    x, y = _loss_setup()
    loss, dx = loss_fn(x, y)
    assert abs(loss - expected) < 1e-12, (
        '%s: loss %.15f, the notebook expects %.15f (difference %.1e)'
        % (loss_fn.__name__, loss, expected, abs(loss - expected)))
    dx_num = eval_numerical_gradient_array(lambda x: np.array(loss_fn(x, y)[0]), x, 1.0)
    check_grad('%s: dx' % loss_fn.__name__, dx, dx_num, 1e-7)


@pytest.mark.parametrize('dtype', [np.float32, np.float64], ids=['float32', 'float64'])
def test_softmax_loss_does_not_overflow_for_large_scores(dtype, assert_dtype):
    """Adding a constant to a row of scores changes no probability, so neither
    the loss nor its gradient may change, even when the constant is so large
    that exp of the raw scores overflows."""
    rng = np.random.RandomState(1)
    # Scores on a grid of 1/8 and shifts that are multiples of 1024 keep every
    # sum exact in float32, so the shifted scores are exactly the scores + shift.
    x = (np.round(8 * rng.randn(20, 10)) / 8).astype(dtype)
    y = rng.randint(10, size=20)
    shift = (1024 * rng.randint(-9, 10, size=(20, 1))).astype(dtype)
    shift[:2] = 9216                        # at least two rows whose exp would overflow
    loss, dx = softmax_loss(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter('error')      # an overflow in exp would be an error
        loss_big, dx_big = softmax_loss(x + shift, y)
    assert np.isfinite(loss_big), (
        'softmax_loss: loss %r for scores of magnitude 1e4 (shift each row by its maximum '
        'before exp)' % loss_big)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert abs(loss_big - loss) <= rtol * abs(loss), (
        'softmax_loss: adding a constant to each row changed the loss from %r to %r '
        '(relative change %.1e, expected < %.0e)'
        % (loss, loss_big, abs(loss_big - loss) / abs(loss), rtol))
    assert_dtype('softmax_loss returned dx', dx_big, dtype)
    assert np.all(np.isfinite(dx_big)), 'softmax_loss: dx is not finite for large scores'
    err = np.max(np.abs(dx_big - dx))
    assert err < (1e-6 if dtype == np.float32 else 1e-14), (
        'softmax_loss: adding a constant to each row changed dx by up to %.1e' % err)
    # ... and since the loss does not change along that direction, every row of
    # dx sums to 0.
    row_sums = np.abs(dx_big.astype(np.float64).sum(axis=1)).max()
    assert row_sums < (1e-6 if dtype == np.float32 else 1e-14), (
        'softmax_loss: a row of dx sums to %.1e, expected 0' % row_sums)


@pytest.mark.parametrize('loss_fn', [svm_loss, softmax_loss], ids=['svm', 'softmax'])
def test_loss_leaves_scores_unchanged(loss_fn):
    x, y = _loss_setup()
    before = x.copy()
    loss_fn(x, y)
    assert np.array_equal(x, before), '%s changed its input x' % loss_fn.__name__


# ---------------------------------------------------------------------------
# batch normalization
# ---------------------------------------------------------------------------

def _bn_activations():
    """The notebook's train-time setup: a = relu(X W1) W2 with seed 231."""
    np.random.seed(231)
    N, D1, D2, D3 = 200, 50, 60, 3
    X = np.random.randn(N, D1)
    W1 = np.random.randn(D1, D2)
    W2 = np.random.randn(D2, D3)
    return np.maximum(0, X.dot(W1)).dot(W2)


def test_batchnorm_forward_train_matches_notebook():
    a = _bn_activations()
    assert_close_to_printed('input means', a.mean(axis=0), [-2.3814598, -13.18038246, 1.91780462])
    assert_close_to_printed('input stds', a.std(axis=0), [27.18502186, 34.21455511, 37.68611762])

    D3 = a.shape[1]
    out, _ = batchnorm_forward(a, np.ones(D3), np.zeros(D3), {'mode': 'train'})
    assert np.all(np.abs(out.mean(axis=0)) < 1e-12), (
        'batchnorm_forward: column means %s after normalization (gamma=1, beta=0), '
        'expected ~0' % out.mean(axis=0))
    assert_close_to_printed('batchnorm_forward: column stds (gamma=1, beta=0)',
                            out.std(axis=0), [0.99999999, 1., 1.])

    # Now the means should be close to beta and the stds close to gamma.
    gamma, beta = np.asarray([1.0, 2.0, 3.0]), np.asarray([11.0, 12.0, 13.0])
    out, _ = batchnorm_forward(a, gamma, beta, {'mode': 'train'})
    assert_close_to_printed('batchnorm_forward: column means (gamma, beta)', out.mean(axis=0),
                            [11., 12., 13.])
    assert_close_to_printed('batchnorm_forward: column stds (gamma, beta)', out.std(axis=0),
                            [0.99999999, 1.99999999, 2.99999999])


def test_batchnorm_forward_test_mode_uses_running_stats_like_notebook():
    np.random.seed(231)
    N, D1, D2, D3 = 200, 50, 60, 3
    W1 = np.random.randn(D1, D2)
    W2 = np.random.randn(D2, D3)
    bn_param = {'mode': 'train'}
    gamma, beta = np.ones(D3), np.zeros(D3)
    for _ in range(50):
        X = np.random.randn(N, D1)
        a = np.maximum(0, X.dot(W1)).dot(W2)
        batchnorm_forward(a, gamma, beta, bn_param)
    bn_param['mode'] = 'test'
    X = np.random.randn(N, D1)
    a = np.maximum(0, X.dot(W1)).dot(W2)
    running = bn_param['running_mean'].copy(), bn_param['running_var'].copy()
    a_norm, _ = batchnorm_forward(a, gamma, beta, bn_param)

    # Close to 0 and 1 but noisier than at training time. These values need
    # the default momentum 0.9, running statistics that start at zero and
    # the biased variance (divide by N).
    assert_close_to_printed('batchnorm_forward: test-time column means', a_norm.mean(axis=0),
                            [-0.03927354, -0.04349152, -0.10452688])
    assert_close_to_printed('batchnorm_forward: test-time column stds', a_norm.std(axis=0),
                            [1.01531428, 1.01238373, 0.97819988])
    assert np.array_equal(bn_param['running_mean'], running[0]) and \
        np.array_equal(bn_param['running_var'], running[1]), \
        'batchnorm_forward: test mode must not update the running statistics'


def test_batchnorm_test_mode_treats_rows_independently():
    """In test mode every row is normalized with the running statistics, so a
    row gives the same output alone as in a batch, and a batch of identical
    rows is not normalized away (in train mode it would be: its variance is 0)."""
    rng = np.random.RandomState(0)
    D = 4
    gamma, beta = 1 + rng.rand(D), rng.randn(D)
    bn_param = {'mode': 'train'}
    for _ in range(5):
        batchnorm_forward(3 * rng.randn(16, D) + 2, gamma, beta, bn_param)
    bn_param['mode'] = 'test'
    x = rng.randn(6, D) * 4
    out, _ = batchnorm_forward(x, gamma, beta, bn_param)
    for i in range(len(x)):
        alone, _ = batchnorm_forward(x[i:i + 1], gamma, beta, bn_param)
        assert np.allclose(alone[0], out[i], rtol=1e-12, atol=1e-12), (
            'batchnorm_forward: in test mode row %d gives %s alone and %s in the batch'
            % (i, alone[0], out[i]))
    const = np.tile(x[:1], (5, 1))
    out_const, _ = batchnorm_forward(const, gamma, beta, bn_param)
    assert np.allclose(out_const, out[0], rtol=1e-12, atol=1e-12), (
        'batchnorm_forward: in test mode a batch of identical rows must give the output of '
        'one such row, using the running statistics')
    assert not np.allclose(out_const, beta), (
        'batchnorm_forward: test mode normalized with the statistics of the batch')


def test_batchnorm_running_averages_respect_momentum():
    """momentum 0 keeps only the last batch's statistics (mean and biased
    variance); momentum 1 never changes the running statistics."""
    rng = np.random.RandomState(0)
    x1, x2 = rng.randn(8, 4) * 3 + 1, rng.randn(8, 4) - 2
    gamma, beta = np.ones(4), np.zeros(4)

    bn_param = {'mode': 'train', 'momentum': 0.0}
    batchnorm_forward(x1, gamma, beta, bn_param)
    batchnorm_forward(x2, gamma, beta, bn_param)
    for key, want in (('running_mean', x2.mean(axis=0)), ('running_var', x2.var(axis=0))):
        assert np.allclose(bn_param[key], want, rtol=1e-12, atol=1e-15), (
            'batchnorm_forward: with momentum 0, %s is %s, expected the last batch\'s %s'
            % (key, bn_param[key], want))

    start_mean, start_var = rng.randn(4), rng.rand(4) + 0.5
    bn_param = {'mode': 'train', 'momentum': 1.0, 'running_mean': start_mean.copy(),
                'running_var': start_var.copy()}
    batchnorm_forward(x1, gamma, beta, bn_param)
    assert np.allclose(bn_param['running_mean'], start_mean, rtol=1e-15) and \
        np.allclose(bn_param['running_var'], start_var, rtol=1e-15), \
        'batchnorm_forward: with momentum 1 the running statistics must not change'


def test_batchnorm_running_stats_move_toward_the_batch_stats():
    """With a momentum strictly between 0 and 1 the running statistics move
    part of the way toward the batch's on every train-mode call, and over
    many calls on one batch they reach its mean and (biased) variance."""
    rng = np.random.RandomState(3)
    x = rng.randn(16, 4) * 2 + 3
    gamma, beta = np.ones(4), np.zeros(4)
    bn_param = {'mode': 'train', 'momentum': 0.5}
    batchnorm_forward(x, gamma, beta, bn_param)
    for key, batch in (('running_mean', x.mean(axis=0)), ('running_var', x.var(axis=0))):
        got = bn_param[key]
        assert np.all((got > 0) & (got < batch)), (
            'batchnorm_forward: with momentum 0.5, one train-mode call from zero running '
            'statistics left %s at %s; expected it strictly between 0 and the batch\'s %s'
            % (key, got, batch))
    bn_param = {'mode': 'train'}               # the default momentum
    for _ in range(300):
        batchnorm_forward(x, gamma, beta, bn_param)
    for key, batch in (('running_mean', x.mean(axis=0)), ('running_var', x.var(axis=0))):
        assert np.allclose(bn_param[key], batch, rtol=1e-6, atol=1e-9), (
            'batchnorm_forward: after 300 train-mode calls on one batch with the default '
            'momentum, %s is %s, expected that batch\'s %s: are the running averages updated '
            'on every call?' % (key, bn_param[key], batch))


@pytest.mark.parametrize('forward, key', [(batchnorm_forward, 'bn_param'),
                                          (layernorm_forward, 'ln_param')],
                         ids=['batchnorm', 'layernorm'])
def test_norm_reads_eps_from_its_param(forward, key):
    """eps defaults to 1e-5, and the eps of the param dict is the one used:
    a large eps must change the output; a feature (batchnorm) or a row
    (layernorm) without variance must still normalize to finite values."""
    rng = np.random.RandomState(4)
    x = rng.randn(8, 5) * 0.5 + 1
    gamma, beta = 1 + 0.1 * rng.randn(5), 0.1 * rng.randn(5)
    fn = forward.__name__
    default, _ = forward(x, gamma, beta, {'mode': 'train'})
    explicit, _ = forward(x, gamma, beta, {'mode': 'train', 'eps': 1e-5})
    assert np.allclose(default, explicit, rtol=1e-12, atol=1e-12), (
        '%s: without %s["eps"] the output differs from the one with eps=1e-5, the default'
        % (fn, key))
    big, _ = forward(x, gamma, beta, {'mode': 'train', 'eps': 1.0})
    assert not np.allclose(big, default, rtol=1e-3, atol=1e-3), (
        '%s: %s["eps"] = 1.0 gives the output of the default eps = 1e-5: does the '
        'normalization use the eps of %s?' % (fn, key, key))
    flat = x.copy()
    if forward is batchnorm_forward:
        flat[:, 2] = 3.0                       # a feature constant over the batch
    else:
        flat[2, :] = 3.0                       # a data point whose features are all equal
    out, _ = forward(flat, gamma, beta, {'mode': 'train'})
    assert np.all(np.isfinite(out)), (
        '%s: an input without variance gives %s; eps keeps the normalization finite'
        % (fn, out[~np.isfinite(out)][:3]))


def test_batchnorm_test_mode_reads_eps():
    rng = np.random.RandomState(5)
    x = rng.randn(6, 3)
    gamma, beta = np.ones(3), np.zeros(3)
    stats = {'running_mean': 0.1 * rng.randn(3), 'running_var': 0.2 + rng.rand(3)}
    outs = [batchnorm_forward(x, gamma, beta, dict(stats, mode='test', eps=eps))[0]
            for eps in (1e-5, 1.0)]
    assert not np.allclose(outs[0], outs[1], rtol=1e-3, atol=1e-3), (
        'batchnorm_forward: in test mode bn_param["eps"] = 1.0 gives the output of eps = '
        '1e-5: does the test-time normalization use the eps of bn_param?')


@pytest.mark.parametrize('forward, mode', [(batchnorm_forward, 'train'),
                                           (batchnorm_forward, 'test'),
                                           (layernorm_forward, 'train')],
                         ids=['batchnorm_train', 'batchnorm_test', 'layernorm'])
def test_norm_output_shifts_with_beta_and_scales_with_gamma(forward, mode):
    """gamma and beta act on the normalized values the same way in every mode:
    adding a constant to beta moves every output by it, and doubling gamma
    doubles every output's distance from beta."""
    rng = np.random.RandomState(6)
    x = rng.randn(7, 4) * 2 + 1
    gamma, beta = 0.5 + rng.rand(4), rng.randn(4)
    stats = {'running_mean': 0.3 * rng.randn(4), 'running_var': 0.5 + rng.rand(4)}

    def out(g, b):   # a fresh param dict per call: train mode updates its own
        return forward(x, g, b, dict(stats, mode=mode))[0]
    what = forward.__name__ + (' in %s mode' % mode if forward is batchnorm_forward else '')
    base = out(gamma, beta)
    moved = out(gamma, beta + 3.0) - base
    assert np.allclose(moved, 3.0, rtol=0, atol=1e-10), (
        '%s: adding 3 to beta moved the outputs by %s, expected 3 each: is the output shifted '
        'by beta?' % (what, np.unique(np.round(moved, 6))[:4]))
    ratio = (out(2 * gamma, beta) - beta) / np.where(base == beta, 1, base - beta)
    assert np.allclose(ratio[base != beta], 2.0, rtol=1e-10, atol=1e-10), (
        '%s: doubling gamma scaled the outputs\' distance from beta by %s, expected 2: is the '
        'output scaled by gamma?' % (what, np.unique(np.round(ratio, 6))[:4]))


# ---------------------------------------------------------------------------
# layer normalization
# ---------------------------------------------------------------------------

def test_layernorm_forward_matches_notebook():
    np.random.seed(231)
    N, D1, D2, D3 = 4, 50, 60, 3
    X = np.random.randn(N, D1)
    W1 = np.random.randn(D1, D2)
    W2 = np.random.randn(D2, D3)
    a = np.maximum(0, X.dot(W1)).dot(W2)
    assert_close_to_printed('input means', a.mean(axis=1),
                            [-59.06673243, -47.60782686, -43.31137368, -26.40991744])
    assert_close_to_printed('input stds', a.std(axis=1),
                            [10.07429373, 28.39478981, 35.28360729, 4.01831507])

    out, _ = layernorm_forward(a, np.ones(D3), np.zeros(D3), {'mode': 'train'})
    assert np.all(np.abs(out.mean(axis=1)) < 1e-12), (
        'layernorm_forward: row means %s after normalization (gamma=1, beta=0), expected ~0'
        % out.mean(axis=1))
    assert_close_to_printed('layernorm_forward: row stds (gamma=1, beta=0)', out.std(axis=1),
                            [0.99999995, 0.99999999, 1., 0.99999969])

    out, _ = layernorm_forward(a, np.asarray([3.0, 3.0, 3.0]), np.asarray([5.0, 5.0, 5.0]),
                               {'mode': 'train'})
    assert_close_to_printed('layernorm_forward: row means (gamma=3, beta=5)', out.mean(axis=1),
                            [5., 5., 5., 5.])
    assert_close_to_printed('layernorm_forward: row stds (gamma=3, beta=5)', out.std(axis=1),
                            [2.99999985, 2.99999998, 2.99999999, 2.99999907])


def test_layernorm_normalizes_each_row_on_its_own():
    rng = np.random.RandomState(0)
    x = rng.randn(6, 7) * (1 + 10 * rng.rand(6, 1)) + rng.randn(6, 1) * 5
    gamma, beta = np.ones(7), np.zeros(7)
    out, _ = layernorm_forward(x, gamma, beta, {})
    assert np.all(np.abs(out.mean(axis=1)) < 1e-12), (
        'layernorm_forward: row means %s, expected ~0' % out.mean(axis=1))
    assert np.all(np.abs(out.std(axis=1) - 1) < 1e-4), (
        'layernorm_forward: row stds %s, expected ~1' % out.std(axis=1))
    gamma, beta = rng.randn(7), rng.randn(7)
    out, _ = layernorm_forward(x, gamma, beta, {})
    for i in range(6):
        alone, _ = layernorm_forward(x[i:i + 1], gamma, beta, {})
        assert np.allclose(alone[0], out[i], rtol=1e-12, atol=1e-12), (
            'layernorm_forward: row %d gives %s alone and %s in the batch: a row must not '
            'depend on the other rows' % (i, alone[0], out[i]))
    # Scaling a row by a positive factor and shifting it does not change its
    # normalized values (up to the effect of eps, tiny for these variances).
    moved, _ = layernorm_forward(3 * x - 7, gamma, beta, {})
    assert np.allclose(moved, out, rtol=1e-5, atol=1e-5), (
        'layernorm_forward: the output changed when every row was scaled and shifted')


def test_layernorm_ignores_the_mode():
    x, gamma, beta, _ = _norm_backward_setup()
    train, _ = layernorm_forward(x, gamma, beta, {'mode': 'train'})
    test, _ = layernorm_forward(x, gamma, beta, {'mode': 'test'})
    assert np.allclose(train, test, rtol=1e-14, atol=1e-14), (
        'layernorm_forward: train and test mode must give the same output')


# ---------------------------------------------------------------------------
# backward passes of both normalizations (after their forward tests, so that a
# wrong forward pass is named before the gradient checks that use it)
# ---------------------------------------------------------------------------

def _norm_backward_setup(N=4, D=5):
    np.random.seed(231)
    x = 5 * np.random.randn(N, D) + 12
    gamma = np.random.randn(D)
    beta = np.random.randn(D)
    dout = np.random.randn(N, D)
    return x, gamma, beta, dout


@pytest.mark.parametrize('forward, backward', [
    (batchnorm_forward, batchnorm_backward),
    (batchnorm_forward, batchnorm_backward_alt),
    (layernorm_forward, layernorm_backward),
], ids=['batchnorm_graph', 'batchnorm_alt', 'layernorm'])
def test_norm_backward_matches_numerical_gradient(forward, backward, check_grad):
    x, gamma, beta, dout = _norm_backward_setup()
    param = {'mode': 'train'}  # layernorm ignores the mode
    fx = lambda x: forward(x, gamma, beta, param)[0]
    fg = lambda g: forward(x, g, beta, param)[0]
    fb = lambda b: forward(x, gamma, b, param)[0]
    dx_num = eval_numerical_gradient_array(fx, x, dout)
    dgamma_num = eval_numerical_gradient_array(fg, gamma.copy(), dout)
    dbeta_num = eval_numerical_gradient_array(fb, beta.copy(), dout)

    _, cache = forward(x, gamma, beta, param)
    dx, dgamma, dbeta = backward(dout, cache)
    name = backward.__name__
    # The notebooks expect errors between 1e-13 and 1e-8.
    check_grad('%s: dx' % name, dx, dx_num, 1e-7)
    check_grad('%s: dgamma' % name, dgamma, dgamma_num, 1e-7)
    check_grad('%s: dbeta' % name, dbeta, dbeta_num, 1e-7)


def test_batchnorm_backward_alt_equals_graph_version():
    x, gamma, beta, dout = _norm_backward_setup(100, 500)
    _, cache = batchnorm_forward(x, gamma, beta, {'mode': 'train'})
    dx1, dgamma1, dbeta1 = batchnorm_backward(dout, cache)
    dx2, dgamma2, dbeta2 = batchnorm_backward_alt(dout, cache)
    for what, a, b in (('dx', dx1, dx2), ('dgamma', dgamma1, dgamma2), ('dbeta', dbeta1, dbeta2)):
        assert_rel_error('batchnorm_backward_alt: %s (against batchnorm_backward)' % what, b, a,
                         1e-10)


# ---------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------

def _assert_valid_dropout(what, x, out, p):
    """Assert that `out` is inverted dropout of `x` with keep probability p,
    for whatever valid mask was drawn: each unit is either dropped (0) or
    kept and scaled by exactly 1/p, and about a fraction p is kept (within
    six standard deviations of the binomial count). Returns the kept units."""
    x = np.asarray(x, dtype=np.float64)
    out = np.asarray(out, dtype=np.float64)
    assert out.shape == x.shape, '%s: out has shape %s, expected %s' % (what, out.shape, x.shape)
    kept = out != 0
    frac = kept.mean()
    tol = 6 * np.sqrt(p * (1 - p) / x.size) + 1.0 / x.size
    assert abs(frac - p) <= tol, (
        '%s p=%s keeps %.4f of the units (%.4f are zero), expected %s +- %.4f: p is the '
        'probability of KEEPING a unit' % (what, p, frac, 1 - frac, p, tol))
    if kept.any():
        scale = out[kept] / x[kept]
        assert np.allclose(scale, 1 / p, rtol=1e-6, atol=0), (
            '%s p=%s: kept units are scaled by %.6g to %.6g, expected 1/p = %.6g (inverted '
            'dropout scales the kept units at train time)'
            % (what, p, scale.min(), scale.max(), 1 / p))
    return kept


def test_dropout_forward_notebook_setup():
    """The notebook's cell (x = randn(500, 500) + 10; p = 0.25, 0.4, 0.7),
    judged by the properties of the mask, not by one draw: any valid way of
    drawing it passes."""
    np.random.seed(231)
    x = np.random.randn(500, 500) + 10
    assert abs(x.mean() - 10.000207878477502) < 1e-12
    for p in (0.25, 0.4, 0.7):
        out, _ = dropout_forward(x, {'mode': 'train', 'p': p})
        out_test, _ = dropout_forward(x, {'mode': 'test', 'p': p})
        _assert_valid_dropout('dropout_forward', x, out, p)
        # The train-time mean is the input mean up to the noise of the mask:
        # its standard deviation is about mean * sqrt((1 - p) / (p * n)).
        tol = 6 * x.mean() * np.sqrt((1 - p) / (p * x.size))
        assert abs(out.mean() - x.mean()) < tol, (
            'dropout_forward p=%s: train-time mean %.6f, expected %.6f +- %.4f (inverted dropout '
            'keeps the expected output)' % (p, out.mean(), x.mean(), tol))
        assert np.array_equal(out_test, x), (
            'dropout_forward: test mode must return the input unchanged')


def test_dropout_backward_uses_the_forward_mask(rng):
    """The gradient flows through exactly the kept units, scaled by 1/p,
    i.e. through the mask of the forward pass; test mode passes it through."""
    x = rng.rand(40, 30) + 0.5
    dout = rng.randn(40, 30)
    for p in (0.3, 0.8):
        out, cache = dropout_forward(x, {'mode': 'train', 'p': p})
        kept = _assert_valid_dropout('dropout_forward', x, out, p)
        dx = dropout_backward(dout, cache)
        assert dx.shape == dout.shape, 'dropout_backward: dx has shape %s, expected %s' % (
            dx.shape, dout.shape)
        assert np.all(dx[~kept] == 0), (
            'dropout_backward p=%s: a gradient flows into %d dropped units: use the mask of '
            'the forward pass' % (p, int(np.sum(dx[~kept] != 0))))
        assert np.allclose(dx[kept], dout[kept] / p, rtol=1e-12, atol=0), (
            'dropout_backward p=%s: the kept units get the upstream gradient scaled by %s, '
            'expected 1/p = %s (the mask of the forward pass)'
            % (p, np.unique(np.round(dx[kept] / dout[kept], 6))[:4], 1 / p))


def test_dropout_keeps_about_p_and_preserves_the_mean():
    np.random.seed(0)
    x = np.random.RandomState(1).rand(400, 300) + 1
    n = x.size
    for p in (0.1, 0.5, 0.9):
        out, _ = dropout_forward(x, {'mode': 'train', 'p': p})
        kept = (out != 0).mean()
        tol = 6 * np.sqrt(p * (1 - p) / n)        # six standard deviations
        assert abs(kept - p) < tol, (
            'dropout_forward p=%s keeps %.4f of the units, expected %s +- %.4f (p is the '
            'probability of KEEPING a unit)' % (p, kept, p, tol))
        ratio = out.mean() / x.mean()
        tol = 6 * np.sqrt((1 - p) / (p * n)) * 1.1
        assert abs(ratio - 1) < tol, (
            'dropout_forward p=%s: the train-time mean is %.4f times the input mean, '
            'expected 1 +- %.4f (inverted dropout keeps the expected output)' % (p, ratio, tol))
        survivors = out[out != 0] / x[out != 0]
        assert np.allclose(survivors, survivors[0], rtol=1e-12), (
            'dropout_forward p=%s: the kept units are not all scaled by the same factor' % p)


def test_dropout_backward_matches_numerical_gradient(check_grad):
    np.random.seed(231)
    x = np.random.randn(10, 10) + 10
    dout = np.random.randn(*x.shape)
    dropout_param = {'mode': 'train', 'p': 0.2, 'seed': 123}
    out, cache = dropout_forward(x, dropout_param)
    dx = dropout_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda xx: dropout_forward(xx, dropout_param)[0],
                                           x, dout)
    # the notebook's reference error is 5.4e-11
    check_grad('dropout_backward: dx', dx, dx_num, 1e-9)


def test_dropout_seed_makes_the_mask_repeatable():
    x = np.random.RandomState(0).randn(30, 30)
    param = {'mode': 'train', 'p': 0.5, 'seed': 7}
    out1, _ = dropout_forward(x, param)
    np.random.rand(100)                      # move the global state on
    out2, _ = dropout_forward(x, param)
    assert np.array_equal(out1, out2), 'dropout_forward: the same seed gave different masks'
    out3, _ = dropout_forward(x, {'mode': 'train', 'p': 0.5, 'seed': 8})
    assert not np.array_equal(out1, out3), 'dropout_forward: different seeds gave the same mask'


def test_dropout_test_mode_backward_passes_gradient_through():
    x = np.random.RandomState(0).randn(4, 5)
    out, cache = dropout_forward(x, {'mode': 'test', 'p': 0.3})
    dout = np.random.RandomState(1).randn(4, 5)
    assert np.array_equal(dropout_backward(dout, cache), dout), (
        'dropout_backward: in test mode the gradient must pass through unchanged')


# ---------------------------------------------------------------------------
# float32 in, float32 out
# ---------------------------------------------------------------------------

def _float32_layer_runs():
    """{layer: run}; run() gives [(what, array)], e.g. ('affine_backward returned dw', dw)."""
    rng = np.random.RandomState(0)
    f = lambda *shape: rng.randn(*shape).astype(np.float32)
    x4, w, b = f(4, 2, 3), f(6, 5), f(5)
    x, gamma, beta, dout = f(4, 5), f(5), f(5), f(4, 5)
    y = rng.randint(5, size=4)

    def named(forward, backward, outs, grads):
        return ([('%s returned %s' % (forward, n), a) for n, a in outs]
                + [('%s returned %s' % (backward, n), a) for n, a in grads])

    def affine():
        out, cache = affine_forward(x4, w, b)
        return named('affine_forward', 'affine_backward', [('out', out)],
                     zip(('dx', 'dw', 'db'), affine_backward(dout, cache)))

    def relu():
        out, cache = relu_forward(x)
        return named('relu_forward', 'relu_backward', [('out', out)],
                     [('dx', relu_backward(dout, cache))])

    def norm(forward, backward, param):
        def run():
            out, cache = forward(x, gamma, beta, param)
            return named(forward.__name__, backward.__name__, [('out', out)],
                         zip(('dx', 'dgamma', 'dbeta'), backward(dout, cache)))
        return run

    def batchnorm_test():
        param = {'mode': 'train'}
        batchnorm_forward(x, gamma, beta, param)
        param['mode'] = 'test'
        out, _ = batchnorm_forward(x, gamma, beta, param)
        return [('batchnorm_forward (test mode) returned out', out),
                ('batchnorm_forward left running_mean', param['running_mean']),
                ('batchnorm_forward left running_var', param['running_var'])]

    def dropout(mode):
        def run():
            out, cache = dropout_forward(x, {'mode': mode, 'p': 0.6, 'seed': 1})
            return named('dropout_forward (%s mode)' % mode, 'dropout_backward (%s mode)' % mode,
                         [('out', out)], [('dx', dropout_backward(dout, cache))])
        return run

    def loss(fn):
        return lambda: [('%s returned dx' % fn.__name__, fn(x, y)[1])]

    return {
        'affine': affine,
        'relu': relu,
        'batchnorm': norm(batchnorm_forward, batchnorm_backward, {'mode': 'train'}),
        'batchnorm_alt': norm(batchnorm_forward, batchnorm_backward_alt, {'mode': 'train'}),
        'batchnorm_test_mode': batchnorm_test,
        'layernorm': norm(layernorm_forward, layernorm_backward, {}),
        'dropout_train': dropout('train'),
        'dropout_test': dropout('test'),
        'softmax': loss(softmax_loss),
        'svm': loss(svm_loss),
    }


@pytest.mark.parametrize('layer', sorted(_float32_layer_runs()))
def test_layer_keeps_float32(layer, assert_dtype):
    for what, array in _float32_layer_runs()[layer]():
        assert_dtype(what, array, np.float32)
