"""The legitimate variants: correct code written unlike the model answers,
rows of the catalogue that no part may reject and in which nothing may be
named (the bug runner runs each against the public self-check, the staff
tests against every part, at every draw)."""
from . import Variant, plant

L, O = 'cs231n/layers.py', 'cs231n/optim.py'
BN1, BN2 = 'batchnorm_forward part 1', 'batchnorm_forward part 2'
DO1 = 'dropout_forward part 1'

LAYERNORM_VIA_BATCHNORM_FORWARD = """\
# The hint: batch norm of the transposed problem, with gamma and beta
# reshaped to (D, 1) so that they scale and shift the rows of x.T.
ln_param['mode'] = 'train'
xt = x.T
out_t, bn_cache = batchnorm_forward(xt, gamma.reshape(-1, 1), beta.reshape(-1, 1),
                                    {'mode': 'train', 'eps': eps})
out = out_t.T
cache = (bn_cache, gamma)
"""
LAYERNORM_VIA_BATCHNORM_BACKWARD = """\
bn_cache, gamma = cache
dx_t, _, _ = batchnorm_backward(dout.T, bn_cache)
dx = dx_t.T
x_hat = bn_cache[1].T
dgamma = np.sum(dout * x_hat, axis=0)
dbeta = np.sum(dout, axis=0)
"""
SOFTMAX_2017 = """\
probs = np.exp(x - np.max(x, axis=1, keepdims=True))
probs /= np.sum(probs, axis=1, keepdims=True)
N = x.shape[0]
loss = -np.sum(np.log(probs[np.arange(N), y])) / N
dx = probs.copy()
dx[np.arange(N), y] -= 1
dx /= N
"""
# In-place updates of w and the state, RMSProp with epsilon inside the square
# root (TensorFlow 1), Adam with its bias corrections folded into the step size.
RULES_IN_PLACE = plant(O, 'sgd_momentum', None, (
    "v *= config['momentum']\nv -= config['learning_rate'] * dw\nw += v\nnext_w = w\n")) + plant(
    O, 'rmsprop', None, (
        "cache = config['cache']\ncache *= config['decay_rate']\n"
        "cache += (1 - config['decay_rate']) * dw * dw\n"
        "w -= config['learning_rate'] * dw / np.sqrt(cache + config['epsilon'])\n"
        'next_w = w\n')) + plant(
    O, 'adam', None, (
        "config['t'] = t = config['t'] + 1\nb1, b2 = config['beta1'], config['beta2']\n"
        "config['m'] *= b1\nconfig['m'] += (1 - b1) * dw\nconfig['v'] *= b2\n"
        "config['v'] += (1 - b2) * dw ** 2\n"
        "alpha = config['learning_rate'] * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)\n"
        "w -= alpha * config['m'] / (np.sqrt(config['v']) + config['epsilon'])\nnext_w = w\n"))
BATCHNORM_DICT_CACHE = plant(L, BN1, None, (
    'mu = np.mean(x, axis=0)\nxc = x - mu\nvar = np.mean(xc ** 2, axis=0)\n'
    'inv = 1.0 / np.sqrt(var + eps)\nout = xc * inv * gamma + beta\n'
    'running_mean = momentum * running_mean + (1 - momentum) * mu\n'
    'running_var = momentum * running_var + (1 - momentum) * var\n'
    "cache = {'xc': xc, 'inv': inv, 'gamma': gamma}\n")) + plant(L, 'batchnorm_backward', None, (
        "xc, inv, gamma = cache['xc'], cache['inv'], cache['gamma']\nn = dout.shape[0]\n"
        'dbeta = np.sum(dout, axis=0)\ndgamma = np.sum(dout * xc * inv, axis=0)\n'
        'dxhat = dout * gamma\ndvar = np.sum(dxhat * xc, axis=0) * -0.5 * inv ** 3\n'
        'dmu = -np.sum(dxhat * inv, axis=0) - 2.0 * dvar * np.mean(xc, axis=0)\n'
        'dx = dxhat * inv + 2.0 * xc * dvar / n + dmu / n\n')) + plant(
    L, 'batchnorm_backward_alt', None, (
        "xc, inv, gamma = cache['xc'], cache['inv'], cache['gamma']\nxhat = xc * inv\n"
        'dbeta = dout.sum(0)\ndgamma = (dout * xhat).sum(0)\n'
        'dx = gamma * inv / dout.shape[0] * (dout.shape[0] * dout - dbeta - xhat * dgamma)\n'))
