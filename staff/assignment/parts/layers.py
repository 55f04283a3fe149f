"""Hidden tests of every layer in cs231n/layers.py.

Shapes, seeds, dtypes and hyperparameters differ from the public tests and
the notebooks: multi-dimensional inputs, a batch of one, float32, custom eps
and momentum, nonzero running statistics, several keep probabilities. Every
expected value comes from the references the judge is given (R, default
staff/assignment/references.py's REF); the tolerances leave room for any order
of rounding (about 1e-14 in float64), never for a wrong formula. Every layer
must also leave its data inputs (x, dout, w, b, gamma, beta) unchanged: each
is sent to the executor, and fetched back after the call.
"""
import numpy as np

from staff.grading.api import (Fail, check_array, check_close, check_gradients, check_scalar,
                               copy_arrays, part, rng, tolerance)

from . import once_per_draw
from ..references import REF

LAYERS = 'cs231n.layers'      # the student's module these parts test
TOL64, TOL32 = 1e-7, 2e-3
CHANGED = 'changed in place'  # the first item of the keys under which probes note it


def check_inputs_unchanged(got, R=REF):
    """Fail if a probe noted a layer that changed one of its data inputs."""
    for key in got:
        if isinstance(key, tuple) and key[0] == CHANGED:
            raise Fail('%s: changed its input %s in place (%s); a layer leaves the arrays it is '
                       'given unchanged (the caller still uses them)' % key[1:])


def layer_part(name, cases, inputs, probe, judge, function=None):
    """A part that runs the student's layer `function` (default: name) on every
    case of cases(), and checks that it leaves its data inputs unchanged.

    Inputs:
    - inputs(case) -> [(name, array)]: the layer's data inputs in a case; those
      of every case are sent to the executor at once, as one value, and fetched
      back after the last case: one that changed is emitted under (CHANGED,
      function, its name, the case's label) for check_inputs_unchanged
    - probe(S, layers, case, sent) -> what to emit for the case: drives the
      student's module (layers, a Remote) with `sent`, the case's inputs as Remotes
    - judge(result, case, R): raises Fail if the result of one case is wrong
      against the references R

    Returns:
    - the Part
    """
    function = function or name
    p = part(name, functions=[function])

    @p.probe
    def _(S):
        layers = S.module(LAYERS)
        given = [(case, inputs(case)) for case in cases()]
        sent = S.value([[a for _, a in arrays] for _, arrays in given])
        for k, (case, arrays) in enumerate(given):
            S.emit(k, probe(S, layers, case, [sent[k][i] for i in range(len(arrays))]))
        for (case, arrays), back in zip(given, S.fetch(sent)):
            for (input_name, before), after in zip(arrays, back):
                if not (isinstance(after, np.ndarray) and after.shape == before.shape
                        and np.array_equal(after, before)):
                    S.emit((CHANGED, function, input_name, case[0]), True)

    @p.judge
    def _(got, R=REF):
        for k, case in enumerate(cases()):
            judge(got[k], case, R)
    p.judge(check_inputs_unchanged)
    return p


def _f64(*arrays):
    return [a.astype(np.float64) for a in arrays]


# ---------------------------------------------------------------------------
# affine

def affine_cases():
    """(label, x, w, b, dout) in float64 and float32, multi-dimensional x, N = 1."""
    cases = []
    for k, (shape, M, dtype) in enumerate([((3, 4, 5, 2), 7, 'float64'),
                                           ((1, 6), 3, 'float64'),
                                           ((5, 3, 4), 2, 'float32')]):
        r = rng(1000 + k)
        D = int(np.prod(shape[1:]))
        x = (r.randn(*shape) * 2 - 0.5).astype(dtype)
        w = (r.randn(D, M) * 0.7).astype(dtype)
        b = r.randn(M).astype(dtype)
        dout = r.randn(shape[0], M).astype(dtype)
        cases.append(('%s x of shape %s' % (dtype, shape), x, w, b, dout))
    return cases


