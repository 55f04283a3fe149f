"""Bad input and faults: every class of the robustness issue, one test or more each.

Bad input must fail with a ValueError or TypeError whose message names the
function and the argument (so a numpy broadcasting error, which names
neither, does not pass). Faults (interrupts, SIGTERM, broken checkpoints)
must leave an exact, documented state.
"""
import os
import re
import pickle
import signal

import numpy as np
import pytest

from cs231n import checkpoint, optim
from cs231n._files import Terminated, atomic_write
from cs231n.classifiers.fc_net import FullyConnectedNet
from cs231n.layers import (affine_backward, affine_forward, batchnorm_backward,
                           batchnorm_backward_alt, batchnorm_forward, dropout_backward,
                           dropout_forward, layernorm_backward, layernorm_forward,
                           relu_backward, relu_forward, softmax_loss, svm_loss)
from cs231n.solver import Solver


def small_net(seed=0, **kwargs):
    np.random.seed(seed)
    kwargs.setdefault('dtype', np.float64)
    return FullyConnectedNet([7, 5], input_dim=6, num_classes=3, weight_scale=0.1, **kwargs)


def small_data(rng, num_train=40, num_val=12):
    return {'X_train': rng.randn(num_train, 6), 'y_train': rng.randint(3, size=num_train),
            'X_val': rng.randn(num_val, 6), 'y_val': rng.randint(3, size=num_val)}


