"""Hidden tests of TwoLayerNet and FullyConnectedNet (cs231n/classifiers/fc_net.py).

Each net part checks the initialization (parameter names, shapes, scales,
dtype), then the loss and every gradient with L2 regularization on fixed
parameters and multi-dimensional inputs, and the test-mode scores, against
the net_loss of the references the judge is given (R, default REF). The
judge is two checks, the initialization and the rest, so that a known mistake
of one is told apart from another of the other.

The loss and scores are checked twice: with the staff's reference layers
patched into the student's modules, and with the student's own layers. The
part passes if either passes, so a bug in a layer costs that layer's part and
not the nets' parts too, and a net that depends on its own layers' cache
format still passes with them.
"""
import numpy as np

from staff.grading.api import Fail, check_close, check_scalar, part, rng

from . import once_per_draw as _once

from ..references import REF

MODES = ('reference', 'own')
LOSS_TOL, GRAD_TOL = 1e-9, 1e-6


def _params(r, dims, normalization):
    params = {}
    for i in range(1, len(dims)):
        params['W%d' % i] = r.randn(dims[i - 1], dims[i]) * (1.5 / np.sqrt(dims[i - 1]))
        params['b%d' % i] = r.randn(dims[i]) * 0.3
        if normalization and i < len(dims) - 1:
            params['gamma%d' % i] = r.rand(dims[i]) + 0.5
            params['beta%d' % i] = r.randn(dims[i]) * 0.3
    return params


def _centered(params, X, normalization=None):
    """params with the output bias shifted so that each class's scores on X
    straddle zero. At some draws every score was positive, and a ReLU on the
    scores (a classic mistake) then changed nothing the judge saw."""
    L = sum(k[0] == 'W' for k in params)
    norm_params = [{'mode': 'train', 'momentum': 0.0} for _ in range(L - 1)]
    if normalization == 'batchnorm':   # running statistics := those of X (momentum 0)
        REF.net_loss(params, X, np.zeros(len(X), dtype=int), L, 0.0, normalization, norm_params)
    scores = REF.net_loss(params, X, None, L, 0.0, normalization, norm_params)
    params['b%d' % L] = params['b%d' % L] - np.median(scores, axis=0)
    return params


def _set_params(model, params):
    for k, v in params.items():
        model.params[k] = v.copy()


def judge_init(fn, params, dims, normalization, weight_scale, dtype, R=REF):
    """Fail unless params are those of a net of layer sizes dims, as __init__
    draws them (R.net_param_shapes, R.init_moments), of dtype `dtype`."""
    expected_shapes = R.net_param_shapes(dims, normalization)
    if not isinstance(params, dict):
        raise Fail('%s: params is %r, expected a dict' % (fn, params))
    if sorted(params) != sorted(expected_shapes):
        raise Fail('%s: params has the keys %s, expected %s'
                   % (fn, sorted(params), sorted(expected_shapes)))
    for k, shape in expected_shapes.items():
        v = params[k]
        if not isinstance(v, np.ndarray) or v.shape != shape:
            raise Fail('%s: params[%r] is %s, expected shape %s' % (fn, k, getattr(v, 'shape', v),
                                                                     shape))
        if v.dtype != np.dtype(dtype):
            raise Fail('%s: params[%r] has dtype %s, expected %s' % (fn, k, v.dtype, dtype))
        want_mean, want_std = R.init_moments(k, shape[0], weight_scale)
        if want_std == 0:
            if np.any(v != (v.flat[0] if want_mean is None else want_mean)):
                raise Fail('%s: params[%r] must start at %s' % (
                    fn, k, 'one value' if want_mean is None else
                    {0: 'zero', 1: 'one'}.get(want_mean, want_mean)))
            continue
        # Six standard errors of the sample mean and std of v.size draws: a
        # correct init (drawn from the student's own np.random, anew at every
        # grading) fails about once in 10**8 matrices; fixed 15% bounds failed
        # a correct 20 x 25 matrix about once in 100 gradings.
        std, mean = float(v.std()), float(v.mean())
        n = v.size
        if not abs(std / want_std - 1) < 6 / np.sqrt(2 * n) or \
                abs(mean - want_mean) > 6 * want_std / np.sqrt(n):
            raise Fail('%s: params[%r] has mean %.3g and std %.3g, expected a Gaussian with '
                       'mean 0 and std weight_scale = %g' % (fn, k, mean, std, weight_scale))


