"""Reference implementations for the hidden grading tests (staff only).

Written from the formulas, independently of the model answers in cs231n/, so
that a change to the model answers cannot change what "correct" means. They
serve twice:

- the judges (run in the trusted grading process) compute the expected values
  with them, in float64;
- when a student's nets are graded with correct layers (session.py's
  'reference' mode), each layer call the net makes in the sandbox is answered
  with the layers below (LAYERS), here in the grading process, so that a bug
  in one layer does not cost the net parts too.

The references are one namespace, REF, an instance of References. A judge
takes the namespace it compares with as a parameter (R, default REF), and a
known mistake (../mistakes) is a copy of it with some functions replaced:
REF.but(normalize=...). The layers are built from small named formulas
(normalize, moving_average, scale_shift, flatten, hyper, ...) and call each
other, and the net its layers, through the namespace (self), so replacing one
formula changes every reference built on it: the batchnorm and layernorm
layers, and the nets that use them.

Every layer has the package's API: out, cache = forward(...); grads =
backward(dout, cache). Results keep the dtype of the inputs.
staff/tests/test_grading.py checks them against numerical gradients.
"""
import collections
import copy

import numpy as np


def _as(a, like):
    return np.asarray(a).astype(like.dtype, copy=False)


# What a normalization layer's backward pass gets: the axis it normalized over
# (0 batchnorm, 1 layernorm), its input, x_hat, the statistics, eps and gamma.
NormCache = collections.namedtuple('NormCache', 'axis x xhat mean var eps gamma')

UPDATE_DEFAULTS = {
    'sgd_momentum': {'learning_rate': 1e-2, 'momentum': 0.9},
    'rmsprop': {'learning_rate': 1e-2, 'decay_rate': 0.99, 'epsilon': 1e-8},
    'adam': {'learning_rate': 1e-3, 'beta1': 0.9, 'beta2': 0.999, 'epsilon': 1e-8},
}