def _affine_forward_probe(S, layers, case, sent):
    return S.call('affine_forward', layers.affine_forward, *sent)[0]


def _affine_forward_judge(got, case, R=REF):
    label, x, w, b, _ = case
    check_close('affine_forward', 'out', got, R.affine_forward(*_f64(x, w, b))[0],
                tolerance(x.dtype.name, TOL64, TOL32), label)


affine_forward = layer_part('affine_forward', affine_cases,
                            lambda case: list(zip(('x', 'w', 'b'), case[1:4])),
                            _affine_forward_probe, _affine_forward_judge)


def _affine_backward_probe(S, layers, case, sent):
    label, x, w, b, dout = case
    # The cache of affine_forward is (x, w, b): given code, outside the region.
    return S.call('affine_backward', layers.affine_backward, *sent,
                  (x.copy(), w.copy(), b.copy()))


def _affine_backward_judge(got, case, R=REF):
    label, x, w, b, dout = case
    expected = R.affine_backward(*_f64(dout), tuple(_f64(x, w, b)))
    if not isinstance(got, list) or len(got) != 3:
        raise Fail('affine_backward: returned %r, expected (dx, dw, db)' % (got,))
    for name, g, e in zip(('dx', 'dw', 'db'), got, expected):
        check_close('affine_backward', name, g, e, tolerance(x.dtype.name, TOL64, TOL32), label)


affine_backward = layer_part('affine_backward', affine_cases, lambda case: [('dout', case[4])],
                             _affine_backward_probe, _affine_backward_judge)


# ---------------------------------------------------------------------------
# relu

def relu_cases():
    cases = []
    for k, (shape, dtype) in enumerate([((4, 6), 'float64'), ((2, 3, 5), 'float64'),
                                        ((7, 3), 'float32')]):
        r = rng(2000 + k)
        x = r.randn(*shape).astype(dtype)
        x[np.abs(x) < 1e-3] = 0.5   # no input at the kink: either subgradient is right there
        cases.append(('%s x of shape %s' % (dtype, shape), x, r.randn(*shape).astype(dtype)))
    return cases


def _relu_forward_probe(S, layers, case, sent):
    return S.call('relu_forward', layers.relu_forward, *sent)[0]


def _relu_forward_judge(got, case, R=REF):
    label, x, _ = case
    check_close('relu_forward', 'out', got, R.relu_forward(x)[0], 1e-12, label)


relu_forward = layer_part('relu_forward', relu_cases, lambda case: [('x', case[1])],
                          _relu_forward_probe, _relu_forward_judge)


def _relu_backward_probe(S, layers, case, sent):
    # The cache of relu_forward is x: given code, outside the region.
    return S.call('relu_backward', layers.relu_backward, *sent, case[1].copy())


def _relu_backward_judge(got, case, R=REF):
    label, x, dout = case
    check_close('relu_backward', 'dx', got, R.relu_backward(dout, x), 1e-12, label)


relu_backward = layer_part('relu_backward', relu_cases, lambda case: [('dout', case[2])],
                           _relu_backward_probe, _relu_backward_judge)


# ---------------------------------------------------------------------------
# losses

def loss_cases():
    """(label, x, y): small scores, rows shifted by up to 1e4 (exp of the raw
    scores overflows: the softmax must shift them), N = 1, two classes, float32."""
    cases = []
    specs = [(6, 5, 1.0, 0, 'float64'), (4, 7, 8.0, 1e4, 'float64'), (1, 3, 2.0, 0, 'float64'),
             (9, 2, 0.5, 0, 'float64'), (8, 6, 3.0, 0, 'float32'), (5, 4, 2.0, 2e3, 'float32')]
    for k, (N, C, scale, shift, dtype) in enumerate(specs):
        r = rng(3000 + k)
        x = (scale * r.randn(N, C) + shift * r.rand(N, 1)).astype(dtype)
        y = r.randint(C, size=N)
        cases.append(('%s scores of shape %s, scale %g%s' % (
            dtype, (N, C), scale, ', rows shifted by up to %g' % shift if shift else ''), x, y))
    return cases


