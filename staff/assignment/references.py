"""Reference implementations for the hidden grading tests (staff only).

Written from the formulas, independently of the model answers in cs231n/, so
that a change to the model answers cannot change what "correct" means. They
serve twice:

- the judges (run in the trusted grading process) compute the expected values
  with them, in float64;
- when a student's nets are graded with correct layers (session.py's
  'reference' mode), each layer call the net makes in the sandbox is answered
  with the functions below, here in the grading process, so that a bug in one
  layer does not cost the net parts too.

Every layer has the package's API: out, cache = forward(...); grads =
backward(dout, cache). Results keep the dtype of the inputs.
staff/tests/test_grading.py checks them against numerical gradients.
"""
import functools

import numpy as np


def _as(a, like):
    return np.asarray(a).astype(like.dtype, copy=False)


# ---------------------------------------------------------------------------
# Layers

def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return _as(out, x), (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    x2 = x.reshape(x.shape[0], -1)
    return (_as((dout @ w.T).reshape(x.shape), x), _as(x2.T @ dout, w),
            _as(dout.sum(axis=0), b))


def relu_forward(x):
    return np.where(x > 0, x, 0).astype(x.dtype), x


def relu_backward(dout, cache):
    return np.where(cache > 0, dout, 0).astype(cache.dtype)


def softmax_loss(x, y):
    n = x.shape[0]
    z = x - x.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -logp[np.arange(n), y].sum() / n
    dx = np.exp(logp)
    dx[np.arange(n), y] -= 1
    return float(loss), _as(dx / n, x)


def svm_loss(x, y):
    n = x.shape[0]
    margins = np.maximum(0, x - x[np.arange(n), y][:, None] + 1.0)
    margins[np.arange(n), y] = 0
    positive = (margins > 0).astype(np.float64)
    positive[np.arange(n), y] = -positive.sum(axis=1)
    return float(margins.sum() / n), _as(positive / n, x)


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param['mode']
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)
    d = x.shape[1]
    running_mean = bn_param.get('running_mean', np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.zeros(d, dtype=x.dtype))
    for key, stat in (('running_mean', running_mean), ('running_var', running_var)):
        # as the given code of batchnorm_forward says it, for a net run on these layers
        if np.shape(stat) not in ((d,), (1, d)):
            raise ValueError('bn_param["%s"] has shape %s, expected (%d,)'
                             % (key, np.shape(stat), d))
    if mode == 'train':
        mu = x.mean(axis=0)
        var = ((x - mu) ** 2).mean(axis=0)
        xhat = (x - mu) / np.sqrt(var + eps)
        out = gamma * xhat + beta
        bn_param['running_mean'] = _as(momentum * running_mean + (1 - momentum) * mu, x)
        bn_param['running_var'] = _as(momentum * running_var + (1 - momentum) * var, x)
        cache = ('batchnorm', xhat, np.sqrt(var + eps), gamma)
    else:
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        bn_param['running_mean'], bn_param['running_var'] = running_mean, running_var
        cache = None
    return _as(out, x), cache


def _norm_backward(dout, xhat, std, gamma, axis):
    """Gradient through xhat = (x - mean) / std along `axis`, then gamma * xhat + beta."""
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    g = dout * gamma
    dx = (g - g.mean(axis=axis, keepdims=True)
          - xhat * (g * xhat).mean(axis=axis, keepdims=True)) / std
    return dx, dgamma, dbeta


def batchnorm_backward(dout, cache):
    _, xhat, std, gamma = cache
    dx, dgamma, dbeta = _norm_backward(dout, xhat, std, gamma, axis=0)
    return _as(dx, dout), _as(dgamma, dout), _as(dbeta, dout)


batchnorm_backward_alt = batchnorm_backward


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get('eps', 1e-5)
    mu = x.mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + eps)
    out = gamma * xhat + beta
    return _as(out, x), ('layernorm', xhat, np.sqrt(var + eps), gamma)


def layernorm_backward(dout, cache):
    _, xhat, std, gamma = cache
    dx, dgamma, dbeta = _norm_backward(dout, xhat, std, gamma, axis=1)
    return _as(dx, dout), _as(dgamma, dout), _as(dbeta, dout)


def dropout_mask(shape, p, seed):
    """The mask dropout_forward draws: np.random.seed(seed); rand(*shape) < p."""
    return np.random.RandomState(seed).rand(*shape) < p


def dropout_forward(x, dropout_param):
    p, mode = dropout_param['p'], dropout_param['mode']
    if dropout_param.get('seed') is not None:
        np.random.seed(dropout_param['seed'])
    if mode == 'train':
        mask = (np.random.rand(*x.shape) < p) / p
        return _as(x * mask, x), (dropout_param, mask)
    return x, (dropout_param, None)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param['mode'] == 'train':
        return _as(dout * mask, dout)
    return dout


LAYERS = {f.__name__: f for f in (
    affine_forward, affine_backward, relu_forward, relu_backward, softmax_loss, svm_loss,
    batchnorm_forward, batchnorm_backward, layernorm_forward, layernorm_backward,
    dropout_forward, dropout_backward)}
LAYERS['batchnorm_backward_alt'] = batchnorm_backward_alt


# ---------------------------------------------------------------------------
# Nets (float64, for the judges)

