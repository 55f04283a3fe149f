"""Unit tests of cs231n/layers.py.

The reference numbers come from the official notebooks (FullyConnectedNets,
BatchNormalization, Dropout), reproduced with the notebooks' exact setups:
the same seeds, shapes and linspace fills, drawn in the same order. Gradients
are checked against centered numerical gradients
(eval_numerical_gradient_array, h = 1e-5) in float64.
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
    err = rel_error(out, correct_out)
    assert err < 1e-8, 'affine_forward: relative error %.1e to correct_out (expected ~1e-9)' % err


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

    assert dx.shape == x.shape, 'affine_backward: dx must keep the shape of x'
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
    err = rel_error(out, correct_out)
    assert err < 1e-7, 'relu_forward: relative error %.1e to correct_out (expected ~5e-8)' % err


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
        '%s: loss %.15f, expected %.15f' % (loss_fn.__name__, loss, expected))
    dx_num = eval_numerical_gradient_array(lambda x: np.array(loss_fn(x, y)[0]), x, 1.0)
    check_grad('%s: dx' % loss_fn.__name__, dx, dx_num, 1e-7)


def _logsumexp_loss(x, y):
    """Softmax loss computed another way: float64 log-sum-exp via logaddexp."""
    x = np.asarray(x, dtype=np.float64)
    lse = np.logaddexp.reduce(x, axis=1)
    return float(np.mean(lse - x[np.arange(len(y)), y]))


@pytest.mark.parametrize('dtype', [np.float32, np.float64], ids=['float32', 'float64'])
def test_softmax_loss_is_stable_for_large_logits(dtype):
    rng = np.random.RandomState(1)
    x = (1e4 * rng.randn(20, 10)).astype(dtype)
    y = rng.randint(10, size=20)
    with warnings.catch_warnings():
        warnings.simplefilter('error')          # overflow in exp would be an error
        loss, dx = softmax_loss(x, y)
    expected = _logsumexp_loss(x, y)
    assert np.isfinite(loss), 'softmax_loss: loss %r for logits of magnitude 1e4' % loss
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    assert abs(loss - expected) <= rtol * abs(expected), (
        'softmax_loss: %r for logits of magnitude 1e4, expected %r (relative error %.1e)'
        % (loss, expected, abs(loss - expected) / abs(expected)))
    assert dx.dtype == dtype, 'softmax_loss: dx is %s for %s logits' % (dx.dtype, np.dtype(dtype))
    assert np.all(np.isfinite(dx)), 'softmax_loss: dx is not finite for large logits'
    # The gradient is (softmax - onehot) / N, so every row sums to 0.
    assert np.allclose(dx.sum(axis=1), 0, atol=1e-6)


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
        'batchnorm_forward: means %s after normalization, expected ~0' % out.mean(axis=0))
    assert_close_to_printed('stds (gamma=1, beta=0)', out.std(axis=0), [0.99999999, 1., 1.])

    gamma, beta = np.asarray([1.0, 2.0, 3.0]), np.asarray([11.0, 12.0, 13.0])
    out, _ = batchnorm_forward(a, gamma, beta, {'mode': 'train'})
    assert_close_to_printed('means (gamma, beta)', out.mean(axis=0), [11., 12., 13.])
    assert_close_to_printed('stds (gamma, beta)', out.std(axis=0),
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

    assert_close_to_printed('test-time means', a_norm.mean(axis=0),
                            [-0.03927354, -0.04349152, -0.10452688])
    assert_close_to_printed('test-time stds', a_norm.std(axis=0),
                            [1.01531428, 1.01238373, 0.97819988])
    assert np.array_equal(bn_param['running_mean'], running[0]) and \
        np.array_equal(bn_param['running_var'], running[1]), \
        'batchnorm_forward: test mode must not update the running statistics'


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


def _norm_backward_setup():
    np.random.seed(231)
    N, D = 4, 5
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
    check_grad('%s: dx' % name, dx, dx_num, 1e-7)
    check_grad('%s: dgamma' % name, dgamma, dgamma_num, 1e-7)
    check_grad('%s: dbeta' % name, dbeta, dbeta_num, 1e-7)


def test_batchnorm_backward_alt_equals_graph_version():
    np.random.seed(231)
    N, D = 100, 500
    x = 5 * np.random.randn(N, D) + 12
    gamma = np.random.randn(D)
    beta = np.random.randn(D)
    dout = np.random.randn(N, D)
    _, cache = batchnorm_forward(x, gamma, beta, {'mode': 'train'})
    dx1, dgamma1, dbeta1 = batchnorm_backward(dout, cache)
    dx2, dgamma2, dbeta2 = batchnorm_backward_alt(dout, cache)
    for what, a, b in (('dx', dx1, dx2), ('dgamma', dgamma1, dgamma2), ('dbeta', dbeta1, dbeta2)):
        err = rel_error(a, b)
        assert err < 1e-10, 'batchnorm_backward vs _alt: %s differ by %.1e' % (what, err)


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
        'layernorm_forward: row means %s after normalization, expected ~0' % out.mean(axis=1))
    assert_close_to_printed('stds (gamma=1, beta=0)', out.std(axis=1),
                            [0.99999995, 0.99999999, 1., 0.99999969])

    out, _ = layernorm_forward(a, np.asarray([3.0, 3.0, 3.0]), np.asarray([5.0, 5.0, 5.0]),
                               {'mode': 'train'})
    assert_close_to_printed('means (gamma, beta)', out.mean(axis=1), [5., 5., 5., 5.])
    assert_close_to_printed('stds (gamma, beta)', out.std(axis=1),
                            [2.99999985, 2.99999998, 2.99999999, 2.99999907])


def test_layernorm_normalizes_each_row_on_its_own():
    rng = np.random.RandomState(0)
    x = rng.randn(6, 7) * rng.rand(6, 1) * 10 + rng.randn(6, 1) * 5
    gamma, beta = rng.randn(7), rng.randn(7)
    out, _ = layernorm_forward(x, gamma, beta, {})
    for i in range(6):
        row = x[i]
        expected = gamma * (row - row.mean()) / np.sqrt(row.var() + 1e-5) + beta
        assert np.allclose(out[i], expected, rtol=1e-12, atol=1e-12)
        alone, _ = layernorm_forward(x[i:i + 1], gamma, beta, {})
        assert np.array_equal(alone[0], out[i]), 'layernorm: a row depends on the other rows'


# ---------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------

def test_dropout_forward_matches_notebook():
    np.random.seed(231)
    x = np.random.randn(500, 500) + 10
    assert abs(x.mean() - 10.000207878477502) < 1e-12
    # keep probability p -> (train-time mean, fraction of zeros). For p=0.7 the
    # notebook printed ...426 and a recomputation gives ...428: compare to 1e-12.
    expected = {0.25: (10.014059116977283, 0.749784),
                0.4: (9.977917658761159, 0.600796),
                0.7: (9.987811912159426, 0.30074)}
    for p, (mean, zeros) in expected.items():
        out, _ = dropout_forward(x, {'mode': 'train', 'p': p})
        out_test, _ = dropout_forward(x, {'mode': 'test', 'p': p})
        assert abs(out.mean() - mean) < 1e-12, (
            'dropout p=%s: train-time mean %.15f, expected %.15f' % (p, out.mean(), mean))
        assert (out == 0).mean() == zeros, (
            'dropout p=%s: %.6f of the outputs are zero, expected %s (p is the KEEP '
            'probability)' % (p, (out == 0).mean(), zeros))
        assert np.array_equal(out_test, x), 'dropout: test mode must return the input unchanged'


def test_dropout_backward_matches_numerical_gradient(check_grad):
    np.random.seed(231)
    x = np.random.randn(10, 10) + 10
    dout = np.random.randn(*x.shape)
    dropout_param = {'mode': 'train', 'p': 0.2, 'seed': 123}
    out, cache = dropout_forward(x, dropout_param)
    dx = dropout_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda xx: dropout_forward(xx, dropout_param)[0],
                                           x, dout)
    check_grad('dropout_backward: dx', dx, dx_num, 1e-7)
    # the notebook's reference error is 5.4e-11
    assert rel_error(dx, dx_num) < 1e-9


def test_dropout_seed_makes_the_mask_repeatable():
    x = np.random.RandomState(0).randn(30, 30)
    param = {'mode': 'train', 'p': 0.5, 'seed': 7}
    out1, _ = dropout_forward(x, param)
    np.random.rand(100)                      # move the global state on
    out2, _ = dropout_forward(x, param)
    assert np.array_equal(out1, out2)
    out3, _ = dropout_forward(x, {'mode': 'train', 'p': 0.5, 'seed': 8})
    assert not np.array_equal(out1, out3)


def test_dropout_test_mode_backward_passes_gradient_through():
    x = np.random.RandomState(0).randn(4, 5)
    out, cache = dropout_forward(x, {'mode': 'test', 'p': 0.3})
    assert cache[1] is None
    dout = np.random.RandomState(1).randn(4, 5)
    assert np.array_equal(dropout_backward(dout, cache), dout)


# ---------------------------------------------------------------------------
# float32 in, float32 out
# ---------------------------------------------------------------------------

def _float32_layer_runs():
    rng = np.random.RandomState(0)
    f = lambda *shape: rng.randn(*shape).astype(np.float32)
    x4, w, b = f(4, 2, 3), f(6, 5), f(5)
    x, gamma, beta, dout = f(4, 5), f(5), f(5), f(4, 5)
    y = rng.randint(5, size=4)

    def affine():
        out, cache = affine_forward(x4, w, b)
        return [out, *affine_backward(dout, cache)]

    def relu():
        out, cache = relu_forward(x)
        return [out, relu_backward(dout, cache)]

    def norm(forward, backward, param):
        def run():
            out, cache = forward(x, gamma, beta, param)
            return [out, *backward(dout, cache)]
        return run

    def batchnorm_test():
        param = {'mode': 'train'}
        batchnorm_forward(x, gamma, beta, param)
        param['mode'] = 'test'
        out, _ = batchnorm_forward(x, gamma, beta, param)
        return [out, param['running_mean'], param['running_var']]

    def dropout(mode):
        def run():
            out, cache = dropout_forward(x, {'mode': mode, 'p': 0.6, 'seed': 1})
            return [out, dropout_backward(dout, cache)]
        return run

    def loss(fn):
        return lambda: [fn(x, y)[1]]

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
def test_layer_keeps_float32(layer):
    arrays = _float32_layer_runs()[layer]()
    dtypes = [a.dtype for a in arrays]
    assert all(d == np.float32 for d in dtypes), (
        '%s: float32 inputs gave outputs/gradients of dtypes %s' % (layer, dtypes))