def _loss_part(name):
    def probe(S, layers, case, sent):
        loss, dx = S.call(name, getattr(layers, name), *sent, case[2].copy())
        return {'loss': loss, 'dx': dx}

    def judge(got, case, R=REF):
        label, x, y = case
        loss, dx = getattr(R, name)(x.astype(np.float64), y)
        check_scalar(name, 'loss', got['loss'], loss, tolerance(x.dtype.name, 1e-9, 1e-5), label)
        check_close(name, 'dx', got['dx'], dx, tolerance(x.dtype.name, TOL64, TOL32), label)
    return layer_part(name, loss_cases, lambda case: [('x', case[1])], probe, judge)


softmax_loss = _loss_part('softmax_loss')
svm_loss = _loss_part('svm_loss')


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
        r = rng(4000 + k)
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
    def probe(S, layers, case, sent):
        param = S.value(copy_arrays(case[4]))     # the student's code updates it in place
        out, _ = S.call('batchnorm_forward', layers.batchnorm_forward, *sent, param)
        stats = S.fetch(param)
        return {'out': out, 'running_mean': stats.get('running_mean'),
                'running_var': stats.get('running_var')}

    def judge(got, case, R=REF):
        label, x, gamma, beta, bn_param = case
        param = copy_arrays(bn_param, np.float64)
        out, _ = R.batchnorm_forward(*_f64(x, gamma, beta), param)
        tol = tolerance(x.dtype.name, TOL64, TOL32)
        check_close('batchnorm_forward', 'out (%s)' % what, got['out'], out, tol, label)
        check_stats(got, param, bn_param, tol, label)
    return layer_part(name, cases, lambda case: list(zip(('x', 'gamma', 'beta'), case[1:4])),
                      probe, judge, function='batchnorm_forward')


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
        r = rng(5000 + k)
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
        r = rng(6000 + k)
        x = (4 * r.randn(N, D) - 3).astype(dtype)
        cases.append(('%s x of shape %s' % (dtype, (N, D)), x,
                      (r.randn(D) + 0.3).astype(dtype), r.randn(D).astype(dtype),
                      r.randn(N, D).astype(dtype)))
    return cases


def _bn_backward_part(name):
    def probe(S, layers, case, sent):
        label, x, gamma, beta, dout = case
        _, cache = S.call('batchnorm_forward', layers.batchnorm_forward, x.copy(), gamma.copy(),
                          beta.copy(), {'mode': 'train'})
        return S.call(name, getattr(layers, name), *sent, cache)

    def judge(result, case, R=REF):
        label, x, gamma, beta, dout = case
        _, cache = R.batchnorm_forward(*_f64(x, gamma, beta), {'mode': 'train'})
        expected = getattr(R, name)(*_f64(dout), cache)
        check_gradients(name, result, expected, tolerance(x.dtype.name, TOL64, TOL32), label)
    return layer_part(name, bn_backward_cases, lambda case: [('dout', case[4])], probe, judge)


batchnorm_backward = _bn_backward_part('batchnorm_backward')
batchnorm_backward_alt = _bn_backward_part('batchnorm_backward_alt')


# ---------------------------------------------------------------------------
# layer normalization

def ln_cases():
    cases = []
    for k, (N, D, eps, dtype) in enumerate([(4, 6, None, 'float64'), (1, 5, 1e-3, 'float64'),
                                            (7, 2, None, 'float64'), (5, 8, None, 'float32')]):
        r = rng(7000 + k)
        x = (r.randn(N, D) * (r.rand(N, 1) * 5 + 0.5) + r.randn(N, 1) * 3).astype(dtype)
        ln_param = {} if eps is None else {'eps': eps}
        if k == 2:
            ln_param['mode'] = 'train'   # ignored by layer norm
        cases.append(('%s x of shape %s' % (dtype, (N, D)), x, (r.randn(D) + 1).astype(dtype),
                      r.randn(D).astype(dtype), ln_param, r.randn(N, D).astype(dtype)))
    return cases