def params_equal(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


# ---------------------------------------------------------------------------
# Backward passes check dout against the forward pass
# ---------------------------------------------------------------------------

def _forward_backward_cases(rng):
    x = rng.randn(3, 4)
    gamma, beta = rng.randn(4), rng.randn(4)
    yield 'affine_backward', affine_backward, affine_forward(x, rng.randn(4, 2), rng.randn(2))[1], (3, 2)
    yield 'relu_backward', relu_backward, relu_forward(x)[1], (3, 4)
    for name, backward in (('batchnorm_backward', batchnorm_backward),
                           ('batchnorm_backward_alt', batchnorm_backward_alt)):
        yield name, backward, batchnorm_forward(x, gamma, beta, {'mode': 'train'})[1], (3, 4)
    yield 'layernorm_backward', layernorm_backward, layernorm_forward(x, gamma, beta, {})[1], (3, 4)
    yield ('dropout_backward', dropout_backward,
           dropout_forward(x, {'mode': 'train', 'p': 0.5, 'seed': 1})[1], (3, 4))


@pytest.mark.parametrize('bad', ['broadcasts', 'transposed', 'wider', '1-d'])
def test_backward_checks_dout_shape(bad, rng):
    for name, backward, cache, shape in _forward_backward_cases(rng):
        dout = {'broadcasts': np.ones(shape[1:]), 'transposed': np.ones(shape[::-1]),
                'wider': np.ones((shape[0], shape[1] + 1)), '1-d': np.ones(shape[0])}[bad]
        with pytest.raises(ValueError, match=r'%s: dout (has shape|must be)' % name):
            backward(dout, cache)


def test_backward_rejects_integer_dout(rng):
    for name, backward, cache, shape in _forward_backward_cases(rng):
        with pytest.raises(TypeError, match=r'%s: dout must hold floats' % name):
            backward(np.ones(shape, dtype=int), cache)


def test_relu_backward_broadcasting_example_from_the_issue():
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    with pytest.raises(ValueError, match=r'relu_backward: dout has shape \(4,\), expected \(3, 4\)'):
        relu_backward(np.ones(4), relu_forward(x)[1])


def test_backward_of_a_test_mode_cache_names_the_mode(rng):
    x = rng.randn(3, 4)
    bn_param = {'mode': 'test'}
    out, cache = batchnorm_forward(x, np.ones(4), np.zeros(4), bn_param)
    with pytest.raises(ValueError, match=r'batchnorm_backward_alt: the cache is None.*"train"'):
        batchnorm_backward_alt(np.ones_like(out), cache)


# ---------------------------------------------------------------------------
# Empty batches
# ---------------------------------------------------------------------------

def test_batchnorm_train_on_an_empty_batch_leaves_the_running_stats(rng):
    bn_param = {'mode': 'train'}
    x = rng.randn(5, 4)
    batchnorm_forward(x, np.ones(4), np.zeros(4), bn_param)
    before = {k: bn_param[k].copy() for k in ('running_mean', 'running_var')}
    with pytest.raises(ValueError, match=r'batchnorm_forward: x has no rows'):
        batchnorm_forward(np.zeros((0, 4)), np.ones(4), np.zeros(4), bn_param)
    for k, v in before.items():
        assert np.array_equal(bn_param[k], v), k
    bn_param['mode'] = 'test'
    out, _ = batchnorm_forward(x, np.ones(4), np.zeros(4), bn_param)
    assert np.all(np.isfinite(out))
    # test mode has no batch statistics, so an empty batch is fine there
    assert batchnorm_forward(np.zeros((0, 4)), np.ones(4), np.zeros(4), bn_param)[0].shape == (0, 4)


@pytest.mark.parametrize('loss_fn', [softmax_loss, svm_loss])
def test_losses_refuse_an_empty_batch(loss_fn):
    with pytest.raises(ValueError, match=r'%s: x has no rows' % loss_fn.__name__):
        loss_fn(np.zeros((0, 10)), np.zeros(0, dtype=int))


def test_affine_forward_refuses_an_empty_batch_and_names_the_width():
    with pytest.raises(ValueError, match=r'affine_forward: x has no rows \(shape \(0, 2, 3\)\)'):
        affine_forward(np.zeros((0, 2, 3)), np.ones((6, 4)), np.zeros(4))
    with pytest.raises(ValueError, match=r'affine_forward: x has shape \(2, 5\), expected .* = 6 '
                                         r'values per example \(the rows of w\)'):
        affine_forward(np.zeros((2, 5)), np.ones((6, 4)), np.zeros(4))
    with pytest.raises(ValueError, match=r'FullyConnectedNet.loss: x has no rows|affine_forward'):
        small_net().loss(np.zeros((0, 6)))


def test_layernorm_refuses_zero_features():
    with pytest.raises(ValueError, match=r'layernorm_forward: x has shape \(3, 0\)'):
        layernorm_forward(np.zeros((3, 0)), np.ones(0), np.zeros(0), {})


# ---------------------------------------------------------------------------
# Normalization parameters
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('key', ['running_mean', 'running_var'])
@pytest.mark.parametrize('shape', [(3,), (2, 4), (5,), (4, 1), (4, 4)])
def test_running_stats_of_the_wrong_shape(key, shape, rng):
    for mode in ('train', 'test'):
        bn_param = {'mode': mode, key: np.zeros(shape)}
        with pytest.raises(ValueError, match=r'batchnorm_forward: bn_param\["%s"\] has shape' % key):
            batchnorm_forward(rng.randn(6, 4), np.ones(4), np.zeros(4), bn_param)


@pytest.mark.parametrize('key', ['running_mean', 'running_var'])
@pytest.mark.parametrize('shape', [(1, 4)])
def test_running_stats_kept_as_a_row(key, shape, rng):
    """Running statistics of shape (1, D), as a student's own code may keep
    them, hold D values: they work, and come back as (D,)."""
    x = rng.randn(6, 4) + 3
    for mode in ('train', 'test'):
        bn_param = {'mode': mode, key: np.ones(shape)}
        reference = {'mode': mode, key: np.ones(4)}
        out, _ = batchnorm_forward(x, np.ones(4), np.zeros(4), bn_param)
        want, _ = batchnorm_forward(x, np.ones(4), np.zeros(4), reference)
        assert np.allclose(out, want, rtol=1e-12, atol=1e-12)
        assert bn_param[key].shape == (4,)
        assert np.allclose(bn_param[key], reference[key], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('key,value', [('eps', 0), ('eps', -1e-5), ('eps', 'small'),
                                       ('momentum', 1.5), ('momentum', float('nan'))])
def test_batchnorm_constants_out_of_range(key, value, rng):
    with pytest.raises(ValueError, match=r'batchnorm_forward: bn_param\["%s"\] must be' % key):
        batchnorm_forward(rng.randn(6, 4), np.ones(4), np.zeros(4), {'mode': 'train', key: value})


# ---------------------------------------------------------------------------
# Direct calls to the update rules
# ---------------------------------------------------------------------------

RULES = ['sgd', 'sgd_momentum', 'rmsprop', 'adam']


@pytest.mark.parametrize('rule', RULES)
def test_update_rules_refuse_integer_arrays(rule):
    update = getattr(optim, rule)
    with pytest.raises(TypeError, match=r'%s: w must hold floats' % rule):
        update(np.arange(6).reshape(2, 3), np.ones((2, 3)))
    with pytest.raises(TypeError, match=r'%s: dw must hold floats' % rule):
        update(np.ones((2, 3)), np.arange(6).reshape(2, 3))


@pytest.mark.parametrize('rule', RULES)
@pytest.mark.parametrize('lr', ['0.01', -1e-3, float('nan'), float('inf'), None, True])
def test_update_rules_refuse_bad_learning_rates(rule, lr):
    w = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"%s: config\['learning_rate'\] must be a number in "
                                         r"\[0, inf\)" % rule):
        getattr(optim, rule)(w, np.ones((2, 3)), {'learning_rate': lr})
    assert np.array_equal(w, np.ones((2, 3))), 'w changed although the call was refused'


@pytest.mark.parametrize('rule,key,value', [
    ('sgd_momentum', 'momentum', 1.0), ('sgd_momentum', 'momentum', -0.1),
    ('rmsprop', 'decay_rate', 1.2), ('rmsprop', 'epsilon', 0.0),
    ('adam', 'beta1', 1.0), ('adam', 'beta2', -0.5), ('adam', 'epsilon', -1e-8)])
def test_update_rules_refuse_hyperparameters_out_of_range(rule, key, value):
    with pytest.raises(ValueError, match=r"%s: config\['%s'\] must be a number in" % (rule, key)):
        getattr(optim, rule)(np.ones(3), np.ones(3), {'learning_rate': 1e-2, key: value})


@pytest.mark.parametrize('rule,key', [('sgd_momentum', 'velocity'), ('rmsprop', 'cache'),
                                      ('adam', 'm'), ('adam', 'v')])
@pytest.mark.parametrize('shape', [(3,), (3, 2), (2, 3, 1)])
def test_update_rules_refuse_state_of_the_wrong_shape(rule, key, shape):
    with pytest.raises(ValueError, match=r"%s: config\['%s'\] has shape" % (rule, key)):
        getattr(optim, rule)(np.ones((2, 3)), np.ones((2, 3)), {key: np.zeros(shape)})


@pytest.mark.parametrize('t', [-1, 1.5, 'one'])
def test_adam_refuses_a_bad_step_count(t):
    with pytest.raises(ValueError, match=r"adam: config\['t'\] must be an integer"):
        optim.adam(np.ones(3), np.ones(3), {'t': t})


@pytest.mark.parametrize('rule', RULES)
def test_update_rules_refuse_unknown_keys_and_non_dicts(rule):
    with pytest.raises(ValueError, match=r"%s: config has the key\(s\) 'lr'" % rule):
        getattr(optim, rule)(np.ones(3), np.ones(3), {'lr': 0.1})
    with pytest.raises(TypeError, match=r'%s: config must be a dict' % rule):
        getattr(optim, rule)(np.ones(3), np.ones(3), [('learning_rate', 0.1)])


# ---------------------------------------------------------------------------
# Accuracy
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('bad,error,message', [
    (lambda y: y[:, None], ValueError, r'y has shape \(12, 1\), expected \(12,\)'),
    (lambda y: y[:-1], ValueError, r'y has shape \(11,\), expected \(12,\)'),
    (lambda y: y.astype(float), TypeError, r'y must hold integer class labels'),
])
def test_check_accuracy_checks_the_labels(bad, error, message, rng):
    data = small_data(rng)
    solver = Solver(small_net(), data, verbose=False)
    with pytest.raises(error, match=r'Solver.check_accuracy: ' + message):
        solver.check_accuracy(data['X_val'], bad(data['y_val']))


@pytest.mark.parametrize('kwargs', [{'num_samples': 0}, {'batch_size': 0},
                                    {'num_samples': 2.5}])
def test_check_accuracy_checks_its_numbers(kwargs, rng):
    data = small_data(rng)
    solver = Solver(small_net(), data, verbose=False)
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=r'Solver.check_accuracy: %s must be an integer' % name):
        solver.check_accuracy(data['X_val'], data['y_val'], **kwargs)


