"""The catalogue: one row per known mistake (a family where it has free
parameters), and the legitimate variants. See __init__.py for what a row is.

Sources: the student functions and their docstrings, the assignment's known
pain points (the missing 0.5 of the L2 term, regularized biases and
gamma/beta, p as the drop probability, the softmax overflow, float32), the
bugs that earlier versions of the self-check let through, and the ones issues
21 and 27 name. Each family is written from the formula it gets wrong (any
eps, any axis, any sign, any weighting of a running average), not from one
edit; `python -m staff.bugs --set second` measures it on bugs written without
these rows.
"""
import itertools

import numpy as np

from . import Mistake, Variant, family, matchers as M, plant
from ..references import REF

L, U = 'cs231n/layers.py', 'cs231n/layer_utils.py'
F, O = 'cs231n/classifiers/fc_net.py', 'cs231n/optim.py'
BN1, BN2 = 'batchnorm_forward part 1', 'batchnorm_forward part 2'
DO1, DO2 = 'dropout_forward part 1', 'dropout_forward part 2'
TL1, TL2 = 'TwoLayerNet.loss part 1', 'TwoLayerNet.loss part 2'
FC1, FC2 = 'FullyConnectedNet.loss part 1', 'FullyConnectedNet.loss part 2'

BN_FORWARD = ('batchnorm_forward_train', 'batchnorm_forward_test')
NORM_FORWARD = BN_FORWARD + ('layernorm_forward',)
NORM_BACKWARD = ('batchnorm_backward', 'batchnorm_backward_alt', 'layernorm_backward')
LAYER_PARTS = ('affine_forward', 'affine_backward', 'relu_forward', 'relu_backward',
               'softmax_loss', 'svm_loss') + NORM_FORWARD + NORM_BACKWARD + (
               'dropout_forward', 'dropout_backward')
NETS = ('two_layer_net', 'fc_net', 'fc_net_batchnorm', 'fc_net_layernorm', 'fc_net_dropout')
RULES = ('sgd_momentum', 'rmsprop', 'adam')


def _said(fields, order=None):
    """The non-empty texts of `fields`, joined by commas and 'and'."""
    texts = [fields[k] for k in (order or fields) if fields[k]]
    return ', '.join(texts[:-1]) + (' and ' if len(texts) > 1 else '') + texts[-1]


# ---------------------------------------------------------------------------
# Every layer

IN_PLACE = Mistake(
    'layer-changes-input', LAYER_PARTS,
    "{fn}: changes its input {input} in place; the caller still uses it (the notebooks' "
    'gradient checks call the layer again on the same array): compute the result in a new array',
    matcher=M.changed_input, note='issue 27: the grader passed copies and never saw it',
    plants={'relu_forward': plant(L, 'relu_forward', 'out = np.maximum(0, x)',
                                  'x *= x > 0\nout = x'),
            'dropout_forward': plant(L, DO1, 'out = x * mask', 'x *= mask\nout = x')})
WRONG_AXIS = Mistake(
    'reduced-over-wrong-axis', LAYER_PARTS,
    '{fn}: {name} has shape {shape} where one value per feature, shape {want}, belongs: a '
    'mean, variance or sum taken over the wrong axis (or none); statistics and gradients of '
    'per-feature parameters run over the batch, axis 0',
    matcher=M.wrong_axis,
    plants=plant(L, BN1, 'mean = x.mean(axis=0)', 'mean = x.mean(axis=1, keepdims=True)'))
KEEPDIMS = Mistake(
    'keepdims-missing', LAYER_PARTS,
    '{fn}: numpy could not combine an array of shape {shape} with a per-row statistic of shape '
    '(N,): numpy lines arrays up by their last axis, so keep the reduced axis '
    '(keepdims=True, or [:, None])',
    matcher=M.keepdims_missing,
    plants=plant(L, 'softmax_loss', 'x - x.max(axis=1, keepdims=True)', 'x - x.max(axis=1)'))


# ---------------------------------------------------------------------------
# affine

def _unflattener(flatten):
    """The inverse of a flatten that permutes x's entries."""
    def unflatten(rows, shape):
        index = flatten(np.arange(int(np.prod(shape))).reshape(shape))
        out = np.empty(rows.size, dtype=rows.dtype)
        out[index.ravel()] = rows.ravel()
        return out.reshape(shape)
    return unflatten


FLATTEN_ORDERS = [
    ('in column-major order (order="F")', lambda x: x.reshape(x.shape[0], -1, order='F')),
    ('with the batch axis last (x.reshape(-1, N).T)', lambda x: x.reshape(-1, x.shape[0]).T),
    ('through x.T (x.T.reshape(N, -1))', lambda x: x.T.reshape(x.shape[0], -1)),
    ('with its last two axes swapped', lambda x: np.swapaxes(x, -1, -2).reshape(x.shape[0], -1)
     if x.ndim > 3 else x.reshape(x.shape[0], -1, order='F'))]


def _flattened(order, what):
    changes = {'x': {'flatten': order}, 'dx': {'unflatten': _unflattener(order)}}
    return REF.but(**{k: v for w in what for k, v in changes[w].items()})


AFFINE = [
    Mistake('affine-forward-bias', ['affine_forward'],
            'affine_forward: out matches x @ w {bias}; add b, once, to every row',
            reference=family(lambda bias: REF.but(affine_forward=lambda x, w, b: REF.affine_forward(
                x, w, bias * b)), bias=[('without the bias', 0.0), ('minus the bias', -1.0)]),
            plants=plant(L, 'affine_forward', '@ w + b', '@ w')),
    Mistake('affine-flatten-order', ['affine_forward', 'affine_backward'],
            '{fn}: your results match {what} {order}; x.reshape(N, -1) puts example i\'s '
            'values, in their order, in row i, and dx.reshape(x.shape) puts them back',
            reference=family(_flattened, order=FLATTEN_ORDERS, what=[
                ('x flattened', 'x'), ('dx reshaped', ['dx']), ('x flattened and dx reshaped',
                                                                 ['x', 'dx'])]),
            plants={'forward': plant(L, 'affine_forward', 'x.reshape(x.shape[0], -1)',
                                     'x.reshape(-1, x.shape[0]).T'),
                    'backward': plant(L, 'affine_backward',
                                      'dw = x.reshape(x.shape[0], -1).T @ dout',
                                      'dw = x.reshape(-1, x.shape[0]) @ dout')}),
    Mistake('affine-backward-dx-not-reshaped', ['affine_backward'],
            'affine_backward: dx has the flattened shape (N, D) of the product with w.T; '
            'reshape it to the shape of x, which the upstream layer expects',
            matcher=M.dx_not_reshaped,
            plants=plant(L, 'affine_backward', 'dx = (dout @ w.T).reshape(x.shape)',
                         'dx = dout @ w.T')),
    Mistake('affine-backward-averaged', ['affine_backward'],
            lambda part, fn, f: 'affine_backward: %s divided by the batch size; each is a sum '
            'over the examples (the loss does the averaging)' % _said(f),
            reference=family(
                lambda dx, dw, db: REF.but(affine_backward=lambda dout, cache: tuple(
                    g / len(dout) if on else g for g, on in zip(
                        REF.affine_backward(dout, cache), (dx, dw, db)))) if dx or dw or db
                else None, dx=[('', 0), ('dx', 1)], dw=[('', 0), ('dw', 1)],
                db=[('', 0), ('db', 1)]),
            plants={'db': plant(L, 'affine_backward', 'db = dout.sum(axis=0)',
                                'db = dout.mean(axis=0)'),
                    'dw': plant(L, 'affine_backward', 'dw = x.reshape(x.shape[0], -1).T @ dout',
                                'dw = x.reshape(x.shape[0], -1).T @ dout / x.shape[0]')}),
]


# ---------------------------------------------------------------------------
# relu

def _relu_gradient(times, factor):
    if (times, factor) == ('dout', 'x > 0'):
        return None
    return REF.but(relu_backward=lambda dout, x: {'dout': dout, '1': 1.0}[times] * {
        'x > 0': x > 0, 'x <= 0': x <= 0, 'dout > 0': dout > 0, '1': 1.0,
        'relu(x)': np.maximum(x, 0), 'x': x}[factor])


