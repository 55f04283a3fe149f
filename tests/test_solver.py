"""Tests of cs231n/solver.py, on small random data the tests make."""
import math
import os
import pickle

import numpy as np
import pytest

from cs231n import optim
from cs231n.classifiers.fc_net import FullyConnectedNet
from cs231n.augmentation import random_flip
from cs231n.solver import Solver

OFFICIAL_CHECKPOINT_KEYS = {'model', 'update_rule', 'lr_decay', 'optim_config', 'batch_size',
                            'num_train_samples', 'num_val_samples', 'epoch', 'loss_history',
                            'train_acc_history', 'val_acc_history'}


def make_data(rng, num_train=40, num_val=10, shape=(3, 2, 2), num_classes=3):
    return {
        'X_train': rng.randn(num_train, *shape),
        'y_train': rng.randint(num_classes, size=num_train),
        'X_val': rng.randn(num_val, *shape),
        'y_val': rng.randint(num_classes, size=num_val),
    }


def small_net(seed=0, **kwargs):
    np.random.seed(seed)
    kwargs.setdefault('dtype', np.float64)
    kwargs.setdefault('weight_scale', 0.2)
    return FullyConnectedNet([8, 6], input_dim=12, num_classes=3, **kwargs)


def params_snapshot(model):
    return {k: v.copy() for k, v in model.params.items()}


def bn_snapshot(model):
    return [{k: p[k].copy() for k in ('running_mean', 'running_var')} for p in model.bn_params]


def assert_same_arrays(what, a, b):
    assert a.keys() == b.keys(), '%s: keys %s vs %s' % (what, sorted(a), sorted(b))
    for k in a:
        assert np.array_equal(a[k], b[k]), '%s: %s differs' % (what, k)


# ---------------------------------------------------------------------------
# Overfitting a small data set (the notebook's sanity check)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('hidden_dims, weight_scale, learning_rate', [
    ([100, 100], 1e-1, 2e-2),
    ([100, 100, 100, 100], 1e-1, 5e-2),
], ids=['3-layer', '5-layer'])
def test_overfits_50_examples(hidden_dims, weight_scale, learning_rate):
    rng = np.random.RandomState(0)
    data = {'X_train': rng.randn(50, 3, 32, 32), 'y_train': rng.randint(10, size=50),
            'X_val': rng.randn(20, 3, 32, 32), 'y_val': rng.randint(10, size=20)}
    np.random.seed(1)
    model = FullyConnectedNet(hidden_dims, weight_scale=weight_scale, dtype=np.float64)
    solver = Solver(model, data, num_epochs=20, batch_size=25, update_rule='sgd',
                    optim_config={'learning_rate': learning_rate}, verbose=False)
    solver.train()
    assert len(solver.train_acc_history) <= 21
    assert solver.train_acc_history[-1] == 1.0, (
        '%d-layer net: train accuracy %s after 20 epochs, expected 1.0 (history %s)'
        % (len(hidden_dims) + 1, solver.train_acc_history[-1], solver.train_acc_history))


# ---------------------------------------------------------------------------
# Bookkeeping: histories, best params, running statistics
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('num_train, batch_size, num_epochs', [(40, 10, 3), (30, 7, 1), (40, 20, 5)],
                         ids=['4-per-epoch', 'uneven', '2-per-epoch'])
