"""Hidden tests of every layer in cs231n/layers.py.

Shapes, seeds, dtypes and hyperparameters differ from the public tests and
the notebooks: multi-dimensional inputs, a batch of one, float32, custom eps
and momentum, nonzero running statistics, several keep probabilities. Every
expected value comes from staff/assignment/references.py; the tolerances leave
room for any order of rounding (about 1e-14 in float64), never for a wrong
formula.
"""
import numpy as np

from staff.grading.api import (Fail, case_part, check_array, check_close, check_gradients,
                               check_scalar, copy_arrays, part, rng, tolerance)

from .. import references as ref

LAYERS = 'cs231n.layers'      # the student's module these parts test
TOL64, TOL32 = 1e-7, 2e-3


def _rng(seed):
    return rng(seed)


# ---------------------------------------------------------------------------
# affine

def affine_cases():
    """(label, x, w, b, dout) in float64 and float32, multi-dimensional x, N = 1."""
    cases = []
    for k, (shape, M, dtype) in enumerate([((3, 4, 5, 2), 7, 'float64'),
                                           ((1, 6), 3, 'float64'),
                                           ((5, 3, 4), 2, 'float32')]):
        r = _rng(1000 + k)
        D = int(np.prod(shape[1:]))
        x = (r.randn(*shape) * 2 - 0.5).astype(dtype)
        w = (r.randn(D, M) * 0.7).astype(dtype)
        b = r.randn(M).astype(dtype)
        dout = r.randn(shape[0], M).astype(dtype)
        cases.append(('%s x of shape %s' % (dtype, shape), x, w, b, dout))
    return cases


affine_forward = part('affine_forward', functions=['affine_forward'])


@affine_forward.probe
def _(S):
    layers = S.module('cs231n.layers')
    for k, (label, x, w, b, _) in enumerate(affine_cases()):
        out, _ = S.call('affine_forward', layers.affine_forward, x.copy(), w.copy(), b.copy())
        S.emit(k, out)


@affine_forward.judge
def _(got):
    for k, (label, x, w, b, _) in enumerate(affine_cases()):
        tol = tolerance(x.dtype.name, TOL64, TOL32)
        check_close('affine_forward', 'out', got[k], ref.affine_forward(x, w, b)[0], tol, label)


affine_backward = part('affine_backward', functions=['affine_backward'])


@affine_backward.probe
def _(S):
    layers = S.module('cs231n.layers')
    for k, (label, x, w, b, dout) in enumerate(affine_cases()):
        # The cache of affine_forward is (x, w, b): given code, outside the region.
        S.emit(k, S.call('affine_backward', layers.affine_backward, dout.copy(),
                         (x.copy(), w.copy(), b.copy())))


@affine_backward.judge
def _(got):
    for k, (label, x, w, b, dout) in enumerate(affine_cases()):
        tol = tolerance(x.dtype.name, TOL64, TOL32)
        expected = ref.affine_backward(dout.astype(np.float64), (x.astype(np.float64),
                                                                  w.astype(np.float64), b))
        result = got[k]
        if not isinstance(result, list) or len(result) != 3:
            raise Fail('affine_backward: returned %r, expected (dx, dw, db)' % (result,))
        for name, g, e in zip(('dx', 'dw', 'db'), result, expected):
            check_close('affine_backward', name, g, e, tol, label)


# ---------------------------------------------------------------------------
# relu

def relu_cases():
    cases = []
    for k, (shape, dtype) in enumerate([((4, 6), 'float64'), ((2, 3, 5), 'float64'),
                                        ((7, 3), 'float32')]):
        r = _rng(2000 + k)
        x = r.randn(*shape).astype(dtype)
        x[np.abs(x) < 1e-3] = 0.5   # no input at the kink: either subgradient is right there
        cases.append(('%s x of shape %s' % (dtype, shape), x, r.randn(*shape).astype(dtype)))
    return cases


relu_forward = part('relu_forward', functions=['relu_forward'])


@relu_forward.probe
def _(S):
    layers = S.module('cs231n.layers')
    for k, (label, x, _) in enumerate(relu_cases()):
        out, _ = S.call('relu_forward', layers.relu_forward, x.copy())
        S.emit(k, out)