# ---------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------

def _run(data, name, seed=0, num_epochs=3, update_rule='adam', **kwargs):
    model = small_net(seed=seed, normalization='batchnorm', dropout_keep_ratio=0.7)
    return Solver(model, data, update_rule=update_rule, optim_config={'learning_rate': 1e-2},
                  num_epochs=num_epochs, batch_size=10, num_train_samples=15,
                  checkpoint_name=name, verbose=False, **kwargs)


@pytest.mark.parametrize('schedule', [{'lr_decay': 0.9}, {'lr_schedule': 'cosine'}])
def test_resume_is_exact_from_every_checkpoint(schedule, tmp_path, rng):
    """The first checkpoint (epoch 0) is written after one update; resuming
    from it, or from any later one, must give the uninterrupted run."""
    data = small_data(rng)
    full = _run(data, str(tmp_path / 'full'), **schedule)
    full.train()
    assert len(full.loss_history) == 12
    for epoch in range(4):
        np.random.seed(999)
        resumed = _run(data, None, seed=5, **schedule)
        resumed.load_checkpoint(str(tmp_path / ('full_epoch_%d.pkl' % epoch)))
        done = len(resumed.loss_history)
        assert done == max(4 * epoch, 1), 'checkpoint %d records %d updates' % (epoch, done)
        resumed.train()
        assert resumed.loss_history == full.loss_history, 'epoch %d: loss history' % epoch
        assert resumed.val_acc_history == full.val_acc_history, 'epoch %d: accuracies' % epoch
        assert params_equal(resumed.model.params, full.model.params), 'epoch %d: params' % epoch
        assert all(resumed.optim_configs[k]['t'] == 12 for k in resumed.optim_configs)


