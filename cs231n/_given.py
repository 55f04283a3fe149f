"""The code around your code in layers.py and classifiers/fc_net.py.

Each function there opens with one call of this module, prepare_<function>,
which checks the arguments, and closes with one, finish_<function>, which
checks what your code computed and gives it the dtype of the inputs (the
arithmetic may widen float32 to float64): float32 in, float32 out. A wrong
argument fails with one line that names the function, the argument, the
value and what was expected.
"""
import numpy as np

from ._checks import (check_array, check_choice, check_dict, check_dtype, check_examples,
                      check_grads, check_int, check_labels, check_mode, check_output,
                      check_param_grad, check_real, check_rows, check_scale_shift, describe,
                      tag_cache, untag_cache)


# ---------------------------------------------------------------------------
# affine, relu

def prepare_affine_forward(x, w, b):
    fn = 'affine_forward'
    check_array(fn, 'w', w, ndim=2)
    check_array(fn, 'b', b, shape=(w.shape[1],))
    check_examples(fn, 'x', x, w.shape[0], 'the rows of w')
    check_rows(fn, 'x', x, 'expected at least one example')


def finish_affine_forward(out, x, w):
    return check_output('affine_forward', 'out', out, (x.shape[0], w.shape[1]), x.dtype)


def prepare_affine_backward(dout, x, w):
    check_array('affine_backward', 'dout', dout, shape=(x.shape[0], w.shape[1]))


def finish_affine_backward(dx, dw, db, x, w, b):
    fn = 'affine_backward'
    return (check_output(fn, 'dx', dx, x.shape, x.dtype),
            check_output(fn, 'dw', dw, w.shape, w.dtype),
            check_output(fn, 'db', db, b.shape, b.dtype))


def prepare_relu_forward(x):
    check_array('relu_forward', 'x', x)


def finish_relu_forward(out, x):
    return check_output('relu_forward', 'out', out, x.shape, x.dtype)


def prepare_relu_backward(dout, x):
    check_array('relu_backward', 'dout', dout, shape=x.shape)


def finish_relu_backward(dx, x):
    return check_output('relu_backward', 'dx', dx, x.shape, x.dtype)


# ---------------------------------------------------------------------------
# losses

def prepare_loss(fn, x, y):
    """Check the scores x (N, C) and the labels y (N,) of a loss.

    Returns:
    - y as an ndarray
    """
    check_array(fn, 'x', x, ndim=2)
    check_rows(fn, 'x', x, 'the loss is an average over at least one example')
    return check_labels(fn, y, x.shape[0], x.shape[1])


def _loss_value(fn, loss):
    """loss as a float: a number, or an array holding one number."""
    if loss is None:
        raise TypeError('%s: loss is None; the code of %s must compute it' % (fn, fn))
    value = np.asarray(loss) if not isinstance(loss, (str, bytes)) else None
    if value is None or value.size != 1 or value.dtype.kind not in 'iuf':
        raise ValueError('%s: loss is %s, expected a number (the loss averaged over the batch)'
                         % (fn, describe(loss)))
    return float(value.reshape(()))


def finish_loss(fn, loss, dx, x):
    """(loss as a float, dx of the shape and dtype of x)."""
    return _loss_value(fn, loss), check_output(fn, 'dx', dx, x.shape, x.dtype)


# ---------------------------------------------------------------------------
# batch and layer normalization

_STATS = ('running_mean', 'running_var')


def _running_stat(bn_param, key, mode, x):
    """The running statistic `key` of bn_param for x of shape (N, D): itself
    if it holds D values, as (D,) or (1, D); zeros (D,) if it is missing.

    One of another shape is refused in test mode, where it normalizes x. In
    train mode it may be left over from calls on other data that your code
    does not update (a layer norm that reuses this batch norm on x.T, with a
    new N at every call, need not keep running statistics): your code gets
    zeros (D,) in its place, and finish_batchnorm_forward refuses the call
    only if your code updated them.
    """
    D = x.shape[1]
    stat = bn_param.get(key)
    if stat is None:
        return np.zeros(D, dtype=x.dtype)
    check_array('batchnorm_forward', 'bn_param["%s"]' % key, stat)
    if stat.shape in ((D,), (1, D)):
        return stat
    if mode == 'test':
        raise ValueError('batchnorm_forward: bn_param["%s"] has shape %s, expected (%d,)'
                         % (key, stat.shape, D))
    return np.zeros(D, dtype=x.dtype)