@relu_forward.judge
def _(got):
    for k, (label, x, _) in enumerate(relu_cases()):
        check_close('relu_forward', 'out', got[k], ref.relu_forward(x)[0], 1e-12, label)


relu_backward = part('relu_backward', functions=['relu_backward'])


@relu_backward.probe
def _(S):
    layers = S.module('cs231n.layers')
    for k, (label, x, dout) in enumerate(relu_cases()):
        # The cache of relu_forward is x: given code, outside the region.
        S.emit(k, S.call('relu_backward', layers.relu_backward, dout.copy(), x.copy()))


@relu_backward.judge
def _(got):
    for k, (label, x, dout) in enumerate(relu_cases()):
        check_close('relu_backward', 'dx', got[k], ref.relu_backward(dout, x), 1e-12, label)


# ---------------------------------------------------------------------------
# losses

def loss_cases():
    """(label, x, y): small scores, rows shifted by up to 1e4 (exp of the raw
    scores overflows: the softmax must shift them), N = 1, two classes, float32."""
    cases = []
    specs = [(6, 5, 1.0, 0, 'float64'), (4, 7, 8.0, 1e4, 'float64'), (1, 3, 2.0, 0, 'float64'),
             (9, 2, 0.5, 0, 'float64'), (8, 6, 3.0, 0, 'float32'), (5, 4, 2.0, 2e3, 'float32')]
    for k, (N, C, scale, shift, dtype) in enumerate(specs):
        r = _rng(3000 + k)
        x = (scale * r.randn(N, C) + shift * r.rand(N, 1)).astype(dtype)
        y = r.randint(C, size=N)
        cases.append(('%s scores of shape %s, scale %g%s' % (
            dtype, (N, C), scale, ', rows shifted by up to %g' % shift if shift else ''), x, y))
    return cases


def _loss_part(name, reference):
    p = part(name, functions=[name])

    @p.probe
    def _(S):
        layers = S.module('cs231n.layers')
        fn = getattr(layers, name)
        for k, (label, x, y) in enumerate(loss_cases()):
            loss, dx = S.call(name, fn, x.copy(), y.copy())
            S.emit(k, {'loss': loss, 'dx': dx})

    @p.judge
    def _(got):
        for k, (label, x, y) in enumerate(loss_cases()):
            loss, dx = reference(x.astype(np.float64), y)
            tol = tolerance(x.dtype.name, 1e-9, 1e-5)
            check_scalar(name, 'loss', got[k]['loss'], loss, tol, label)
            check_close(name, 'dx', got[k]['dx'], dx, tolerance(x.dtype.name, TOL64, TOL32),
                        label)
    return p


softmax_loss = _loss_part('softmax_loss', ref.softmax_loss)
svm_loss = _loss_part('svm_loss', ref.svm_loss)


# ---------------------------------------------------------------------------
# batch normalization

def bn_train_cases():
    """(label, x, gamma, beta, bn_param): default and custom eps/momentum, running
    statistics absent or given, wide and narrow batches, float32."""
    cases = []
    specs = [(5, 4, {}, False, 'float64'),
             (12, 3, {'eps': 1e-3, 'momentum': 0.7}, True, 'float64'),
             (2, 6, {'momentum': 0.0}, True, 'float64'),
             (9, 5, {'eps': 1e-4}, True, 'float32')]
    for k, (N, D, extra, running, dtype) in enumerate(specs):
        r = _rng(4000 + k)
        x = (3 * r.randn(N, D) + r.randn(D) * 4 - 2).astype(dtype)
        gamma = (r.rand(D) + 0.5).astype(dtype)
        beta = r.randn(D).astype(dtype)
        bn_param = dict(extra, mode='train')
        if running:
            bn_param['running_mean'] = r.randn(D).astype(dtype)
            bn_param['running_var'] = (r.rand(D) + 0.5).astype(dtype)
        cases.append(('%s x of shape %s, %s' % (
            dtype, (N, D), ', '.join('%s=%s' % kv for kv in sorted(extra.items())) or 'defaults'),
            x, gamma, beta, bn_param))
    return cases