class References:
    """The staff references, as one namespace (see the module's docstring)."""

    # The parts of a hidden layer of the nets, in order ('norm' and 'dropout'
    # only where the net has them), and what follows the output affine layer.
    hidden = ('affine', 'norm', 'relu', 'dropout')
    output = ()
    # Layers whose backward step the net leaves out (dout passes through).
    backward_skips = ()

    def but(self, **changes):
        """A copy in which the functions (or attributes) named in `changes` are replaced.

        Inputs:
        - changes: name=replacement; a function replacing a method takes the
          method's arguments without self
        Returns:
        - the new References
        """
        other = copy.copy(self)
        other.__dict__.update(changes)
        return other

    # -- the formulas the layers are built from ---------------------------------
    def hyper(self, param, key, default=None):
        """A hyperparameter (eps, momentum, learning_rate, ...) as the caller's dict gives it."""
        return param.get(key, default)

    def flatten(self, x):
        """x of shape (N, d_1, ..., d_k) as N rows, example i in row i."""
        return x.reshape(x.shape[0], -1)

    def unflatten(self, rows, shape):
        """The inverse of flatten: rows of shape (N, D) back to `shape`."""
        return rows.reshape(shape)

    def moments(self, x, axis):
        """The mean and the (biased) variance of x along `axis`, kept broadcastable."""
        mean = x.mean(axis=axis, keepdims=True)
        return mean, ((x - mean) ** 2).mean(axis=axis, keepdims=True)

    def normalize(self, x, mean, var, eps):
        return (x - mean) / np.sqrt(var + eps)

    def scale_shift(self, xhat, gamma, beta):
        return gamma * xhat + beta

    def moving_average(self, name, old, new, decay):
        """A running average (batchnorm's running_mean and running_var; RMSProp's
        cache; Adam's m and v): the old value weighted by decay."""
        return decay * old + (1 - decay) * new

    def scale_shift_backward(self, dout, c):
        """(dx_hat, dgamma, dbeta) of out = gamma * x_hat + beta; c a NormCache."""
        return dout * c.gamma, (dout * c.xhat).sum(axis=0), dout.sum(axis=0)

    def normalize_backward(self, dxhat, c):
        """dx of x_hat = (x - mean) / std along c.axis: the direct path, the path
        through the mean and the path through the variance."""
        def mean(a):
            return a.mean(axis=c.axis, keepdims=True)
        return (dxhat - mean(dxhat) - c.xhat * mean(dxhat * c.xhat)) / np.sqrt(c.var + c.eps)

    # -- layers -----------------------------------------------------------------
    def affine_forward(self, x, w, b):
        return _as(self.flatten(x) @ w + b, x), (x, w, b)

    def affine_backward(self, dout, cache):
        x, w, b = cache
        return (_as(self.unflatten(dout @ w.T, x.shape), x), _as(self.flatten(x).T @ dout, w),
                _as(dout.sum(axis=0), b))

    def relu_forward(self, x):
        return np.where(x > 0, x, 0).astype(x.dtype), x

    def relu_backward(self, dout, cache):
        return np.where(cache > 0, dout, 0).astype(cache.dtype)

    def softmax_loss(self, x, y):
        n = x.shape[0]
        z = x - x.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(n), y].sum() / n
        dx = np.exp(logp)
        dx[np.arange(n), y] -= 1
        return float(loss), _as(dx / n, x)

    def svm_loss(self, x, y):
        n = x.shape[0]
        margins = np.maximum(0, x - x[np.arange(n), y][:, None] + 1.0)
        margins[np.arange(n), y] = 0
        positive = (margins > 0).astype(np.float64)
        positive[np.arange(n), y] = -positive.sum(axis=1)
        return float(margins.sum() / n), _as(positive / n, x)

    def batchnorm_forward(self, x, gamma, beta, bn_param):
        mode = bn_param['mode']
        eps = self.hyper(bn_param, 'eps', 1e-5)
        momentum = self.hyper(bn_param, 'momentum', 0.9)
        d = x.shape[1]
        stats = {}
        for key in ('running_mean', 'running_var'):
            stats[key] = bn_param.get(key, np.zeros(d, dtype=x.dtype))
            # as the given code of batchnorm_forward says it, for a net run on these layers
            if np.shape(stats[key]) not in ((d,), (1, d)):
                raise ValueError('bn_param["%s"] has shape %s, expected (%d,)'
                                 % (key, np.shape(stats[key]), d))
        cache = None
        if mode == 'train':
            mean, var = self.moments(x, 0)
            xhat = self.normalize(x, mean, var, eps)
            for key, batch in (('running_mean', mean), ('running_var', var)):
                bn_param[key] = _as(self.moving_average(key, stats[key], batch.reshape(-1),
                                                        momentum), x)
            cache = NormCache(0, x, xhat, mean, var, eps, gamma)
        else:
            xhat = self.normalize(x, stats['running_mean'], stats['running_var'], eps)
            bn_param.update(stats)
        return _as(self.scale_shift(xhat, gamma, beta), x), cache

    def norm_backward(self, dout, cache):
        """(dx, dgamma, dbeta) of a normalization layer (batchnorm or layernorm)."""
        dxhat, dgamma, dbeta = self.scale_shift_backward(dout, cache)
        dx = self.normalize_backward(dxhat, cache)
        return _as(dx, dout), _as(dgamma, dout), _as(dbeta, dout)

    def batchnorm_backward(self, dout, cache):
        return self.norm_backward(dout, cache)

    def batchnorm_backward_alt(self, dout, cache):
        return self.norm_backward(dout, cache)

    def layernorm_forward(self, x, gamma, beta, ln_param):
        eps = self.hyper(ln_param, 'eps', 1e-5)
        mean, var = self.moments(x, 1)
        xhat = self.normalize(x, mean, var, eps)
        return _as(self.scale_shift(xhat, gamma, beta), x), NormCache(1, x, xhat, mean, var,
                                                                      eps, gamma)

    def layernorm_backward(self, dout, cache):
        return self.norm_backward(dout, cache)

    def dropout_keep(self, p):
        """The probability of keeping a unit: p."""
        return p

    def dropout_divisor(self, p):
        """What kept units are divided by at train time (inverted dropout): p."""
        return p

    def dropout_forward(self, x, dropout_param):
        p, mode = dropout_param['p'], dropout_param['mode']
        if dropout_param.get('seed') is not None:
            np.random.seed(dropout_param['seed'])
        if mode == 'train':
            mask = (np.random.rand(*x.shape) < self.dropout_keep(p)) / self.dropout_divisor(p)
            return _as(x * mask, x), (dropout_param, mask)
        return x, (dropout_param, None)

    def dropout_backward(self, dout, cache):
        dropout_param, mask = cache
        if dropout_param['mode'] == 'train':
            return _as(dout * mask, dout)
        return dout

    def dropout_gradient(self, dout, out, x, p):
        """dx of a dropout forward pass (keep probability p) that gave `out` for `x`:
        dropout is linear in x, so its gradient is out / x entry by entry."""
        return dout * (out / x)

    # -- nets -------------------------------------------------------------------
    def net_param_shapes(self, dims, normalization):
        """{name: shape} of the parameters of a net with layer sizes `dims`."""
        shapes = {}
        for i in range(1, len(dims)):
            shapes.update({'W%d' % i: (dims[i - 1], dims[i]), 'b%d' % i: (dims[i],)})
            if normalization and i < len(dims) - 1:
                shapes.update({'gamma%d' % i: (dims[i],), 'beta%d' % i: (dims[i],)})
        return shapes

    def init_moments(self, name, fan_in, weight_scale):
        """(mean, std) of the entries of a parameter as __init__ draws them; std 0
        means every entry equals the mean (None: one value, any)."""
        if name[0] == 'W':
            return 0.0, weight_scale
        return (1.0 if name.startswith('gamma') else 0.0), 0.0

    def layer_mode(self, layer, mode):
        """The mode the net runs its `layer` ('norm', 'dropout') in, in `mode`."""
        return mode

    def l2(self, params, reg):
        """(the L2 term of the loss, {name: its gradient}): 0.5 * reg * sum(W ** 2)
        over the weights."""
        weights = {k: v for k, v in params.items() if k[0] == 'W'}
        return (0.5 * reg * sum(float((W * W).sum()) for W in weights.values()),
                {k: reg * W for k, W in weights.items()})

    def norm_grads(self, i, dgamma, dbeta):
        """The grads entries of hidden layer i's normalization."""
        return {'gamma%d' % i: dgamma, 'beta%d' % i: dbeta}

    def net_loss(self, params, X, y, num_layers, reg, normalization=None, norm_params=None,
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
        layers = []
        for i in range(1, num_layers):
            steps = []
            for name in self.hidden:
                step = self._forward(name, h, i, P, mode, normalization, norm_params, dropout)
                if step is not None:
                    h, cache = step
                    steps.append((name, cache))
            layers.append(steps)
        L = num_layers
        scores, c_last = self.affine_forward(h, P['W%d' % L], P['b%d' % L])
        tail = []
        for name in self.output:
            scores, cache = self.relu_forward(scores)
            tail.append((name, cache))
        if y is None:
            return scores
        loss, d = self.softmax_loss(scores, y)
        grads = {}
        for name, cache in reversed(tail):
            d = self._backward(name, d, cache, L, grads)
        d, grads['W%d' % L], grads['b%d' % L] = self.affine_backward(d, c_last)
        for i in range(L - 1, 0, -1):
            for name, cache in reversed(layers[i - 1]):
                d = self._backward(name, d, cache, i, grads)
        l2_loss, l2_grads = self.l2(P, reg)
        for k, g in l2_grads.items():
            grads[k] = grads[k] + g
        return loss + l2_loss, grads

    def _forward(self, name, h, i, P, mode, normalization, norm_params, dropout):
        """(h, cache) of one part of hidden layer i, None where the net has no such part."""
        if name == 'affine':
            return self.affine_forward(h, P['W%d' % i], P['b%d' % i])
        if name == 'relu':
            return self.relu_forward(h)
        if name == 'norm' and normalization is not None:
            param = norm_params[i - 1]
            if normalization == 'batchnorm':
                param['mode'] = self.layer_mode('norm', mode)
                return self.batchnorm_forward(h, P['gamma%d' % i], P['beta%d' % i], param)
            return self.layernorm_forward(h, P['gamma%d' % i], P['beta%d' % i], param)
        if name == 'dropout' and dropout is not None:
            p, seed_or_masks = dropout
            param = {'mode': self.layer_mode('dropout', mode), 'p': p}
            if isinstance(seed_or_masks, (list, tuple)):
                if param['mode'] != 'train':
                    return h, (param, None)
                mask = np.asarray(seed_or_masks[i - 1], dtype=np.float64)
                return h * mask, (param, mask)
            return self.dropout_forward(h, dict(param, seed=seed_or_masks))
        return None

    def _backward(self, name, d, cache, i, grads):
        if name == 'affine':
            d, grads['W%d' % i], grads['b%d' % i] = self.affine_backward(d, cache)
            return d
        if name == 'norm':
            dx, dgamma, dbeta = self.norm_backward(d, cache)
            grads.update(self.norm_grads(i, dgamma, dbeta))
        elif name == 'dropout':
            dx = self.dropout_backward(d, cache)
        else:
            dx = self.relu_backward(d, cache)
        return d if name in self.backward_skips else dx

    # -- update rules (float64; they never modify their arguments) -------------
    def sgd_momentum(self, w, dw, config):
        c = dict(config)
        v = c.get('velocity', np.zeros_like(w))
        v = self.hyper(c, 'momentum') * v - self.hyper(c, 'learning_rate') * dw
        c['velocity'] = v
        return w + v, c

    def squared_gradient(self, dw):
        """What RMSProp's cache and Adam's v average: dw ** 2."""
        return dw * dw

    def rmsprop_denominator(self, cache, epsilon):
        return np.sqrt(cache) + epsilon

    def rmsprop(self, w, dw, config):
        c = dict(config)
        c['cache'] = self.moving_average('cache', c.get('cache', np.zeros_like(w)),
                                         self.squared_gradient(dw), self.hyper(c, 'decay_rate'))
        step = self.hyper(c, 'learning_rate') * dw
        return w - step / self.rmsprop_denominator(c['cache'], self.hyper(c, 'epsilon')), c

    def bias_correction(self, name, config, t):
        """What Adam divides `name` ('m' or 'v') by at step t: 1 - beta**t."""
        return 1 - self.hyper(config, 'beta1' if name == 'm' else 'beta2') ** t

    def adam(self, w, dw, config):
        c = dict(config)
        t = c.get('t', 0) + 1
        m = self.moving_average('m', c.get('m', np.zeros_like(w)), dw, self.hyper(c, 'beta1'))
        v = self.moving_average('v', c.get('v', np.zeros_like(w)), self.squared_gradient(dw),
                                self.hyper(c, 'beta2'))
        c.update(m=m, v=v, t=t)
        m_hat = m / self.bias_correction('m', c, t)
        v_hat = v / self.bias_correction('v', c, t)
        step = self.hyper(c, 'learning_rate') * m_hat
        return w - step / (np.sqrt(v_hat) + self.hyper(c, 'epsilon')), c

    def update_rules(self, rule):
        """The rule, then the formulations the hidden tests accept beside it:
        RMSProp with epsilon inside the square root, as TensorFlow 1's
        RMSPropOptimizer writes it (the same cache, a step O(epsilon / cache)
        apart, which a float64 tolerance that catches bugs separates only for
        some draws of the inputs, so that a grade never depends on the draw)."""
        rules = [getattr(self, rule)]
        if rule == 'rmsprop':
            rules.append(self.but(rmsprop_denominator=lambda cache, eps: np.sqrt(cache + eps))
                         .rmsprop)
        return rules


REF = References()

LAYERS = {name: getattr(REF, name) for name in (
    'affine_forward', 'affine_backward', 'relu_forward', 'relu_backward', 'softmax_loss',
    'svm_loss', 'batchnorm_forward', 'batchnorm_backward', 'batchnorm_backward_alt',
    'layernorm_forward', 'layernorm_backward', 'dropout_forward', 'dropout_backward')}
# The module's functions, for the callers that need no namespace (models.py, the tests).
affine_forward, affine_backward = REF.affine_forward, REF.affine_backward
relu_forward, relu_backward = REF.relu_forward, REF.relu_backward
softmax_loss, svm_loss = REF.softmax_loss, REF.svm_loss
batchnorm_forward, batchnorm_backward = REF.batchnorm_forward, REF.batchnorm_backward
layernorm_forward, layernorm_backward = REF.layernorm_forward, REF.layernorm_backward
dropout_forward, dropout_backward = REF.dropout_forward, REF.dropout_backward
net_loss = REF.net_loss
sgd_momentum, rmsprop, adam = REF.sgd_momentum, REF.rmsprop, REF.adam
UPDATE_RULES = {rule: getattr(REF, rule) for rule in UPDATE_DEFAULTS}