def prepare_batchnorm_forward(x, gamma, beta, bn_param):
    """Check the arguments of batchnorm_forward.

    Returns a tuple of:
    - mode: 'train' or 'test'
    - eps, momentum: bn_param's, or the defaults 1e-5 and 0.9, as floats
    - running_mean, running_var: bn_param's, or zeros of shape (D,)
    """
    fn = 'batchnorm_forward'
    check_dict(fn, 'bn_param', bn_param, required=('mode',))
    mode = bn_param['mode']
    check_mode(fn, 'bn_param["mode"]', mode)
    check_array(fn, 'x', x, ndim=2)
    check_scale_shift(fn, 'gamma', gamma, x)
    check_scale_shift(fn, 'beta', beta, x)
    eps = check_real(fn, 'bn_param["eps"]', bn_param.get('eps', 1e-5), '(0, inf)')
    momentum = check_real(fn, 'bn_param["momentum"]', bn_param.get('momentum', 0.9), '[0, 1]')
    if mode == 'train':
        check_rows(fn, 'x', x, 'train mode normalizes with the statistics of the batch')
    running_mean, running_var = (_running_stat(bn_param, k, mode, x) for k in _STATS)
    return mode, eps, momentum, running_mean, running_var


def finish_batchnorm_forward(out, cache, running_mean, running_var, x, gamma, beta, bn_param):
    """Check out and the running statistics, and store these in bn_param,
    shaped (D,) (statistics that your code keeps as (1, D) are reshaped).

    Returns a tuple of:
    - out: of shape (N, D), with the dtype of x
    - cache: your cache, tagged for the backward pass's checks (see _checks.tag_cache)
    """
    fn = 'batchnorm_forward'
    D = x.shape[1]
    out = check_output(fn, 'out', out, x.shape, x.dtype)
    new = {}
    for key, value in zip(_STATS, (running_mean, running_var)):
        stored = bn_param.get(key)
        if stored is not None and stored.shape not in ((D,), (1, D)):
            # Train mode with a statistic of another shape: your code got
            # zeros in its place. Left as zeros, it is not used: bn_param
            # keeps what it holds. Updated, it was meant for this x.
            if isinstance(value, np.ndarray) and value.shape == (D,) and not value.any():
                continue
            raise ValueError('%s: bn_param["%s"] has shape %s, expected (%d,)'
                             % (fn, key, stored.shape, D))
        new[key] = check_output(fn, key, value, (D,), x.dtype)
    bn_param.update(new)
    return out, tag_cache(cache, out, gamma=gamma, beta=beta)


def prepare_layernorm_forward(x, gamma, beta, ln_param):
    """Check the arguments of layernorm_forward.

    Returns:
    - eps: ln_param's, or the default 1e-5, as a float
    """
    fn = 'layernorm_forward'
    check_dict(fn, 'ln_param', ln_param)
    check_array(fn, 'x', x, ndim=2)
    check_scale_shift(fn, 'gamma', gamma, x)
    check_scale_shift(fn, 'beta', beta, x)
    if x.shape[1] == 0:
        raise ValueError('%s: x has shape %s: no features to normalize over' % (fn, x.shape))
    return check_real(fn, 'ln_param["eps"]', ln_param.get('eps', 1e-5), '(0, inf)')


def finish_layernorm_forward(out, cache, x, gamma, beta):
    """(out of shape (N, D) with the dtype of x, your cache tagged for the backward pass)."""
    out = check_output('layernorm_forward', 'out', out, x.shape, x.dtype)
    return out, tag_cache(cache, out, gamma=gamma, beta=beta)


def prepare_norm_backward(fn, dout, cache):
    """Check dout against the forward pass that made the cache.

    Returns a tuple of:
    - cache: The cache your forward pass built
    - tag: What finish_norm_backward needs to know of the forward pass
    """
    cache, dtype, param_shapes = untag_cache(fn, dout, cache)
    return cache, (dtype, param_shapes)


def finish_norm_backward(fn, dx, dgamma, dbeta, dout, tag):
    """(dx, dgamma, dbeta), checked and with the dtype of the forward pass's
    output: dx (N, D); dgamma and dbeta (D,), or the shape of a gamma or beta
    that broadcast over x (see _checks.check_param_grad)."""
    dtype, param_shapes = tag
    N, D = dout.shape
    return (check_output(fn, 'dx', dx, (N, D), dtype),
            check_param_grad(fn, 'dgamma', dgamma, D, param_shapes.get('gamma'), dout, dtype),
            check_param_grad(fn, 'dbeta', dbeta, D, param_shapes.get('beta'), dout, dtype))


# ---------------------------------------------------------------------------
# dropout

def prepare_dropout_forward(x, dropout_param):
    """Check the arguments of dropout_forward.

    Returns:
    - p, mode: The keep probability and the mode of dropout_param
    """
    fn = 'dropout_forward'
    check_dict(fn, 'dropout_param', dropout_param, required=('p', 'mode'))
    p, mode = dropout_param['p'], dropout_param['mode']
    check_real(fn, 'dropout_param["p"] (the keep probability)', p, '(0, 1]')
    check_mode(fn, 'dropout_param["mode"]', mode)
    check_array(fn, 'x', x)
    return p, mode