def _emit_per_mode(S, run):
    """Keep run() once with the staff's layers answering the student's nets and
    once with the student's own; an error is that mode's result."""
    for mode in MODES:
        try:
            with S.layers(mode, record=['dropout_forward']):
                S.emit(mode, run())
        except S.Error as e:
            S.emit(mode, {'error': str(e)})


def _dropout_masks(S):
    """The masks the student's own dropout_forward drew (train mode) since the
    last call, in call order: out / x, and 0 where x is 0 (the ReLU before
    dropout zeroed it, so its mask entry changes nothing)."""
    masks = []
    for record in S.records:
        x, out = record.get('x'), record.get('out')
        if record.get('mode') == 'train' and isinstance(x, np.ndarray) \
                and isinstance(out, np.ndarray) and x.shape == out.shape:
            with np.errstate(divide='ignore', invalid='ignore'):
                masks.append(np.where(x != 0, out / np.where(x != 0, x, 1), 0.0))
    S.records.clear()
    return masks


def _judge_modes(fn, got, check):
    """Pass if the results of either layer mode pass; return a note, or raise Fail."""
    errors = {}
    for mode in MODES:
        data = got.get(mode)
        if data is None:
            errors[mode] = 'not run (the part was stopped before)'
        elif isinstance(data, dict) and set(data) == {'error'}:
            errors[mode] = data['error']
        else:
            try:
                check(data, mode)
                errors[mode] = None
            except Fail as e:
                errors[mode] = str(e)
    if errors['reference'] is None or errors['own'] is None:
        if errors['own']:
            return "%s passes with the staff's layers; with your own layers: %s" % (
                fn, errors['own'])
        return None
    message = errors['reference']
    if errors['own'] != message:
        message += ' [with your own layers: %s]' % errors['own']
    raise Fail(message)


# ---------------------------------------------------------------------------
# TwoLayerNet

TLN = dict(input_shape=(2, 3, 4), hidden=9, classes=5, N=7)


def tln_inits():
    """(TwoLayerNet kwargs, layer sizes, what) of the two initializations probed."""
    cases = []
    for kwargs in ({'input_dim': 60, 'hidden_dim': 50, 'num_classes': 40, 'weight_scale': 0.03},
                   {'input_dim': 30, 'hidden_dim': 70, 'num_classes': 50, 'weight_scale': 0.2,
                    'dtype': np.float32}):
        dims = [kwargs['input_dim'], kwargs['hidden_dim'], kwargs['num_classes']]
        what = 'TwoLayerNet.__init__' + (' with dtype=np.float32' if 'dtype' in kwargs else '')
        cases.append((kwargs, dims, what))
    return cases


def tln_cases():
    return _once(9100, _tln_cases)


def _tln_cases():
    r = rng(9100)
    D = int(np.prod(TLN['input_shape']))
    params = _params(r, [D, TLN['hidden'], TLN['classes']], None)
    X = r.randn(TLN['N'], *TLN['input_shape'])
    y = r.randint(TLN['classes'], size=TLN['N'])
    return _centered(params, X), X, y, (0.0, 0.7)


two_layer_net = part('two_layer_net', functions=['TwoLayerNet.__init__', 'TwoLayerNet.loss'],
                     partial=True, group='nets')


@two_layer_net.probe
def _(S):
    fc_net = S.module('cs231n.classifiers.fc_net')
    inits = []
    for kwargs, _, _ in tln_inits():
        model = S.call('TwoLayerNet.__init__', fc_net.TwoLayerNet, **kwargs)
        inits.append(S.fetch(model.params))
    S.emit('init', inits)
    params, X, y, regs = tln_cases()
    D = int(np.prod(TLN['input_shape']))
    def run():
        results = []
        for reg in regs:
            model = S.call('TwoLayerNet.__init__', fc_net.TwoLayerNet, input_dim=D,
                           hidden_dim=TLN['hidden'], num_classes=TLN['classes'],
                           weight_scale=1e-2, reg=reg)
            _set_params(model, params)
            scores = S.call('TwoLayerNet.loss', model.loss, X.copy())
            loss, grads = S.call('TwoLayerNet.loss', model.loss, X.copy(), y.copy())
            results.append({'scores': scores, 'loss': loss, 'grads': S.fetch(grads)})
        return results
    _emit_per_mode(S, run)


@two_layer_net.judge
def _(got, R=REF):
    fn = 'TwoLayerNet'
    if 'init' not in got:
        raise Fail('%s: not run' % fn)
    if not isinstance(got['init'], list) or len(got['init']) != len(tln_inits()):
        raise Fail('%s.__init__: not run' % fn)
    for params, (kwargs, dims, what) in zip(got['init'], tln_inits()):
        judge_init(what, params, dims, None, kwargs['weight_scale'],
                   np.dtype(kwargs.get('dtype', np.float64)).name, R)


