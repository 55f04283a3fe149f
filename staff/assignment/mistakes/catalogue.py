"""The catalogue: one row per known mistake, most of them families (see
__init__.py for what a row is), then the variants (variants.py).

Written from the student functions, their docstrings and the assignment's
pain points (the 0.5 of the L2 term, regularized biases and gamma/beta, p as
the drop probability, the softmax overflow, float32), the bugs that earlier
versions of the self-check let through, and issues 21 and 27. A family is
written from the formula it gets wrong (any eps, any axis, any sign, any
weighting of a running average), not from one edit; `python -m staff.bugs
--set second --grader` measures it on bugs written without these rows. In a
message, {said} is the family's texts for the reference that matched, joined.
"""
import itertools

import numpy as np

from . import Mistake, family, matchers as M, plant
from .variants import VARIANTS
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
LAYERS = ('affine_forward', 'affine_backward', 'relu_forward', 'relu_backward', 'softmax_loss',
          'svm_loss') + NORM_FORWARD + NORM_BACKWARD + ('dropout_forward', 'dropout_backward')
NETS = ('two_layer_net', 'fc_net', 'fc_net_batchnorm', 'fc_net_layernorm', 'fc_net_dropout')
RULES = ('sgd_momentum', 'rmsprop', 'adam')
KEEP = {'p': lambda p: p, '1-p': lambda p: 1 - p, '1': lambda p: 1.0, '1/p': lambda p: 1 / p,
        '1/(1-p)': lambda p: 1 / (1 - p)}


def replaced(name, choices):
    """The family that replaces the formula `name` by each of choices [(text, function)]."""
    return family(lambda f: REF.but(**{name: f}), said=choices)


# ---------------------------------------------------------------------------
# Every layer; affine; relu

def _unflattener(flatten):
    """The inverse of a flatten that permutes x's entries."""
    def unflatten(rows, shape):
        out = np.empty(rows.size, dtype=rows.dtype)
        out[flatten(np.arange(int(np.prod(shape))).reshape(shape)).ravel()] = rows.ravel()
        return out.reshape(shape)
    return unflatten


def _flattened(order, where):
    return REF.but(**{'flatten': {'flatten': order}, 'unflatten': {
        'unflatten': _unflattener(order)}, 'both': {
        'flatten': order, 'unflatten': _unflattener(order)}}[where])


def _relu_gradient(times, factor):
    return None if (times, factor) == ('dout', 'x > 0') else REF.but(
        relu_backward=lambda dout, x: {'dout': dout, '1': 1.0}[times] * {
            'x > 0': x > 0, 'x <= 0': x <= 0, 'dout > 0': dout > 0, '1': 1.0,
            'relu(x)': np.maximum(x, 0), 'x': x}[factor])


LAYER_ROWS = [
    Mistake('layer-changes-input', LAYERS,
            "{fn}: changes its input {input} in place; the caller still uses it (the notebooks' "
            'gradient checks call the layer again on the same array): compute a new array',
            matcher=M.changed_input, note='issue 27: the grader passed copies and never saw it',
            plants={'relu_forward': plant(L, 'relu_forward', 'out = np.maximum(0, x)',
                                          'x *= x > 0\nout = x'),
                    'dropout_forward': plant(L, DO1, 'out = x * mask', 'x *= mask\nout = x')}),
    Mistake('reduced-over-wrong-axis', LAYERS,
            '{fn}: {name} has shape {shape} where one value per feature, {want}, belongs: a mean, '
            'variance or sum over the wrong axis (or none); per-feature ones run over axis 0',
            matcher=M.wrong_axis,
            plants=plant(L, BN1, 'mean = x.mean(axis=0)', 'mean = x.mean(axis=1, keepdims=True)')),
    Mistake('keepdims-missing', LAYERS,
            '{fn}: numpy could not combine an array of shape {shape} with a per-row statistic of '
            'shape (N,), which it lines up with the last axis: keep the reduced axis '
            '(keepdims=True, or [:, None])', matcher=M.keepdims_missing,
            plants=plant(L, 'softmax_loss', 'x.max(axis=1, keepdims=True)', 'x.max(axis=1)')),
    Mistake('affine-forward-bias', ['affine_forward'],
            'affine_forward: out matches x @ w {said}; add b, once, to every row',
            reference=family(lambda c: REF.but(affine_forward=lambda x, w, b: REF.affine_forward(
                x, w, c * b)), said=[('without the bias', 0.0), ('minus the bias', -1.0)]),
            plants=plant(L, 'affine_forward', '@ w + b', '@ w')),
    Mistake('affine-flatten-order', ['affine_forward', 'affine_backward'],
            "{fn}: your results match {where} {order}; x.reshape(N, -1) puts example i's values, "
            'in their order, in row i, and dx.reshape(x.shape) puts them back',
            reference=family(_flattened, order=[
                ('in column-major order (order="F")', lambda x: x.reshape(len(x), -1, order='F')),
                ('with the batch axis last (x.reshape(-1, N).T)',
                 lambda x: x.reshape(-1, len(x)).T),
                ('through x.T (x.T.reshape(N, -1))', lambda x: x.T.reshape(len(x), -1)),
                ('with its last two axes swapped', lambda x: np.swapaxes(x, -1, -2).reshape(
                    len(x), -1) if x.ndim > 3 else x.reshape(len(x), -1, order='F'))],
                where=[('x flattened', 'flatten'), ('dx reshaped', 'unflatten'),
                       ('x flattened and dx reshaped', 'both')]),
            plants={'forward': plant(L, 'affine_forward', 'x.reshape(x.shape[0], -1)',
                                     'x.reshape(-1, x.shape[0]).T'),
                    'backward': plant(L, 'affine_backward', 'dw = x.reshape(x.shape[0], -1).T',
                                      'dw = x.reshape(-1, x.shape[0])')}),
    Mistake('affine-backward-dx-not-reshaped', ['affine_backward'],
            'affine_backward: dx has the flattened shape (N, D) of the product with w.T; reshape '
            'it to the shape of x, which the upstream layer expects', matcher=M.dx_not_reshaped,
            plants=plant(L, 'affine_backward', 'dx = (dout @ w.T).reshape(x.shape)',
                         'dx = dout @ w.T')),
    Mistake('affine-backward-averaged', ['affine_backward'],
            'affine_backward: {said} divided by the batch size; each is a sum over the examples '
            '(the loss does the averaging)',
            reference=family(lambda dx, dw, db: REF.but(affine_backward=lambda d, cache: tuple(
                g / len(d) if on else g for g, on in zip(REF.affine_backward(d, cache), (
                    dx, dw, db))))if dx or dw or db else None,
                dx=[('', 0), ('dx', 1)], dw=[('', 0), ('dw', 1)], db=[('', 0), ('db', 1)]),
            plants={'db': plant(L, 'affine_backward', 'db = dout.sum(axis=0)',
                                'db = dout.mean(axis=0)'),
                    'dw': plant(L, 'affine_backward', '.T @ dout', '.T @ dout / x.shape[0]')}),
    Mistake('relu-forward-slope', ['relu_forward'],
            'relu_forward: negative inputs come out {said}; the ReLU sets them to 0',
            reference=family(lambda a: REF.but(relu_forward=lambda x: (np.where(x > 0, x, a * x),
                                                                       x)),
                             said=[('scaled by %g (a leaky ReLU)' % a, a) for a in (
                                 0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.3, 0.5)] + [
                                 ('unchanged (no ReLU)', 1.0), ('negated (|x|)', -1.0)]),
            plants=plant(L, 'relu_forward', 'np.maximum(0, x)', 'np.maximum(0.01 * x, x)')),
    Mistake('relu-backward-gradient', ['relu_backward'],
            'relu_backward: dx matches {times} * ({factor}); the ReLU passes dout where the input '
            'x was positive and blocks it elsewhere',
            reference=family(_relu_gradient, times=[(t, t) for t in ('dout', '1')], factor=[
                (m, m) for m in ('x > 0', 'x <= 0', 'dout > 0', '1', 'relu(x)', 'x')]),
            plants={k: plant(L, 'relu_backward', 'dout * (x > 0)', new) for k, new in (
                ('no-dout', '1.0 * (x > 0)'), ('mask-of-dout', 'dout * (dout > 0)'),
                ('times-output', 'dout * np.maximum(x, 0)'),
                ('mask-inverted', 'dout * (x <= 0)'))}),
]