@pytest.mark.parametrize('content', [b'', b'garbage, not a pickle', 'truncated', 'not-a-dict'])
def test_broken_checkpoint_names_the_file(content, tmp_path, rng):
    data = small_data(rng)
    good = tmp_path / 'run'
    _run(data, str(good), num_epochs=1).train()
    path = tmp_path / 'broken.pkl'
    if content == 'truncated':
        content = (tmp_path / 'run_epoch_1.pkl').read_bytes()[:500]
    elif content == 'not-a-dict':
        content = pickle.dumps([1, 2, 3])
    path.write_bytes(content)
    solver = _run(data, None)
    before = {k: v.copy() for k, v in solver.model.params.items()}
    with pytest.raises(ValueError, match=r'%s: not a (readable checkpoint|Solver checkpoint)'
                                         % str(path).replace('\\', '\\\\')):
        solver.load_checkpoint(str(path))
    assert params_equal(solver.model.params, before), 'a refused checkpoint changed the model'


def test_missing_checkpoint_is_a_file_not_found_error(tmp_path, rng):
    solver = _run(small_data(rng), None)
    with pytest.raises(FileNotFoundError):
        solver.load_checkpoint(str(tmp_path / 'nothing_epoch_3.pkl'))


@pytest.mark.parametrize('other,message', [
    (dict(hidden=[7, 6]), r'W2 is float64 \(7, 5\), the model has float64 \(7, 6\)'),
    (dict(dtype=np.float32), r'W1 is float64 \(6, 7\), the model has float32 \(6, 7\)'),
    (dict(hidden=[7]), r'the parameters are .*, the model has'),
    (dict(update_rule='sgd'), r"update_rule 'adam', the Solver has 'sgd'"),
])
def test_checkpoint_that_does_not_fit_is_refused(other, message, tmp_path, rng):
    data = small_data(rng)
    _run(data, str(tmp_path / 'run'), num_epochs=1).train()
    np.random.seed(0)
    model = FullyConnectedNet(other.get('hidden', [7, 5]), input_dim=6, num_classes=3,
                              normalization='batchnorm', dropout_keep_ratio=0.7,
                              dtype=other.get('dtype', np.float64))
    solver = Solver(model, data, update_rule=other.get('update_rule', 'adam'),
                    optim_config={'learning_rate': 1e-2}, batch_size=10, verbose=False)
    before = {k: v.copy() for k, v in model.params.items()}
    path = str(tmp_path / 'run_epoch_1.pkl')
    with pytest.raises(ValueError, match=r'run_epoch_1.pkl does not fit this Solver: .*' + message):
        solver.load_checkpoint(path)
    assert params_equal(model.params, before)
    assert model.params['W1'].dtype == np.dtype(other.get('dtype', np.float64))


def test_a_lambda_update_rule_can_be_checkpointed(tmp_path, rng):
    data = small_data(rng)

    def make():
        return Solver(small_net(), data, update_rule=lambda w, dw, config: (w - 0.1 * dw, config),
                      num_epochs=2, batch_size=10, checkpoint_name=str(tmp_path / 'run'),
                      verbose=False)
    full = make()
    full.train()
    saved = checkpoint.load(str(tmp_path / 'run_epoch_1.pkl'))
    assert saved['update_rule'] == '<lambda>'
    resumed = make()
    resumed.load_checkpoint(str(tmp_path / 'run_epoch_1.pkl'))
    resumed.train()
    assert resumed.loss_history == full.loss_history