@two_layer_net.judge
def _(got, R=REF):
    params, X, y, regs = tln_cases()
    expected = {}   # the same in both layer modes: computed once, when first needed

    def check(results, mode):
        for reg, res in zip(regs, results):
            where = 'reg = %s, X of shape %s' % (reg, X.shape)
            if ('scores', reg) not in expected:
                expected['scores', reg] = R.net_loss(params, X, None, 2, reg)
            check_close('TwoLayerNet.loss', 'scores (y=None)', res['scores'],
                        expected['scores', reg], GRAD_TOL, where)
            if ('loss', reg) not in expected:
                expected['loss', reg] = R.net_loss(params, X, y, 2, reg)
            loss, grads = expected['loss', reg]
            check_scalar('TwoLayerNet.loss', 'loss', res['loss'], loss, LOSS_TOL, where)
            _check_grads('TwoLayerNet.loss', res['grads'], grads, where)
    return _judge_modes('TwoLayerNet', got, check)


def _check_grads(fn, got, expected, where):
    if not isinstance(got, dict) or sorted(got) != sorted(expected):
        raise Fail('%s: grads has the keys %s, expected %s'
                   % (fn, sorted(got) if isinstance(got, dict) else got, sorted(expected)))
    scale = max(float(np.max(np.abs(g))) for g in expected.values())
    for k in sorted(expected):
        check_close(fn, 'grads[%r]' % k, got[k], expected[k], GRAD_TOL, where, scale=scale)


# ---------------------------------------------------------------------------
# FullyConnectedNet

FCN = dict(input_shape=(2, 3), hidden=[7, 4, 6], classes=4, N=6, reg=0.3)


FCN_INIT = dict(hidden_dims=[30, 20], input_dim=40, num_classes=25, weight_scale=0.05)


def fcn_cases(seed):
    r = rng(seed)
    D = int(np.prod(FCN['input_shape']))
    dims = [D] + FCN['hidden'] + [FCN['classes']]
    batches = [(r.randn(FCN['N'], *FCN['input_shape']) * 2 + 0.5,
                r.randint(FCN['classes'], size=FCN['N'])) for _ in range(3)]
    return dims, r, batches


