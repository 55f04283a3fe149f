"""Known mistakes, recognised by their signature (staff only: staff/ never ships).

When a part fails, the grader asks which classic mistake the student's results
match, so that the feedback names it rather than only the size of the error:

    for key, message in name_mistakes('adam', got):
        ...   # 'adam-bias-correction-beta2-squared', 'adam: your steps match ...'

`got` is what the part's probe emitted, exactly what its judge sees. Each
mistake of the catalogue recomputes the part's inputs (as the judge does, with
api.rng: call it within the same api.case_salt block as the judge) and the
result of the buggy formula on them, in this process; it never runs the
student's code again. A mistake is named only when

- every compared result matches the buggy formula within the judge's own
  tolerance (which leaves room for any order of rounding), and
- at least one of them is wrong by that tolerance,

so a result the judge accepts is never named, and a result with two mistakes
at once, or one outside the catalogue, gets no name (no guessing). A matcher
that raises (results of an unexpected shape) counts as no match.

Some mistakes never reach a result: the given code refuses what they compute
(a dx of the flattened shape, running statistics with a row per example) and
the part ends with that error. Those are recognised from the error, whose
wording the given code fixes (cs231n/_checks.py), by error_mistake matchers:
name_mistakes(part, {'__error__': message}).

The catalogue may hold formulas; the messages go to the student who made the
mistake, in the grading feedback.
"""
import inspect
import re

import numpy as np

from staff.grading.api import Fail, rel_error
from . import references as ref
from .parts import layers as L, nets as N, optim as O

CATALOGUE = {}   # part name: [Mistake, ...] in declaration order


class Mistake:
    """One known mistake of one part.

    - part: the part's name; key: a short stable name ('relu-on-scores');
      message: the feedback line, naming the student function
    - uses: which of the probe's results the matcher compares (for the staff)
    - matcher(got): True, False, or a list of Compare; see name_mistakes
    """

    def __init__(self, part, key, message, uses, matcher, on_error=False):
        self.part, self.key, self.message, self.uses = part, key, message, uses
        self.matcher, self.on_error = matcher, on_error

    def matches(self, got):
        try:
            if self.on_error:
                return bool(self.matcher(got))
            result = self.matcher(got)
            if isinstance(result, (bool, np.bool_)):
                return bool(result)
            result = list(result)
            return bool(result) and all(c.matches_bug() for c in result) and \
                any(c.wrong() for c in result)
        except Exception:   # noqa: BLE001 results of an unexpected shape: no match
            return False

    def __repr__(self):
        return '<Mistake %s: %s>' % (self.part, self.key)


def mistake(parts, key, message, uses, on_error=False):
    """Register the decorated matcher for each part of `parts` (a name or a
    list); `message` may hold {fn}, filled from FUNCTION_OF the part, and
    {init}, the __init__ of that function's class. With
    on_error the matcher gets the part's error message (a str) instead of its
    results."""
    def register(fn):
        takes_part = 'part' in inspect.signature(fn).parameters
        for part in [parts] if isinstance(parts, str) else parts:
            matcher = (lambda got, _part=part: fn(got, part=_part)) if takes_part else fn
            fn_name = FUNCTION_OF.get(part, part)
            text = message.format(fn=fn_name, init=fn_name.split('.')[0] + '.__init__')
            CATALOGUE.setdefault(part, []).append(
                Mistake(part, key, text, uses, matcher, on_error))
        return fn
    return register


def error_mistake(parts, key, message, uses):
    """mistake() whose matcher reads the error that ended the part."""
    return mistake(parts, key, message, uses, on_error=True)


def name_mistakes(part_name, got):
    """[(key, message), ...] of the known mistakes that `got` matches; [] if
    none does, or for any part or input. `got` is the probe's results, or
    {'__error__': message} for a part that ended in an error. Never raises."""
    try:
        if not isinstance(got, dict):
            return []
        on_error = '__error__' in got
        if on_error:
            got = str(got['__error__'])
        return [(m.key, m.message) for m in CATALOGUE.get(part_name, ())
                if m.on_error == on_error and m.matches(got)]
    except Exception:   # noqa: BLE001 naming a mistake must never cost the grade
        return []


def catalogue():
    """[(part, key, message, uses), ...] of every mistake, for the staff."""
    return [(m.part, m.key, m.message, m.uses) for ms in CATALOGUE.values() for m in ms]


FUNCTION_OF = {'two_layer_net': 'TwoLayerNet.loss', 'fc_net': 'FullyConnectedNet.loss',
               'fc_net_batchnorm': 'FullyConnectedNet.loss',
               'fc_net_layernorm': 'FullyConnectedNet.loss',
               'fc_net_dropout': 'FullyConnectedNet.loss',
               'batchnorm_forward_train': 'batchnorm_forward',
               'batchnorm_forward_test': 'batchnorm_forward'}


# ---------------------------------------------------------------------------
# Comparing

def _error(got, want, scale=None):
    """Relative error of got against want: arrays as api.rel_error (inf if the
    shapes differ; NaN and inf must sit where want has them; `scale` as there),
    numbers as api.check_scalar, None only against None."""
    if want is None or got is None:
        return 0.0 if want is None and got is None else np.inf
    if isinstance(got, bool) or not isinstance(got, (int, float, np.ndarray, np.generic)):
        return np.inf
    g = np.asarray(got, dtype=np.float64)
    w = np.asarray(want, dtype=np.float64)
    if g.shape != w.shape:
        return np.inf
    finite = np.isfinite(w)
    if not np.array_equal(np.isfinite(g), finite):
        return np.inf
    if not finite.all():
        g, w = g[finite], w[finite]
        if g.size == 0:
            return 0.0
    if w.ndim == 0:
        return float(abs(g - w) / max(abs(g) + abs(w), 1e-12))
    return rel_error(g, w, scale=scale)


class Compare:
    """One result of the student's (got) beside the buggy formula's and the
    correct one's; tol is the judge's tolerance for it (and scale, as in
    api.rel_error)."""

    def __init__(self, got, buggy, correct, tol=L.TOL64, scale=None):
        self.got, self.buggy, self.correct = got, buggy, correct
        self.tol, self.scale = tol, scale

    def matches_bug(self):
        return _error(self.got, self.buggy, self.scale) <= self.tol

    def wrong(self):
        return not _error(self.got, self.correct, self.scale) <= self.tol


def _tol(dtype_name):
    return L.tolerance(dtype_name, L.TOL64, L.TOL32)


def _cmp(got, buggy, correct, dtype_name):
    return Compare(got, buggy, correct, _tol(dtype_name))