def _layernorm_forward_probe(S, layers, case, sent):
    return S.call('layernorm_forward', layers.layernorm_forward, *sent, dict(case[4]))[0]


def _layernorm_forward_judge(got, case, R=REF):
    label, x, gamma, beta, ln_param, _ = case
    out, _ = R.layernorm_forward(*_f64(x, gamma, beta), dict(ln_param))
    check_close('layernorm_forward', 'out', got, out, tolerance(x.dtype.name, TOL64, TOL32),
                label)


layernorm_forward = layer_part('layernorm_forward', ln_cases,
                               lambda case: list(zip(('x', 'gamma', 'beta'), case[1:4])),
                               _layernorm_forward_probe, _layernorm_forward_judge)


def _layernorm_backward_probe(S, layers, case, sent):
    label, x, gamma, beta, ln_param, dout = case
    _, cache = S.call('layernorm_forward', layers.layernorm_forward, x.copy(), gamma.copy(),
                      beta.copy(), dict(ln_param))
    return S.call('layernorm_backward', layers.layernorm_backward, *sent, cache)


def _layernorm_backward_judge(result, case, R=REF):
    label, x, gamma, beta, ln_param, dout = case
    _, cache = R.layernorm_forward(*_f64(x, gamma, beta), dict(ln_param))
    check_gradients('layernorm_backward', result, R.layernorm_backward(*_f64(dout), cache),
                    tolerance(x.dtype.name, TOL64, TOL32), label)


layernorm_backward = layer_part('layernorm_backward', ln_cases,
                                lambda case: [('dout', case[5])],
                                _layernorm_backward_probe, _layernorm_backward_judge)


# ---------------------------------------------------------------------------
# dropout (p is the KEEP probability)
#
# Any correct inverted dropout passes, whatever its mask's dtype or how it
# draws it: each output is 0 or x / p, the kept fraction is p within a few
# standard deviations, a seed repeats the mask, and test mode is the identity.
# The backward pass must be the gradient of the forward pass the student's
# own code computed (out / x per entry), whatever the mask convention.

def dropout_cases():
    """(label, x, p): the keep probabilities on 150 x 200 units, and float32."""
    return once_per_draw(8000, _dropout_cases)


def _dropout_cases():
    cases = []
    for k, p in enumerate((0.25, 0.6, 0.9, 1.0)):
        x, _ = dropout_input(k)
        cases.append(('p = %s, x of shape %s' % (p, x.shape), x, p))
    return cases + [('float32 x, p = 0.5', dropout_input(9, 'float32', (40, 50))[0], 0.5)]


def dropout_input(k, dtype='float64', shape=(150, 200)):
    r = rng(8000 + k)
    x = r.randn(*shape) + 3 * np.sign(r.randn(*shape))   # |x| > ~1e-4: no zero entries
    return x.astype(dtype), r.randn(*shape).astype(dtype)


def _dropout_forward_probe(S, layers, case, sent):
    label, x, p = case
    fwd, seeds = layers.dropout_forward, {'train': 11, 'again': 11, 'other': 12, 'test': 11}
    if x.dtype == np.float32:   # no seed: numpy's global state
        seeds = {'train': None, 'test': None}
    outs = {}
    for key, seed in seeds.items():
        param = {'mode': 'test' if key == 'test' else 'train', 'p': p}
        if seed is not None:
            param['seed'] = seed
        outs[key] = S.call('dropout_forward', fwd, *sent, param)[0]
    return outs