# ---------------------------------------------------------------------------
# softmax_loss, svm_loss

def _softmax(axis=1, q='p', k=1.0, shift=1, eps=None):
    """softmax_loss normalized along `axis` (None: the whole array), the scores
    shifted by their maximum along `shift`, dx built from q ('p' the probabilities,
    'exp' of the shifted scores, 'log p') minus k at the correct class; the loss
    -log(p + eps) if eps is given."""
    def loss(x, y):
        n, rows = len(x), np.arange(len(x))
        z = x - x.max(axis=shift, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
        dx = {'p': np.exp(logp), 'exp': np.exp(z), 'log p': logp.copy()}[q]
        dx[rows, y] -= k
        picked = logp[rows, y] if eps is None else np.log(np.exp(logp[rows, y]) + eps)
        return float(-picked.sum() / n), dx / n
    return REF.but(softmax_loss=loss)


def _svm(sign=1, delta=1.0, hinge=True, keep_y=False, indicator='>', y_grad=-1):
    """svm_loss as the model answer writes it, with a mistake: margins sign * (x -
    correct) + delta, hinged or not, the correct class's kept or not, dx's
    indicator of the margins, and y_grad times the row's count at the correct class."""
    def loss(x, y):
        n, rows = len(x), np.arange(len(x))
        margins = sign * (x - x[rows, y][:, None]) + delta
        margins = np.maximum(0, margins) if hinge else margins
        if not keep_y:
            margins[rows, y] = 0
        dx = {'>': margins > 0, '>=': margins >= 0, 'all': np.ones(x.shape, bool)}[indicator] * 1.0
        dx[rows, y] = y_grad * dx.sum(axis=1)
        return float(margins.sum() / n), dx / n
    return REF.but(svm_loss=loss)


def _averaged(a, b):
    """Both losses, the loss multiplied by N ** a and dx by N ** b."""
    def scaled(f):
        return lambda x, y: (lambda loss, dx: (loss * len(x) ** a, dx * len(x) ** b))(*f(x, y))
    return None if a == b == 0 else REF.but(softmax_loss=scaled(REF.softmax_loss),
                                             svm_loss=scaled(REF.svm_loss))


def _scale(what):
    return [('', 0), ('%s N times too large' % what, 1), ('%s divided by N twice' % what, -1)]


LOSSES = [
    Mistake('loss-not-averaged', ['softmax_loss', 'svm_loss'],
            '{fn}: {said}; the loss is the mean over the N examples, so dx is divided by N too',
            reference=family(_averaged, a=_scale('the loss'), b=_scale('dx')),
            plants={'softmax-loss': plant(L, 'softmax_loss', '].mean()', '].sum()'),
                    'softmax-dx': plant(L, 'softmax_loss', 'dx /= N', 'dx = dx'),
                    'svm-loss': plant(L, 'svm_loss', 'margins.sum() / N', 'margins.sum()'),
                    'svm-dx': plant(L, 'svm_loss', 'dx /= N', 'dx = dx')}),
    Mistake('softmax-unstable', ['softmax_loss'],
            'softmax_loss: right on small scores, but inf, NaN or wrong on scores of about '
            "1e3-1e4, where exp overflows or underflows; subtract each row's own maximum before "
            'exp, and take the loss from log-probabilities', matcher=M.softmax_unstable,
            plants={k: plant(L, 'softmax_loss', 'shifted = x - x.max(axis=1, keepdims=True)', new)
                    for k, new in (('no-shift', 'shifted = x'),
                                   ('global-max', 'shifted = x - x.max()'))}),
    Mistake('softmax-wrong-axis', ['softmax_loss'],
            "softmax_loss: your results match a softmax with {said}; each example's scores are "
            'shifted by their own maximum, and its probabilities sum to 1 over its classes',
            reference=family(lambda shift, axis: None if shift == axis == 1 else _softmax(
                axis=axis, shift=shift), shift=[('', 1), ("each class's maximum subtracted", 0)],
                axis=[('', 1), ('probabilities normalized over the batch', 0),
                      ('probabilities normalized over the whole array', None)]),
            plants=plant(L, 'softmax_loss', 'sum(axis=1, keepdims=True)',
                         'sum(axis=0, keepdims=True)')),
    Mistake('softmax-dx', ['softmax_loss'],
            'softmax_loss: dx matches {q} {k}, over N; it is (p - 1[j = y_i]) / N, with p the '
            'softmax probabilities',
            reference=family(lambda q, k: None if (q, k) == ('p', 1) else _softmax(q=q, k=k), q=[
                ('the probabilities', 'p'), ('exp of the shifted scores, not normalized', 'exp'),
                ('the log-probabilities', 'log p')], k=[
                ('minus 1 at the correct class', 1), ('with nothing subtracted at the correct '
                                                       'class', 0),
                ('plus 1 at the correct class', -1)]),
            plants=plant(L, 'softmax_loss', 'y] -= 1', 'y] -= 0')),
    Mistake('softmax-log-eps', ['softmax_loss'],
            'softmax_loss: the loss matches -log(p + {said}) with p the probability of the '
            'correct class: an eps inside the log changes the loss; take it from the '
            'log-probabilities, z - log(sum(exp(z))), which never reach log(0)',
            reference=family(lambda eps: _softmax(eps=eps), said=[('%g' % e, e) for e in (
                1e-12, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5)]),
            plants=plant(L, 'softmax_loss', 'loss = -log_probs[np.arange(N), y].mean()',
                         'loss = -np.log(np.exp(log_probs[np.arange(N), y]) + 1e-8).mean()')),
    Mistake('svm-margins', ['svm_loss'],
            'svm_loss: your loss and dx match margins with {said}; they are '
            'max(0, s_j - s_{{y_i}} + 1) over the classes j != y_i',
            reference=family(lambda sign, delta, hinge: None if (sign, delta, hinge) == (
                1, 1.0, True) else _svm(sign, delta, hinge),
                sign=[('', 1), ('s_{y_i} - s_j for s_j - s_{y_i}', -1)],
                delta=[('', 1.0), ('no margin (+ 0)', 0.0), ('a margin of 2', 2.0),
                       ('a margin of -1', -1.0)],
                hinge=[('', True), ('no max(0, .)', False)]),
            plants=plant(L, 'svm_loss', 'x - correct_scores + 1', 'x - correct_scores')),
    Mistake('svm-correct-class-counted', ['svm_loss'],
            "svm_loss: the loss is 1 too high per example: the correct class's margin (always 1) "
            'is counted; the sum of margins leaves out j = y_i', reference=_svm(keep_y=True),
            plants=plant(L, 'svm_loss', 'margins[np.arange(N), y] = 0', 'margins = margins')),
    Mistake('svm-dx', ['svm_loss'],
            'svm_loss: dx matches {indicator} at the other classes and {y_grad} at the correct '
            'one (over N); it is 1 where the margin is positive, and minus their count at y_i',
            reference=family(lambda indicator, y_grad: None if (indicator, y_grad) == ('>', -1)
                             else _svm(indicator=indicator, y_grad=y_grad), indicator=[
                ('1 where the margin > 0', '>'), ('1 where the margin >= 0', '>='),
                ('1 everywhere', 'all')],
                y_grad=[('minus the count', -1), ('0', 0), ('plus the count', 1)]),
            plants=plant(L, 'svm_loss', '= -dx.sum(axis=1)', '= 0')),
]


# ---------------------------------------------------------------------------
# batch normalization, layer normalization

def _hard_coded(key, value):
    return REF.but(hyper=lambda param, k, default=None: value if k == key else REF.hyper(
        param, k, default))


def _moving(names, form):
    f = {'swapped': lambda old, new, d: (1 - d) * old + d * new,
         'never updated': lambda old, new, d: old, 'replaced': lambda old, new, d: new}[form]
    return REF.but(moving_average=lambda name, old, new, d: f(old, new, d) if name in names
                   else REF.moving_average(name, old, new, d))


def _moving_text(names, form):
    decay = {'running_mean': 'momentum', 'running_var': 'momentum', 'cache': 'decay_rate',
             'm': 'beta1', 'v': 'beta2'}[names[0]]
    return {'what': ' and '.join(names) + {
        'swapped': ': the old value weighted by (1 - %s) and the new one by %s' % (decay, decay),
        'never updated': ' never updated', 'replaced': ' replaced by the new value, not averaged'
    }[form], 'decay': decay}


def _mode_statistics(when):
    """batchnorm_forward normalizing with the running statistics in train mode (as
    they were 'before' this step's update, or 'after'), or with the batch's in test mode."""
    def forward(x, gamma, beta, param):
        if (param['mode'] == 'test') != (when == 'test'):   # the mode it leaves right
            return REF.batchnorm_forward(x, gamma, beta, param)
        if when == 'test':
            return REF.batchnorm_forward(x, gamma, beta, dict(param, mode='train'))[0], None
        if when == 'after':
            REF.batchnorm_forward(x, gamma, beta, param)
        out = REF.batchnorm_forward(x, gamma, beta, dict(param, mode='test'))[0]
        if when == 'before':
            REF.batchnorm_forward(x, gamma, beta, param)
        return out, None
    return REF.but(batchnorm_forward=forward)


def _running_var_of(statistic):
    def forward(x, gamma, beta, param):
        old = param.get('running_var', np.zeros(x.shape[1]))
        out, cache = REF.batchnorm_forward(x, gamma, beta, param)
        momentum = param.get('momentum', 0.9)
        param['running_var'] = momentum * old + (1 - momentum) * statistic(
            x, param.get('eps', 1e-5))
        return out, cache
    return REF.but(batchnorm_forward=forward)


def _param_grads(dgamma, dbeta):
    return None if (dgamma, dbeta) == ('sum(dout * x_hat)', 'sum(dout)') else REF.but(
        scale_shift_backward=lambda dout, c: (dout * c.gamma, {
            'sum(dout * x_hat)': (dout * c.xhat).sum(0), 'sum(dout)': dout.sum(0),
            'sum(dout * x)': (dout * c.x).sum(0), 'mean(dout * x_hat)': (dout * c.xhat).mean(0)}[
            dgamma], dout.mean(0) if dbeta == 'mean(dout)' else dout.sum(0)))


def _branches(mean, var, factor):
    if (mean, var, factor) == ('mean', 'mean', 1) or var == 'missing' and factor != 1:
        return None
    def backward(dxhat, c):
        def path(a, how):
            return {'mean': a.mean(axis=c.axis, keepdims=True), 'missing': 0 * a,
                    'sum': a.sum(axis=c.axis, keepdims=True), 'elementwise': a,
                    'elementwise / N': a / a.shape[c.axis],
                    'other axis': a.mean(axis=1 - c.axis, keepdims=True)}[how]
        return (dxhat - path(dxhat, mean) - factor * c.xhat * path(dxhat * c.xhat, var)) / np.sqrt(
            c.var + c.eps)
    return REF.but(normalize_backward=backward)


def _paths(through):
    return [('', 'mean'), ('no path through the ' + through, 'missing')] + [
        ('the path through the %s %s' % (through, t), how) for t, how in (
            ('summed where it is averaged', 'sum'), ('not summed (elementwise)', 'elementwise'),
            ('not summed, divided by N', 'elementwise / N'),
            ('averaged over the other axis', 'other axis'))]


def _gamma_after(dout, c):
    dx, dgamma, dbeta = REF.but(scale_shift_backward=lambda d, cc: (
        d,) + REF.scale_shift_backward(d, cc)[1:]).norm_backward(dout, c)
    return dx * c.gamma, dgamma, dbeta


NORMS = [
    Mistake('hyperparameter-ignored', NORM_FORWARD + NORM_BACKWARD + RULES,
            '{fn}: your results match {value} whatever the {key} it is given; read {key} from '
            'the parameters the caller passes (its default only where it is missing)',
            reference=[(_hard_coded(k, v), {'key': k, 'value': 'no %s at all' % k if v == 0
                                            else '%s = %g' % (k, v)}) for k, v in [
                ('eps', v) for v in (0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2)] + [
                ('momentum', 0.9), ('momentum', 0.99), ('momentum', 0.1), ('learning_rate', 1e-2),
                ('learning_rate', 1e-3), ('decay_rate', 0.99), ('decay_rate', 0.9),
                ('beta1', 0.9), ('beta2', 0.999), ('beta2', 0.99), ('epsilon', 0.0),
                ('epsilon', 1e-8)]],
            plants={'bn-eps-missing': plant(L, BN1, 'np.sqrt(var + eps)', 'np.sqrt(var)'),
                    'bn-eps-1e-5': plant(L, BN1, 'np.sqrt(var + eps)', 'np.sqrt(var + 1e-5)'),
                    'bn-test-eps-1e-5': plant(L, BN2, 'running_var + eps', 'running_var + 1e-5'),
                    'ln-eps-not-passed': plant(L, 'layernorm_forward', ", 'eps': eps}", '}'),
                    'rmsprop-decay': plant(O, 'rmsprop', "decay_rate = config['decay_rate']",
                                           'decay_rate = 0.99')}),
    Mistake('norm-statistics', ('batchnorm_forward_train', 'layernorm_forward') + NORM_BACKWARD,
            '{fn}: your results match {said}; the layer normalizes with the mean and the biased '
            "variance (divided by N) of the batch (batchnorm) or of each example (layernorm)",
            reference=replaced('moments', [
                ('the unbiased variance (divided by N - 1)', lambda x, axis: (lambda m, v: (
                    m, v * x.shape[axis] / (x.shape[axis] - 1)))(*REF.moments(x, axis))),
                ('statistics over the other axis', lambda x, axis: REF.moments(x, 1 - axis)),
                ('statistics of the whole array', lambda x, axis: REF.moments(x.reshape(-1), 0))]),
            plants={'bn-unbiased': plant(L, BN1, 'x.var(axis=0)', 'x.var(axis=0, ddof=1)'),
                    'ln-over-batch': plant(L, 'layernorm_forward', None, (
                        'mean = x.mean(axis=0)\nvar = x.var(axis=0)\nout = gamma * (x - mean) / '
                        'np.sqrt(var + eps) + beta\ncache = None\n'))}),
    Mistake('norm-formula', NORM_FORWARD,
            '{fn}: the output matches x_hat = {said}; x_hat = (x - mean) / sqrt(var + eps)',
            reference=replaced('normalize', [
                ('(x - mean) / (sqrt(var) + eps)', lambda x, m, v, e: (x - m) / (np.sqrt(v) + e)),
                ('(x - mean) / (var + eps), no square root', lambda x, m, v, e: (x - m) / (v + e)),
                ('x - mean / sqrt(var + eps) (precedence)', lambda x, m, v, e: x - m / np.sqrt(
                    v + e)),
                ('(x - mean) * sqrt(var + eps)', lambda x, m, v, e: (x - m) * np.sqrt(v + e))]),
            plants=plant(L, BN2, 'np.sqrt(running_var + eps)', '(np.sqrt(running_var) + eps)')),
    Mistake('norm-gamma-beta', NORM_FORWARD,
            '{fn}: the output matches {said}; it is out = gamma * x_hat + beta (in every mode)',
            reference=replaced('scale_shift', [
                ('x_hat + beta (without gamma)', lambda xh, g, b: xh + b),
                ('gamma * x_hat (without beta)', lambda xh, g, b: g * xh),
                ('x_hat (neither gamma nor beta)', lambda xh, g, b: xh),
                ('gamma * (x_hat + beta)', lambda xh, g, b: g * (xh + b)),
                ('beta * x_hat + gamma (swapped)', lambda xh, g, b: b * xh + g)]),
            plants={'bn-train': plant(L, BN1, 'out = gamma * x_hat', 'out = x_hat'),
                    'bn-test': plant(L, BN2, 'np.sqrt(running_var + eps) + beta',
                                     'np.sqrt(running_var + eps)'),
                    'ln': plant(L, 'layernorm_forward', 'out = gamma * x_hat', 'out = x_hat')}),
    Mistake('moving-average', ('batchnorm_forward_train', 'rmsprop', 'adam'),
            '{fn}: {what}; a running average keeps {decay} of its old value and adds '
            '(1 - {decay}) of the new one',
            reference=[(_moving(names, form), _moving_text(names, form)) for names in (
                ('running_mean',), ('running_var',), ('running_mean', 'running_var'), ('cache',),
                ('m',), ('v',), ('m', 'v')) for form in ('swapped', 'never updated', 'replaced')],
            plants={'bn-mean-swapped': plant(L, BN1, 'momentum * running_mean + (1 - momentum)',
                                             '(1 - momentum) * running_mean + momentum'),
                    'bn-var-swapped': plant(L, BN1, 'momentum * running_var + (1 - momentum)',
                                            '(1 - momentum) * running_var + momentum'),
                    'bn-var-never-updated': plant(L, BN1, 'momentum * running_var + (1 - '
                                                  'momentum) * var', 'running_var'),
                    'rmsprop-decay-swapped': plant(
                        O, 'rmsprop', "decay_rate * config['cache'] + (1 - decay_rate)",
                        "(1 - decay_rate) * config['cache'] + decay_rate")}),
    Mistake('batchnorm-running-var-of-std', ['batchnorm_forward_train'],
            "batchnorm_forward: running_var averages the batch's standard deviation, {said}; it "
            'averages its variance',
            reference=family(_running_var_of, said=[
                ('sqrt(var + eps)', lambda x, eps: np.sqrt(x.var(axis=0) + eps)),
                ('sqrt(var)', lambda x, eps: x.std(axis=0))]),
            plants=plant(L, BN1, '(1 - momentum) * var', '(1 - momentum) * std')),
    Mistake('batchnorm-mode-statistics', BN_FORWARD,
            "batchnorm_forward: {said}; train mode normalizes with the batch's mean and variance, "
            'test mode with the running ones',
            reference=family(_mode_statistics, said=[
                ('in train mode the output is normalized with the running statistics', 'before'),
                ('in train mode the output is normalized with the running statistics after their '
                 'update', 'after'),
                ("in test mode the output is normalized with the batch's statistics", 'test')]),
            plants={'train': plant(L, BN1, '(x - mean) / std',
                                   '(x - running_mean) / np.sqrt(running_var + eps)'),
                    'test': plant(L, BN2, '(x - running_mean) / np.sqrt(running_var + eps)',
                                  '(x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)')}),
    Mistake('norm-backward-param-grads', NORM_BACKWARD,
            '{fn}: dgamma matches {dgamma} and dbeta {dbeta}, over the batch; out = gamma * '
            'x_hat + beta gives dgamma = sum(dout * x_hat) and dbeta = sum(dout)',
            reference=family(_param_grads, dgamma=[(t, t) for t in (
                'sum(dout * x_hat)', 'sum(dout)', 'sum(dout * x)', 'mean(dout * x_hat)')],
                dbeta=[(t, t) for t in ('sum(dout)', 'mean(dout)')]),
            plants=dict({'bn-dbeta-mean': plant(L, 'batchnorm_backward', 'dbeta = dout.sum',
                                                'dbeta = dout.mean')}, **{
                k: plant(L, fn, 'dgamma = (dout * x_hat).sum(axis=0)', 'dgamma = dout.sum(axis=0)')
                for k, fn in (('bn', 'batchnorm_backward'), ('bn-alt', 'batchnorm_backward_alt'),
                              ('ln', 'layernorm_backward'))})),
    Mistake('norm-backward-gamma', NORM_BACKWARD,
            '{fn}: dx matches a backward pass with gamma {said}; the upstream gradient reaches '
            'x_hat through gamma first: dx_hat = dout * gamma',
            reference=[(REF.but(scale_shift_backward=lambda d, c: (
                d,) + REF.scale_shift_backward(d, c)[1:]), {'said': 'left out'}),
                       (REF.but(norm_backward=_gamma_after),
                        {'said': 'applied to dx at the end'})],
            plants={'bn-alt': plant(L, 'batchnorm_backward_alt', 'dout * gamma', 'dout'),
                    'ln': plant(L, 'layernorm_backward', '(dout * gamma).T', 'dout.T')}),
    Mistake('norm-backward-branches', NORM_BACKWARD,
            '{fn}: dx matches a backward pass with {said}; dx = (dx_hat - mean(dx_hat) - x_hat * '
            'mean(dx_hat * x_hat)) / std, the means over the normalized axis',
            reference=family(_branches, mean=_paths('mean'), var=_paths('variance'), factor=[
                ('', 1), ('the path through the variance 2 times too large', 2),
                ('the path through the variance half what it is', 0.5),
                ('the path through the variance with the wrong sign', -1)]),
            plants={'bn-no-mean-branch': plant(L, 'batchnorm_backward', 'dx_centered + dmean / N',
                                               'dx_centered'),
                    'bn-no-var-branch': plant(L, 'batchnorm_backward', '+= 2 * x_centered * dvar',
                                              '+= 0 * x_centered * dvar'),
                    'bn-alt-no-var-branch': plant(L, 'batchnorm_backward_alt', ' - x_hat * '
                                                  '(dx_hat * x_hat).mean(axis=0)', ''),
                    'ln-over-batch': plant(L, 'layernorm_backward', None, (
                        'x_hat, gamma, bn_cache = cache\nstd = bn_cache.cache[3][:, None]\n'
                        'dbeta = dout.sum(axis=0)\ndgamma = (dout * x_hat).sum(axis=0)\n'
                        'dx_hat = dout * gamma\ndx = (dx_hat - dx_hat.mean(axis=0) - x_hat * '
                        '(dx_hat * x_hat).mean(axis=0)) / std\n'))}),
]


# ---------------------------------------------------------------------------
# dropout (p is the keep probability)

def _dropout(keep, divisor, test):
    if (keep, divisor, test) == ('p', 'p', '1'):
        return None
    base = REF.but(dropout_keep=KEEP[keep], dropout_divisor=KEEP[divisor])
    return base.but(dropout_forward=lambda x, param: (x * KEEP[test](param['p']), (
        param, None)) if param['mode'] == 'test' else base.dropout_forward(x, param))


DROPOUT = [
    Mistake('dropout-keep-and-scale', ['dropout_forward'],
            'dropout_forward: your outputs match {said}; p is the probability of keeping a unit, '
            'kept units are divided by p at train time, and test mode returns x unchanged',
            reference=family(_dropout, keep=[('', 'p'), ('a fraction 1 - p of the units kept',
                                                         '1-p')],
                             divisor=[('', 'p')] + [('kept units %s at train time' % t, d)
                                                    for t, d in (('not scaled', '1'),
                                                                 ('multiplied by p', '1/p'),
                                                                 ('divided by 1 - p', '1-p'))],
                             test=[('', '1')] + [('the test-mode output %s' % t, d) for t, d in (
                                 ('multiplied by p', 'p'), ('divided by p', '1/p'),
                                 ('multiplied by 1 - p', '1-p'))]),
            plants={'drop-probability': plant(L, DO1, '< p', '< 1 - p'),
                    'not-inverted': plant(L, DO1, ' / p', ''),
                    'test-scaled': plant(L, DO2, 'out = x', 'out = x * p'),
                    'scaled-at-test-time': plant(L, DO1, ' / p', '') + plant(L, DO2, 'out = x',
                                                                              'out = x * p'),
                    'train-scaled-by-p': plant(L, DO1, '/ p', '* p'),
                    'drop-probability-inverted': plant(L, DO1, '< p).astype(x.dtype) / p',
                                                       '> p).astype(x.dtype) / (1 - p)')}),
    Mistake('dropout-backward-gradient', ['dropout_backward'],
            'dropout_backward: dx matches dout times {mask}{scale}; it is the gradient of your '
            'forward pass: dout times the mask it applied, kept units scaled as it scaled them',
            reference=family(lambda mask, scale: None if (mask, scale) == ('out / x', '1') else
                             REF.but(dropout_gradient=lambda dout, out, x, p: dout * {
                                 'out / x': out / x, 'kept': out != 0, 'all': 1.0}[mask]
                                 * KEEP[scale](p)),
                             mask=[('the mask of your forward pass', 'out / x'),
                                   ('1 where a unit was kept', 'kept'), ('1 everywhere', 'all')],
                             scale=[('', '1'), (', divided by p', '1/p'), (', times p', 'p'),
                                    (', divided by 1 - p', '1/(1-p)')]),
            plants={'unscaled': plant(L, 'dropout_backward', 'dout * mask', 'dout * (mask > 0)'),
                    'ignores-mask': plant(L, 'dropout_backward', 'dout * mask', 'dout')}),
    Mistake('dropout-backward-new-mask', ['dropout_backward'],
            'dropout_backward: dx is masked by another mask than the one the forward pass drew '
            "(about the same fraction kept, other units); reuse the forward pass's, from the "
            'cache',
            matcher=M.dropout_new_mask,
            plants=plant(L, 'dropout_backward', 'dx = dout * mask', "dx = dout * (np.random.rand("
                         "*dout.shape) < dropout_param['p']) / dropout_param['p']")),
]


# ---------------------------------------------------------------------------
# Nets

def _sequence(s):
    absent = [{'norm': 'no normalization', 'relu': 'no ReLU', 'dropout': 'no dropout'}[n]
              for n in ('norm', 'relu', 'dropout') if n not in s]
    order = [n for n in REF.hidden if n in s]
    return ', '.join(absent) if list(s) == order else 'a hidden layer in the order %s' % (
        ' - '.join('[%s]' % n if n in ('norm', 'dropout') else n for n in s))


def _l2(a, b, params=('W',)):
    """The L2 term a * reg * (the sum of the squares of the parameters named
    `params`...), whose gradient is b * reg * each."""
    def l2(P, reg):
        chosen = {k: v for k, v in P.items() if k.rstrip('0123456789') in params}
        return (a * reg * sum(float((v * v).sum()) for v in chosen.values()),
                {k: b * reg * v for k, v in chosen.items()})
    return REF.but(l2=l2)


def _l2_some(layers, where):
    def l2(P, reg):
        kept = {k: v for k, v in P.items() if k[0] == 'W' and int(k[1:]) in layers}
        if not kept or len(kept) == sum(k[0] == 'W' for k in P):
            raise ValueError('the L2 term of every weight, or of none: not this family')
        loss, grads = REF.l2(kept if where == 'both' else P, reg)
        return loss, {k: g for k, g in grads.items() if k in kept}
    return REF.but(l2=l2)


def _initial(names, layers, spec):
    """init_moments giving spec(fan_in, weight_scale) for the parameters named
    `names` (W1 ...: those of `layers` only, if any)."""
    return REF.but(init_moments=lambda name, n, ws: spec(n, ws) if name.rstrip(
        '0123456789') in names and (not layers or int(name[1:]) in layers)
        else REF.init_moments(name, n, ws))


def _param_shapes(layers):
    def shapes(dims, normalization):
        out = REF.net_param_shapes(dims, None)
        for i in layers(len(dims)) if normalization else ():
            out.update({'gamma%d' % i: (dims[i],), 'beta%d' % i: (dims[i],)})
        return out
    return REF.but(net_param_shapes=shapes)


def _coefficients(what):
    return [('no L2 term in the %s' % what, 0.0)] + [('%s * reg * %s in the %s' % (
        c, 'sum(W ** 2)' if what == 'loss' else 'W', what), c) for c in (0.5, 1.0, 2.0)]


CONSTANTS = [('at one value other than %s', lambda n, ws: (None, 0.0)),
             ('drawn with std weight_scale', lambda n, ws: (0.0, ws)),
             ('drawn with std 1', lambda n, ws: (0.0, 1.0))]
NET = [
    Mistake('net-hidden-layers', NETS,
            '{fn}: the results match {said}; each hidden layer is affine - [norm] - relu - '
            '[dropout]',
            reference=[(REF.but(hidden=('affine',) + s), {'said': _sequence(s)})
                       for n in (3, 2, 1, 0) for s in itertools.permutations(
                           ('norm', 'relu', 'dropout'), n) if ('affine',) + s != REF.hidden],
            plants={'two-layer-no-relu': plant(F, TL1, 'affine_relu_forward(', 'affine_forward(')
                    + plant(F, TL2, 'affine_relu_backward(', 'affine_backward('),
                    'no-relu': plant(U, '<module>', 'out, relu_cache = relu_forward(out)',
                                     'relu_cache = None')
                    + plant(U, '<module>', 'dout = relu_backward(dout, relu_cache)', 'pass')
                    + plant(F, TL1, 'affine_relu_forward(', 'affine_forward(')
                    + plant(F, TL2, 'affine_relu_backward(', 'affine_backward('),
                    'dropout-never-applied': plant(F, FC1, 'dropout_param=dropout_param',
                                                   'dropout_param=None')}),
    Mistake('net-relu-on-scores', NETS,
            '{fn}: the scores look like they pass through a ReLU{said}; the output layer has no '
            'activation',
            reference=[(REF.but(output=('scores relu',)), {'said': ''}),
                       (REF.but(output=('scores relu',), backward_skips=('scores relu',)),
                        {'said': ' (that the backward pass leaves out)'})],
            plants={'two-layer': plant(F, TL1, "self.params['b2'])", "self.params['b2'])\n"
                                       'scores = np.maximum(0, scores)'),
                    'fc': plant(F, FC1, "scores, scores_cache = affine_forward(hidden, self.params"
                                "['W%d' % L],", "scores = np.maximum(0, affine_forward(hidden, "
                                "self.params['W%d' % L], self.params['b%d' % L])[0])\n"
                                "_, scores_cache = affine_forward(hidden, "
                                "self.params['W%d' % L],")}),
    Mistake('net-backward-skips-layer', NETS,
            "{fn}: the gradients match a backward pass without the {said} layer's step (its input "
            'gradient dropped); each layer of the forward pass has its step, in reverse order',
            reference=family(lambda layer: REF.but(backward_skips=(layer,)), said=[
                (n, n) for n in ('norm', 'relu', 'dropout')]),
            plants=plant(U, '<module>', 'dout = relu_backward(dout, relu_cache)',
                         'relu_backward(dout, relu_cache)')),
    Mistake('net-layer-mode', NETS,
            '{fn}: the results match a net whose {layer} layers run in {mode} mode at {other} '
            'time too; each layer runs in the mode of the call: train with y, test without',
            # (dropout in test mode at train time is no dropout: net-hidden-layers)
            reference=[(REF.but(layer_mode=lambda layer, mode, forced=forced, which=which: (
                forced if layer in which else mode)), {
                'layer': ' and '.join(which), 'mode': forced,
                'other': 'test' if forced == 'train' else 'train'}) for which, forced in (
                (('dropout',), 'train'), (('norm',), 'train'), (('norm',), 'test'),
                (('norm', 'dropout'), 'train'))],
            note='issue 27: the public self-check passed it',
            plants=plant(F, FC1, 'self.dropout_param if', "dict(self.dropout_param, mode='train') "
                         'if')),
    Mistake('net-l2', NETS,
            '{fn}: the loss and gradients match {said}; the L2 term is 0.5 * reg * sum(W ** 2), '
            'whose gradient is reg * W',
            reference=family(lambda a, b: None if (a, b) == (0.5, 1.0) else _l2(a, b),
                             a=[(t if c != 0.5 else '', c) for t, c in _coefficients('loss')],
                             b=[(t if c != 1.0 else '', c)
                                for t, c in _coefficients('gradients')]),
            plants={'two-layer-without-half': plant(F, TL2, '0.5 * self.reg', 'self.reg'),
                    'fc-without-half': plant(F, FC2, '0.5 * self.reg', 'self.reg'),
                    'fc-no-gradient': plant(F, FC2, ' + self.reg * W', ''),
                    'reg-ignored': plant(F, TL2, 'loss += 0.5 * self.reg', 'loss += 0 * self.reg')
                    + plant(F, TL2, ' + self.reg * W1', '') + plant(F, TL2, ' + self.reg * W2', '')
                    + plant(F, FC2, 'loss += 0.5 * self.reg', 'loss += 0 * self.reg')
                    + plant(F, FC2, ' + self.reg * W', ''),
                    'factor-2': plant(F, TL2, '0.5 * self.reg', 'self.reg')
                    + plant(F, TL2, 'dW1 + self.reg', 'dW1 + 2 * self.reg')
                    + plant(F, TL2, 'dW2 + self.reg', 'dW2 + 2 * self.reg')
                    + plant(F, FC2, '0.5 * self.reg', 'self.reg')
                    + plant(F, FC2, '+ self.reg * W', '+ 2 * self.reg * W')}),
    Mistake('net-l2-other-params', NETS,
            '{fn}: the loss and gradients match an L2 term that covers {said} too; it covers the '
            'weights W only (0.5 * reg * sum(W ** 2), whose gradient is reg * W)',
            reference=family(lambda params: _l2(0.5, 1.0, ('W',) + params), said=[
                (' and '.join({'b': 'the biases'}.get(p, p) for p in s), s) for n in (1, 2, 3)
                for s in itertools.combinations(('b', 'gamma', 'beta'), n)]),
            plants=plant(F, FC2, "grads['W%d' % i] + self.reg * W", "grads['W%d' % i] + self.reg "
                         "* W\nb = self.params['b%d' % i]\nloss += 0.5 * self.reg * np.sum(b * b)"
                         "\ngrads['b%d' % i] = grads['b%d' % i] + self.reg * b")),
    Mistake('net-l2-some-weights', NETS,
            '{fn}: {where} an L2 term for {layers} only; every weight matrix gets 0.5 * reg * '
            'sum(W ** 2) in the loss and reg * W in its gradient',
            reference=[(_l2_some(set(s), where), {'layers': ', '.join('W%d' % i for i in s),
                                                  'where': text})
                       for n in (1, 2, 3) for s in itertools.combinations((1, 2, 3, 4), n)
                       for text, where in (('the loss and gradients have', 'both'),
                                           ('the gradients have', 'gradients'))],
            plants={'two-layer-W1': plant(F, TL2, 'dW1 + self.reg * W1', 'dW1'),
                    'both': plant(F, TL2, 'dW1 + self.reg * W1', 'dW1')
                    + plant(F, FC2, '+ self.reg * W', '+ (i > 1) * self.reg * W')}),
    Mistake('net-norm-grads', ('fc_net_batchnorm', 'fc_net_layernorm'),
            '{fn}: the gradients of gamma and beta are {said}; store the dgamma and dbeta of each '
            "normalization layer's backward pass, each under its own name",
            reference=replaced('norm_grads', [(t, lambda i, dg, db, f=f: dict(zip(
                ('gamma%d' % i, 'beta%d' % i), f(dg, db)))) for t, f in (
                ("wrong: gamma's are zero", lambda dg, db: (0 * dg, db)),
                ("wrong: beta's are zero", lambda dg, db: (dg, 0 * db)),
                ('wrong: both are zero', lambda dg, db: (0 * dg, 0 * db)),
                ('swapped', lambda dg, db: (db, dg)))]),
            plants=plant(F, FC2, '= dgamma, dbeta', '= 0 * dgamma, dbeta')),
    Mistake('net-data-loss-scale', NETS,
            '{fn}: {said}; softmax_loss already averages over the batch',
            reference=family(lambda a, b: None if a == b == 0 else REF.but(
                softmax_loss=lambda x, y: (lambda loss, dx: (
                    loss * len(x) ** a, dx * len(x) ** b))(*REF.softmax_loss(x, y))),
                a=_scale('the data loss'),
                b=_scale("the scores' gradient")),
            plants=plant(F, TL2, 'loss, dscores = softmax_loss(scores, y)',
                         'loss, dscores = softmax_loss(scores, y)\nloss = loss * X.shape[0]')),
    Mistake('fc-shares-one-bn-param', ['fc_net_batchnorm'],
            "{fn}: a batchnorm layer got a bn_param holding another layer's running statistics "
            '(of another width): each hidden layer keeps its own, self.bn_params[i], not one '
            'shared dict', matcher=M.shared_bn_param,
            plants=plant(F, FC1, 'self.bn_params[i - 1]', 'self.bn_params[0]')),
    Mistake('init-weight-scale', NETS,
            '{fn}: {layers} drawn {spec}; weights are drawn from a Gaussian with mean 0 and std '
            'weight_scale (weight_scale * np.random.randn)', function='__init__',
            reference=family(lambda layers, spec: _initial(('W',), layers, spec), layers=[
                ('the weights are', ())] + [('W%s %s' % (' and W'.join(map(str, s)), 'are' if len(
                    s) > 1 else 'is'), set(s)) for n in (1, 2) for s in itertools.combinations(
                    (1, 2, 3), n)], spec=[
                ('with std 1 (np.random.randn not scaled)', lambda n, ws: (0.0, 1.0)),
                ('with std weight_scale ** 2', lambda n, ws: (0.0, ws ** 2)),
                ('with std sqrt(weight_scale)', lambda n, ws: (0.0, np.sqrt(ws))),
                ('with std 1 / sqrt(fan_in) (Xavier)', lambda n, ws: (0.0, 1 / np.sqrt(n))),
                ('with std sqrt(2 / fan_in) (He)', lambda n, ws: (0.0, np.sqrt(2 / n))),
                ('uniformly on [0, weight_scale)', lambda n, ws: (ws / 2, ws / np.sqrt(12))),
                ('uniformly on [-weight_scale, weight_scale)',
                 lambda n, ws: (0.0, ws / np.sqrt(3)))]),
            plants={'two-layer-W2': plant(F, 'TwoLayerNet.__init__',
                                          'weight_scale * np.random.randn(hidden_dim, num_',
                                          'np.random.randn(hidden_dim, num_'),
                    'both': plant(F, 'TwoLayerNet.__init__', 'weight_scale * np.random.randn(hid',
                                  'np.random.randn(hid')
                    + plant(F, 'FullyConnectedNet.__init__', 'weight_scale * ', '')}),
    Mistake('init-biases', NETS,
            '{fn}: the biases (b, and beta with normalization) start {said}; they start at zero '
            '(np.zeros): the random weights alone break the symmetry', function='__init__',
            reference=family(lambda spec: _initial(('b', 'beta'), (), spec), said=[
                (t.replace('%s', 'zero'), s) for t, s in CONSTANTS]),
            plants={'two-layer-ones': plant(F, 'TwoLayerNet.__init__', "'b1'] = np.zeros",
                                            "'b1'] = np.ones"),
                    'both': plant(F, 'TwoLayerNet.__init__', 'np.zeros(hidden_dim)',
                                  'np.ones(hidden_dim)')
                    + plant(F, 'FullyConnectedNet.__init__', "self.params['b%d' % i] = np.zeros("
                            "dims[i])", "self.params['b%d' % i] = np.full(dims[i], 0.1)")}),
    Mistake('init-gamma', ('fc_net_batchnorm', 'fc_net_layernorm'),
            '{fn}: gamma starts {said}; it starts at one (and beta at zero), so that each '
            'normalized layer starts as the identity', function='__init__',
            reference=family(lambda spec: _initial(('gamma',), (), spec), said=[
                (t.replace('%s', 'one'), s) for t, s in CONSTANTS]),
            plants=plant(F, 'FullyConnectedNet.__init__', 'np.ones(dims', 'np.zeros(dims')),
    Mistake('init-norm-layers', ('fc_net_batchnorm', 'fc_net_layernorm'),
            '{fn}: gamma and beta are created for the wrong layers ({said}); only the hidden '
            'layers, 1 to L - 1, are normalized (the scores go to the loss as they are)',
            function='__init__', reference=family(_param_shapes, said=[
                ('the output layer too', lambda n: range(1, n)),
                ('not the last hidden layer', lambda n: range(1, n - 2)),
                ('shifted by one layer', lambda n: range(2, n))]),
            plants=plant(F, 'FullyConnectedNet.__init__', ' and i < self.num_layers', '')),
]


# ---------------------------------------------------------------------------
# Update rules

def _sgd(form, sign_v, sign_w):
    if (form, sign_v, sign_w) == ('classic', -1, 1):
        return None
    def update(w, dw, config):
        c = dict(config)
        mu, lr, v0 = c['momentum'], c['learning_rate'], c.get('velocity', np.zeros_like(w))
        v = {'lr on velocity': mu * v0 + sign_v * dw, 'no momentum': sign_v * lr * dw,
             'average': mu * v0 + (1 - mu) * sign_v * dw}.get(form, mu * v0 + sign_v * lr * dw)
        c['velocity'] = v
        return w + sign_w * {'old velocity': v0, 'lr on velocity': lr * v, 'average': lr * v,
                             'plain step': sign_v * lr * dw}.get(form, v), c
    return REF.but(sgd_momentum=update)


def _state(rule, key, how):
    def update(w, dw, config):
        next_w, c = getattr(REF, rule)(w, dw, config)
        c[key] = config.get(key, 0 if key == 't' else np.zeros_like(w)) if how == 'not stored' \
            else c[key] / REF.bias_correction(key, c, c['t'])
        return next_w, c
    return REF.but(**{rule: update})


# The solution's rmsprop update, then its step: the planting swaps the two lines.
_RMSPROP_STEP = ("config['cache'] = decay_rate * config['cache'] + (1 - decay_rate) * dw ** 2\n    "
                 "next_w = w - config['learning_rate'] * dw / (np.sqrt(config['cache']) + "
                 "config['epsilon'])")


def _stale_step(rule, names):
    """rule stepping with its running averages `names` as they were before this
    step's update, and storing the updated ones."""
    frozen = REF.but(moving_average=lambda name, old, new, d: old if name in names else
                     REF.moving_average(name, old, new, d))
    return REF.but(**{rule: lambda w, dw, config: (getattr(frozen, rule)(w, dw, config)[0],
                                                   getattr(REF, rule)(w, dw, config)[1])})


def _correction(name, form):
    """(text, form) of a bias correction of Adam's `name` ('m' or 'v')."""
    beta, other = ('beta1', 'beta2') if name == 'm' else ('beta2', 'beta1')
    divisor = {'t - 1': beta + '**(t - 1)', '2': beta + '**2', '1': beta,
               'other beta': other + '**t'}.get(form)
    text = '%s_hat = %s / (1 - %s)' % (name, name, divisor) if divisor else \
        '%s_hat = %s (no bias correction)' % (name, name) if form == 'none' else ''
    return text, form


def _corrections(m, v):
    forms = {'right': lambda b, o, t: 1 - b ** t, 'none': lambda b, o, t: 1.0,
             't - 1': lambda b, o, t: 1 - b ** (t - 1), '2': lambda b, o, t: 1 - b ** 2,
             '1': lambda b, o, t: 1 - b, 'other beta': lambda b, o, t: 1 - o ** t}
    return None if m == v == 'right' else REF.but(bias_correction=lambda name, c, t: forms[
        m if name == 'm' else v](*((c['beta1'], c['beta2']) if name == 'm' else (
            c['beta2'], c['beta1'])), t))


FORMS = ('right', 'none', 't - 1', '2', '1', 'other beta')
RULE_ROWS = [
    Mistake('sgd-momentum-formula', ['sgd_momentum'],
            'sgd_momentum: your steps match {said}; v = momentum * v - learning_rate * dw, then '
            'next_w = w + v',
            reference=family(_sgd, form=[
                ('', 'classic'), ('a step with the velocity before its update', 'old velocity'),
                ('the learning rate applied to the whole velocity', 'lr on velocity'),
                ('a velocity that averages the gradients, (1 - momentum) * dw', 'average'),
                ('no momentum term', 'no momentum'),
                ('a plain SGD step that leaves the velocity out', 'plain step')],
                sign_v=[('', -1), ('a velocity that adds + learning_rate * dw', 1)],
                sign_w=[('', 1), ('next_w = w - v', -1)]),
            plants={'uphill': plant(O, 'sgd_momentum', "- config['learning_rate']",
                                    "+ config['learning_rate']"),
                    'velocity-sign': plant(O, 'sgd_momentum', "- config['learning_rate']",
                                           "+ config['learning_rate']")
                    + plant(O, 'sgd_momentum', 'w + v', 'w - v'),
                    'no-momentum': plant(O, 'sgd_momentum', 'w + v', "w - config['learning_rate'] "
                                         '* dw'),
                    'lr-on-velocity': plant(O, 'sgd_momentum', "- config['learning_rate'] * dw",
                                            '- dw')
                    + plant(O, 'sgd_momentum', 'w + v', "w + config['learning_rate'] * v")}),
    Mistake('update-state', RULES,
            "{fn}: config['{key}'] {how} after a step; the next step starts from the state the "
            'last one left in config',
            reference=[(_state(rule, key, how), {'key': key, 'how': {
                'not stored': 'is not updated', 'corrected': 'holds the bias-corrected %s_hat'
                % key}[how]}) for rule, key, how in (
                ('sgd_momentum', 'velocity', 'not stored'), ('rmsprop', 'cache', 'not stored'),
                ('adam', 'm', 'not stored'), ('adam', 'v', 'not stored'),
                ('adam', 't', 'not stored'),
                ('adam', 'm', 'corrected'), ('adam', 'v', 'corrected'))],
            plants={'sgd-velocity': plant(O, 'sgd_momentum', 'v = config', 'new_v = config')
                    + plant(O, 'sgd_momentum', 'w + v', 'w + new_v'),
                    'adam-t': plant(O, 'adam', "config['t'] += 1\n    t = config['t']",
                                    "t = config['t'] + 1")}),
    Mistake('step-before-state-update', ['rmsprop', 'adam'],
            "{fn}: your steps match a step taken with config['{said}'] as it was before this "
            "step's update; update the running averages first, then step with their new values",
            reference=[(_stale_step(rule, names), {'said': "'] and config['".join(names)})
                       for rule, names in (('rmsprop', ('cache',)), ('adam', ('m',)),
                                           ('adam', ('v',)), ('adam', ('m', 'v')))],
            plants={'rmsprop': plant(O, 'rmsprop', _RMSPROP_STEP, '\n'.join(
                _RMSPROP_STEP.split('\n    ')[::-1]))}),
    Mistake('adam-bias-correction', ['adam'],
            'adam: your steps match {said}; m_hat = m / (1 - beta1**t) and v_hat = v / (1 - '
            'beta2**t), with t incremented before it is used',
            reference=family(_corrections, m=[_correction('m', f) for f in FORMS],
                             v=[_correction('v', f) for f in FORMS]),
            plants={'m-not-corrected': plant(O, 'adam', " / (1 - beta1 ** t)", ''),
                    'none': plant(O, 'adam', ' / (1 - beta1 ** t)', '')
                    + plant(O, 'adam', ' / (1 - beta2 ** t)', ''),
                    'beta2-squared': plant(O, 'adam', 'beta2 ** t', 'beta2 ** 2'),
                    't-after-the-step': plant(O, 'adam', "t = config['t']", "t = config['t'] - 1"),
                    'incremented-after': plant(O, 'adam', "config['t'] += 1\n    t = config['t']",
                                               "t = config['t']")
                    + plant(O, 'adam', 'next_w = w', "config['t'] += 1\nnext_w = w")}),
    Mistake('squared-gradient', ['rmsprop', 'adam'],
            '{fn}: your steps match a running average of {said}; it averages dw ** 2, the squared '
            'gradient',
            reference=replaced('squared_gradient', [('|dw|', np.abs), ('dw itself', lambda dw: dw),
                                                    ('dw ** 4', lambda dw: dw ** 4)]),
            plants=plant(O, 'adam', '(1 - beta2) * dw ** 2', '(1 - beta2) * np.abs(dw)')),
    Mistake('rmsprop-denominator', ['rmsprop'],
            'rmsprop: your steps match {said}; the step is learning_rate * dw / (sqrt(cache) + '
            "epsilon), and config['cache'] holds the running average alone",
            reference=[(REF.but(rmsprop_denominator=lambda c, e: c + e), {
                'said': 'a division by cache + epsilon, without the square root'}),
                       (REF.but(rmsprop=lambda w, dw, config: REF.but(
                           moving_average=lambda name, old, new, d: REF.moving_average(
                               name, old, new, d) + config['epsilon']).rmsprop(w, dw, config)),
                        {'said': 'a cache that epsilon is added to at every step'})],
            plants={'no-sqrt': plant(O, 'rmsprop', "np.sqrt(config['cache'])", "config['cache']"),
                    'eps-in-cache': plant(O, 'rmsprop', "dw ** 2\n",
                                          "dw ** 2 + config['epsilon']\n")}),
]

ROWS = LAYER_ROWS + LOSSES + NORMS + DROPOUT + NET + RULE_ROWS + VARIANTS