def _bn_forward_part(name, cases, what, check_stats):
    """A part that runs batchnorm_forward on `cases` and compares its output
    with the reference; check_stats(got, expected, bn_param, tol, label)
    judges the running statistics it leaves in bn_param."""
    def probe(S, layers, case):
        label, x, gamma, beta, bn_param = case
        param = S.value(copy_arrays(bn_param))     # the student's code updates it in place
        out, _ = S.call('batchnorm_forward', layers.batchnorm_forward, x.copy(), gamma.copy(),
                        beta.copy(), param)
        stats = S.fetch(param)
        return {'out': out, 'running_mean': stats.get('running_mean'),
                'running_var': stats.get('running_var')}

    def judge(got, case):
        label, x, gamma, beta, bn_param = case
        param = copy_arrays(bn_param, np.float64)
        out, _ = ref.batchnorm_forward(x.astype(np.float64), gamma.astype(np.float64),
                                       beta.astype(np.float64), param)
        tol = tolerance(x.dtype.name, TOL64, TOL32)
        check_close('batchnorm_forward', 'out (%s)' % what, got['out'], out, tol, label)
        check_stats(got, param, bn_param, tol, label)
    return case_part(name, cases, probe, judge, LAYERS, functions=['batchnorm_forward'])


def _stats_after_a_train_step(got, expected, bn_param, tol, label):
    for key in ('running_mean', 'running_var'):
        check_close('batchnorm_forward', key + ' after a train step', got[key], expected[key],
                    tol, label)


def _stats_unchanged(got, expected, bn_param, tol, label):
    for key in ('running_mean', 'running_var'):
        check_close('batchnorm_forward', key + ' (test mode must not change it)', got[key],
                    bn_param[key], 1e-12, label)


batchnorm_forward_train = _bn_forward_part('batchnorm_forward_train', bn_train_cases,
                                           'train mode', _stats_after_a_train_step)


def bn_test_cases():
    cases = []
    for k, (N, D, eps, dtype) in enumerate([(6, 5, None, 'float64'), (1, 4, 1e-2, 'float64'),
                                            (7, 3, None, 'float32')]):
        r = _rng(5000 + k)
        x = (2 * r.randn(N, D) + 1).astype(dtype)
        bn_param = {'mode': 'test', 'running_mean': r.randn(D).astype(dtype),
                    'running_var': (r.rand(D) * 3 + 0.2).astype(dtype)}
        if eps is not None:
            bn_param['eps'] = eps
        cases.append(('%s x of shape %s' % (dtype, (N, D)), x, (r.rand(D) + 0.5).astype(dtype),
                      r.randn(D).astype(dtype), bn_param))
    return cases


batchnorm_forward_test = _bn_forward_part('batchnorm_forward_test', bn_test_cases,
                                          'test mode, running statistics', _stats_unchanged)


def bn_backward_cases():
    cases = []
    for k, (N, D, dtype) in enumerate([(4, 5, 'float64'), (30, 3, 'float64'),
                                       (2, 4, 'float64'), (10, 6, 'float32')]):
        r = _rng(6000 + k)
        x = (4 * r.randn(N, D) - 3).astype(dtype)
        cases.append(('%s x of shape %s' % (dtype, (N, D)), x,
                      (r.randn(D) + 0.3).astype(dtype), r.randn(D).astype(dtype),
                      r.randn(N, D).astype(dtype)))
    return cases


def _f64(*arrays):
    return [a.astype(np.float64) for a in arrays]


def _bn_backward_part(name):
    def probe(S, layers, case):
        label, x, gamma, beta, dout = case
        _, cache = S.call('batchnorm_forward', layers.batchnorm_forward, x.copy(),
                          gamma.copy(), beta.copy(), {'mode': 'train'})
        return S.call(name, getattr(layers, name), dout.copy(), cache)

    def judge(result, case):
        label, x, gamma, beta, dout = case
        _, cache = ref.batchnorm_forward(*_f64(x, gamma, beta), {'mode': 'train'})
        expected = ref.batchnorm_backward(*_f64(dout), cache)
        check_gradients(name, result, expected, tolerance(x.dtype.name, TOL64, TOL32), label)
    return case_part(name, bn_backward_cases, probe, judge, LAYERS)