def net_loss(params, X, y, num_layers, reg, normalization=None, norm_params=None,
             dropout=None, dtype=np.float64):
    """Scores, or (loss, grads), of {affine - [norm] - relu - [dropout]} x (L-1) -
    affine - softmax, with the L2 term 0.5 * reg * sum(W ** 2) over the weights.

    Inputs:
    - params: W1, b1, ..., and gamma1, beta1, ... with normalization
    - X, y: data; y None means test mode (scores only)
    - norm_params: per hidden layer, the bn_param / ln_param dicts (batchnorm
      running statistics are updated in them, as the net does)
    - dropout: None, or (keep probability, seed), or (keep probability, [one
      mask per hidden layer, of 0 and 1/p]): the masks a student's own dropout drew
    - dtype: what it computes in (float32 for scoring a saved float32 model)
    """
    mode = 'test' if y is None else 'train'
    P = {k: np.asarray(v, dtype=dtype) for k, v in params.items()}
    h = np.asarray(X, dtype=dtype).reshape(X.shape[0], -1)
    caches = []
    for i in range(1, num_layers):
        h, c_aff = affine_forward(h, P['W%d' % i], P['b%d' % i])
        c_norm = None
        if normalization == 'batchnorm':
            norm_params[i - 1]['mode'] = mode
            h, c_norm = batchnorm_forward(h, P['gamma%d' % i], P['beta%d' % i],
                                          norm_params[i - 1])
        elif normalization == 'layernorm':
            h, c_norm = layernorm_forward(h, P['gamma%d' % i], P['beta%d' % i],
                                          norm_params[i - 1])
        h, c_relu = relu_forward(h)
        c_drop = None
        if dropout is not None and mode == 'train':
            p, seed_or_masks = dropout
            if isinstance(seed_or_masks, (list, tuple)):
                mask = np.asarray(seed_or_masks[i - 1], dtype=np.float64)
                h, c_drop = h * mask, ({'mode': 'train', 'p': p}, mask)
            else:
                h, c_drop = dropout_forward(h, {'mode': 'train', 'p': p, 'seed': seed_or_masks})
        caches.append((c_aff, c_norm, c_relu, c_drop))
    L = num_layers
    scores, c_last = affine_forward(h, P['W%d' % L], P['b%d' % L])
    if y is None:
        return scores
    loss, d = softmax_loss(scores, y)
    grads = {}
    d, grads['W%d' % L], grads['b%d' % L] = affine_backward(d, c_last)
    for i in range(L - 1, 0, -1):
        c_aff, c_norm, c_relu, c_drop = caches[i - 1]
        if c_drop is not None:
            d = dropout_backward(d, c_drop)
        d = relu_backward(d, c_relu)
        if normalization == 'batchnorm':
            d, grads['gamma%d' % i], grads['beta%d' % i] = batchnorm_backward(d, c_norm)
        elif normalization == 'layernorm':
            d, grads['gamma%d' % i], grads['beta%d' % i] = layernorm_backward(d, c_norm)
        d, grads['W%d' % i], grads['b%d' % i] = affine_backward(d, c_aff)
    for i in range(1, L + 1):
        W = P['W%d' % i]
        loss += 0.5 * reg * float((W * W).sum())
        grads['W%d' % i] = grads['W%d' % i] + reg * W
    return loss, grads


# ---------------------------------------------------------------------------
# Update rules (float64; they never modify their arguments)

def sgd_momentum(w, dw, config):
    c = dict(config)
    v = c.get('velocity', np.zeros_like(w))
    v = c['momentum'] * v - c['learning_rate'] * dw
    c['velocity'] = v
    return w + v, c


def rmsprop(w, dw, config, eps_in_sqrt=False):
    """eps_in_sqrt: epsilon inside the square root, as TensorFlow 1's
    RMSPropOptimizer writes it: the same cache, a step O(epsilon / cache) apart,
    which a float64 tolerance that catches bugs separates only for some draws
    of the inputs. Accepted (UPDATE_VARIANTS), so that a grade never depends
    on the draw."""
    c = dict(config)
    cache = c.get('cache', np.zeros_like(w))
    cache = c['decay_rate'] * cache + (1 - c['decay_rate']) * dw * dw
    c['cache'] = cache
    eps = c['epsilon']
    denominator = np.sqrt(cache + eps) if eps_in_sqrt else np.sqrt(cache) + eps
    return w - c['learning_rate'] * dw / denominator, c


def adam(w, dw, config):
    c = dict(config)
    b1, b2 = c['beta1'], c['beta2']
    t = c.get('t', 0) + 1
    m = b1 * c.get('m', np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * c.get('v', np.zeros_like(w)) + (1 - b2) * dw * dw
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    c.update(m=m, v=v, t=t)
    return w - c['learning_rate'] * m_hat / (np.sqrt(v_hat) + c['epsilon']), c


UPDATE_DEFAULTS = {
    'sgd_momentum': {'learning_rate': 1e-2, 'momentum': 0.9},
    'rmsprop': {'learning_rate': 1e-2, 'decay_rate': 0.99, 'epsilon': 1e-8},
    'adam': {'learning_rate': 1e-3, 'beta1': 0.9, 'beta2': 0.999, 'epsilon': 1e-8},
}
UPDATE_RULES = {'sgd_momentum': sgd_momentum, 'rmsprop': rmsprop, 'adam': adam}
# Formulations that the hidden tests accept beside the official rule.
UPDATE_VARIANTS = {'rmsprop': [functools.partial(rmsprop, eps_in_sqrt=True)]}