def _check_inverted(out, x, p, label, R):
    check_array('dropout_forward', 'out', out, x.shape, label, finite=False)
    kept = np.isfinite(out) & (out != 0)
    with np.errstate(all='ignore'):   # a mistake's divisor may be 0 (then so is the result)
        scaled = np.where(kept, x, 0 * x) / R.dropout_divisor(p)
    odd = ~np.isfinite(scaled)
    if not (np.array_equal(odd, ~np.isfinite(out))
            and np.array_equal(out[odd], scaled[odd], equal_nan=True)):
        raise Fail('dropout_forward: out holds NaN or inf (%s)' % label)
    err = np.where(odd, 0, np.abs(out - scaled)) / np.abs(x / p)
    if np.max(err) > 1e-5:
        i = np.unravel_index(np.argmax(err), x.shape)
        raise Fail('dropout_forward: train-mode output %.6g where the input is %.6g: a kept '
                   'unit must be x / p = %.6g and a dropped one 0 (%s; inverted dropout '
                   'scales at train time)' % (out[i], x[i], x[i] / p, label))
    frac, keep = kept.mean(), R.dropout_keep(p)
    sigma = np.sqrt(max(keep * (1 - keep), 1e-12) / x.size)
    if abs(frac - keep) > max(6 * sigma, 1e-12):
        raise Fail('dropout_forward: kept %.4f of the units with p = %s, expected %.4f +- %.4f '
                   '(p is the probability of KEEPING a unit; %s)' % (frac, p, p, 6 * sigma,
                                                                     label))


def _dropout_forward_judge(g, case, R=REF):
    label, x, p = case
    _check_inverted(g['train'], x, p, label, R)
    if 'again' in g:
        check_array('dropout_forward', 'out', g['again'], x.shape, label, finite=False)
        if not np.array_equal(g['train'], g['again'], equal_nan=True):
            raise Fail('dropout_forward: two calls with the same seed gave different masks (%s)'
                       % label)
        if p < 1:
            check_array('dropout_forward', 'out', g['other'], x.shape, label)
            if np.array_equal(g['train'] != 0, g['other'] != 0):
                raise Fail('dropout_forward: seeds 11 and 12 gave the same mask (%s)' % label)
    expected = R.dropout_forward(x.astype(np.float64), {'mode': 'test', 'p': p})[0]
    check_close('dropout_forward', 'out (test mode must return x unchanged)', g['test'],
                expected, tolerance(x.dtype.name, 1e-12, 1e-6), label)


dropout_forward = layer_part('dropout_forward', dropout_cases, lambda case: [('x', case[1])],
                             _dropout_forward_probe, _dropout_forward_judge)


def dropout_backward_cases():
    """(label, x, dout, p) in train mode."""
    return [('train mode, p = %s' % p,) + dropout_input(20 + k, shape=(30, 40)) + (p,)
            for k, p in enumerate((0.25, 0.6, 0.9))]


def _dropout_backward_probe(S, layers, case, sent):
    label, x, dout, p = case
    out, cache = S.call('dropout_forward', layers.dropout_forward, x.copy(),
                        {'mode': 'train', 'p': p, 'seed': 5})
    return {'out': out, 'dx': S.call('dropout_backward', layers.dropout_backward, *sent, cache)}


def _dropout_backward_judge(got, case, R=REF):
    label, x, dout, p = case
    out = got['out']
    check_array('dropout_forward', 'out', out, x.shape, label)
    if not np.any(out != 0):
        raise Fail('dropout_backward: the forward pass dropped every unit (%s)' % label)
    check_close('dropout_backward', 'dx (the gradient of your forward pass)', got['dx'],
                R.dropout_gradient(dout, out, x, p), 1e-9, label)


dropout_backward = layer_part('dropout_backward', dropout_backward_cases,
                              lambda case: [('dout', case[2])], _dropout_backward_probe,
                              _dropout_backward_judge)