RELU = [
    Mistake('relu-forward-slope', ['relu_forward'],
            'relu_forward: negative inputs come out {what}; the ReLU sets them to 0',
            reference=family(lambda what: REF.but(relu_forward=lambda x: (np.where(
                x > 0, x, what * x), x)), what=[('scaled by %g (a leaky ReLU)' % a, a) for a in (
                    0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.3, 0.5)] + [
                ('unchanged (no ReLU)', 1.0), ('negated (an absolute value)', -1.0)]),
            plants=plant(L, 'relu_forward', 'np.maximum(0, x)', 'np.maximum(0.01 * x, x)')),
    Mistake('relu-backward-gradient', ['relu_backward'],
            'relu_backward: dx matches {times} * ({factor}); the ReLU passes dout where the '
            'input x was positive and blocks it elsewhere',
            reference=family(_relu_gradient, times=[(t, t) for t in ('dout', '1')],
                             factor=[(m, m) for m in ('x > 0', 'x <= 0', 'dout > 0', '1',
                                                      'relu(x)', 'x')]),
            plants={'no-dout': plant(L, 'relu_backward', 'dout * (x > 0)', '1.0 * (x > 0)'),
                    'mask-of-dout': plant(L, 'relu_backward', 'dout * (x > 0)',
                                          'dout * (dout > 0)'),
                    'times-output': plant(L, 'relu_backward', 'dout * (x > 0)',
                                          'dout * np.maximum(x, 0)'),
                    'mask-inverted': plant(L, 'relu_backward', 'dout * (x > 0)',
                                           'dout * (x <= 0)')}),
]


# ---------------------------------------------------------------------------
# softmax_loss, svm_loss