batchnorm_backward = _bn_backward_part('batchnorm_backward')
batchnorm_backward_alt = _bn_backward_part('batchnorm_backward_alt')


# ---------------------------------------------------------------------------
# layer normalization

def ln_cases():
    cases = []
    for k, (N, D, eps, dtype) in enumerate([(4, 6, None, 'float64'), (1, 5, 1e-3, 'float64'),
                                            (7, 2, None, 'float64'), (5, 8, None, 'float32')]):
        r = _rng(7000 + k)
        x = (r.randn(N, D) * (r.rand(N, 1) * 5 + 0.5) + r.randn(N, 1) * 3).astype(dtype)
        ln_param = {} if eps is None else {'eps': eps}
        if k == 2:
            ln_param['mode'] = 'train'   # ignored by layer norm
        cases.append(('%s x of shape %s' % (dtype, (N, D)), x, (r.randn(D) + 1).astype(dtype),
                      r.randn(D).astype(dtype), ln_param, r.randn(N, D).astype(dtype)))
    return cases


def _layernorm_forward_call(S, layers, case):
    label, x, gamma, beta, ln_param, _ = case
    return S.call('layernorm_forward', layers.layernorm_forward, x.copy(), gamma.copy(),
                  beta.copy(), dict(ln_param))


def _layernorm_forward_probe(S, layers, case):
    return _layernorm_forward_call(S, layers, case)[0]


def _layernorm_forward_judge(got, case):
    label, x, gamma, beta, ln_param, _ = case
    out, _ = ref.layernorm_forward(*_f64(x, gamma, beta), dict(ln_param))
    check_close('layernorm_forward', 'out', got, out, tolerance(x.dtype.name, TOL64, TOL32),
                label)


layernorm_forward = case_part('layernorm_forward', ln_cases, _layernorm_forward_probe,
                              _layernorm_forward_judge, LAYERS)


def _layernorm_backward_probe(S, layers, case):
    _, cache = _layernorm_forward_call(S, layers, case)
    return S.call('layernorm_backward', layers.layernorm_backward, case[-1].copy(), cache)


def _layernorm_backward_judge(result, case):
    label, x, gamma, beta, ln_param, dout = case
    _, cache = ref.layernorm_forward(*_f64(x, gamma, beta), dict(ln_param))
    check_gradients('layernorm_backward', result, ref.layernorm_backward(*_f64(dout), cache),
                    tolerance(x.dtype.name, TOL64, TOL32), label)


layernorm_backward = case_part('layernorm_backward', ln_cases, _layernorm_backward_probe,
                               _layernorm_backward_judge, LAYERS)


# ---------------------------------------------------------------------------
# dropout (p is the KEEP probability)
#
# Any correct inverted dropout passes, whatever its mask's dtype or how it
# draws it: each output is 0 or x / p, the kept fraction is p within a few
# standard deviations, a seed repeats the mask, and test mode is the identity.
# The backward pass must be the gradient of the forward pass the student's
# own code computed (out / x per entry), whatever the mask convention.

DROPOUT_PS = (0.25, 0.6, 0.9, 1.0)


def dropout_input(k, dtype='float64', shape=(150, 200)):
    r = _rng(8000 + k)
    x = r.randn(*shape) + 3 * np.sign(r.randn(*shape))   # |x| > ~1e-4: no zero entries
    return x.astype(dtype), r.randn(*shape).astype(dtype)


dropout_forward = part('dropout_forward', functions=['dropout_forward'])