DROPOUT_BOOLEAN_MASK = plant(L, DO1, None, (
    'mask = np.random.rand(*x.shape) < p\nout = np.where(mask, x / p, 0)\n')) + plant(
    L, 'dropout_backward', None, "dx = np.where(mask, dout, 0) / dropout_param['p']\n")
# The formulations that the grading tests run together, in one submission.
ALTERNATIVE_FORMULATIONS = ('update-rules-in-place', 'batchnorm-dict-cache',
                            'dropout-boolean-mask')

VARIANTS = [
    Variant('update-rules-in-place', RULES_IN_PLACE),
    Variant('batchnorm-dict-cache', BATCHNORM_DICT_CACHE),
    Variant('dropout-boolean-mask', DROPOUT_BOOLEAN_MASK),
    Variant('relu-backward-ge-mask', plant(L, 'relu_backward', 'dout * (x > 0)',
                                           'dout * (x >= 0)')),
    Variant('relu-forward-where', plant(L, 'relu_forward', 'np.maximum(0, x)',
                                        'np.where(x > 0, x, 0)')),
    Variant('relu-forward-in-place-copy', plant(L, 'relu_forward', 'out = np.maximum(0, x)',
                                                'out = x.copy()\nout[out < 0] = 0')),
    Variant('affine-forward-einsum', plant(
        L, 'affine_forward', 'x.reshape(x.shape[0], -1) @ w',
        "np.einsum('nd,dm->nm', x.reshape(x.shape[0], -1), w)")),
    Variant('batchnorm-running-stats-in-place', plant(
        L, BN1, 'running_mean = momentum * running_mean + (1 - momentum) * mean',
        'running_mean *= momentum\nrunning_mean += (1 - momentum) * mean') + plant(
        L, BN1, 'running_var = momentum * running_var + (1 - momentum) * var',
        'running_var *= momentum\nrunning_var += (1 - momentum) * var')),
    Variant('batchnorm-stats-keepdims', plant(L, BN1, 'mean = x.mean(axis=0)',
                                              'mean = x.mean(axis=0, keepdims=True)') + plant(
        L, BN1, 'var = x.var(axis=0)', 'var = x.var(axis=0, keepdims=True)'),
        'running statistics kept as (1, D)'),
    Variant('batchnorm-power-instead-of-sqrt', plant(L, BN1, 'std = np.sqrt(var + eps)',
                                                     'std = (var + eps) ** 0.5')),
    Variant('batchnorm-test-mode-scale-first', plant(
        L, BN2, 'out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta',
        'scale = gamma / np.sqrt(running_var + eps)\n'
        'out = x * scale + (beta - running_mean * scale)')),
    Variant('layernorm-via-own-batchnorm-transposed', plant(
        L, 'layernorm_forward', None, LAYERNORM_VIA_BATCHNORM_FORWARD) + plant(
        L, 'layernorm_backward', None, LAYERNORM_VIA_BATCHNORM_BACKWARD),
        'issue 21: refused by the given checks before'),
    Variant('dropout-binomial-mask', plant(
        L, DO1, 'mask = (np.random.rand(*x.shape) < p).astype(x.dtype) / p',
        'mask = np.random.binomial(1, p, size=x.shape) / p'), 'issue 21: refused before'),
    Variant('dropout-uniform-bool-mask', plant(
        L, DO1, 'mask = (np.random.rand(*x.shape) < p).astype(x.dtype) / p\n',
        'mask = np.random.uniform(size=x.shape) < p\n') + plant(
        L, DO1, 'out = x * mask', 'out = x * mask / p') + plant(
        L, 'dropout_backward', 'dx = dout * mask', "dx = dout * mask / dropout_param['p']")),
    Variant('softmax-official-2017', plant(L, 'softmax_loss', None, SOFTMAX_2017)),
    Variant('rmsprop-eps-inside-sqrt', plant(
        O, 'rmsprop', "(np.sqrt(config['cache']) + config['epsilon'])",
        "np.sqrt(config['cache'] + config['epsilon'])"),
        "TensorFlow 1's RMSPropOptimizer; the grader accepted it for some draws only before"),
    Variant('sgd-momentum-in-place', plant(
        O, 'sgd_momentum', "v = config['momentum'] * v - config['learning_rate'] * dw\n",
        "v *= config['momentum']\nv -= config['learning_rate'] * dw\n") + plant(
        O, 'sgd_momentum', 'next_w = w + v', 'w += v\nnext_w = w')),
]