# ---------------------------------------------------------------------------
# Interrupts
# ---------------------------------------------------------------------------

class _InterruptAt:
    """An update rule (Adam) that raises `exc` when asked for its n-th update."""

    def __init__(self, n, exc=KeyboardInterrupt):
        self.n, self.exc, self.calls = n, exc, 0
        self.__name__ = 'adam'

    def __call__(self, w, dw, config):
        self.calls += 1
        if self.calls == self.n:
            if self.exc == 'SIGTERM':
                os.kill(os.getpid(), signal.SIGTERM)
            else:
                raise self.exc()
        return optim.adam(w, dw, config)


@pytest.mark.parametrize('exc', [KeyboardInterrupt, 'SIGTERM'])
def test_interrupt_in_the_first_step_leaves_the_initial_model(exc, rng):
    data = small_data(rng)
    model = small_net(normalization='batchnorm')
    initial = {k: v.copy() for k, v in model.params.items()}
    rule = _InterruptAt(3, exc)    # the third of the first step's parameters
    solver = Solver(model, data, update_rule=rule, batch_size=10, verbose=False)
    with pytest.raises(Terminated if exc == 'SIGTERM' else KeyboardInterrupt):
        solver.train()
    assert params_equal(model.params, initial), 'the model is half-updated'
    assert solver.loss_history == [], 'an unfinished step was recorded'
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, 'the SIGTERM handler stayed'


@pytest.mark.parametrize('exc', [KeyboardInterrupt, 'SIGTERM'])
def test_interrupt_later_leaves_the_best_model_so_far(exc, rng):
    data = small_data(rng)
    model = small_net(normalization='batchnorm')
    num_params = len(model.params)
    rule = _InterruptAt(num_params * 9 + 2, exc)    # inside the tenth step (epoch 3)
    solver = Solver(model, data, update_rule=rule, batch_size=10, num_epochs=5, verbose=False)
    with pytest.raises(KeyboardInterrupt):
        solver.train()
    assert len(solver.loss_history) == 9
    assert params_equal(model.params, solver.best_params)
    for bn_param, stats in zip(model.bn_params, solver.best_bn_stats):
        assert np.array_equal(bn_param['running_mean'], stats['running_mean'])


def test_sigterm_during_a_checkpoint_write_leaves_no_file(tmp_path, monkeypatch):
    target = tmp_path / 'run_epoch_3.pkl'
    target.write_bytes(b'the previous checkpoint')

    def killed_dump(obj, f, *args, **kwargs):
        f.write(b'half of it')
        os.kill(os.getpid(), signal.SIGTERM)
        f.write(b'never written')

    monkeypatch.setattr(pickle, 'dump', killed_dump)
    with pytest.raises(Terminated):
        with atomic_write(str(target)) as f:
            pickle.dump({'a': 1}, f)
    assert target.read_bytes() == b'the previous checkpoint'
    assert sorted(os.listdir(tmp_path)) == ['run_epoch_3.pkl']
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


class _InfLossModel:
    """A model whose loss is inf (a probability that underflowed) with finite
    gradients, or with NaN gradients from the third call on."""

    def __init__(self, nan_grads=False):
        self.params = {'W': np.zeros(3)}
        self.nan_grads, self.calls = nan_grads, 0

    def loss(self, X, y=None):
        if y is None:
            return np.zeros((len(X), 2))
        self.calls += 1
        grad = np.full(3, np.nan if self.nan_grads and self.calls >= 3 else 1.0)
        return float('inf'), {'W': grad}


def test_infinite_loss_with_finite_gradients_trains_on(rng):
    data = {'X_train': rng.randn(20, 6), 'y_train': rng.randint(2, size=20),
            'X_val': rng.randn(4, 6), 'y_val': rng.randint(2, size=4)}
    solver = Solver(_InfLossModel(), data, num_epochs=2, batch_size=10, verbose=False,
                    optim_config={'learning_rate': 0.5})
    solver.train()
    assert solver.loss_history == [float('inf')] * 4
    solver = Solver(_InfLossModel(nan_grads=True), data, num_epochs=2, batch_size=10,
                    verbose=False)
    with pytest.raises(FloatingPointError, match=r'iteration 3 \(epoch 1\): the loss is inf'):
        solver.train()


