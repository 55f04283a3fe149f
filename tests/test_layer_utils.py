"""Self-check of the sandwich layers in cs231n/layer_utils.py.

affine_relu_forward/backward are given; the notebook gradient-checks them.
The affine - [norm] - relu - [dropout] sandwich is optional: its tests run
only if cs231n/layer_utils.py defines it, and are skipped otherwise.
"""
import numpy as np
import pytest

from cs231n import layer_utils
from cs231n.gradient_check import eval_numerical_gradient_array
from cs231n.layer_utils import affine_relu_backward, affine_relu_forward


def test_affine_relu_matches_numerical_gradient(check_grad):
    # the notebook's "Sandwich layers" cell
    np.random.seed(231)
    x = np.random.randn(2, 3, 4)
    w = np.random.randn(12, 10)
    b = np.random.randn(10)
    dout = np.random.randn(2, 10)

    out, cache = affine_relu_forward(x, w, b)
    dx, dw, db = affine_relu_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda x: affine_relu_forward(x, w, b)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda w: affine_relu_forward(x, w, b)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda b: affine_relu_forward(x, w, b)[0], b, dout)

    assert out.shape == (2, 10) and np.all(out >= 0), 'affine_relu_forward: wrong output'
    check_grad('affine_relu_backward: dx', dx, dx_num, 1e-7)
    check_grad('affine_relu_backward: dw', dw, dw_num, 1e-7)
    check_grad('affine_relu_backward: db', db, db_num, 1e-7)


NORMALIZATIONS = [None, 'batchnorm', 'layernorm']
DROPOUT = [None, 0.75]


def _block():
    """The affine-norm-relu-dropout sandwich: an optional helper in the starter,
    so its tests skip (rather than fail to import) where it is not written."""
    if not hasattr(layer_utils, 'affine_norm_relu_dropout_forward'):
        pytest.skip('cs231n/layer_utils.py defines no affine_norm_relu_dropout_forward/backward '
                    '(the optional sandwich helper for FullyConnectedNet)')
    return (layer_utils.affine_norm_relu_dropout_forward,
            layer_utils.affine_norm_relu_dropout_backward)


def _sandwich_setup(normalization, keep):
    rng = np.random.RandomState(231)
    N, D, M = 5, 6, 7
    x = rng.randn(N, 2, 3)
    w = rng.randn(D, M)
    b = rng.randn(M)
    gamma = 1 + 0.1 * rng.randn(M)
    beta = 0.1 * rng.randn(M)
    dout = rng.randn(N, M)
    norm_param = {'mode': 'train'} if normalization == 'batchnorm' else {}
    dropout_param = None if keep is None else {'mode': 'train', 'p': keep, 'seed': 123}
    return x, w, b, gamma, beta, dout, norm_param, dropout_param


def test_affine_norm_relu_dropout_without_options_is_affine_relu():
    forward, backward = _block()
    x, w, b, _, _, dout, _, _ = _sandwich_setup(None, None)
    out, cache = forward(x, w, b)
    expected, expected_cache = affine_relu_forward(x, w, b)
    assert np.allclose(out, expected, rtol=1e-12, atol=1e-15), (
        'affine_norm_relu_dropout_forward without normalization or dropout: output differs '
        'from affine_relu_forward by up to %.1e' % np.max(np.abs(out - expected)))
    grads = backward(dout, cache)
    for name, got, want in zip(('dx', 'dw', 'db'), grads[:3],
                               affine_relu_backward(dout, expected_cache)):
        assert np.allclose(got, want, rtol=1e-12, atol=1e-15), (
            'affine_norm_relu_dropout_backward without normalization or dropout: %s differs '
            'from affine_relu_backward\'s' % name)
    assert grads[3] is None and grads[4] is None, (
        'affine_norm_relu_dropout_backward without normalization: dgamma and dbeta must be None')


@pytest.mark.parametrize('keep', DROPOUT, ids=['no_dropout', 'dropout0.75'])
@pytest.mark.parametrize('normalization', NORMALIZATIONS, ids=['plain', 'batchnorm', 'layernorm'])
def test_affine_norm_relu_dropout_matches_numerical_gradient(normalization, keep, check_grad):
    affine_norm_relu_dropout_forward, affine_norm_relu_dropout_backward = _block()
    x, w, b, gamma, beta, dout, norm_param, dropout_param = _sandwich_setup(normalization, keep)
    kwargs = dict(norm_param=norm_param, normalization=normalization,
                  dropout_param=dropout_param)
    if normalization is None:
        gamma = beta = None

    def f(x=x, w=w, b=b, gamma=gamma, beta=beta):
        return affine_norm_relu_dropout_forward(x, w, b, gamma, beta, **kwargs)[0]

    out, cache = affine_norm_relu_dropout_forward(x, w, b, gamma, beta, **kwargs)
    what = 'affine_norm_relu_dropout_forward (%s, keep %s)' % (normalization, keep)
    assert out.shape == (5, 7), '%s: out has shape %s, expected (5, 7)' % (what, out.shape)
    assert np.all(out >= 0), '%s: negative outputs after the ReLU' % what

    grads = affine_norm_relu_dropout_backward(dout, cache)
    names = ['dx', 'dw', 'db', 'dgamma', 'dbeta']
    numerical = [
        eval_numerical_gradient_array(lambda v: f(x=v), x, dout),
        eval_numerical_gradient_array(lambda v: f(w=v), w, dout),
        eval_numerical_gradient_array(lambda v: f(b=v), b, dout),
    ]
    what = 'affine_norm_relu_dropout_backward (%s, keep %s): ' % (normalization, keep)
    if normalization is None:
        assert grads[3] is None and grads[4] is None, what + 'dgamma, dbeta must be None'
    else:
        numerical += [eval_numerical_gradient_array(lambda v: f(gamma=v), gamma, dout),
                      eval_numerical_gradient_array(lambda v: f(beta=v), beta, dout)]
    if normalization == 'batchnorm':
        # Batchnorm subtracts the batch mean of every feature, so the affine
        # bias cancels and its exact gradient is 0: the numerical one is pure
        # rounding noise, which a relative error cannot judge. Check it
        # absolutely, against the noise of the finite difference instead.
        db, db_num = grads[2], numerical[2]
        assert np.abs(db).max() < 1e-12, what + 'db = %s, expected 0' % db
        assert np.abs(db_num).max() < 1e-9, what + 'numerical db = %s, expected ~0' % db_num
        names, grads, numerical = names[:2] + names[3:], grads[:2] + grads[3:], \
            numerical[:2] + numerical[3:]
    # Entries smaller than the rounding noise of the finite difference (about
    # eps * sum|out * dout| / h) are judged by their absolute difference: with
    # a normalization that cancels b, db is 0 up to that noise.
    floor = 10 * np.finfo(np.float64).eps * np.abs(out * dout).sum() / 1e-5
    for name, analytic, num in zip(names, grads, numerical):
        check_grad(what + name, analytic, num, 1e-7, atol=floor)