def _fcn_part(name, normalization, keep, seed):
    functions = ['FullyConnectedNet.__init__', 'FullyConnectedNet.loss']
    p = part(name, functions=functions, partial=True, group='nets')
    kwargs = {'normalization': normalization}
    if keep is not None:
        kwargs.update(dropout_keep_ratio=keep, seed=123)

    def make():
        dims, r, batches = fcn_cases(seed)
        X = np.concatenate([X for X, _ in batches])
        return dims, _centered(_params(r, dims, normalization), X, normalization), batches

    def inputs():
        return _once(seed, make)

    @p.probe
    def _(S):
        fc_net = S.module('cs231n.classifiers.fc_net')
        init = dict(FCN_INIT)
        model = S.call('FullyConnectedNet.__init__', fc_net.FullyConnectedNet,
                       init.pop('hidden_dims'), dtype=np.float64, **init, **kwargs)
        S.emit('init', model.params)
        dims, params, batches = inputs()
        def run():
            model = S.call('FullyConnectedNet.__init__', fc_net.FullyConnectedNet,
                           FCN['hidden'], input_dim=dims[0], num_classes=dims[-1],
                           reg=FCN['reg'], weight_scale=1e-2, dtype=np.float64, **kwargs)
            _set_params(model, params)
            results = {}
            for k, (X, y) in enumerate(batches[:2]):
                loss, grads = S.call('FullyConnectedNet.loss', model.loss, X.copy(), y.copy())
                results['train%d' % k] = {'loss': loss, 'grads': S.fetch(grads),
                                          'dropout_masks': _dropout_masks(S)}
            results['test'] = S.call('FullyConnectedNet.loss', model.loss, batches[2][0].copy())
            if normalization is None and keep is None:
                model32 = S.call('FullyConnectedNet.__init__', fc_net.FullyConnectedNet,
                                 FCN['hidden'], input_dim=dims[0], num_classes=dims[-1],
                                 reg=FCN['reg'])
                _set_params(model32, {k: v.astype(np.float32) for k, v in params.items()})
                loss, grads = S.call('FullyConnectedNet.loss', model32.loss,
                                     batches[0][0].astype(np.float32), batches[0][1])
                results['float32'] = {'loss': loss, 'grads': S.fetch(grads)}
            return results
        _emit_per_mode(S, run)

    what = 'FullyConnectedNet' + (' with %s' % normalization if normalization else '') + \
        (' with dropout (keep %s)' % keep if keep is not None else '')

    @p.judge
    def _(got, R=REF):
        if 'init' not in got:
            raise Fail('%s: not run' % what)
        dims = [FCN_INIT['input_dim']] + FCN_INIT['hidden_dims'] + [FCN_INIT['num_classes']]
        judge_init(what + ': __init__', got['init'], dims, normalization,
                   FCN_INIT['weight_scale'], 'float64', R)

    @p.judge
    def _(got, R=REF):
        dims, params, batches = inputs()
        L = len(dims) - 1
        dropout = (keep, 123) if keep is not None else None

        # The expected results of the steps, in order (batchnorm's running statistics
        # carry over), computed when first needed: once for both layer modes, but
        # with the student's own dropout masks in 'own' mode.
        replays = {}

        def check(results, mode):
            replay = replays.setdefault(mode if dropout is not None else 'both', {
                'norm_params': [{'mode': 'train'} if normalization == 'batchnorm' else {}
                                for _ in range(L - 1)]})
            norm_params = replay['norm_params']
            for k, (X, y) in enumerate(batches[:2]):
                where = '%s; training step %d, reg = %s' % (what, k + 1, FCN['reg'])
                res = results['train%d' % k]
                step_dropout = dropout
                if dropout is not None and mode == 'own':
                    # The student's own dropout may draw any valid mask: the net
                    # is judged with the masks it drew.
                    masks = res.get('dropout_masks') or []
                    if [m.shape for m in masks] != [(len(X), d) for d in dims[1:-1]]:
                        raise Fail('FullyConnectedNet.loss: with your own layers, dropout_forward '
                                   'ran on %s in train mode, expected once per hidden layer on '
                                   '%s (%s)' % ([m.shape for m in masks],
                                                [(len(X), d) for d in dims[1:-1]], where))
                    # Any mask is valid, but its kept units carry the net's keep ratio.
                    scales = np.unique(np.round(np.concatenate(
                        [m[m != 0] for m in masks] + [np.empty(0)]), 6))
                    if not np.allclose(scales, 1 / keep, rtol=1e-6, atol=0):
                        raise Fail('FullyConnectedNet.loss: with your own layers, dropout_forward '
                                   'scaled the kept units by %s, expected 1/p = %.4g for '
                                   'dropout_keep_ratio=%s: pass the keep ratio to dropout as p, '
                                   'unchanged (%s)' % (scales[:3].tolist(), 1 / keep, keep, where))
                    step_dropout = (keep, masks)
                if k not in replay:
                    replay[k] = R.net_loss(params, X, y, L, FCN['reg'], normalization,
                                           norm_params, step_dropout)
                loss, grads = replay[k]
                check_scalar('FullyConnectedNet.loss', 'loss', res['loss'], loss, LOSS_TOL, where)
                _check_grads('FullyConnectedNet.loss', res['grads'], grads, where)
            if 'test' not in replay:
                replay['test'] = R.net_loss(params, batches[2][0], None, L, FCN['reg'],
                                            normalization, norm_params, dropout)
            check_close('FullyConnectedNet.loss', 'scores (test mode, y=None)', results['test'],
                        replay['test'], GRAD_TOL, what + ', after two training steps')
            if 'float32' in results:
                X, y = batches[0]
                p32 = {k: v.astype(np.float32) for k, v in params.items()}
                loss, grads = R.net_loss(p32, X.astype(np.float32), y, L, FCN['reg'])
                res = results['float32']
                check_scalar('FullyConnectedNet.loss', 'loss', res['loss'], loss, 1e-5,
                             'float32 net')
                scale = max(float(np.max(np.abs(g))) for g in grads.values())
                for k in sorted(grads):
                    check_close('FullyConnectedNet.loss', 'grads[%r]' % k, res['grads'].get(k),
                                grads[k], 2e-3, 'float32 net', scale=scale)
        return _judge_modes(what, got, check)
    return p


fc_net = _fcn_part('fc_net', None, None, 9200)
fc_net_batchnorm = _fcn_part('fc_net_batchnorm', 'batchnorm', None, 9300)
fc_net_layernorm = _fcn_part('fc_net_layernorm', 'layernorm', None, 9400)
fc_net_dropout = _fcn_part('fc_net_dropout', None, 0.6, 9500)