@dropout_forward.probe
def _(S):
    layers = S.module('cs231n.layers')
    fwd = layers.dropout_forward
    for k, p in enumerate(DROPOUT_PS):
        x, _ = dropout_input(k)
        train, _ = S.call('dropout_forward', fwd, x.copy(), {'mode': 'train', 'p': p, 'seed': 11})
        again, _ = S.call('dropout_forward', fwd, x.copy(), {'mode': 'train', 'p': p, 'seed': 11})
        other, _ = S.call('dropout_forward', fwd, x.copy(), {'mode': 'train', 'p': p, 'seed': 12})
        test, _ = S.call('dropout_forward', fwd, x.copy(), {'mode': 'test', 'p': p, 'seed': 11})
        S.emit(k, {'train': train, 'again': again, 'other': other, 'test': test})
    x, _ = dropout_input(9, 'float32', (40, 50))
    train, _ = S.call('dropout_forward', fwd, x.copy(), {'mode': 'train', 'p': 0.5})
    test, _ = S.call('dropout_forward', fwd, x.copy(), {'mode': 'test', 'p': 0.5})
    S.emit('float32', {'train': train, 'test': test})


def _check_inverted(out, x, p, label):
    check_array('dropout_forward', 'out', out, x.shape, label)
    kept = out != 0
    scaled = np.where(kept, x / p, 0)
    err = np.max(np.abs(out - scaled) / np.abs(x / p))
    if err > 1e-5:
        i = np.unravel_index(np.argmax(np.abs(out - scaled) / np.abs(x / p)), x.shape)
        raise Fail('dropout_forward: train-mode output %.6g where the input is %.6g: a kept '
                   'unit must be x / p = %.6g and a dropped one 0 (%s; inverted dropout '
                   'scales at train time)' % (out[i], x[i], x[i] / p, label))
    n = x.size
    frac = kept.mean()
    sigma = np.sqrt(max(p * (1 - p), 1e-12) / n)
    if abs(frac - p) > max(6 * sigma, 1e-12):
        raise Fail('dropout_forward: kept %.4f of the units with p = %s, expected %.4f +- %.4f '
                   '(p is the probability of KEEPING a unit; %s)' % (frac, p, p, 6 * sigma, label))


@dropout_forward.judge
def _(got):
    for k, p in enumerate(DROPOUT_PS):
        x, _ = dropout_input(k)
        label = 'p = %s, x of shape %s' % (p, x.shape)
        g = got[k]
        _check_inverted(g['train'], x, p, label)
        check_array('dropout_forward', 'out', g['again'], x.shape, label)
        if not np.array_equal(g['train'], g['again']):
            raise Fail('dropout_forward: two calls with the same seed gave different masks (%s)'
                       % label)
        if p < 1:
            check_array('dropout_forward', 'out', g['other'], x.shape, label)
            if np.array_equal(g['train'] != 0, g['other'] != 0):
                raise Fail('dropout_forward: seeds 11 and 12 gave the same mask (%s)' % label)
        check_close('dropout_forward', 'out (test mode must return x unchanged)', g['test'],
                    x, 1e-12, label)
    x, _ = dropout_input(9, 'float32', (40, 50))
    _check_inverted(got['float32']['train'], x, 0.5, 'float32 x, p = 0.5')
    check_close('dropout_forward', 'out (test mode must return x unchanged)',
                got['float32']['test'], x, 1e-6, 'float32 x')


dropout_backward = part('dropout_backward', functions=['dropout_backward'])


@dropout_backward.probe
def _(S):
    layers = S.module('cs231n.layers')
    for k, p in enumerate(DROPOUT_PS[:3]):
        x, dout = dropout_input(20 + k, shape=(30, 40))
        out, cache = S.call('dropout_forward', layers.dropout_forward, x.copy(),
                            {'mode': 'train', 'p': p, 'seed': 5})
        dx = S.call('dropout_backward', layers.dropout_backward, dout.copy(), cache)
        S.emit(k, {'out': out, 'dx': dx})


@dropout_backward.judge
def _(got):
    for k, p in enumerate(DROPOUT_PS[:3]):
        x, dout = dropout_input(20 + k, shape=(30, 40))
        label = 'train mode, p = %s' % p
        out = got[k]['out']
        check_array('dropout_forward', 'out', out, x.shape, label)
        if not np.any(out != 0):
            raise Fail('dropout_backward: the forward pass dropped every unit (%s)' % label)
        # dropout is linear in x: its gradient is out / x, entry by entry
        check_close('dropout_backward', 'dx (the gradient of your forward pass)',
                    got[k]['dx'], dout * (out / x), 1e-9, label)