def finish_dropout_forward(out, x):
    return check_output('dropout_forward', 'out', out, x.shape, x.dtype)


def prepare_dropout_backward(dout, mask, mode):
    fn = 'dropout_backward'
    if mode == 'train' and mask is None:
        raise ValueError('%s: the cache holds no mask: in train mode dropout_forward must store '
                         'the mask it drew in mask' % fn)
    check_array(fn, 'dout', dout, shape=np.shape(mask) if mode == 'train' else None)


def finish_dropout_backward(dx, dout):
    return check_output('dropout_backward', 'dx', dx, dout.shape, dout.dtype)


# ---------------------------------------------------------------------------
# The nets

def prepare_two_layer_net(input_dim, hidden_dim, num_classes, weight_scale, reg, dtype):
    fn = 'TwoLayerNet'
    check_int(fn, 'input_dim', input_dim)
    check_int(fn, 'hidden_dim', hidden_dim)
    check_int(fn, 'num_classes', num_classes)
    check_real(fn, 'weight_scale', weight_scale, '(0, inf)')
    check_real(fn, 'reg', reg, '[0, inf)')
    check_dtype(fn, 'dtype', dtype)


NORMALIZATIONS = (None, 'batchnorm', 'layernorm')


def prepare_fc_net(hidden_dims, input_dim, num_classes, dropout_keep_ratio, dropout,
                   normalization, reg, weight_scale, dtype):
    """Check the arguments of FullyConnectedNet.

    dropout is the 2019/2020 name of dropout_keep_ratio: pass one or the
    other; None (the default of both) keeps every unit, as 1 does.

    Returns a tuple of:
    - hidden_dims: A list of ints
    - dropout_keep_ratio: The keep probability, 1 if neither was passed
    - dtype: np.float32 or np.float64
    """
    fn = 'FullyConnectedNet'
    name = 'dropout_keep_ratio'
    if dropout is not None:
        if dropout_keep_ratio is not None:
            raise ValueError('%s: got dropout=%r and dropout_keep_ratio=%r; they are two names '
                             'for the same keep probability, pass only one'
                             % (fn, dropout, dropout_keep_ratio))
        dropout_keep_ratio, name = dropout, 'dropout'
    if dropout_keep_ratio is None:
        dropout_keep_ratio = 1
    if isinstance(hidden_dims, (str, bytes, dict)) or not hasattr(hidden_dims, '__len__') \
            or len(hidden_dims) == 0:
        raise ValueError('%s: hidden_dims must be a non-empty list of positive integers, '
                         'got %r' % (fn, hidden_dims))
    hidden_dims = [check_int(fn, 'hidden_dims[%d]' % i, h) for i, h in enumerate(hidden_dims)]
    check_int(fn, 'input_dim', input_dim)
    check_int(fn, 'num_classes', num_classes)
    check_real(fn, name, dropout_keep_ratio, '(0, 1]')
    check_choice(fn, 'normalization', normalization, NORMALIZATIONS)
    check_real(fn, 'reg', reg, '[0, inf)')
    check_real(fn, 'weight_scale', weight_scale, '(0, inf)')
    return hidden_dims, dropout_keep_ratio, check_dtype(fn, 'dtype', dtype).type


def finish_net_init(net, input_dim, dtype):
    """Store input_dim and dtype in the net (np.float32 or np.float64), and
    cast every parameter to dtype."""
    net.input_dim = input_dim
    net.dtype = check_dtype(type(net).__name__, 'dtype', dtype).type
    for k, v in net.params.items():
        net.params[k] = np.asarray(v).astype(net.dtype)


def prepare_net_loss(net, X):
    """X (N, d_1, ..., d_k), checked against the net's input_dim and cast
    to the net's dtype."""
    fn = '%s.loss' % type(net).__name__
    if isinstance(X, np.ndarray) and X.dtype.kind in 'iu':   # pixels as integers
        X = X.astype(net.dtype)
    check_examples(fn, 'X', X, net.input_dim, 'input_dim')
    return X.astype(net.dtype, copy=False)


def finish_scores(net, scores, X):
    """The scores (N, C) of the net's forward pass, with the net's dtype."""
    fn = '%s.loss' % type(net).__name__
    last = 'W%d' % getattr(net, 'num_layers', 2)
    if np.ndim(net.params.get(last)) != 2:
        raise ValueError('%s: self.params[%r], the weights of the last layer, is %s; expected '
                         'an array of shape (H, C)' % (fn, last, describe(net.params.get(last))))
    return check_output(fn, 'scores', scores, (X.shape[0], net.params[last].shape[1]), net.dtype)


def finish_net_loss(net, loss, grads):
    """(loss as a float, grads checked against net.params: the same keys,
    each gradient shaped like its parameter and with its dtype)."""
    fn = '%s.loss' % type(net).__name__
    return _loss_value(fn, loss), check_grads(fn, grads, net.params)