# ---------------------------------------------------------------------------
# Smaller
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('keep', [1, 1.0, 0.5])
def test_dropout_and_dropout_keep_ratio_together_is_an_error(keep):
    with pytest.raises(ValueError, match=r'got dropout=0.5 and dropout_keep_ratio=%r' % keep):
        FullyConnectedNet([4], input_dim=6, num_classes=3, dropout=0.5, dropout_keep_ratio=keep)


def test_dropout_alone_still_works():
    net = FullyConnectedNet([4], input_dim=6, num_classes=3, dropout=0.5)
    assert net.use_dropout and net.dropout_param['p'] == 0.5
    assert not FullyConnectedNet([4], input_dim=6, num_classes=3).use_dropout


# ---------------------------------------------------------------------------
# Given code around a student's own layers: the transposed batchnorm of layernorm
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('forward', [batchnorm_forward, layernorm_forward])
@pytest.mark.parametrize('name', ['gamma', 'beta'])
@pytest.mark.parametrize('shape', [(3,), (5,), (2, 4), (6, 2)])
def test_scale_and_shift_of_the_wrong_shape(forward, name, shape, rng):
    args = {'gamma': np.ones(4), 'beta': np.zeros(4)}
    args[name] = np.ones(shape)
    with pytest.raises(ValueError, match=r'%s: %s has shape %s, expected \(4,\)'
                       % (forward.__name__, name, re.escape(str(shape)))):
        forward(rng.randn(6, 4), args['gamma'], args['beta'], {'mode': 'train'})


@pytest.mark.parametrize('N, D', [(6, 4), (4, 4), (1, 5), (7, 1)])
@pytest.mark.parametrize('backward', [batchnorm_backward, batchnorm_backward_alt])
def test_batchnorm_on_the_transposed_problem_is_layernorm(N, D, backward, rng):
    """The TODO's hint for layernorm: batchnorm of x.T, with gamma and beta
    reshaped to (D, 1) so that they scale and shift the rows of x.T (the
    features of x). The given checks accept it, as the official starter
    does, and the results are those of layernorm."""
    x = rng.randn(N, D) * 3 + 1
    gamma, beta, dout = rng.randn(D), rng.randn(D), rng.randn(N, D)
    x_t = x.T
    out_t, cache = batchnorm_forward(x_t, gamma.reshape(D, 1), beta.reshape(D, 1),
                                     {'mode': 'train'})
    want, ln_cache = layernorm_forward(x, gamma, beta, {})
    assert out_t.shape == (D, N)
    assert np.allclose(out_t.T, want, rtol=1e-10, atol=1e-10)
    dout_t = dout.T
    dx_t, dgamma, dbeta = backward(dout_t, cache)
    dx, ln_dgamma, ln_dbeta = layernorm_backward(dout, ln_cache)
    assert np.allclose(dx_t.T, dx, rtol=1e-8, atol=1e-10)
    # The model answer sums over the batch axis of the transposed problem:
    # (N,), the documented shape of its dgamma, which a layernorm built on it
    # replaces by its own sum over the rows.
    assert dgamma.shape == (N,) and dbeta.shape == (N,)


def test_gradients_shaped_like_a_broadcast_gamma_pass(rng):
    """A student's batchnorm code that sums dgamma over the axis its gamma
    broadcast along gives it gamma's shape (D, 1): accepted as it is; one
    that keeps dims of a (D,) gamma gives (1, D): reshaped to (D,)."""
    from cs231n._checks import check_param_grad
    dout = rng.randn(5, 3)
    col = rng.randn(5, 1)
    assert check_param_grad('f', 'dgamma', col, 3, (5, 1), dout, np.float64) is col
    row = rng.randn(1, 3)
    assert check_param_grad('f', 'dgamma', row, 3, (3,), dout, np.float64).shape == (3,)
    with pytest.raises(ValueError, match=r'f: dgamma is an array of shape \(5, 1\) and dtype '
                                         r'float64, expected an array of shape \(3,\)'):
        check_param_grad('f', 'dgamma', col, 3, (3,), dout, np.float64)
    with pytest.raises(ValueError, match=r'f: dgamma is an array of shape \(4,\)'):
        check_param_grad('f', 'dgamma', rng.randn(4), 3, None, dout, np.float64)