def _f64(*arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


# ---------------------------------------------------------------------------
# Errors of the given code
#
# check_output refuses a result of the wrong shape, after the region, as
# "<fn>: <name> is an array of shape (a, b) and dtype float64, expected an array
# of shape (c,)"; the session adds "<function> raised ValueError: " before it.

_REFUSED = re.compile(r'(\w+): (\w+) is an array of shape \(([\d, ]*)\) and dtype \w+, '
                      r'expected an array of shape \(([\d, ]*)\)')


def _refused(error):
    """[(function, result name, its shape, the shape expected)] of the given
    code's refusals in an error message."""
    def shape(text):
        return tuple(int(n) for n in text.replace(' ', '').split(',') if n)
    return [(fn, name, shape(got), shape(want))
            for fn, name, got, want in _REFUSED.findall(error)]


# ---------------------------------------------------------------------------
# affine_forward, affine_backward, relu_forward, relu_backward

def _affine_forward_mistake(key, message, buggy):
    """buggy(x, w, b) -> out with the mistake, float64."""
    @mistake('affine_forward', key, message, 'out of every case')
    def _(got):
        return [_cmp(got[k], buggy(*_f64(x, w, b)), ref.affine_forward(*_f64(x, w, b))[0],
                     x.dtype.name)
                for k, (label, x, w, b, _) in enumerate(L.affine_cases())]


_affine_forward_mistake(
    'affine-forward-no-bias',
    'affine_forward: out matches x @ w without the bias; add b to every row',
    lambda x, w, b: x.reshape(len(x), -1) @ w)
_affine_forward_mistake(
    'affine-forward-rows-scrambled',
    'affine_forward: out matches x reshaped with the batch axis last (x.reshape(-1, N).T), '
    "so each row mixes several examples' values; x.reshape(N, -1) keeps example i in row i",
    lambda x, w, b: x.reshape(-1, len(x)).T @ w + b)


@error_mistake('affine_backward', 'affine-backward-dx-not-reshaped',
               'affine_backward: dx has the flattened shape (N, D) of the product with w.T; '
               'reshape it to the shape of x, which the upstream layer expects',
               "the given code's refusal of dx")
def _(error):
    return any(fn == 'affine_backward' and name == 'dx' and len(got) == 2 and len(want) > 2
               and got[0] == want[0] and got[1] == int(np.prod(want[1:]))
               for fn, name, got, want in _refused(error))


# affine_backward's other mistakes that give arrays of the wrong shape (db
# summed over the wrong axis, dw transposed) are refused the same way, by a
# message that already says which array and what shape; the ones below keep
# the shapes.

def _affine_backward_mistake(key, message, buggy):
    """buggy(x, w, dout, (dx, dw, db)) -> (dx, dw, db) with the mistake."""
    @mistake('affine_backward', key, message, 'dx, dw and db of every case')
    def _(got):
        out = []
        for k, (label, x, w, b, dout) in enumerate(L.affine_cases()):
            x64, w64, dout64 = _f64(x, w, dout)
            right = ref.affine_backward(dout64, (x64, w64, b))
            wrong = buggy(x64, w64, dout64, right)
            out += [_cmp(g, e, c, x.dtype.name) for g, e, c in zip(got[k], wrong, right)]
        return out


_affine_backward_mistake(
    'affine-backward-db-mean',
    'affine_backward: db is the mean of dout over the batch; it is the sum (each example '
    'adds its gradient)', lambda x, w, dout, r: (r[0], r[1], dout.mean(axis=0)))
_affine_backward_mistake(
    'affine-backward-dw-averaged',
    'affine_backward: dw is divided by the batch size; it is the sum over the examples '
    '(the loss does the averaging)', lambda x, w, dout, r: (r[0], r[1] / len(x), r[2]))


@mistake('relu_forward', 'relu-forward-leaky',
         'relu_forward: negative inputs come out scaled (a leaky ReLU); the ReLU sets them to 0',
         'out of every case')
def _(got):
    out = []
    for k, (label, x, _) in enumerate(L.relu_cases()):
        x64 = x.astype(np.float64)
        right = np.maximum(x64, 0)
        negative = x64 < 0
        if not np.any(negative):
            continue
        res = np.asarray(got[k], dtype=np.float64) if isinstance(got[k], np.ndarray) else None
        if res is None or res.shape != x.shape:
            return False
        # Any slope a in (0, 1): estimated from the negative entries.
        slope = float(np.median(res[negative] / x64[negative]))
        if not 0 < slope < 1:
            return False
        out.append(_cmp(got[k], np.where(negative, slope * x64, x64), right, x.dtype.name))
    return out

def _relu_backward_mistake(key, message, buggy):
    @mistake('relu_backward', key, message, 'dx of every case')
    def _(got):
        return [_cmp(got[k], buggy(x.astype(np.float64), dout.astype(np.float64)),
                     ref.relu_backward(dout, x), label.split()[0])
                for k, (label, x, dout) in enumerate(L.relu_cases())]


_relu_backward_mistake(
    'relu-backward-times-output',
    "relu_backward: dx matches dout multiplied by the ReLU's output values; the ReLU's "
    'local gradient is 1 where x > 0 and 0 elsewhere', lambda x, dout: dout * np.maximum(x, 0))
_relu_backward_mistake(
    'relu-backward-mask-from-dout',
    'relu_backward: dx is zero where dout is negative; the mask comes from the input x '
    'that the forward pass saw, not from the upstream gradient',
    lambda x, dout: np.maximum(dout, 0))
_relu_backward_mistake(
    'relu-backward-no-dout',
    "relu_backward: dx is the ReLU's local gradient alone; it is dout times it (the "
    'chain rule)', lambda x, dout: 1.0 * (x > 0))
_relu_backward_mistake(
    'relu-backward-mask-inverted',
    'relu_backward: dx passes the gradient where x <= 0 and blocks it where x > 0; it is '
    'the other way round', lambda x, dout: dout * (x <= 0))


# ---------------------------------------------------------------------------
# softmax_loss, svm_loss

def _loss_mistake(part, key, message, buggy, uses='loss and dx of every case'):
    """buggy(x, y, correct loss, correct dx) -> [(loss, dx), ...]: the results any
    of which the mistake gives."""
    reference = {'softmax_loss': ref.softmax_loss, 'svm_loss': ref.svm_loss}[part]

    @mistake(part, key, message, uses)
    def _(got):
        out = []
        for k, (label, x, y) in enumerate(L.loss_cases()):
            dtype = x.dtype.name
            loss, dx = reference(x.astype(np.float64), y)
            variants = buggy(x, y, loss, dx)
            res = got[k]
            # the variant closest to what the student sent
            errors = [_error(res['loss'], v[0]) + _error(res['dx'], v[1]) for v in variants]
            wrong_loss, wrong_dx = variants[int(np.argmin(errors))]
            out.append(Compare(res['loss'], wrong_loss, loss, L.tolerance(dtype, 1e-9, 1e-5)))
            out.append(_cmp(res['dx'], wrong_dx, dx, dtype))
        return out


for _part, _fn in (('softmax_loss', 'softmax_loss'), ('svm_loss', 'svm_loss')):
    _loss_mistake(_part, '%s-dx-not-divided-by-n' % _fn.split('_')[0],
                  '%s: dx is N times too large: the loss is the mean over the N examples, so '
                  'its gradient is divided by N too' % _fn,
                  lambda x, y, loss, dx: [(loss, dx * len(x))])
    _loss_mistake(_part, '%s-loss-not-averaged' % _fn.split('_')[0],
                  '%s: the loss is the sum over the N examples; it is their mean' % _fn,
                  lambda x, y, loss, dx: [(loss * len(x), dx), (loss * len(x), dx * len(x))])


def _onehot(x, y):
    out = np.zeros(x.shape)
    out[np.arange(len(x)), y] = 1.0
    return out


_loss_mistake('softmax_loss', 'softmax-dx-no-onehot',
              'softmax_loss: dx is the probabilities divided by N; the correct class also '
              'subtracts 1 (dx = (p - 1[j = y_i]) / N)',
              lambda x, y, loss, dx: [(loss, dx + _onehot(x, y) / len(x))])
_loss_mistake('svm_loss', 'svm-no-margin',
              'svm_loss: the margins are scores minus the correct score, without the margin '
              'of 1 (delta = 1)', lambda x, y, loss, dx: [_svm(x, y, delta=0.0)])
_loss_mistake('svm_loss', 'svm-dx-correct-class',
              "svm_loss: dx is 0 at each example's correct class; there it is minus the "
              'number of classes with a positive margin (divided by N)',
              lambda x, y, loss, dx: [(loss, np.where(_onehot(x, y) > 0, 0.0, dx))])


def _svm(x, y, delta=1.0):
    """(loss, dx) of the multiclass SVM with margin delta, float64."""
    x = x.astype(np.float64)
    n = len(x)
    margins = np.maximum(0, x - x[np.arange(n), y][:, None] + delta)
    margins[np.arange(n), y] = 0
    dx = (margins > 0).astype(np.float64)
    dx[np.arange(n), y] = -dx.sum(axis=1)
    return float(margins.sum() / n), dx / n


def _softmax_unshifted(x, y):
    """softmax_loss without subtracting each row's maximum, in x's dtype."""
    with np.errstate(over='ignore', invalid='ignore', divide='ignore'):
        e = np.exp(x)
        p = e / e.sum(axis=1, keepdims=True)
        n = len(x)
        loss = float(-np.log(p[np.arange(n), y]).sum() / n)
        dx = p.copy()
        dx[np.arange(n), y] -= 1
        return loss, dx / n


@mistake('softmax_loss', 'softmax-no-max-shift',
         'softmax_loss: the loss or dx is inf or NaN on scores of about 1e4, where exp '
         "overflows; subtract each row's maximum score before exponentiating (the softmax "
         'does not change)', 'loss and dx of every case; some cases shift rows by 1e3-1e4')
def _(got):
    overflowed = False
    for k, (label, x, y) in enumerate(L.loss_cases()):
        loss, dx = ref.softmax_loss(x.astype(np.float64), y)
        naive_loss, naive_dx = _softmax_unshifted(x, y)
        res = got[k]
        tol = L.tolerance(x.dtype.name, 1e-6, 1e-4)
        if np.isfinite(naive_loss) and np.all(np.isfinite(naive_dx)):
            # where exp does not overflow the student's results are right
            if not (_error(res['loss'], loss) <= tol and _error(res['dx'], dx) <= tol):
                return False
        else:
            overflowed = True
            if np.isfinite(float(res['loss'])) and np.all(np.isfinite(res['dx'])):
                return False
    return overflowed


@mistake('svm_loss', 'svm-margin-counts-correct-class',
         'svm_loss: the loss is 1 too high per example: the margin of the correct class '
         '(always 1) is counted; the sum of margins leaves out j = y_i',
         'loss and dx of every case')
def _(got):
    out = []
    for k, (label, x, y) in enumerate(L.loss_cases()):
        dtype = x.dtype.name
        loss, dx = ref.svm_loss(x.astype(np.float64), y)
        res = got[k]
        # dx stays right if the correct class is taken out of the gradient's count;
        # counting it there too adds -1/N at the correct class
        counted = dx.copy()
        counted[np.arange(len(x)), y] -= 1.0 / len(x)
        wrong_dx = counted if _error(res['dx'], counted) < _error(res['dx'], dx) else dx
        out.append(Compare(res['loss'], loss + 1.0, loss, L.tolerance(dtype, 1e-9, 1e-5)))
        out.append(_cmp(res['dx'], wrong_dx, dx, dtype))
    return out


# ---------------------------------------------------------------------------
# batch normalization, layer normalization

def _bn_train(x, gamma, beta, bn_param, eps=None, ddof=0, normalize_with=None,
              momentum_swapped=False, store=('running_mean', 'running_var'), swapped=None,
              var_of_std=False, use_gamma=True):
    """batchnorm_forward in train mode with a mistake; returns (out, running_mean,
    running_var) as the probe would fetch them (None: never stored).

    - eps: the eps used instead of bn_param's; ddof: of the variance
    - normalize_with: 'before' / 'after': the running statistics before or after
      this step's update, instead of the batch's
    - momentum_swapped: running = (1 - momentum) * running + momentum * batch
    - store: which running statistics are updated (the given code writes them
      back to bn_param: one not updated is the one given, or zeros)
    - swapped: the running statistics whose momentum is swapped (default: all
      of them if momentum_swapped)
    - var_of_std: running_var averages the batch's std (sqrt(var + eps)), not its var
    - use_gamma: False: the output is not scaled by gamma
    """
    x, gamma, beta = _f64(x, gamma, beta)
    eps = bn_param.get('eps', 1e-5) if eps is None else eps
    momentum = bn_param.get('momentum', 0.9)
    zeros = np.zeros(x.shape[1])
    old = {k: _f64(bn_param[k])[0] if k in bn_param else zeros
           for k in ('running_mean', 'running_var')}
    batch = {'running_mean': x.mean(axis=0), 'running_var': x.var(axis=0, ddof=ddof)}
    averaged = dict(batch, running_var=np.sqrt(batch['running_var'] + eps)) if var_of_std \
        else batch
    if swapped is None:
        swapped = tuple(old) if momentum_swapped else ()
    keep = {k: 1 - momentum if k in swapped else momentum for k in old}
    new = {k: keep[k] * old[k] + (1 - keep[k]) * averaged[k] for k in old}
    stats = {'before': old, 'after': new, None: batch}[normalize_with]
    out = (gamma if use_gamma else 1.0) * (x - stats['running_mean']) / np.sqrt(
        stats['running_var'] + eps) + beta
    fetched = [new[k] if k in store else old[k] for k in ('running_mean', 'running_var')]
    return [out] + fetched


def _bn_train_mistake(key, message, uses, variants, compare=('out', 'running_mean',
                                                            'running_var')):
    """variants: [kwargs of _bn_train, ...]: the mistake is any of them."""
    @mistake('batchnorm_forward_train', key, message, uses)
    def _(got):
        out = []
        for k, (label, x, gamma, beta, bn_param) in enumerate(L.bn_train_cases()):
            dtype = x.dtype.name
            correct = _bn_train(x, gamma, beta, bn_param)
            res = [got[k][name] for name in ('out', 'running_mean', 'running_var')]
            tries = [_bn_train(x, gamma, beta, bn_param, **kw) for kw in variants]
            best = min(tries, key=lambda t: sum(_error(g, e) for g, e in zip(res, t)))
            out += [_cmp(g, e, c, dtype) for name, g, e, c in
                    zip(('out', 'running_mean', 'running_var'), res, best, correct)
                    if name in compare]
        return out


_bn_train_mistake(
    'batchnorm-train-uses-running-stats',
    'batchnorm_forward: in train mode your output is normalized with the running mean and '
    "variance; train mode uses the minibatch's own mean and variance (the running ones are "
    'for test mode)', 'out of every train-mode case (running statistics given or zero)',
    [{'normalize_with': 'before'}, {'normalize_with': 'after'}], compare=('out',))
_bn_train_mistake(
    'batchnorm-momentum-swapped',
    'batchnorm_forward: the running averages weight the old value by (1 - momentum) and the '
    "batch's by momentum; it is the other way round",
    'running_mean and running_var after a train step, custom and default momentum',
    [{'momentum_swapped': True}])
_bn_train_mistake(
    'batchnorm-running-mean-momentum-swapped',
    'batchnorm_forward: running_mean weights its old value by (1 - momentum) and the '
    "batch's mean by momentum; it is the other way round (running_var is right)",
    'running_mean and running_var after a train step, custom and default momentum',
    [{'swapped': ('running_mean',)}])
_bn_train_mistake(
    'batchnorm-running-var-momentum-swapped',
    'batchnorm_forward: running_var weights its old value by (1 - momentum) and the '
    "batch's variance by momentum; it is the other way round (running_mean is right)",
    'running_mean and running_var after a train step, custom and default momentum',
    [{'swapped': ('running_var',)}])
_bn_train_mistake(
    'batchnorm-running-var-of-std',
    "batchnorm_forward: running_var averages the batch's standard deviation; it averages "
    'its variance', 'running_var after a train step', [{'var_of_std': True}])
_bn_train_mistake(
    'batchnorm-no-gamma',
    'batchnorm_forward: the output is not scaled by gamma (out = gamma * x_hat + beta)',
    'out of every train-mode case', [{'use_gamma': False}], compare=('out',))
_bn_train_mistake(
    'batchnorm-running-var-not-updated',
    'batchnorm_forward: running_var is not updated in train mode (running_mean is)',
    'running_var after a train step', [{'store': ('running_mean',)}])
_bn_train_mistake(
    'batchnorm-eps-missing',
    'batchnorm_forward: the output matches a normalization without eps; divide by '
    'sqrt(var + eps)', 'out of every train-mode case', [{'eps': 0.0}], compare=('out',))
_bn_train_mistake(
    'batchnorm-eps-hard-coded',
    "batchnorm_forward: the output matches eps = 1e-5 where bn_param sets another eps; use "
    "bn_param's eps (1e-5 only by default)", 'out of the cases with eps 1e-3 and 1e-4',
    [{'eps': 1e-5}], compare=('out',))
_bn_train_mistake(
    'batchnorm-unbiased-variance',
    'batchnorm_forward: the variance is the unbiased one (divided by N - 1); batch '
    'normalization divides by N', 'out of every train-mode case',
    [{'ddof': 1}], compare=('out',))


def _bn_test_mistake(key, message, uses, buggy):
    """buggy(x, gamma, beta, running_mean, running_var, eps) -> out in test mode."""
    @mistake('batchnorm_forward_test', key, message, uses)
    def _(got):
        out = []
        for k, (label, x, gamma, beta, bn_param) in enumerate(L.bn_test_cases()):
            args = _f64(x, gamma, beta, bn_param['running_mean'], bn_param['running_var'])
            eps = bn_param.get('eps', 1e-5)
            correct = ref.batchnorm_forward(*args[:3], {'mode': 'test', 'eps': eps,
                                                         'running_mean': args[3],
                                                         'running_var': args[4]})[0]
            out.append(_cmp(got[k]['out'], buggy(*args, eps), correct, x.dtype.name))
        return out


_bn_test_mistake(
    'batchnorm-test-uses-batch-stats',
    "batchnorm_forward: in test mode your output is normalized with the minibatch's mean "
    'and variance; test mode uses the running mean and variance', 'out of every test-mode case',
    lambda x, g, b, rm, rv, eps: g * (x - x.mean(0)) / np.sqrt(x.var(0) + eps) + b)
_bn_test_mistake(
    'batchnorm-eps-missing',
    'batchnorm_forward: the test-mode output matches a normalization without eps; divide by '
    'sqrt(running_var + eps)', 'out of every test-mode case',
    lambda x, g, b, rm, rv, eps: g * (x - rm) / np.sqrt(rv) + b)
_bn_test_mistake(
    'batchnorm-eps-hard-coded',
    "batchnorm_forward: the test-mode output matches eps = 1e-5 where bn_param sets another "
    "eps; use bn_param's eps (1e-5 only by default)", 'out of the case with eps 1e-2',
    lambda x, g, b, rm, rv, eps: g * (x - rm) / np.sqrt(rv + 1e-5) + b)


_bn_test_mistake(
    'batchnorm-test-forgets-beta',
    'batchnorm_forward: the test-mode output is not shifted by beta (out = gamma * x_hat + '
    'beta in both modes)', 'out of every test-mode case',
    lambda x, g, b, rm, rv, eps: g * (x - rm) / np.sqrt(rv + eps))


def _norm_backward_mistake(parts, key, message, buggy):
    """buggy(dout, x, gamma, beta, forward, (dx, dgamma, dbeta)) -> the triple with the
    mistake; forward(gamma) -> the reference cache for that gamma."""
    @mistake(parts, key, message, 'dx, dgamma and dbeta of every case')
    def _(got, part):
        out = []
        layer = part.startswith('layernorm')
        cases = L.ln_cases() if layer else L.bn_backward_cases()
        for k, case in enumerate(cases):
            if layer:
                label, x, gamma, beta, ln_param, dout = case
                forward = lambda g, x=x, beta=beta, ln_param=ln_param: ref.layernorm_forward(  # noqa: E731
                    *_f64(x, g, beta), dict(ln_param))[1]
                backward = ref.layernorm_backward
            else:
                label, x, gamma, beta, dout = case
                forward = lambda g, x=x, beta=beta: ref.batchnorm_forward(  # noqa: E731
                    *_f64(x, g, beta), {'mode': 'train'})[1]
                backward = ref.batchnorm_backward
            d = _f64(dout)[0]
            right = backward(d, forward(gamma))
            wrong = buggy(d, forward, backward, gamma, right)
            out += [_cmp(a, b, c, x.dtype.name) for a, b, c in zip(got[k], wrong, right)]
        return out


_NORM_BACKWARD = ['batchnorm_backward', 'batchnorm_backward_alt', 'layernorm_backward']
_norm_backward_mistake(
    _NORM_BACKWARD, 'norm-backward-dbeta-mean',
    '{fn}: dbeta is the mean of dout over the batch; it is the sum',
    lambda d, fwd, bwd, g, r: (r[0], r[1], d.mean(axis=0)))
_norm_backward_mistake(
    _NORM_BACKWARD, 'norm-backward-dgamma-without-xhat',
    '{fn}: dgamma is the sum of dout alone; gamma multiplies x_hat, so dgamma sums '
    'dout * x_hat', lambda d, fwd, bwd, g, r: (r[0], d.sum(axis=0), r[2]))
_norm_backward_mistake(
    _NORM_BACKWARD, 'norm-backward-no-gamma',
    '{fn}: dx is the gradient of gamma = 1: the upstream gradient reaches x_hat through '
    'gamma (dx_hat = dout * gamma)',
    lambda d, fwd, bwd, g, r: (bwd(d, fwd(np.ones_like(g)))[0], r[1], r[2]))



def _dx_without(dout, cache, mean_branch=True, var_branch=True):
    """dx of the normalization whose reference cache is `cache`, without the
    gradient that flows through the mean or through the variance."""
    kind, xhat, std, gamma = cache
    axis = 1 if kind == 'layernorm' else 0
    g = dout * gamma
    dx = g
    if mean_branch:
        dx = dx - g.mean(axis=axis, keepdims=True)
    if var_branch:
        dx = dx - xhat * (g * xhat).mean(axis=axis, keepdims=True)
    return dx / std


_norm_backward_mistake(
    _NORM_BACKWARD, 'norm-backward-no-mean-branch',
    '{fn}: dx misses the gradient that flows through the mean: every input moves the mean '
    'that every output subtracts, which adds -mean(dx_hat) / std (the mean over the '
    'normalized axis)',
    lambda d, fwd, bwd, g, r: (_dx_without(d, fwd(g), mean_branch=False), r[1], r[2]))
_norm_backward_mistake(
    _NORM_BACKWARD, 'norm-backward-no-var-branch',
    '{fn}: dx misses the gradient that flows through the variance: every input moves the '
    'variance that every output is divided by, which adds -x_hat * mean(dx_hat * x_hat) / std',
    lambda d, fwd, bwd, g, r: (_dx_without(d, fwd(g), var_branch=False), r[1], r[2]))


@error_mistake(['batchnorm_forward_train', 'batchnorm_backward', 'batchnorm_backward_alt',
                'layernorm_forward', 'layernorm_backward'],
               'batchnorm-stats-over-features',
               'batchnorm_forward: the running statistics come out with one row per example, '
               'shape (N, D): the batch mean or variance they average holds a value per '
               'example (a mean over axis 1 with keepdims, or none at all); batch '
               'normalization averages each feature over the batch (axis 0), D values',
               "the given code's refusal of running_mean or running_var")
def _(error):
    return any(fn == 'batchnorm_forward' and name in ('running_mean', 'running_var')
               and len(got) == 2 and len(want) == 1 and got[1] == want[0] and got[0] > 1
               for fn, name, got, want in _refused(error))


def _ln_mistake(key, message, uses, buggy):
    """buggy(x, gamma, beta, eps) -> out of layernorm_forward."""
    @mistake('layernorm_forward', key, message, uses)
    def _(got):
        out = []
        for k, (label, x, gamma, beta, ln_param, _) in enumerate(L.ln_cases()):
            args = _f64(x, gamma, beta)
            correct = ref.layernorm_forward(*args, dict(ln_param))[0]
            out.append(_cmp(got[k], buggy(*args, ln_param.get('eps', 1e-5)), correct,
                            x.dtype.name))
        return out


def _normalize(x, axis, eps):
    return (x - x.mean(axis=axis, keepdims=True)) / np.sqrt(x.var(axis=axis, keepdims=True) + eps)


_ln_mistake(
    'layernorm-over-batch-axis',
    "layernorm_forward: your output is normalized over the batch axis, not over each "
    "example's features", 'out of every case (one has N = 1)',
    lambda x, g, b, eps: g * _normalize(x, 0, eps) + b)
_ln_mistake(
    'layernorm-eps-missing',
    'layernorm_forward: the output matches a normalization without eps; divide by '
    'sqrt(var + eps)', 'out of every case', lambda x, g, b, eps: g * _normalize(x, 1, 0.0) + b)
_ln_mistake(
    'layernorm-eps-hard-coded',
    "layernorm_forward: the output matches eps = 1e-5 where ln_param sets another eps; use "
    "ln_param's eps (1e-5 only by default)", 'out of the case with eps 1e-3',
    lambda x, g, b, eps: g * _normalize(x, 1, 1e-5) + b)

_ln_mistake(
    'layernorm-no-gamma',
    'layernorm_forward: the output is not scaled by gamma (out = gamma * x_hat + beta)',
    'out of every case', lambda x, g, b, eps: _normalize(x, 1, eps) + b)


@mistake('layernorm_backward', 'layernorm-backward-over-batch-axis',
         "layernorm_backward: dx matches batch normalization's gradient (means over the batch "
         "axis); layer norm's means run over each example's features",
         'dx, dgamma, dbeta of every case')
def _(got):
    out = []
    for k, (label, x, gamma, beta, ln_param, dout) in enumerate(L.ln_cases()):
        _, cache = ref.layernorm_forward(*_f64(x, gamma, beta), dict(ln_param))
        correct = ref.layernorm_backward(*_f64(dout), cache)
        _, xhat, std, g = cache
        wrong = ref._norm_backward(_f64(dout)[0], xhat, std, g, axis=0)
        out += [_cmp(a, b, c, x.dtype.name) for a, b, c in zip(got[k], wrong, correct)]
    return out


# ---------------------------------------------------------------------------
# dropout (p is the keep probability)

def _dropout_runs(got):
    """(result, x, p, label) of each train/test pair the dropout_forward probe ran."""
    runs = []
    for k, p in enumerate(L.DROPOUT_PS):
        runs.append((got[k], L.dropout_input(k)[0], p))
    runs.append((got['float32'], L.dropout_input(9, 'float32', (40, 50))[0], 0.5))
    return runs


def _kept_scale(out, x):
    """The factor out / x of the kept units (all equal within 1e-5), None if no
    unit is kept or the factors differ."""
    kept = (out != 0) & np.isfinite(out)
    if not np.any(kept):
        return None
    ratio = out[kept].astype(np.float64) / x[kept].astype(np.float64)
    if np.ptp(ratio) > 1e-5 * max(abs(float(np.median(ratio))), 1e-12):
        return None
    return float(np.median(ratio))


def _close_to(value, target, tol=1e-5):
    return value is not None and abs(value - target) <= tol * max(abs(target), 1e-12)


def _dropout_scaling_mistake(key, message, uses, scale):
    """Kept units are x * scale(p) in train mode, wherever that is not x / p."""
    @mistake('dropout_forward', key, message, uses)
    def _(got):
        wrong = False
        for res, x, p in _dropout_runs(got):
            if not np.isfinite(scale(p)):
                continue
            s = _kept_scale(res['train'], x)
            if s is None and np.any(res['train'] != 0):
                return False
            if s is not None and not _close_to(s, scale(p)):
                return False
            wrong |= s is not None and not _close_to(s, 1 / p)
        return wrong


_dropout_scaling_mistake(
    'dropout-not-inverted',
    'dropout_forward: kept units are not scaled at train time; inverted dropout divides '
    'them by p, so that test mode is the identity', 'train-mode outputs, p in 0.25 .. 1',
    lambda p: 1.0)
_dropout_scaling_mistake(
    'dropout-train-scaled-by-p',
    'dropout_forward: kept units are multiplied by p at train time; inverted dropout '
    'divides them by p', 'train-mode outputs, p in 0.25 .. 1', lambda p: p)
_dropout_scaling_mistake(
    'dropout-scaled-by-1-minus-p',
    'dropout_forward: kept units are divided by 1 - p; p is the probability of keeping a '
    'unit, and kept units are divided by p', 'train-mode outputs, p in 0.25 .. 0.9',
    lambda p: 1 / (1 - p) if p < 1 else np.inf)


@mistake('dropout_forward', 'dropout-test-time-scaled',
         'dropout_forward: the test-time output is scaled; with inverted dropout it is the '
         'identity', 'test-mode outputs, p in 0.25 .. 1')
def _(got):
    scaled = False
    for res, x, p in _dropout_runs(got):
        s = _kept_scale(res['test'], x)
        if s is None or not np.all(res['test'] != 0):
            return False
        if p < 1:
            if not any(_close_to(s, c) for c in (p, 1 / p, 1 - p)):
                return False
            scaled = True
    return scaled


@mistake('dropout_forward', 'dropout-drop-probability',
         'dropout_forward: about a fraction 1 - p of the units is kept: p is the probability '
         'of keeping a unit, not of dropping it', 'the kept fraction of the train-mode '
         'outputs, p in 0.25 .. 1 (150 x 200 units)')
def _(got):
    for k, p in enumerate(L.DROPOUT_PS):
        out = got[k]['train']
        kept = (out != 0) & np.isfinite(out)   # x / 0 where no unit is kept is not kept
        sigma = np.sqrt(max(p * (1 - p), 1e-12) / kept.size)
        if abs(kept.mean() - (1 - p)) > max(6 * sigma, 1e-12):
            return False
    return True


def _dropout_backward_mistake(key, message, buggy):
    """buggy(dout, forward output, p) -> [dx, ...]: the mistake gives any of them."""
    @mistake('dropout_backward', key, message,
             "dx and the student's own forward output, p in 0.25 .. 0.9")
    def _(got):
        out = []
        for k, p in enumerate(L.DROPOUT_PS[:3]):
            x, dout = L.dropout_input(20 + k, shape=(30, 40))
            fwd, dx = got[k]['out'], got[k]['dx']
            wrong = min(buggy(dout, fwd, p), key=lambda v: _error(dx, v))
            out.append(Compare(dx, wrong, dout * (fwd / x), 1e-9))
        return out


_dropout_backward_mistake(
    'dropout-backward-mask-unscaled',
    'dropout_backward: dx is dout where a unit was kept, unscaled; your forward pass '
    'divides kept units by p, so the gradient is divided by p too',
    lambda dout, fwd, p: [dout * (fwd != 0)])
_dropout_backward_mistake(
    'dropout-backward-ignores-mask',
    'dropout_backward: dx is nonzero for the dropped units; the gradient flows only through '
    'the units the forward pass kept', lambda dout, fwd, p: [dout, dout / p])


@mistake('dropout_backward', 'dropout-backward-new-mask',
         'dropout_backward: dx is masked by another mask than the one the forward pass drew '
         '(about the same fraction kept, other units); the backward pass reuses the '
         "forward pass's mask, from the cache",
         "dx and the student's own forward output, p in 0.25 .. 0.9")
def _(got):
    out = []
    for k, p in enumerate(L.DROPOUT_PS[:3]):
        x, dout = L.dropout_input(20 + k, shape=(30, 40))
        fwd, dx = got[k]['out'], np.asarray(got[k]['dx'], dtype=np.float64)
        kept = dx != 0
        # a mask of its own: kept units scaled by 1 / p, as many as a draw keeps
        sigma = np.sqrt(p * (1 - p) / kept.size)
        if abs(kept.mean() - p) > 6 * sigma:
            return False
        out.append(Compare(dx, dout * kept / p, dout * (fwd / x), 1e-9))
    return out


# ---------------------------------------------------------------------------
# Nets

NET_PARTS = ('two_layer_net', 'fc_net', 'fc_net_batchnorm', 'fc_net_layernorm',
             'fc_net_dropout')


def _part(name):
    from staff.grading.api import REGISTRY
    return REGISTRY[name]


def _test_scores(params, batches, L_, normalization, hidden_relu=True):
    """Test-mode scores on batches[2] after train-mode forward passes on
    batches[0] and batches[1] (they set batchnorm's running statistics), as the
    judge replays them, with or without the hidden layers' ReLU."""
    norm_params = [{'mode': 'train'} if normalization == 'batchnorm' else {}
                   for _ in range(L_ - 1)]

    def forward(X, mode):
        h = X.reshape(len(X), -1)
        for i in range(1, L_):
            h = h @ params['W%d' % i] + params['b%d' % i]
            if normalization == 'batchnorm':
                norm_params[i - 1]['mode'] = mode
                h = ref.batchnorm_forward(h, params['gamma%d' % i], params['beta%d' % i],
                                          norm_params[i - 1])[0]
            elif normalization == 'layernorm':
                h = ref.layernorm_forward(h, params['gamma%d' % i], params['beta%d' % i], {})[0]
            if hidden_relu:
                h = np.maximum(h, 0)
        return h @ params['W%d' % L_] + params['b%d' % L_]
    for X, _ in batches[:2]:
        forward(X, 'train')
    return forward(batches[2][0], 'test')


def _net_runs(part_name, got):
    """[(mode, [(student scores, correct scores, scores without hidden ReLU)],
    [(student loss, student grads, loss without L2, grads without L2, reg, params)])]
    of each layer mode whose results are there."""
    runs = []
    if part_name == 'two_layer_net':
        params, X, y, regs = N.tln_cases()
        correct = ref.net_loss(params, X, None, 2, 0.0)
        no_relu = _test_scores(params, [(X, y)] * 3, 2, None, hidden_relu=False)
        zero = ref.net_loss(params, X, y, 2, 0.0)
        for mode in N.MODES:
            results = got.get(mode)
            if not isinstance(results, list):
                continue
            scores = [(res['scores'], correct, no_relu) for res in results]
            steps = [(res['loss'], res['grads']) + zero + (reg, params)
                     for reg, res in zip(regs, results)]
            runs.append((mode, scores, steps))
        return runs
    spec = _part(part_name).net
    normalization, keep = spec['normalization'], spec['keep']
    dims, params, batches = spec['inputs']()
    L_ = len(dims) - 1
    correct = _test_scores(params, batches, L_, normalization)
    no_relu = _test_scores(params, batches, L_, normalization, hidden_relu=False)
    for mode in N.MODES:
        results = got.get(mode)
        if not isinstance(results, dict) or set(results) == {'error'}:
            continue
        norm_params = [{'mode': 'train'} if normalization == 'batchnorm' else {}
                       for _ in range(L_ - 1)]
        steps = []
        for k, (X, y) in enumerate(batches[:2]):
            res = results['train%d' % k]
            dropout = None
            if keep is not None:
                dropout = (keep, res['dropout_masks']) if mode == 'own' else (keep, 123)
            zero = ref.net_loss(params, X, y, L_, 0.0, normalization, norm_params, dropout)
            steps.append((res['loss'], res['grads']) + zero + (N.FCN['reg'], params))
        runs.append((mode, [(results['test'], correct, no_relu)], steps))
    return runs


def _named(comparisons):
    """Every result matches the mistake and one is wrong (Mistake.matches)."""
    return all(c.matches_bug() for c in comparisons) and any(c.wrong() for c in comparisons)


def _grad_scale(grads):
    return max(float(np.max(np.abs(g))) for g in grads.values())


def _step_comparisons(loss, grads, wrong_loss, wrong_grads, right_loss, right_grads):
    """Compare the loss and every gradient of one training step, as the judge does."""
    scale = _grad_scale(right_grads)
    return [Compare(loss, wrong_loss, right_loss, N.LOSS_TOL)] + [
        Compare(grads[name], wrong_grads[name], right_grads[name], N.GRAD_TOL, scale=scale)
        for name in right_grads]


def _net_scores_mistake(key, message, uses, buggy):
    """buggy(correct scores, scores without hidden ReLU) -> the mistake's scores.
    Named when the scores of some layer mode all match it."""
    @mistake(NET_PARTS, key, message, uses)
    def _(got, part):
        for mode, scores, _ in _net_runs(part, got):
            if _named([Compare(s, buggy(c, n), c, N.GRAD_TOL) for s, c, n in scores]):
                return True
        return False


_net_scores_mistake(
    'relu-on-scores',
    '{fn}: the scores look like they pass through a ReLU; the output layer has no activation',
    'test-mode scores (y=None)', lambda correct, no_relu: np.maximum(correct, 0))
_net_scores_mistake(
    'no-hidden-relu',
    '{fn}: the scores match the net without the ReLU after each hidden layer (affine - '
    'affine); every hidden layer needs its ReLU', 'test-mode scores (y=None)',
    lambda correct, no_relu: no_relu)


REG_MISTAKES = [
    # (key, loss coefficient, gradient coefficient, bias too, message)
    ('reg-missing', 0.0, 0.0, False,
     '{fn}: the loss and the gradients have no L2 regularization: reg is ignored'),
    ('reg-missing-in-gradients', 0.5, 0.0, False,
     "{fn}: the loss has the L2 term but the weights' gradients do not"),
    ('reg-missing-in-loss', 0.0, 1.0, False,
     "{fn}: the weights' gradients have the L2 term but the loss does not"),
    ('reg-not-halved', 1.0, 1.0, False,
     '{fn}: the L2 term of the loss is reg * sum(W ** 2); it is 0.5 * reg * sum(W ** 2), '
     'whose gradient is reg * W'),
    ('reg-factor-2', 1.0, 2.0, False,
     '{fn}: the L2 term is reg * sum(W ** 2), with the gradient 2 * reg * W; it is '
     '0.5 * reg * sum(W ** 2), whose gradient is reg * W'),
    ('reg-gradient-doubled', 0.5, 2.0, False,
     "{fn}: the weights' gradients hold 2 * reg * W; the gradient of the L2 term "
     '0.5 * reg * sum(W ** 2) is reg * W'),
    ('reg-on-biases', 0.5, 1.0, True,
     '{fn}: the biases are regularized too; the L2 term covers the weights W only'),
]


def _regularized(loss, grads, reg, params, a, b, biases):
    """loss and grads without L2 plus a * reg * sum(W ** 2) and b * reg * W
    (and the biases too if `biases`)."""
    grads = dict(grads)
    for name, value in params.items():
        if name[0] == 'W' or (biases and name[0] == 'b' and not name.startswith('beta')):
            loss = loss + a * reg * float((value * value).sum())
            grads[name] = grads[name] + b * reg * value
    return loss, grads


def _reg_mistake(key, a, b, biases, message):
    @mistake(NET_PARTS, key, message, 'loss and grads of the training steps, reg > 0')
    def _(got, part):
        for mode, _, steps in _net_runs(part, got):
            comparisons = []
            for loss, grads, loss0, grads0, reg, params in steps:
                comparisons += _step_comparisons(
                    loss, grads, *_regularized(loss0, grads0, reg, params, a, b, biases),
                    *_regularized(loss0, grads0, reg, params, 0.5, 1.0, False))
            if _named(comparisons):
                return True
        return False


for _entry in REG_MISTAKES:
    _reg_mistake(*_entry)


def _regularized_steps(part, got):
    """[(mode, [(loss, grads, right loss, right grads, grads without L2, reg, params)])]."""
    runs = []
    for mode, _, steps in _net_runs(part, got):
        rows = []
        for loss, grads, loss0, grads0, reg, params in steps:
            right_loss, right = _regularized(loss0, grads0, reg, params, 0.5, 1.0, False)
            _, bare = _regularized(loss0, grads0, reg, params, 0.5, 0.0, False)
            rows.append((loss, grads, right_loss, right, bare, reg, params))
        runs.append((mode, rows))
    return runs


def _closer(got, a, b, scale):
    """a if got is nearer a than b (by rel_error at the judge's scale), else b."""
    return a if _error(got, a, scale) < _error(got, b, scale) else b


def _per_gradient(part, got, alternative):
    """Per layer mode: (comparisons of every training step, {gradient name: set of
    whether the alternative was nearer, over the steps}). alternative(name,
    right grads, grads without L2, reg) is a wrong value for that gradient, or
    None; the student's gradient is compared with whichever of the two is nearer."""
    for mode, steps in _regularized_steps(part, got):
        comparisons, chosen = [], {}
        for loss, grads, right_loss, right, bare, reg, params in steps:
            wrong = dict(right)
            for name in right:
                other = alternative(name, right, bare, reg)
                if other is not None:
                    wrong[name] = _closer(grads[name], other, right[name], _grad_scale(right))
                    chosen.setdefault(name, set()).add(wrong[name] is other)
            comparisons += _step_comparisons(loss, grads, right_loss, wrong, right_loss, right)
        yield comparisons, chosen


@mistake(NET_PARTS, 'reg-missing-in-some-gradients',
         '{fn}: the gradient of some weight matrices has no L2 term, while the loss and the '
         "other weights' gradients have it: every W's gradient gets reg * W",
         'loss and grads of the training steps, reg > 0')
def _(got, part):
    def without_l2(name, right, bare, reg):
        return bare[name] if name[0] == 'W' and reg > 0 else None
    for comparisons, chosen in _per_gradient(part, got, without_l2):
        missing = {name for name, nearer in chosen.items() if True in nearer}
        present = {name for name, nearer in chosen.items() if False in nearer}
        if missing and present - missing and _named(comparisons):
            return True
    return False


@mistake(['fc_net_batchnorm', 'fc_net_layernorm'], 'norm-grads-dropped',
         '{fn}: some gradients of gamma or beta are zero: store in grads the dgamma and dbeta '
         "that each normalization layer's backward pass returns",
         'loss and grads of the training steps')
def _(got, part):
    def zero(name, right, bare, reg):
        return np.zeros_like(right[name]) if name.startswith(('gamma', 'beta')) else None
    return any(_named(comparisons) for comparisons, _ in _per_gradient(part, got, zero))


@mistake('fc_net_dropout', 'dropout-never-applied',
         '{fn}: the loss and gradients match the net without dropout: no hidden layer drops '
         'units in train mode (dropout_param must reach each layer when use_dropout)',
         'loss and grads of the training steps')
def _(got, part):
    spec = _part(part).net
    dims, params, batches = spec['inputs']()
    L_ = len(dims) - 1
    for mode in N.MODES:
        results = got.get(mode)
        if not isinstance(results, dict) or set(results) == {'error'}:
            continue
        comparisons = []
        for k, (X, y) in enumerate(batches[:2]):
            res = results['train%d' % k]
            comparisons += _step_comparisons(
                res['loss'], res['grads'], *ref.net_loss(params, X, y, L_, N.FCN['reg']),
                *ref.net_loss(params, X, y, L_, N.FCN['reg'], dropout=(spec['keep'], 123)))
        if _named(comparisons):
            return True
    return False


_BN_PARAM_SHAPE = re.compile(r'bn_param\["running_(?:mean|var)"\] has shape \((\d+),\), '
                             r'expected \((\d+),\)')


@mistake('fc_net_batchnorm', 'fc-shares-one-bn-param',
         "{fn}: a batchnorm layer got a bn_param holding another layer's running statistics "
         '(of another width): each hidden layer keeps its own bn_param, self.bn_params[i], '
         'not one shared dict', 'the errors of both layer modes')
def _(got, part):
    widths = _part(part).net['inputs']()[0][1:-1]
    for mode in N.MODES:
        results = got.get(mode)
        if not isinstance(results, dict) or set(results) != {'error'}:
            return False
        shapes = _BN_PARAM_SHAPE.findall(str(results['error']))
        if not any(int(a) in widths and a != b for a, b in shapes):
            return False
    return True


# __init__: each matcher undoes its mistake; it is named when that changes the
# parameters and the judge then accepts them all.

def _inits(part, got):
    """[(params, what, shapes, weight_scale, dtype name)] of the probed initializations."""
    if part == 'two_layer_net':
        expected = [(what, shapes, kw['weight_scale'], np.dtype(kw.get('dtype', np.float64)).name)
                    for kw, shapes, what in N.tln_inits()]
        inits = got['init']
    else:
        expected = [('FullyConnectedNet.__init__', _part(part).net['init_shapes'],
                     N.FCN_INIT['weight_scale'], 'float64')]
        inits = [got['init']]
    if len(inits) != len(expected):
        raise ValueError('not every initialization was probed')
    return [(params,) + e for params, e in zip(inits, expected)]


def _init_mistake(key, message, undo):
    """undo(params, weight_scale) -> {name: value or None (remove)}: the entries
    that the mistake changed, put right."""
    @mistake(NET_PARTS, key, message, 'the parameters of __init__')
    def _(got, part):
        changed = False
        for params, what, shapes, scale, dtype in _inits(part, got):
            fixes = undo(dict(params), scale)
            fixed = {k: v for k, v in dict(params, **fixes).items() if v is not None}
            try:
                N.judge_init(what, fixed, shapes, scale, dtype)
            except Fail:
                return False
            changed |= bool(fixes)
        return changed


def _std_near(v, std):
    return abs(float(v.std()) / std - 1) < 6 / np.sqrt(2 * v.size)


_init_mistake(
    'init-biases-not-zero',
    '{init}: the biases do not start at zero (np.zeros); the random weights alone break the '
    'symmetry between units', lambda params, scale: {
        k: np.zeros_like(v) for k, v in params.items()
        if k[0] == 'b' and np.any(v != 0)})   # b1, ... and beta1, ...
_init_mistake(
    'init-weights-unscaled',
    '{init}: some weights have a std of about 1: np.random.randn is not multiplied by '
    'weight_scale', lambda params, scale: {
        k: v * scale for k, v in params.items()
        if k[0] == 'W' and not _std_near(v, scale) and _std_near(v, 1.0)})
_init_mistake(
    'init-gamma-zero',
    '{init}: gamma starts at zero: each normalized layer then outputs beta alone and passes no '
    'gradient back; gamma starts at one (and beta at zero), the identity',
    lambda params, scale: {k: np.ones_like(v) for k, v in params.items()
                           if k.startswith('gamma') and not np.any(v != 0)})


def _output_layer_norm(params, scale):
    last = sum(name[0] == 'W' for name in params)
    return {name: None for name in ('gamma%d' % last, 'beta%d' % last) if name in params}


_init_mistake(
    'init-normalizes-output-layer',
    '{init}: creates gamma and beta for the output layer too; only the hidden layers '
    'are normalized (the scores go to the loss as they are)', _output_layer_norm)


# ---------------------------------------------------------------------------
# Update rules

def _run_rule(rule, update, case):
    """[(next_w, config)] of `update` run on one of the probe's cases, as the judge does."""
    label, w0, dws, config = case
    w = w0.astype(np.float64)
    config = dict(ref.UPDATE_DEFAULTS[rule], **(L.copy_arrays(config) or {}))
    steps = []
    for dw in dws:
        w, config = update(w, dw.astype(np.float64), config)
        steps.append((w, config))
    return steps


def _rule_mistake(rule, key, message, update, states=None, uses=None):
    """update(w, dw, config) -> (next_w, config): the rule with the mistake.
    Compares next_w after every step and the state arrays `states` (default:
    none; the rule's state has other meanings under some mistakes)."""
    @mistake(rule, key, message, uses or 'next_w%s after every step of every case' % (
        ''.join(", config['%s']" % s for s in states or ())))
    def _(got):
        out = []
        for k, case in enumerate(O.optim_cases(rule)):
            tol = O.TOL32 if case[1].dtype == np.float32 else O.TOL64
            wrong = _run_rule(rule, update, case)
            right = _run_rule(rule, ref.UPDATE_RULES[rule], case)
            if len(got[k]) != len(wrong):
                return False
            for res, (w, c), (rw, rc) in zip(got[k], wrong, right):
                out.append(Compare(res['next_w'], w, rw, tol))
                out += [Compare(res['config'].get(s), c.get(s), rc[s], tol) for s in states or ()]
        return out


def _adam(bias=lambda b, t: 1 - b ** t, b2_power=None, store_t=True, t_before=False,
          correct_m=True, v_abs=False):
    """Adam with a mistake: bias(beta, t) is the correction's denominator;
    b2_power fixes the exponent of beta2 in it; store_t False: t is used as
    t + 1 but never stored; t_before: the correction uses t before the increment;
    correct_m False: m is not bias-corrected (v is); v_abs: v averages |dw|."""
    def update(w, dw, config):
        c = dict(config)
        b1, b2 = c['beta1'], c['beta2']
        t0 = c.get('t', 0)
        t = t0 + 1
        m = b1 * c.get('m', np.zeros_like(w)) + (1 - b1) * dw
        v = b2 * c.get('v', np.zeros_like(w)) + (1 - b2) * (np.abs(dw) if v_abs else dw * dw)
        tc = t0 if t_before else t
        with np.errstate(divide='ignore', invalid='ignore'):
            m_hat = m / bias(b1, tc) if correct_m else m
            v_hat = v / bias(b2, b2_power if b2_power is not None else tc)
            next_w = w - c['learning_rate'] * m_hat / (np.sqrt(v_hat) + c['epsilon'])
        c.update(m=m, v=v, t=t if store_t else t0)
        return next_w, c
    return update


_rule_mistake('adam', 'adam-bias-correction-beta2-squared',
              'adam: your steps match a bias correction computed with beta2**2 instead of '
              'beta2**t', _adam(b2_power=2), states=('m', 'v'))
_rule_mistake('adam', 'adam-no-bias-correction',
              'adam: your steps match Adam without the bias correction of m and v (it divides '
              'them by 1 - beta**t)', _adam(bias=lambda b, t: 1.0), states=('m', 'v'))
_rule_mistake('adam', 'adam-m-not-bias-corrected',
              'adam: your steps match Adam whose m is not bias-corrected (v is): m_hat is '
              'm / (1 - beta1**t)', _adam(correct_m=False), states=('m', 'v'))
_rule_mistake('adam', 'adam-v-of-abs-dw',
              'adam: v averages |dw|; it averages dw**2 (the squared gradient)',
              _adam(v_abs=True), states=('m', 'v'))
_rule_mistake('adam', 'adam-t-not-incremented',
              "adam: config['t'] is never incremented: every step uses the bias correction "
              'of the same t', _adam(store_t=False), states=('m', 'v'))
_rule_mistake('adam', 'adam-t-incremented-after-correction',
              'adam: the bias correction uses t before it is incremented (from a fresh config '
              '1 - beta**0 = 0); increment t first', _adam(t_before=True), states=('m', 'v'))


def _rmsprop(sqrt=True, decay_swapped=False, eps_in_cache=False):
    def update(w, dw, config):
        c = dict(config)
        d = 1 - c['decay_rate'] if decay_swapped else c['decay_rate']
        cache = d * c.get('cache', np.zeros_like(w)) + (1 - d) * dw * dw
        if eps_in_cache:
            cache = cache + c['epsilon']
        c['cache'] = cache
        denom = (np.sqrt(cache) if sqrt else cache) + c['epsilon']
        return w - c['learning_rate'] * dw / denom, c
    return update


_rule_mistake('rmsprop', 'rmsprop-missing-sqrt',
              'rmsprop: your steps divide by the cache itself; RMSProp divides by its square '
              'root', _rmsprop(sqrt=False), states=('cache',))
_rule_mistake('rmsprop', 'rmsprop-decay-swapped',
              'rmsprop: the cache weights its old value by (1 - decay_rate) and dw**2 by '
              'decay_rate; it is the other way round', _rmsprop(decay_swapped=True),
              states=('cache',))
_rule_mistake('rmsprop', 'rmsprop-eps-in-cache',
              "rmsprop: epsilon is added to config['cache']; it belongs in the step's "
              'denominator only, beside the square root', _rmsprop(eps_in_cache=True),
              states=('cache',))


def _sgd_momentum(sign=-1, step_sign=1, lr_outside=False, store=True, momentum=True):
    """v = momentum * v + sign * learning_rate * dw; next_w = w + step_sign * v."""
    def update(w, dw, config):
        c = dict(config)
        v0 = c.get('velocity', np.zeros_like(w))
        mu = c['momentum'] if momentum else 0.0
        lr = c['learning_rate']
        if lr_outside:
            v = mu * v0 + sign * dw
            step = step_sign * lr * v
        else:
            v = mu * v0 + sign * lr * dw
            step = step_sign * v
        if store:
            c['velocity'] = v
        return w + step, c
    return update


_rule_mistake('sgd_momentum', 'sgd-momentum-velocity-sign',
              'sgd_momentum: your velocity has the opposite sign: it is the step that '
              'next_w = w + v takes, moving against the gradient',
              _sgd_momentum(sign=1, step_sign=-1), states=('velocity',))
_rule_mistake('sgd_momentum', 'sgd-momentum-uphill',
              'sgd_momentum: your steps go up the gradient; the velocity moves against dw',
              _sgd_momentum(sign=1), states=('velocity',))
_rule_mistake('sgd_momentum', 'sgd-momentum-velocity-not-stored',
              "sgd_momentum: config['velocity'] is not updated: store the new velocity in "
              'config for the next step', _sgd_momentum(store=False))
_rule_mistake('sgd_momentum', 'sgd-momentum-no-momentum',
              'sgd_momentum: your steps are plain SGD: the momentum term is missing',
              _sgd_momentum(momentum=False))
_rule_mistake('sgd_momentum', 'sgd-momentum-lr-on-velocity',
              'sgd_momentum: the learning rate scales the whole velocity; it scales only the '
              'gradient (the velocity is momentum * v - learning_rate * dw)',
              _sgd_momentum(lr_outside=True), states=('velocity',))