def test_histories_have_num_epochs_plus_one_entries(num_train, batch_size, num_epochs, rng):
    data = make_data(rng, num_train=num_train)
    solver = Solver(small_net(), data, num_epochs=num_epochs, batch_size=batch_size,
                    verbose=False)
    solver.train()
    iterations = num_epochs * (num_train // batch_size)
    assert len(solver.loss_history) == iterations
    assert len(solver.train_acc_history) == num_epochs + 1
    assert len(solver.val_acc_history) == num_epochs + 1
    assert solver.epoch == num_epochs


def test_one_iteration_per_epoch_checks_once_per_epoch(rng):
    """As in CS231n's classic Solver, accuracy is checked after the first
    iteration, not before training: with one iteration per epoch (batch_size
    >= num_train) that check is the end of epoch 1, so the histories have
    num_epochs entries, not num_epochs + 1."""
    data = make_data(rng, num_train=40)
    solver = Solver(small_net(), data, num_epochs=3, batch_size=64, verbose=False)
    solver.train()
    assert len(solver.loss_history) == 3
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 3


def test_best_params_never_empty(rng):
    """A model whose val accuracy stays 0 still ends with all its parameters."""
    data = make_data(rng)
    data['y_val'][:] = 1                    # class 1 is never predicted:
    model = small_net()
    model.params['b3'][0] = 100.0           # the last bias makes every prediction class 0
    keys = set(model.params)
    solver = Solver(model, data, num_epochs=2, batch_size=10, verbose=False,
                    optim_config={'learning_rate': 1e-8})
    solver.train()
    assert solver.val_acc_history == [0.0] * 3
    assert solver.best_val_acc == 0
    assert set(solver.best_params) == keys, 'best_params is %r' % (solver.best_params,)
    assert set(model.params) == keys, 'model.params lost keys: %s' % sorted(model.params)
    assert model.loss(data['X_val']).shape == (10, 3)


def test_best_params_restored_with_their_batchnorm_stats(rng):
    data = make_data(rng)
    model = small_net(normalization='batchnorm')
    solver = Solver(model, data, num_epochs=3, batch_size=10, update_rule='adam',
                    optim_config={'learning_rate': 1e-2}, verbose=False)
    scripted_val_acc = iter([0.5, 0.9, 0.1, 0.1])   # best at the end of epoch 1
    snapshots = []

    def check_accuracy(X, y, num_samples=None, batch_size=100):
        if X is solver.X_val:
            snapshots.append((params_snapshot(model), bn_snapshot(model)))
            return next(scripted_val_acc)
        return 0.5

    solver.check_accuracy = check_accuracy
    solver.train()
    assert len(snapshots) == 4 and solver.val_acc_history == [0.5, 0.9, 0.1, 0.1]
    best_params, best_bn = snapshots[1]
    last_params, last_bn = snapshots[3]
    assert_same_arrays('model.params after train vs the best epoch', model.params, best_params)
    for i, (now, best, last, saved) in enumerate(zip(bn_snapshot(model), best_bn, last_bn,
                                                     solver.best_bn_stats)):
        assert_same_arrays('bn_params[%d] after train vs the best epoch' % i, now, best)
        assert_same_arrays('bn_params[%d] vs solver.best_bn_stats' % i, now, saved)
        assert not np.array_equal(now['running_mean'], last['running_mean']), \
            'the running stats were not rolled back from the last epoch'
    assert not np.array_equal(model.params['W1'], last_params['W1'])


# ---------------------------------------------------------------------------
# Learning rates, augmentation
# ---------------------------------------------------------------------------

def record_learning_rates(monkeypatch, rule='sgd'):
    """Wrap optim.<rule> so that every call records its learning rate."""
    seen = []
    real = getattr(optim, rule)

    def spy(w, dw, config=None):
        seen.append(config['learning_rate'])
        return real(w, dw, config)

    monkeypatch.setattr(optim, rule, spy)
    return seen


def test_lr_decay_multiplies_learning_rate_per_epoch(monkeypatch, rng):
    seen = record_learning_rates(monkeypatch)
    data = make_data(rng)
    model = small_net()
    num_params = len(model.params)
    solver = Solver(model, data, num_epochs=3, batch_size=20, lr_decay=0.5,
                    optim_config={'learning_rate': 0.1}, verbose=False)
    solver.train()
    per_iteration = [seen[i:i + num_params] for i in range(0, len(seen), num_params)]
    assert all(len(set(lrs)) == 1 for lrs in per_iteration)
    got = [lrs[0] for lrs in per_iteration]
    expected = [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]   # 2 iterations per epoch
    assert np.allclose(got, expected, rtol=1e-15), 'learning rates %s, expected %s' % (got, expected)
    assert all(abs(c['learning_rate'] - 0.0125) < 1e-15 for c in solver.optim_configs.values())


def test_cosine_schedule_sets_learning_rate_per_iteration(monkeypatch, rng):
    seen = record_learning_rates(monkeypatch, 'sgd_momentum')
    data = make_data(rng)
    model = small_net()
    num_params = len(model.params)
    solver = Solver(model, data, num_epochs=2, batch_size=10, update_rule='sgd_momentum',
                    lr_schedule='cosine', optim_config={'learning_rate': 0.1}, verbose=False)
    solver.train()
    T = 8                                   # 4 iterations per epoch, 2 epochs
    got = seen[::num_params]
    expected = [0.1 * 0.5 * (1 + math.cos(math.pi * t / T)) for t in range(T)]
    assert len(seen) == T * num_params
    assert np.allclose(got, expected, rtol=1e-12), 'learning rates %s, expected %s' % (got, expected)


def _flip_matches(batch, X):
    """For each row of batch: True if it is a flipped row of X, False if an
    unflipped one (fails if it is neither)."""
    flipped = []
    for row in batch:
        plain = np.any(np.all(X == row, axis=(1, 2, 3)))
        flip = np.any(np.all(X[:, :, :, ::-1] == row, axis=(1, 2, 3)))
        assert plain or flip, 'a training image is neither an input nor its mirror image'
        flipped.append(flip and not plain)
    return np.asarray(flipped)


def test_random_flip_flips_about_half():
    rng = np.random.RandomState(0)
    X = rng.randn(400, 3, 4, 5)
    before = X.copy()
    out = random_flip(X)
    assert out.shape == X.shape and out.dtype == X.dtype
    assert np.array_equal(X, before), 'random_flip must not modify its input'
    flipped = _flip_matches(out, X)
    assert 0.4 < flipped.mean() < 0.6, '%.2f of the images were flipped' % flipped.mean()
    assert np.array_equal(out[flipped], X[flipped][:, :, :, ::-1])


def test_solver_augment_flip(rng):
    data = make_data(rng, num_train=40, shape=(3, 2, 3))
    np.random.seed(0)
    model = FullyConnectedNet([5], input_dim=18, num_classes=3, dtype=np.float64)
    batches = []
    loss = model.loss

    def recording_loss(X, y=None):
        if y is not None:
            batches.append(X.copy())
        return loss(X, y)

    model.loss = recording_loss
    Solver(model, data, augment='flip', num_epochs=5, batch_size=20, verbose=False).train()
    flipped = np.concatenate([_flip_matches(b, data['X_train']) for b in batches])
    assert len(flipped) == 200
    assert 0.35 < flipped.mean() < 0.65, '%.2f of the training images were flipped' % flipped.mean()


def test_augment_flip_needs_images(rng):
    data = make_data(rng)
    data['X_train'] = data['X_train'].reshape(40, -1)
    data['X_val'] = data['X_val'].reshape(10, -1)
    with pytest.raises(ValueError, match=r'augment.*\(N, C, H, W\)'):
        Solver(small_net(), data, augment='flip')


# ---------------------------------------------------------------------------
# Divergence
# ---------------------------------------------------------------------------

class NanModel:
    """A model stub whose loss is NaN from the second iteration on."""

    def __init__(self):
        self.params = {'W': np.zeros(3)}
        self.calls = 0

    def loss(self, X, y=None):
        if y is None:
            return np.zeros((len(X), 2))
        self.calls += 1
        return (1.0 if self.calls == 1 else np.nan), {'W': np.ones(3)}


def test_nan_loss_stops_training(rng):
    data = make_data(rng, num_classes=2)
    solver = Solver(NanModel(), data, num_epochs=2, batch_size=10, verbose=False)
    with pytest.raises(FloatingPointError, match=r'iteration 2\b.*smaller learning.rate'):
        solver.train()
    assert solver.loss_history == [1.0]


@pytest.mark.filterwarnings('ignore::RuntimeWarning')    # numpy's overflow warnings come first
def test_huge_learning_rate_stops_training():
    # A finite but huge loss (1e25) does not stop training; this float32 run
    # overflows to inf/nan within a few iterations.
    data = make_data(np.random.RandomState(1))
    solver = Solver(small_net(dtype=np.float32), data, num_epochs=5, batch_size=10,
                    verbose=False, optim_config={'learning_rate': 1e10})
    with pytest.raises(FloatingPointError, match=r'iteration \d+.*smaller learning.rate'):
        solver.train()


# ---------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------

def _leftovers(folder):
    return [f for f in os.listdir(folder) if 'tmp' in f]


def test_checkpoints_are_complete_pickles(tmp_path, rng):
    data = make_data(rng)
    name = str(tmp_path / 'run')
    solver = Solver(small_net(), data, num_epochs=2, batch_size=10, checkpoint_name=name,
                    update_rule='sgd_momentum', optim_config={'learning_rate': 1e-2},
                    verbose=False)
    solver.train()
    assert sorted(os.listdir(tmp_path)) == ['run_epoch_0.pkl', 'run_epoch_1.pkl', 'run_epoch_2.pkl']
    for epoch in range(3):
        with open('%s_epoch_%d.pkl' % (name, epoch), 'rb') as f:
            checkpoint = pickle.load(f)
        missing = OFFICIAL_CHECKPOINT_KEYS - set(checkpoint)
        assert not missing, 'checkpoint misses the keys %s' % sorted(missing)
        assert checkpoint['epoch'] == epoch
        assert checkpoint['batch_size'] == 10 and checkpoint['lr_decay'] == 1.0
        assert len(checkpoint['train_acc_history']) == epoch + 1
        assert len(checkpoint['loss_history']) == max(epoch * 4, 1)
        assert set(checkpoint['model'].params) == set(solver.model.params)


def test_failed_checkpoint_write_leaves_no_partial_file(tmp_path, rng, monkeypatch):
    data = make_data(rng)
    name = str(tmp_path / 'run')
    Solver(small_net(), data, num_epochs=1, batch_size=10, checkpoint_name=name,
           verbose=False).train()
    with open(name + '_epoch_0.pkl', 'rb') as f:
        previous = f.read()

    def failing_dump(obj, f, *args, **kwargs):
        f.write(b'partial data')
        raise OSError('disk full')

    monkeypatch.setattr(pickle, 'dump', failing_dump)
    for checkpoint_name in (name, str(tmp_path / 'fresh')):
        solver = Solver(small_net(seed=3), data, num_epochs=1, batch_size=10,
                        checkpoint_name=checkpoint_name, verbose=False)
        with pytest.raises(OSError, match='disk full'):
            solver.train()
    with open(name + '_epoch_0.pkl', 'rb') as f:
        assert f.read() == previous, 'a failed save changed the previous checkpoint'
    assert not os.path.exists(str(tmp_path / 'fresh_epoch_0.pkl')), 'a failed save left a file'
    assert not _leftovers(tmp_path), 'temporary files left behind: %s' % _leftovers(tmp_path)


def test_resume_from_checkpoint_reproduces_the_run(tmp_path, rng):
    """Train 4 epochs; then a fresh model and Solver resume from the epoch-2
    checkpoint and must end exactly where the uninterrupted run did. The
    net uses batchnorm, dropout without a seed and accuracy subsampling, so
    the random state and running statistics must be restored too."""
    data = make_data(rng)

    def make(seed, checkpoint_name):
        model = small_net(seed=seed, normalization='batchnorm', dropout_keep_ratio=0.7)
        return Solver(model, data, update_rule='adam', optim_config={'learning_rate': 1e-2},
                      lr_decay=0.9, num_epochs=4, batch_size=10, num_train_samples=15,
                      checkpoint_name=checkpoint_name, verbose=False)

    full = make(0, str(tmp_path / 'full'))
    full.train()

    np.random.seed(12345)                   # a different global state, a different init
    resumed = make(1, str(tmp_path / 'resumed'))
    resumed.load_checkpoint(str(tmp_path / 'full_epoch_2.pkl'))
    assert resumed.epoch == 2
    resumed.train()

    assert resumed.loss_history == full.loss_history
    assert resumed.train_acc_history == full.train_acc_history
    assert resumed.val_acc_history == full.val_acc_history
    assert_same_arrays('params', resumed.model.params, full.model.params)
    for i, (a, b) in enumerate(zip(bn_snapshot(resumed.model), bn_snapshot(full.model))):
        assert_same_arrays('bn_params[%d]' % i, a, b)
    for k in full.optim_configs:
        assert resumed.optim_configs[k]['t'] == full.optim_configs[k]['t']
        assert np.array_equal(resumed.optim_configs[k]['m'], full.optim_configs[k]['m'])
    assert os.path.exists(str(tmp_path / 'resumed_epoch_4.pkl'))
    assert not os.path.exists(str(tmp_path / 'resumed_epoch_1.pkl'))


# ---------------------------------------------------------------------------
# float32 end to end
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('net_kwargs', [
    {},
    {'normalization': 'batchnorm', 'dropout_keep_ratio': 0.8},
    {'normalization': 'layernorm', 'dropout_keep_ratio': 0.8},
], ids=['plain', 'batchnorm+dropout', 'layernorm+dropout'])
@pytest.mark.parametrize('rule', ['sgd', 'sgd_momentum', 'rmsprop', 'adam'])
def test_float32_model_stays_float32(rule, net_kwargs, rng):
    data = make_data(rng)                   # float64 data
    model = small_net(dtype=np.float32, **net_kwargs)
    solver = Solver(model, data, update_rule=rule, optim_config={'learning_rate': 1e-3},
                    num_epochs=2, batch_size=10, verbose=False)
    solver.train()
    loss, grads = model.loss(data['X_train'], data['y_train'])
    scores = model.loss(data['X_val'])
    arrays = {'scores': scores}
    arrays.update(('param ' + k, v) for k, v in model.params.items())
    arrays.update(('grad ' + k, v) for k, v in grads.items())
    for p, config in solver.optim_configs.items():
        arrays.update(('%s state %s' % (p, k), v) for k, v in config.items()
                      if isinstance(v, np.ndarray))
    for i, bn_param in enumerate(model.bn_params):
        arrays.update(('bn_params[%d] %s' % (i, k), v) for k, v in bn_param.items()
                      if isinstance(v, np.ndarray))
    state_keys = {'sgd': set(), 'sgd_momentum': {'velocity'}, 'rmsprop': {'cache'},
                  'adam': {'m', 'v'}}[rule]
    assert all(state_keys <= set(c) for c in solver.optim_configs.values())
    bad = {k: str(v.dtype) for k, v in arrays.items() if v.dtype != np.float32}
    assert not bad, 'a float32 model produced arrays of other dtypes: %s' % bad