def _softmax(axis=1, q='p', k=1.0, shift=1):
    """softmax_loss normalized along `axis` (None: the whole array), its scores
    shifted by their maximum along `shift`, dx built from q (the probabilities
    'p', 'exp' of the shifted scores, 'log p') minus k at the correct class."""
    def loss(x, y):
        n, rows = len(x), np.arange(len(x))
        z = x - x.max(axis=shift, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
        dx = {'p': np.exp(logp), 'exp': np.exp(z), 'log p': logp.copy()}[q]
        dx[rows, y] -= k
        return float(-logp[rows, y].sum() / n), dx / n
    return REF.but(softmax_loss=loss)


def _svm(sign=1, delta=1.0, hinge=True, keep_y=False, indicator='>', y_grad=-1):
    """svm_loss as the model answer writes it, with a mistake: margins sign * (x -
    correct) + delta, hinged or not, the correct class's margin kept, dx's
    indicator of the margins and its value at the correct class, y_grad times
    the row's count."""
    def loss(x, y):
        n, rows = len(x), np.arange(len(x))
        margins = sign * (x - x[rows, y][:, None]) + delta
        margins = np.maximum(0, margins) if hinge else margins
        if not keep_y:
            margins[rows, y] = 0
        dx = {'>': margins > 0, '>=': margins >= 0, 'all': np.ones(x.shape, bool)}[
            indicator].astype(np.float64)
        dx[rows, y] = y_grad * dx.sum(axis=1)
        return float(margins.sum() / n), dx / n
    return REF.but(svm_loss=loss)


def _averaged(a, b):
    """Both losses with the loss multiplied by N ** a and dx by N ** b."""
    if (a, b) == (0, 0):
        return None
    def scaled(loss_fn):
        return lambda x, y: (lambda loss, dx: (loss * len(x) ** a, dx * len(x) ** b))(
            *loss_fn(x, y))
    return REF.but(softmax_loss=scaled(REF.softmax_loss), svm_loss=scaled(REF.svm_loss))


def _log_eps(eps):
    """softmax_loss whose loss is -log(p + eps), p the probability of the correct class."""
    def loss(x, y):
        z = x - x.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        return float(-np.log(p[np.arange(len(x)), y] + eps).mean()), REF.softmax_loss(x, y)[1]
    return REF.but(softmax_loss=loss)


SCALE = [('', 0), ('N times too large (a sum, not a mean)', 1), ('divided by N twice', -1)]
LOSSES = [
    Mistake('loss-not-averaged', ['softmax_loss', 'svm_loss'],
            lambda part, fn, f: '%s: %s; the loss is the mean over the N examples, so dx is '
            'divided by N too' % (fn, _said({'a': f['a'] and 'the loss is ' + f['a'],
                                              'b': f['b'] and 'dx is ' + f['b']})),
            reference=family(_averaged, a=SCALE, b=SCALE),
            plants={'softmax-loss': plant(L, 'softmax_loss',
                                          'loss = -log_probs[np.arange(N), y].mean()',
                                          'loss = -log_probs[np.arange(N), y].sum()'),
                    'softmax-dx': plant(L, 'softmax_loss', 'dx /= N', 'dx = dx'),
                    'svm-loss': plant(L, 'svm_loss', 'loss = margins.sum() / N',
                                      'loss = margins.sum()'),
                    'svm-dx': plant(L, 'svm_loss', 'dx /= N', 'dx = dx')}),
    Mistake('softmax-unstable', ['softmax_loss'],
            'softmax_loss: right on small scores, but inf, NaN or wrong on scores of about '
            '1e3-1e4, where exp overflows or underflows; subtract each row\'s own maximum before '
            'exponentiating, and take the loss from log-probabilities',
            matcher=M.softmax_unstable,
            plants={'no-shift': plant(L, 'softmax_loss',
                                      'shifted = x - x.max(axis=1, keepdims=True)', 'shifted = x'),
                    'global-max': plant(L, 'softmax_loss',
                                        'shifted = x - x.max(axis=1, keepdims=True)',
                                        'shifted = x - x.max()')}),
    Mistake('softmax-wrong-axis', ['softmax_loss'],
            lambda part, fn, f: 'softmax_loss: your results match a softmax with %s; each '
            "example's scores are shifted by their own maximum and its probabilities sum to 1 "
            'over its classes (axis 1)' % _said(f),
            reference=family(lambda shift, axis: None if (shift, axis) == (1, 1) else _softmax(
                axis=axis, shift=shift), shift=[('', 1), ('the scores shifted by the maximum '
                                                      'of each class (axis 0)', 0)],
                axis=[('', 1), ('probabilities normalized over the batch (axis 0)', 0),
                      ('probabilities normalized over the whole array', None)]),
            plants=plant(L, 'softmax_loss', 'np.exp(shifted).sum(axis=1, keepdims=True)',
                         'np.exp(shifted).sum(axis=0, keepdims=True)')),
    Mistake('softmax-dx', ['softmax_loss'],
            'softmax_loss: dx matches {q} {k}, over N; it is (p - 1[j = y_i]) / N, with p the '
            'softmax probabilities',
            reference=family(lambda q, k: None if (q, k) == ('p', 1) else _softmax(q=q, k=k),
                             q=[('the probabilities', 'p'),
                                ('exp of the shifted scores, not normalized', 'exp'),
                                ('the log-probabilities', 'log p')],
                             k=[('minus 1 at the correct class', 1),
                                ('with nothing subtracted at the correct class', 0),
                                ('plus 1 at the correct class', -1)]),
            plants=plant(L, 'softmax_loss', 'dx[np.arange(N), y] -= 1',
                         'dx[np.arange(N), y] -= 0')),
    Mistake('softmax-log-eps', ['softmax_loss'],
            'softmax_loss: the loss matches -log(p + {eps}) with p the probability of the correct '
            'class: an eps inside the log changes the loss; take it from the log-probabilities, '
            'z - log(sum(exp(z))), which never reach log(0)',
            reference=family(_log_eps, eps=[('%g' % e, e) for e in (
                1e-12, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5)]),
            plants=plant(L, 'softmax_loss', 'loss = -log_probs[np.arange(N), y].mean()',
                         'loss = -np.log(np.exp(log_probs[np.arange(N), y]) + 1e-8).mean()')),
    Mistake('svm-margins', ['svm_loss'],
            lambda part, fn, f: 'svm_loss: your loss and dx match margins %s(%s%s) for j != '
            'y_i; they are max(0, s_j - s_{y_i} + 1)' % (
                'max(0, ' if f['hinge'] else '', f['sign'], f['delta']) + (')' if f['hinge']
                                                                            else ''),
            reference=family(lambda sign, delta, hinge: None if (sign, delta, hinge) == (
                1, 1.0, True) else _svm(sign, delta, hinge),
                sign=[('s_j - s_{y_i}', 1), ('s_{y_i} - s_j', -1)],
                delta=[(' + 1', 1.0), ('', 0.0), (' + 2', 2.0), (' - 1', -1.0)],
                hinge=[('max', True), ('', False)]),
            plants=plant(L, 'svm_loss', 'x - correct_scores + 1', 'x - correct_scores')),
    Mistake('svm-correct-class-counted', ['svm_loss'],
            "svm_loss: the loss is 1 too high per example: the correct class's margin (always 1) "
            'is counted; the sum of margins leaves out j = y_i',
            reference=_svm(keep_y=True),
            plants=plant(L, 'svm_loss', 'margins[np.arange(N), y] = 0', 'margins = margins')),
    Mistake('svm-dx', ['svm_loss'],
            'svm_loss: dx matches {indicator} at the other classes and {y_grad} at the correct '
            'one (over N); it is 1 where the margin is positive, and minus their count at y_i',
            reference=family(lambda indicator, y_grad: None if (indicator, y_grad) == ('>', -1)
                             else _svm(indicator=indicator, y_grad=y_grad),
                             indicator=[('1 where the margin > 0', '>'),
                                        ('1 where the margin >= 0', '>='),
                                        ('1 everywhere', 'all')],
                             y_grad=[('minus the count', -1), ('0', 0), ('plus the count', 1)]),
            plants=plant(L, 'svm_loss', 'dx[np.arange(N), y] = -dx.sum(axis=1)',
                         'dx[np.arange(N), y] = 0')),
]


# ---------------------------------------------------------------------------
# batch normalization, layer normalization

def _hard_coded(key, value):
    return REF.but(hyper=lambda param, k, default=None: value if k == key else REF.hyper(
        param, k, default))


HYPER = [('eps', v) for v in (0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2)] + [
    ('momentum', 0.9), ('momentum', 0.99), ('momentum', 0.1), ('learning_rate', 1e-2),
    ('learning_rate', 1e-3), ('decay_rate', 0.99), ('decay_rate', 0.9), ('beta1', 0.9),
    ('beta2', 0.999), ('beta2', 0.99), ('epsilon', 0.0), ('epsilon', 1e-8)]
MOVING = {'running_mean': 'momentum', 'running_var': 'momentum', 'cache': 'decay_rate',
          'm': 'beta1', 'v': 'beta2'}


def _moving(names, form):
    f = {'swapped': lambda old, new, d: (1 - d) * old + d * new,
         'never updated': lambda old, new, d: old, 'replaced': lambda old, new, d: new}[form]
    return REF.but(moving_average=lambda name, old, new, d: f(old, new, d) if name in names
                   else REF.moving_average(name, old, new, d))


def _train_stats(when):
    """batchnorm_forward normalizing with the running statistics in train mode
    (as they were 'before' this step's update, or 'after'), or with the batch's
    in test mode ('test')."""
    def forward(x, gamma, beta, bn_param):
        if when == 'test':
            if bn_param['mode'] == 'test':
                return REF.batchnorm_forward(x, gamma, beta, dict(bn_param, mode='train'))[0], None
            return REF.batchnorm_forward(x, gamma, beta, bn_param)
        if when == 'after':
            REF.batchnorm_forward(x, gamma, beta, bn_param)
        out = REF.batchnorm_forward(x, gamma, beta, dict(bn_param, mode='test'))[0]
        if when == 'before':
            REF.batchnorm_forward(x, gamma, beta, bn_param)
        return out, None
    return REF.but(batchnorm_forward=forward)


def _running_var_of(statistic):
    def forward(x, gamma, beta, bn_param):
        old = bn_param.get('running_var', np.zeros(x.shape[1]))
        out, cache = REF.batchnorm_forward(x, gamma, beta, bn_param)
        momentum, eps = bn_param.get('momentum', 0.9), bn_param.get('eps', 1e-5)
        bn_param['running_var'] = momentum * old + (1 - momentum) * statistic(x, eps)
        return out, cache
    return REF.but(batchnorm_forward=forward)


def _unbiased(x, axis):
    mean, var = REF.moments(x, axis)
    return mean, var * x.shape[axis] / (x.shape[axis] - 1)


def _param_grads(dgamma, dbeta):
    if (dgamma, dbeta) == ('xhat', 'sum'):
        return None
    def backward(dout, c):
        terms = {'xhat': dout * c.xhat, '1': dout, 'x': dout * c.x}
        dg = terms[dgamma.split()[-1]]
        return (dout * c.gamma, dg.mean(axis=0) if dgamma.startswith('mean') else dg.sum(axis=0),
                dout.mean(axis=0) if dbeta == 'mean' else dout.sum(axis=0))
    return REF.but(scale_shift_backward=backward)


def _branches(mean_path, var_path, factor):
    if (mean_path, var_path, factor) == ('mean', 'mean', 1) or \
            (var_path == 'missing' and factor != 1):
        return None
    def backward(dxhat, c):
        def path(a, how):
            return {'mean': a.mean(axis=c.axis, keepdims=True), 'missing': 0 * a,
                    'sum': a.sum(axis=c.axis, keepdims=True), 'elementwise': a,
                    'elementwise / N': a / a.shape[c.axis],
                    'other axis': a.mean(axis=1 - c.axis, keepdims=True)}[how]
        return (dxhat - path(dxhat, mean_path) - factor * c.xhat * path(dxhat * c.xhat, var_path)
                ) / np.sqrt(c.var + c.eps)
    return REF.but(normalize_backward=backward)


PATHS = [('right', 'mean'), ('missing', 'missing'), ('a sum where it is a mean', 'sum'),
         ('not summed over the axis (elementwise)', 'elementwise'),
         ('not summed over the axis, only divided by its size', 'elementwise / N'),
         ('a mean over the wrong axis', 'other axis')]


def _gamma_after(dout, c):
    dx, dgamma, dbeta = REF.but(scale_shift_backward=lambda d, cc: (
        d,) + REF.scale_shift_backward(d, cc)[1:]).norm_backward(dout, c)
    return dx * c.gamma, dgamma, dbeta


NORMS = [
    Mistake('hyperparameter-ignored', NORM_FORWARD + NORM_BACKWARD + RULES,
            '{fn}: your results match {value} whatever the {key} it is given; read {key} from '
            'the parameters the caller passes (its default only where it is missing)',
            reference=[(_hard_coded(k, v), {'key': k, 'value': 'no %s at all' % k if v == 0
                                            else '%s = %g' % (k, v)}) for k, v in HYPER],
            plants={'bn-eps-missing': plant(L, BN1, 'std = np.sqrt(var + eps)',
                                            'std = np.sqrt(var)'),
                    'bn-eps-1e-5': plant(L, BN1, 'std = np.sqrt(var + eps)',
                                         'std = np.sqrt(var + 1e-5)'),
                    'bn-test-eps-1e-5': plant(L, BN2, 'np.sqrt(running_var + eps)',
                                              'np.sqrt(running_var + 1e-5)'),
                    'bn-eps-missing-both-modes': plant(
                        L, BN1, 'std = np.sqrt(var + eps)', 'std = np.sqrt(var)') + plant(
                        L, BN2, 'np.sqrt(running_var + eps)', 'np.sqrt(running_var)'),
                    'ln-eps-not-passed': plant(L, 'layernorm_forward',
                                               "{'mode': 'train', 'eps': eps}",
                                               "{'mode': 'train'}"),
                    'ln-eps-missing': plant(L, 'layernorm_forward', None, (
                        'mean = x.mean(axis=1, keepdims=True)\n'
                        'var = x.var(axis=1, keepdims=True)\n'
                        'out = gamma * (x - mean) / np.sqrt(var) + beta\ncache = None\n')),
                    'rmsprop-decay': plant(O, 'rmsprop', "decay_rate = config['decay_rate']",
                                           'decay_rate = 0.99')}),
    Mistake('norm-statistics', ('batchnorm_forward_train', 'layernorm_forward')
            + NORM_BACKWARD,
            '{fn}: your results match {what}; the layer normalizes with the mean and the biased '
            "variance (divided by N) of {over}",
            reference=[(REF.but(moments=_unbiased), {'what': 'the unbiased variance (divided by '
                                                              'N - 1)', 'over': 'its axis'}),
                       (REF.but(moments=lambda x, axis: REF.moments(x, 1 - axis)), {
                           'what': 'statistics over the other axis', 'over': 'the batch for '
                           "batchnorm (axis 0), each example's features for layernorm (axis 1)"}),
                       (REF.but(moments=lambda x, axis: REF.moments(x.reshape(-1), 0)), {
                           'what': 'statistics of the whole array', 'over': 'one axis'})],
            plants={'bn-unbiased': plant(L, BN1, 'var = x.var(axis=0)',
                                         'var = x.var(axis=0, ddof=1)'),
                    'ln-over-batch': plant(L, 'layernorm_forward', None, (
                        'mean = x.mean(axis=0)\nvar = x.var(axis=0)\n'
                        'x_hat = (x - mean) / np.sqrt(var + eps)\n'
                        'out = gamma * x_hat + beta\ncache = None\n'))}),
    Mistake('norm-formula', NORM_FORWARD,
            '{fn}: the output matches x_hat = {formula}; x_hat = (x - mean) / sqrt(var + eps)',
            reference=family(lambda formula: REF.but(normalize=formula), formula=[
                ('(x - mean) / (sqrt(var) + eps)', lambda x, m, v, e: (x - m) / (np.sqrt(v) + e)),
                ('(x - mean) / (var + eps), without the square root',
                 lambda x, m, v, e: (x - m) / (v + e)),
                ('x - mean / sqrt(var + eps) (operator precedence)',
                 lambda x, m, v, e: x - m / np.sqrt(v + e)),
                ('(x - mean) * sqrt(var + eps)', lambda x, m, v, e: (x - m) * np.sqrt(v + e))]),
            plants=plant(L, BN2, 'np.sqrt(running_var + eps)', '(np.sqrt(running_var) + eps)')),
    Mistake('norm-gamma-beta', NORM_FORWARD,
            '{fn}: the output matches {formula}; it is out = gamma * x_hat + beta (in every mode)',
            reference=family(lambda formula: REF.but(scale_shift=formula), formula=[
                ('x_hat + beta (without gamma)', lambda xh, g, b: xh + b),
                ('gamma * x_hat (without beta)', lambda xh, g, b: g * xh),
                ('x_hat (neither gamma nor beta)', lambda xh, g, b: xh),
                ('gamma * (x_hat + beta)', lambda xh, g, b: g * (xh + b)),
                ('beta * x_hat + gamma (gamma and beta swapped)', lambda xh, g, b: b * xh + g)]),
            plants={'bn-train': plant(L, BN1, 'out = gamma * x_hat + beta', 'out = x_hat + beta'),
                    'bn-test': plant(L, BN2, '/ np.sqrt(running_var + eps) + beta',
                                     '/ np.sqrt(running_var + eps)'),
                    'ln': plant(L, 'layernorm_forward', 'out = gamma * x_hat + beta',
                                'out = x_hat + beta')}),
    Mistake('moving-average', ('batchnorm_forward_train', 'rmsprop', 'adam'),
            '{fn}: {what}; a running average keeps {decay} of its old value and adds '
            '(1 - {decay}) of the new one',
            reference=[(_moving(names, form), {
                'what': '%s %s' % (' and '.join(names), {
                    'swapped': 'weight%s the old value by (1 - %s) and the new one by %s' % (
                        's' * (len(names) == 1), MOVING[names[0]], MOVING[names[0]]),
                    'never updated': '%s never updated' % ('is' if len(names) == 1 else 'are'),
                    'replaced': '%s replaced by the new value, without averaging' % (
                        'is' if len(names) == 1 else 'are')}[form]), 'decay': MOVING[names[0]]})
                for names in (('running_mean',), ('running_var',), ('running_mean', 'running_var'),
                              ('cache',), ('m',), ('v',), ('m', 'v'))
                for form in ('swapped', 'never updated', 'replaced')],
            plants={'bn-mean-swapped': plant(
                        L, BN1, 'running_mean = momentum * running_mean + (1 - momentum) * mean',
                        'running_mean = (1 - momentum) * running_mean + momentum * mean'),
                    'bn-var-swapped': plant(
                        L, BN1, 'running_var = momentum * running_var + (1 - momentum) * var',
                        'running_var = (1 - momentum) * running_var + momentum * var'),
                    'bn-var-never-updated': plant(
                        L, BN1, 'running_var = momentum * running_var + (1 - momentum) * var',
                        'running_var = running_var'),
                    'rmsprop-decay-swapped': plant(
                        O, 'rmsprop', "decay_rate * config['cache'] + (1 - decay_rate) * dw ** 2",
                        "(1 - decay_rate) * config['cache'] + decay_rate * dw ** 2")}),
    Mistake('batchnorm-running-var-of-std', ['batchnorm_forward_train'],
            "batchnorm_forward: running_var averages the batch's standard deviation, "
            '{statistic}; it averages its variance',
            reference=family(_running_var_of, statistic=[
                ('sqrt(var + eps)', lambda x, eps: np.sqrt(x.var(axis=0) + eps)),
                ('sqrt(var)', lambda x, eps: x.std(axis=0))]),
            plants=plant(L, BN1, 'running_var = momentum * running_var + (1 - momentum) * var',
                         'running_var = momentum * running_var + (1 - momentum) * std')),
    Mistake('batchnorm-mode-statistics', BN_FORWARD,
            'batchnorm_forward: {when}; train mode normalizes with the batch\'s mean and '
            'variance, test mode with the running ones',
            reference=family(_train_stats, when=[
                ('in train mode the output is normalized with the running statistics', 'before'),
                ('in train mode the output is normalized with the running statistics after '
                 'their update', 'after'),
                ("in test mode the output is normalized with the batch's statistics", 'test')]),
            plants={'train': plant(L, BN1, '(x - mean) / std',
                                   '(x - running_mean) / np.sqrt(running_var + eps)'),
                    'test': plant(L, BN2,
                                  'gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta',
                                  'gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) '
                                  '+ beta')}),
    Mistake('norm-backward-param-grads', NORM_BACKWARD,
            '{fn}: dgamma matches {dgamma} and dbeta {dbeta} over the batch; out = gamma * x_hat '
            '+ beta gives dgamma = sum(dout * x_hat) and dbeta = sum(dout)',
            reference=family(_param_grads, dgamma=[(t, t) for t in (
                'xhat', '1', 'x', 'mean xhat')], dbeta=[('sum(dout)', 'sum'),
                                                       ('mean(dout)', 'mean')]),
            plants={'bn-dbeta-mean': plant(L, 'batchnorm_backward', 'dbeta = dout.sum(axis=0)',
                                           'dbeta = dout.mean(axis=0)'),
                    'bn-dgamma-without-xhat': plant(L, 'batchnorm_backward',
                                                    'dgamma = (dout * x_hat).sum(axis=0)',
                                                    'dgamma = dout.sum(axis=0)'),
                    'bn-alt-dgamma-without-xhat': plant(L, 'batchnorm_backward_alt',
                                                        'dgamma = (dout * x_hat).sum(axis=0)',
                                                        'dgamma = dout.sum(axis=0)'),
                    'ln-dgamma-without-xhat': plant(L, 'layernorm_backward',
                                                    'dgamma = (dout * x_hat).sum(axis=0)',
                                                    'dgamma = dout.sum(axis=0)')}),
    Mistake('norm-backward-gamma', NORM_BACKWARD,
            '{fn}: dx matches a backward pass with gamma {where}; the upstream gradient reaches '
            'x_hat through gamma first: dx_hat = dout * gamma',
            reference=[(REF.but(scale_shift_backward=lambda d, c: (
                d,) + REF.scale_shift_backward(d, c)[1:]), {'where': 'left out'}),
                       (REF.but(norm_backward=_gamma_after), {'where': 'applied to dx at the '
                                                                       'end'})],
            plants={'bn-alt': plant(L, 'batchnorm_backward_alt', 'dx_hat = dout * gamma',
                                    'dx_hat = dout'),
                    'ln': plant(L, 'layernorm_backward', '(dout * gamma).T', 'dout.T')}),
    Mistake('norm-backward-branches', NORM_BACKWARD,
            lambda part, fn, f: '%s: dx matches a backward pass in which %s; dx = (dx_hat - '
            'mean(dx_hat) - x_hat * mean(dx_hat * x_hat)) / std, the means over the normalized '
            'axis' % (fn, _said({
                'm': f['mean_path'] != 'right' and 'the path through the mean is '
                + f['mean_path'],
                'v': (f['var_path'] != 'right' or f['factor']) and ('the path through the '
                'variance is ' + (f['var_path'] if f['var_path'] != 'right' else '')
                + f['factor']).replace('is  (', 'is (')})),
            reference=family(_branches, mean_path=PATHS, var_path=PATHS, factor=[
                ('', 1), (' (2 times too large)', 2), (' (half what it is)', 0.5),
                (' (with the wrong sign)', -1)]),
            plants={'bn-no-mean-branch': plant(L, 'batchnorm_backward',
                                               'dx = dx_centered + dmean / N', 'dx = dx_centered'),
                    'bn-no-var-branch': plant(L, 'batchnorm_backward',
                                              'dx_centered += 2 * x_centered * dvar / N',
                                              'dx_centered += 0 * dvar'),
                    'bn-alt-no-var-branch': plant(
                        L, 'batchnorm_backward_alt', 'dx = (dx_hat - dx_hat.mean(axis=0) - x_hat '
                        '* (dx_hat * x_hat).mean(axis=0)) / std',
                        'dx = (dx_hat - dx_hat.mean(axis=0)) / std'),
                    'ln-over-batch': plant(L, 'layernorm_backward', None, (
                        'x_hat, gamma, bn_cache = cache\nstd = bn_cache.cache[3][:, None]\n'
                        'dbeta = dout.sum(axis=0)\ndgamma = (dout * x_hat).sum(axis=0)\n'
                        'dx_hat = dout * gamma\ndx = (dx_hat - dx_hat.mean(axis=0) - x_hat * '
                        '(dx_hat * x_hat).mean(axis=0)) / std\n'))}),
]


# ---------------------------------------------------------------------------
# dropout (p is the keep probability)

KEEP = {'p': lambda p: p, '1-p': lambda p: 1 - p, '1': lambda p: 1.0, '1/p': lambda p: 1 / p,
        '1/(1-p)': lambda p: 1 / (1 - p)}


def _dropout(keep, divisor, test):
    if (keep, divisor, test) == ('p', 'p', '1'):
        return None
    base = REF.but(dropout_keep=KEEP[keep], dropout_divisor=KEEP[divisor])
    return base.but(dropout_forward=lambda x, param: (x * KEEP[test](param['p']), (
        param, None)) if param['mode'] == 'test' else base.dropout_forward(x, param))


def _dropout_message(part, fn, f):
    said = {'keep': f['keep'] and 'about a fraction %s of the units kept' % f['keep'],
            'divisor': f['divisor'] and 'kept units %s at train time' % f['divisor'],
            'test': f['test'] and 'the test-mode output %s' % f['test']}
    return ('dropout_forward: your outputs match %s; p is the probability of keeping a unit, '
            'kept units are divided by p at train time, and test mode returns x unchanged'
            % _said(said))


DROPOUT = [
    Mistake('dropout-keep-and-scale', ['dropout_forward'], _dropout_message,
            reference=family(_dropout, keep=[('', 'p'), ('1 - p', '1-p')], divisor=[
                ('', 'p'), ('not scaled', '1'), ('multiplied by p', '1/p'),
                ('divided by 1 - p', '1-p')], test=[
                ('', '1'), ('multiplied by p', 'p'), ('divided by p', '1/p'),
                ('multiplied by 1 - p', '1-p')]),
            plants={'drop-probability': plant(L, DO1, 'np.random.rand(*x.shape) < p',
                                              'np.random.rand(*x.shape) < 1 - p'),
                    'not-inverted': plant(L, DO1, '.astype(x.dtype) / p', '.astype(x.dtype)'),
                    'test-scaled': plant(L, DO2, 'out = x', 'out = x * p'),
                    'scaled-at-test-time': plant(L, DO1, '.astype(x.dtype) / p',
                                                 '.astype(x.dtype)') + plant(
                        L, DO2, 'out = x', 'out = x * p'),
                    'train-scaled-by-p': plant(L, DO1, '/ p', '* p'),
                    'drop-probability-inverted': plant(
                        L, DO1, '(np.random.rand(*x.shape) < p).astype(x.dtype) / p',
                        '(np.random.rand(*x.shape) > p).astype(x.dtype) / (1 - p)')}),
    Mistake('dropout-backward-gradient', ['dropout_backward'],
            "dropout_backward: dx matches dout times {mask}{scale}; it is the gradient of your "
            'forward pass: dout times the mask it applied, kept units scaled as it scaled them',
            reference=family(lambda mask, scale: None if (mask, scale) == ('out / x', '1') else
                             REF.but(dropout_gradient=lambda dout, out, x, p: dout * {
                                 'out / x': out / x, 'kept': out != 0, 'all': 1.0}[mask]
                                 * KEEP[scale](p)),
                             mask=[('the mask of your forward pass', 'out / x'),
                                   ('1 where a unit was kept', 'kept'), ('1 everywhere', 'all')],
                             scale=[('', '1'), (', divided by p', '1/p'), (', times p', 'p'),
                                    (', divided by 1 - p', '1/(1-p)')]),
            plants={'unscaled': plant(L, 'dropout_backward', 'dx = dout * mask',
                                      'dx = dout * (mask > 0)'),
                    'ignores-mask': plant(L, 'dropout_backward', 'dx = dout * mask', 'dx = dout')}),
    Mistake('dropout-backward-new-mask', ['dropout_backward'],
            'dropout_backward: dx is masked by another mask than the one the forward pass drew '
            '(about the same fraction kept, other units); the backward pass reuses the forward '
            "pass's mask, from the cache", matcher=M.dropout_new_mask,
            plants=plant(L, 'dropout_backward', 'dx = dout * mask',
                         "dx = dout * (np.random.rand(*dout.shape) < dropout_param['p']) / "
                         "dropout_param['p']")),
]


# ---------------------------------------------------------------------------
# Nets

def _layers_of(part):
    """The parts of a hidden layer of the net that `part` tests, by their names."""
    norm = 'batchnorm' if 'batchnorm' in part else 'layernorm' if 'layernorm' in part else None
    return {'affine': 'affine', 'relu': 'relu', 'norm': norm,
            'dropout': 'dropout' if 'dropout' in part else None}


def _hidden_message(part, fn, f):
    names = _layers_of(part)
    def said(sequence):
        return ' - '.join(names[n] for n in sequence if names[n])
    return ('%s: the results match hidden layers that compute %s; each hidden layer is %s'
            % (fn, said(f['sequence']), said(REF.hidden)))


def _l2(a, b, params=('W',)):
    """The L2 term a * reg * (the sum of squares of the parameters whose names start
    with `params`), whose gradient is b * reg * each."""
    def l2(P, reg):
        chosen = {k: v for k, v in P.items() if k.rstrip('0123456789') in params}
        return (a * reg * sum(float((v * v).sum()) for v in chosen.values()),
                {k: b * reg * v for k, v in chosen.items()})
    return REF.but(l2=l2)


def _l2_message(part, fn, f):
    loss = 'no L2 term in the loss' if f['a'] == '0' else 'the L2 term %s * reg * sum(W ** 2)' \
        % f['a']
    grads = 'no L2 term in the gradients' if f['b'] == '0' else 'the gradient %sreg * W' % (
        '' if f['b'] == '1' else f['b'] + ' * ')
    return ('%s: the loss and gradients match %s, and %s; the L2 term is 0.5 * reg * sum(W ** 2), '
            'whose gradient is reg * W' % (fn, loss, grads))


def _l2_some(layers, where):
    def l2(P, reg):
        kept = {k: v for k, v in P.items() if k[0] == 'W' and int(k[1:]) in layers}
        if not kept or len(kept) == sum(k[0] == 'W' for k in P):
            raise ValueError('the L2 term of every weight, or of none: not this family')
        loss, grads = REF.l2(kept if where == 'both' else P, reg)
        return loss, {k: g for k, g in grads.items() if k in kept}
    return REF.but(l2=l2)


def _l2_some_message(part, fn, f):
    count = 2 if part == 'two_layer_net' else 4
    missing = ', '.join('W%d' % i for i in range(1, count + 1) if i not in f['layers'])
    return ('%s: %s no L2 term for %s, while the other weights have it; every W gets '
            '0.5 * reg * sum(W ** 2) in the loss and reg * W in its gradient'
            % (fn, f['where'], missing))


def _initial(names, spec):
    return REF.but(init_moments=lambda name, fan_in, ws: spec(fan_in, ws) if name.rstrip(
        '0123456789') in names else REF.init_moments(name, fan_in, ws))


def _weights(layers, spec):
    return REF.but(init_moments=lambda name, fan_in, ws: spec(fan_in, ws) if name[0] == 'W' and (
        not layers or int(name[1:]) in layers) else REF.init_moments(name, fan_in, ws))


WEIGHT_DRAWS = [
    ('with std 1 (np.random.randn not scaled)', lambda n, ws: (0.0, 1.0)),
    ('with std weight_scale ** 2', lambda n, ws: (0.0, ws ** 2)),
    ('with std sqrt(weight_scale)', lambda n, ws: (0.0, np.sqrt(ws))),
    ('with std 1 / sqrt(fan_in) (Xavier)', lambda n, ws: (0.0, 1 / np.sqrt(n))),
    ('with std sqrt(2 / fan_in) (He)', lambda n, ws: (0.0, np.sqrt(2 / n))),
    ('uniformly on [0, weight_scale)', lambda n, ws: (ws / 2, ws / np.sqrt(12))),
    ('uniformly on [-weight_scale, weight_scale)', lambda n, ws: (0.0, ws / np.sqrt(3)))]
CONSTANTS = [('at one value other than {right}', lambda n, ws: (None, 0.0)),
             ('drawn with std weight_scale', lambda n, ws: (0.0, ws)),
             ('drawn with std 1', lambda n, ws: (0.0, 1.0))]


def _param_shapes(which):
    def shapes(dims, normalization):
        out = REF.net_param_shapes(dims, None)
        hidden = {'output too': range(1, len(dims)), 'not the last hidden': range(
            1, len(dims) - 2), 'shifted by one': range(2, len(dims))}[which]
        for i in hidden if normalization else ():
            out.update({'gamma%d' % i: (dims[i],), 'beta%d' % i: (dims[i],)})
        return out
    return REF.but(net_param_shapes=shapes)


def _norm_grads(how):
    return REF.but(norm_grads=lambda i, dgamma, dbeta: {
        'gamma zero': {'gamma%d' % i: 0 * dgamma, 'beta%d' % i: dbeta},
        'beta zero': {'gamma%d' % i: dgamma, 'beta%d' % i: 0 * dbeta},
        'both zero': {'gamma%d' % i: 0 * dgamma, 'beta%d' % i: 0 * dbeta},
        'swapped': {'gamma%d' % i: dbeta, 'beta%d' % i: dgamma}}[how])


def _data_loss(a, b):
    if (a, b) == (0, 0):
        return None
    return REF.but(softmax_loss=lambda x, y: (lambda loss, dx: (
        loss * len(x) ** a, dx * len(x) ** b))(*REF.softmax_loss(x, y)))


NET_SCALE = [('', 0), ('N times too large', 1), ('divided by N again', -1)]
SEQUENCES = [('affine',) + s for n in range(4) for s in itertools.permutations(
    ('norm', 'relu', 'dropout'), n)]
NET = [
    Mistake('net-hidden-layers', NETS, _hidden_message,
            reference=[(REF.but(hidden=s), {'sequence': s}) for s in SEQUENCES if s != REF.hidden],
            plants={'two-layer-no-relu': plant(F, TL1, 'affine_relu_forward(X,',
                                               'affine_forward(X,') + plant(
                        F, TL2, 'affine_relu_backward(dhidden, hidden_cache)',
                        'affine_backward(dhidden, hidden_cache)'),
                    'no-relu': plant(U, '<module>', 'out, relu_cache = relu_forward(out)',
                                     'relu_cache = None') + plant(
                        U, '<module>', 'dout = relu_backward(dout, relu_cache)', 'pass') + plant(
                        F, TL1, 'affine_relu_forward(', 'affine_forward(') + plant(
                        F, TL2, 'affine_relu_backward(', 'affine_backward('),
                    'dropout-never-applied': plant(F, FC1, 'dropout_param=dropout_param,',
                                                   'dropout_param=None,')}),
    Mistake('net-relu-on-scores', NETS,
            '{fn}: the scores look like they pass through a ReLU{backward}; the output layer has '
            'no activation',
            reference=[(REF.but(output=('scores relu',)), {'backward': ''}),
                       (REF.but(output=('scores relu',), backward_skips=('scores relu',)),
                        {'backward': ' (that the backward pass leaves out)'})],
            plants={'two-layer': plant(
                        F, TL1, "scores, scores_cache = affine_forward(hidden, self.params['W2'], "
                        "self.params['b2'])", "scores, scores_cache = affine_forward(hidden, "
                        "self.params['W2'], self.params['b2'])\nscores = np.maximum(0, scores)"),
                    'fc': plant(F, FC1, "scores, scores_cache = affine_forward(hidden, "
                                "self.params['W%d' % L],", "scores = np.maximum(0, affine_forward("
                                "hidden, self.params['W%d' % L], self.params['b%d' % L])[0])\n"
                                "_, scores_cache = affine_forward(hidden, self.params['W%d' % L],")}),
    Mistake('net-backward-skips-layer', NETS,
            "{fn}: the gradients match a backward pass that leaves out the {layer} layer's "
            'backward step (its input gradient is dropped); every layer of the forward pass has '
            'its step in the backward pass, in reverse order',
            reference=family(lambda layer: REF.but(backward_skips=(layer,)), layer=[
                (n, n) for n in ('norm', 'relu', 'dropout')]),
            plants=plant(U, '<module>', 'dout = relu_backward(dout, relu_cache)',
                         'relu_backward(dout, relu_cache)')),
    Mistake('net-layer-mode', NETS,
            '{fn}: the results match a net whose {layer} layers run in {mode} mode at {other} '
            'time too; each layer runs in the mode of the call: train with y, test without',
            reference=[(REF.but(layer_mode=lambda layer, mode, forced=forced, which=which: (
                forced if layer in which else mode)), {
                'layer': ' and '.join(which), 'mode': forced,
                'other': 'test' if forced == 'train' else 'train'})
                # (dropout in test mode at train time is no dropout: net-hidden-layers)
                for which, forced in ((('dropout',), 'train'), (('norm',), 'train'),
                                      (('norm',), 'test'), (('norm', 'dropout'), 'train'))],
            note='issue 27: the public self-check passed it',
            plants=plant(F, FC1, 'dropout_param = self.dropout_param if self.use_dropout else None',
                         "dropout_param = dict(self.dropout_param, mode='train') if "
                         'self.use_dropout else None')),
    Mistake('net-l2', NETS, _l2_message,
            reference=family(lambda a, b: None if (a, b) == (0.5, 1.0) else _l2(a, b),
                             a=[('0', 0.0), ('0.5', 0.5), ('1', 1.0), ('2', 2.0)],
                             b=[('0', 0.0), ('0.5', 0.5), ('1', 1.0), ('2', 2.0)]),
            plants={'two-layer-without-half': plant(F, TL2, 'loss += 0.5 * self.reg *',
                                                    'loss += self.reg *'),
                    'fc-without-half': plant(F, FC2, 'loss += 0.5 * self.reg * np.sum(W * W)',
                                             'loss += self.reg * np.sum(W * W)'),
                    'fc-no-gradient': plant(
                        F, FC2, "grads['W%d' % i] = grads['W%d' % i] + self.reg * W",
                        "grads['W%d' % i] = grads['W%d' % i]"),
                    'reg-ignored': plant(
                        F, TL2, 'loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))',
                        'pass') + plant(F, TL2, ' + self.reg * W1', '') + plant(
                        F, TL2, ' + self.reg * W2', '') + plant(
                        F, FC2, 'loss += 0.5 * self.reg * np.sum(W * W)', 'pass') + plant(
                        F, FC2, ' + self.reg * W', ''),
                    'not-in-loss': plant(
                        F, TL2, 'loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))',
                        'pass') + plant(F, FC2, 'loss += 0.5 * self.reg * np.sum(W * W)', 'pass'),
                    'factor-2': plant(F, TL2, 'loss += 0.5 * self.reg', 'loss += self.reg')
                    + plant(F, TL2, 'dW1 + self.reg', 'dW1 + 2 * self.reg')
                    + plant(F, TL2, 'dW2 + self.reg', 'dW2 + 2 * self.reg')
                    + plant(F, FC2, 'loss += 0.5 * self.reg', 'loss += self.reg')
                    + plant(F, FC2, "+ self.reg * W", '+ 2 * self.reg * W'),
                    'gradient-doubled': plant(F, TL2, 'dW1 + self.reg', 'dW1 + 2 * self.reg')
                    + plant(F, TL2, 'dW2 + self.reg', 'dW2 + 2 * self.reg')
                    + plant(F, FC2, "+ self.reg * W", '+ 2 * self.reg * W')}),
    Mistake('net-l2-other-params', NETS,
            '{fn}: the loss and gradients match an L2 term that covers {params} too; it covers '
            'the weights W only (0.5 * reg * sum(W ** 2), whose gradient is reg * W)',
            reference=family(lambda params: _l2(0.5, 1.0, ('W',) + params), params=[
                (' and '.join({'b': 'the biases'}.get(p, p) for p in s), s) for n in (1, 2, 3)
                for s in itertools.combinations(('b', 'gamma', 'beta'), n)]),
            plants=plant(F, FC2, "grads['W%d' % i] = grads['W%d' % i] + self.reg * W",
                         "grads['W%d' % i] = grads['W%d' % i] + self.reg * W\n"
                         "b = self.params['b%d' % i]\n"
                         'loss += 0.5 * self.reg * np.sum(b * b)\n'
                         "grads['b%d' % i] = grads['b%d' % i] + self.reg * b")),
    Mistake('net-l2-some-weights', NETS, _l2_some_message,
            reference=[(_l2_some(set(s), where), {'layers': set(s), 'where': text})
                       for n in (1, 2, 3) for s in itertools.combinations((1, 2, 3, 4), n)
                       for text, where in (('the loss and gradients have', 'both'),
                                           ('the gradients have', 'gradients'))],
            plants={'two-layer-W1': plant(F, TL2, "grads['W1'] = dW1 + self.reg * W1",
                                          "grads['W1'] = dW1"),
                    'both': plant(F, TL2, "grads['W1'] = dW1 + self.reg * W1",
                                  "grads['W1'] = dW1") + plant(
                        F, FC2, '+ self.reg * W', '+ (i > 1) * self.reg * W')}),
    Mistake('net-norm-grads', ('fc_net_batchnorm', 'fc_net_layernorm'),
            '{fn}: the gradients of gamma and beta are {how}; store in grads the dgamma and dbeta '
            "that each normalization layer's backward pass returns, under their own names",
            reference=family(_norm_grads, how=[(
                {'swapped': 'swapped (dbeta stored as gamma\'s)'}.get(h, 'wrong: ' + h), h)
                for h in ('gamma zero', 'beta zero', 'both zero', 'swapped')]),
            plants=plant(F, FC2, "grads['gamma%d' % i], grads['beta%d' % i] = dgamma, dbeta",
                         "grads['gamma%d' % i], grads['beta%d' % i] = 0 * dgamma, dbeta")),
    Mistake('net-data-loss-scale', NETS,
            lambda part, fn, f: '%s: %s; softmax_loss already averages over the batch' % (
                fn, _said({'a': f['a'] and 'the data loss is ' + f['a'],
                           'b': f['b'] and 'the gradient of the scores is ' + f['b']})),
            reference=family(_data_loss, a=NET_SCALE, b=NET_SCALE),
            plants=plant(F, TL2, 'loss, dscores = softmax_loss(scores, y)',
                         'loss, dscores = softmax_loss(scores, y)\nloss = loss * X.shape[0]')),
    Mistake('fc-shares-one-bn-param', ['fc_net_batchnorm'],
            "{fn}: a batchnorm layer got a bn_param holding another layer's running statistics "
            '(of another width): each hidden layer keeps its own bn_param, self.bn_params[i], '
            'not one shared dict', matcher=M.shared_bn_param,
            plants=plant(F, FC1, 'norm_param=self.bn_params[i - 1]',
                         'norm_param=self.bn_params[0]')),
    Mistake('init-weight-scale', NETS,
            '{fn}: {layers} drawn {spec}; weights are drawn from a Gaussian with mean 0 and std '
            'weight_scale (weight_scale * np.random.randn)', function='__init__',
            reference=family(_weights, layers=[('the weights are', ())] + [
                ('W%s %s' % (' and W'.join(map(str, s)), 'are' if len(s) > 1 else 'is'), set(s))
                for n in (1, 2) for s in itertools.combinations((1, 2, 3), n)],
                spec=WEIGHT_DRAWS),
            plants={'two-layer-W2': plant(F, 'TwoLayerNet.__init__',
                                          'weight_scale * np.random.randn(hidden_dim, num_classes)',
                                          'np.random.randn(hidden_dim, num_classes)'),
                    'both': plant(F, 'TwoLayerNet.__init__',
                                  'weight_scale * np.random.randn(hidden_dim,',
                                  'np.random.randn(hidden_dim,') + plant(
                        F, 'FullyConnectedNet.__init__', 'weight_scale * np.random.randn',
                        'np.random.randn')}),
    Mistake('init-biases', NETS,
            '{fn}: the biases (b, and beta with normalization) start {how}; they start at zero '
            '(np.zeros), the random weights alone break the symmetry', function='__init__',
            reference=family(lambda how: _initial(('b', 'beta'), how), how=[
                (t.format(right='zero'), s) for t, s in CONSTANTS]),
            plants={'two-layer-ones': plant(F, 'TwoLayerNet.__init__',
                                            "self.params['b1'] = np.zeros(hidden_dim)",
                                            "self.params['b1'] = np.ones(hidden_dim)"),
                    'both': plant(F, 'TwoLayerNet.__init__', 'np.zeros(hidden_dim)',
                                  'np.ones(hidden_dim)') + plant(
                        F, 'FullyConnectedNet.__init__', "self.params['b%d' % i] = np.zeros(dims[i])",
                        "self.params['b%d' % i] = np.full(dims[i], 0.1)")}),
    Mistake('init-gamma', ('fc_net_batchnorm', 'fc_net_layernorm'),
            '{fn}: gamma starts {how}; it starts at one (and beta at zero): each normalized '
            'layer then starts as the identity', function='__init__',
            reference=family(lambda how: _initial(('gamma',), how), how=[
                (t.format(right='one'), s) for t, s in CONSTANTS]),
            plants=plant(F, 'FullyConnectedNet.__init__',
                         "self.params['gamma%d' % i] = np.ones(dims[i])",
                         "self.params['gamma%d' % i] = np.zeros(dims[i])")),
    Mistake('init-norm-layers', ('fc_net_batchnorm', 'fc_net_layernorm'),
            '{fn}: gamma and beta are created for the wrong layers ({which}); only the hidden '
            'layers, 1 to L - 1, are normalized (the scores go to the loss as they are)',
            function='__init__',
            reference=family(_param_shapes, which=[(w, w) for w in (
                'output too', 'not the last hidden', 'shifted by one')]),
            plants=plant(F, 'FullyConnectedNet.__init__',
                         'if normalization is not None and i < self.num_layers:',
                         'if normalization is not None:')),
]


# ---------------------------------------------------------------------------
# Update rules

def _sgd(form, sign_v, sign_w):
    if (form, sign_v, sign_w) == ('classic', -1, 1):
        return None
    def update(w, dw, config):
        c = dict(config)
        mu, lr, v0 = c['momentum'], c['learning_rate'], c.get('velocity', np.zeros_like(w))
        v = {'classic': mu * v0 + sign_v * lr * dw, 'old velocity': mu * v0 + sign_v * lr * dw,
             'lr on velocity': mu * v0 + sign_v * dw, 'average': mu * v0 + (1 - mu) * sign_v * dw,
             'no momentum': sign_v * lr * dw, 'plain step': mu * v0 + sign_v * lr * dw}[form]
        step = {'old velocity': v0, 'lr on velocity': lr * v, 'average': lr * v,
                'plain step': sign_v * lr * dw}.get(form, v)
        c['velocity'] = v
        return w + sign_w * step, c
    return REF.but(sgd_momentum=update)


def _sgd_message(part, fn, f):
    return ('sgd_momentum: your steps match %s; v = momentum * v - learning_rate * dw, then '
            'next_w = w + v' % _said({'form': f['form'], 'sign_v': f['sign_v'],
                                     'sign_w': f['sign_w']}))


def _state(rule, key, how):
    def update(w, dw, config):
        next_w, c = getattr(REF, rule)(w, dw, config)
        if how == 'not stored':
            c[key] = config.get(key, 0 if key == 't' else np.zeros_like(w))
        else:
            c[key] = c[key] / REF.bias_correction(key, c, c['t'])
        return next_w, c
    return REF.but(**{rule: update})


def _corrections(m, v):
    if m == v == 'right':
        return None
    forms = {'right': lambda b, o, t: 1 - b ** t, 'none': lambda b, o, t: 1.0,
             't - 1': lambda b, o, t: 1 - b ** (t - 1), '2': lambda b, o, t: 1 - b ** 2,
             '1': lambda b, o, t: 1 - b, 'other beta': lambda b, o, t: 1 - o ** t}
    def correction(name, c, t):
        beta, other = (c['beta1'], c['beta2']) if name == 'm' else (c['beta2'], c['beta1'])
        return forms[m if name == 'm' else v](beta, other, t)
    return REF.but(bias_correction=correction)


def _correction_text(name, form):
    beta, other = ('beta1', 'beta2') if name == 'm' else ('beta2', 'beta1')
    return {'right': '%s / (1 - %s**t)' % (name, beta), 'none': '%s (no bias correction)' % name,
            't - 1': '%s / (1 - %s**(t - 1))' % (name, beta), '2': '%s / (1 - %s**2)' % (name, beta),
            '1': '%s / (1 - %s)' % (name, beta), 'other beta': '%s / (1 - %s**t)' % (name, other)
            }[form]


RULE_ROWS = [
    Mistake('sgd-momentum-formula', ['sgd_momentum'], _sgd_message,
            reference=family(_sgd, form=[
                ('', 'classic'), ('a step with the velocity before its update', 'old velocity'),
                ('the learning rate applied to the whole velocity', 'lr on velocity'),
                ('a velocity that averages the gradients (1 - momentum) * dw', 'average'),
                ('no momentum term', 'no momentum'),
                ('a plain SGD step that leaves the velocity out', 'plain step')],
                sign_v=[('', -1), ('a velocity that adds + learning_rate * dw', 1)],
                sign_w=[('', 1), ('next_w = w - v', -1)]),
            plants={'uphill': plant(O, 'sgd_momentum', "- config['learning_rate'] * dw",
                                    "+ config['learning_rate'] * dw"),
                    'velocity-sign': plant(O, 'sgd_momentum', "- config['learning_rate'] * dw",
                                           "+ config['learning_rate'] * dw") + plant(
                        O, 'sgd_momentum', 'next_w = w + v', 'next_w = w - v'),
                    'no-momentum': plant(O, 'sgd_momentum', 'next_w = w + v',
                                         "next_w = w - config['learning_rate'] * dw"),
                    'lr-on-velocity': plant(O, 'sgd_momentum', "- config['learning_rate'] * dw",
                                            '- dw') + plant(
                        O, 'sgd_momentum', 'next_w = w + v',
                        "next_w = w + config['learning_rate'] * v")}),
    Mistake('update-state', RULES,
            "{fn}: config['{key}'] {how} after a step; the next step starts from the state the "
            'last one left in config',
            reference=[(_state(rule, key, how), {'key': key, 'how': {
                'not stored': 'is not updated', 'corrected': 'holds the bias-corrected %s_hat'
                % key}[how]}) for rule, key, how in (
                ('sgd_momentum', 'velocity', 'not stored'), ('rmsprop', 'cache', 'not stored'),
                ('adam', 'm', 'not stored'), ('adam', 'v', 'not stored'),
                ('adam', 't', 'not stored'), ('adam', 'm', 'corrected'),
                ('adam', 'v', 'corrected'))],
            plants={'sgd-velocity': plant(O, 'sgd_momentum', 'v = config', 'new_v = config')
                    + plant(O, 'sgd_momentum', 'next_w = w + v', 'next_w = w + new_v'),
                    'adam-t': plant(O, 'adam', "config['t'] += 1\n    t = config['t']",
                                    "t = config['t'] + 1")}),
    Mistake('adam-bias-correction', ['adam'],
            lambda part, fn, f: 'adam: your steps match m_hat = %s and v_hat = %s; with t '
            'counted from 1 (incremented before use), m_hat = m / (1 - beta1**t) and v_hat = '
            'v / (1 - beta2**t)' % (_correction_text('m', f['m']),
                                    _correction_text('v', f['v'])),
            reference=family(_corrections, **{name: [(form, form) for form in (
                'right', 'none', 't - 1', '2', '1', 'other beta')] for name in ('m', 'v')}),
            plants={'m-not-corrected': plant(O, 'adam', "m_hat = config['m'] / (1 - beta1 ** t)",
                                             "m_hat = config['m']"),
                    'none': plant(O, 'adam', ' / (1 - beta1 ** t)', '') + plant(
                        O, 'adam', ' / (1 - beta2 ** t)', ''),
                    'beta2-squared': plant(O, 'adam', 'beta2 ** t', 'beta2 ** 2'),
                    't-after-the-step': plant(O, 'adam', "t = config['t']",
                                              "t = config['t'] - 1"),
                    'incremented-after': plant(O, 'adam', "config['t'] += 1\n    t = config['t']",
                                               "t = config['t']") + plant(
                        O, 'adam', 'next_w = w', "config['t'] += 1\nnext_w = w")}),
    Mistake('squared-gradient', ['rmsprop', 'adam'],
            '{fn}: your steps match a running average of {what}; it averages dw ** 2, the '
            'squared gradient',
            reference=family(lambda what: REF.but(squared_gradient=what), what=[
                ('|dw|', np.abs), ('dw itself', lambda dw: dw), ('dw ** 4', lambda dw: dw ** 4)]),
            plants=plant(O, 'adam', '(1 - beta2) * dw ** 2', '(1 - beta2) * np.abs(dw)')),
    Mistake('rmsprop-denominator', ['rmsprop'],
            'rmsprop: your steps match {what}; the step is learning_rate * dw / (sqrt(cache) + '
            "epsilon), and config['cache'] holds the running average alone",
            reference=[(REF.but(rmsprop_denominator=lambda c, e: c + e), {
                'what': 'a division by cache + epsilon, without the square root'}),
                       (REF.but(rmsprop=lambda w, dw, config: REF.but(
                           moving_average=lambda name, old, new, d: REF.moving_average(
                               name, old, new, d) + config['epsilon']).rmsprop(w, dw, config)),
                        {'what': 'a cache that epsilon is added to at every step'})],
            plants={'no-sqrt': plant(O, 'rmsprop', "np.sqrt(config['cache'])", "config['cache']"),
                    'eps-in-cache': plant(O, 'rmsprop', "dw ** 2\n",
                                          "dw ** 2 + config['epsilon']\n")}),
]


# ---------------------------------------------------------------------------
# Legitimate variants: correct code unlike the model answers

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
    Variant('affine-forward-einsum', plant(L, 'affine_forward', 'x.reshape(x.shape[0], -1) @ w',
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

ROWS = [IN_PLACE, WRONG_AXIS, KEEPDIMS] + AFFINE + RELU + LOSSES + NORMS + DROPOUT + NET + \
    RULE_ROWS + VARIANTS
