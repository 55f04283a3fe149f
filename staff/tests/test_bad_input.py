"""Wrong calls fail with a ValueError or TypeError that names the argument.

Every check matches the argument's name in the message, so a numpy
broadcasting or indexing error (which names no argument) does not pass.
"""
import numpy as np
import pytest

from cs231n import optim
from cs231n.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from cs231n.layers import (affine_forward, batchnorm_forward, dropout_forward, softmax_loss,
                           svm_loss)
from cs231n.solver import Solver


def net(**kwargs):
    kwargs.setdefault('input_dim', 6)
    kwargs.setdefault('num_classes', 3)
    return FullyConnectedNet([4], **kwargs)


def data(rng, num_train=8, num_val=4):
    return {'X_train': rng.randn(num_train, 6), 'y_train': rng.randint(3, size=num_train),
            'X_val': rng.randn(num_val, 6), 'y_val': rng.randint(3, size=num_val)}


# ---------------------------------------------------------------------------
# input widths
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('shape', [(2, 5), (2, 3, 3), (2, 7)], ids=['narrow', '3x3', 'wide'])
def test_affine_forward_width_mismatch(shape):
    w, b = np.zeros((6, 3)), np.zeros(3)
    with pytest.raises(ValueError, match=r'affine_forward: .*\bx\b.*\bw\b'):
        affine_forward(np.zeros(shape), w, b)


def test_affine_forward_bias_shape():
    with pytest.raises(ValueError, match=r'affine_forward: \bb\b'):
        affine_forward(np.zeros((2, 6)), np.zeros((6, 3)), np.zeros(4))


@pytest.mark.parametrize('shape', [(2, 5), (2, 2, 2), (6,)], ids=['narrow', '2x2', '1-d'])
def test_net_loss_width_mismatch(shape, rng):
    with pytest.raises(ValueError, match=r'FullyConnectedNet.loss: \bX\b.*input_dim'):
        net().loss(rng.randn(*shape), np.zeros(shape[0], dtype=int))
    with pytest.raises(ValueError, match=r'FullyConnectedNet.loss: \bX\b.*input_dim'):
        net().loss(rng.randn(*shape))
    with pytest.raises(ValueError, match=r'TwoLayerNet.loss: \bX\b.*input_dim'):
        TwoLayerNet(input_dim=6, hidden_dim=4, num_classes=3).loss(rng.randn(*shape))


# ---------------------------------------------------------------------------
# labels
# ---------------------------------------------------------------------------

BAD_LABELS = {
    'too-large': (np.array([0, 3, 1, 2]), r'\by\b.*label 3.*\[0, 3\)'),
    'negative': (np.array([0, -1, 1, 2]), r'\by\b.*label -1.*\[0, 3\)'),
    'too-short': (np.array([0, 1, 2]), r'\by\b has shape \(3,\).*\(4,\)'),
    'too-long': (np.array([0, 1, 2, 1, 0]), r'\by\b has shape \(5,\).*\(4,\)'),
    '2-d': (np.array([[0], [1], [2], [1]]), r'\by\b has shape'),
    'floats': (np.array([0.0, 1.0, 2.0, 1.0]), r'\by\b must hold integer'),
}


@pytest.mark.parametrize('case', sorted(BAD_LABELS))
@pytest.mark.parametrize('loss_fn', [softmax_loss, svm_loss], ids=['softmax', 'svm'])
def test_loss_bad_labels(loss_fn, case, rng):
    y, message = BAD_LABELS[case]
    with pytest.raises((ValueError, TypeError), match=message):
        loss_fn(rng.randn(4, 3), y)


@pytest.mark.parametrize('case', sorted(BAD_LABELS))
def test_net_loss_bad_labels(case, rng):
    y, message = BAD_LABELS[case]
    with pytest.raises((ValueError, TypeError), match=message):
        net().loss(rng.randn(4, 6), y)


# ---------------------------------------------------------------------------
# modes and normalization
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('bn_param', [{'mode': 'eval'}, {}, {'momentum': 0.9}, {'mode': None}],
                         ids=['eval', 'empty', 'no-mode', 'None'])
def test_batchnorm_bad_mode(bn_param):
    with pytest.raises(ValueError, match=r'batchnorm_forward: .*mode'):
        batchnorm_forward(np.zeros((4, 3)), np.ones(3), np.zeros(3), bn_param)


@pytest.mark.parametrize('normalization', ['batch', 'Batchnorm', 'groupnorm', ''])
def test_unknown_normalization(normalization):
    with pytest.raises(ValueError, match=r'normalization'):
        net(normalization=normalization)


# ---------------------------------------------------------------------------
# keep ratios
# ---------------------------------------------------------------------------

BAD_KEEP = [0, -0.1, 1.5]


@pytest.mark.parametrize('p', BAD_KEEP)
def test_dropout_forward_bad_keep_probability(p):
    with pytest.raises(ValueError, match=r'dropout_forward: dropout_param\["p"\].*\(0, 1\]'):
        dropout_forward(np.zeros((2, 3)), {'mode': 'train', 'p': p})


def test_dropout_forward_bad_mode():
    with pytest.raises(ValueError, match=r'dropout_forward: .*mode'):
        dropout_forward(np.zeros((2, 3)), {'mode': 'eval', 'p': 0.5})


@pytest.mark.parametrize('keep', BAD_KEEP)
def test_net_bad_keep_ratio(keep):
    with pytest.raises(ValueError, match=r'dropout_keep_ratio.*\(0, 1\]'):
        net(dropout_keep_ratio=keep)


@pytest.mark.parametrize('keep', BAD_KEEP)
def test_net_bad_dropout_alias(keep):
    with pytest.raises(ValueError, match=r'dropout'):
        net(dropout=keep)


def test_net_dropout_and_keep_ratio_together():
    with pytest.raises(ValueError, match=r'dropout=0.5.*dropout_keep_ratio=0.5'):
        net(dropout=0.5, dropout_keep_ratio=0.5)


def test_dropout_alias_behaves_like_dropout_keep_ratio(rng):
    X, y = rng.randn(5, 6), rng.randint(3, size=5)
    np.random.seed(0)
    old = net(dropout=0.6, seed=3, dtype=np.float64)
    np.random.seed(0)
    new = net(dropout_keep_ratio=0.6, seed=3, dtype=np.float64)
    assert old.use_dropout and old.dropout_param == new.dropout_param
    loss_old, grads_old = old.loss(X, y)
    loss_new, grads_new = new.loss(X, y)
    assert loss_old == loss_new
    assert all(np.array_equal(grads_old[k], grads_new[k]) for k in grads_new)
    assert np.array_equal(old.loss(X), new.loss(X))
    # dropout really is applied: keep ratio 1 gives another loss
    np.random.seed(0)
    assert net(seed=3, dtype=np.float64).loss(X, y)[0] != loss_old


# ---------------------------------------------------------------------------
# hidden_dims
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('hidden_dims, message', [
    ([], r'hidden_dims must be a non-empty list'),
    ([0], r'hidden_dims\[0\] must be an integer in \[1, inf\)'),
    ([100, -5], r'hidden_dims\[1\] must be an integer in \[1, inf\)'),
    (None, r'hidden_dims must be a non-empty list'),
    ([10, 2.5], r'hidden_dims\[1\] must be an integer in \[1, inf\)'),
    ('100', r'hidden_dims must be a non-empty list'),
], ids=['empty', 'zero', 'negative', 'None', 'float', 'string'])
def test_bad_hidden_dims(hidden_dims, message):
    with pytest.raises((ValueError, TypeError), match=message):
        FullyConnectedNet(hidden_dims, input_dim=6)


# ---------------------------------------------------------------------------
# Solver and optim
# ---------------------------------------------------------------------------

def test_unknown_update_rule(rng):
    with pytest.raises(ValueError, match=r"update_rule must be one of .*got 'adamw'"):
        Solver(net(), data(rng), update_rule='adamw')


@pytest.mark.parametrize('kwargs', [{'learning_rate': 1e-3}, {'num_epoch': 3},
                                    {'print_every': 1, 'batchsize': 10}],
                         ids=['learning_rate', 'num_epoch', 'batchsize'])
def test_unrecognized_solver_arguments(kwargs, rng):
    bad = [k for k in kwargs if k != 'print_every'][0]
    with pytest.raises(ValueError, match=r'Unrecognized arguments.*"%s"' % bad):
        Solver(net(), data(rng), **kwargs)


@pytest.mark.parametrize('rule, key', [('adam', 'momentum'), ('sgd', 'beta1'),
                                       ('rmsprop', 'momentum'), ('sgd_momentum', 'decay_rate')])
def test_optim_config_key_the_rule_does_not_use(rule, key, rng):
    with pytest.raises(ValueError, match=r"'%s'.*%s" % (key, rule)):
        Solver(net(), data(rng), update_rule=rule,
               optim_config={'learning_rate': 1e-3, key: 0.9})
    with pytest.raises(ValueError, match=r"%s.*'%s'" % (rule, key)):
        getattr(optim, rule)(np.zeros(3), np.zeros(3), {key: 0.9})


def test_optim_dw_shape(rng):
    with pytest.raises(ValueError, match=r'adam: dw has shape'):
        optim.adam(np.zeros((2, 3)), np.zeros((3, 2)))


@pytest.mark.parametrize('missing', ['X_train', 'y_train', 'X_val', 'y_val'])
def test_data_missing_key(missing, rng):
    d = data(rng)
    del d[missing]
    with pytest.raises(ValueError, match=r"data is missing the key\(s\) '%s'" % missing):
        Solver(net(), d)


@pytest.mark.parametrize('split', ['train', 'val'])
def test_data_length_mismatch(split, rng):
    d = data(rng)
    d['y_' + split] = d['y_' + split][:-1]
    with pytest.raises(ValueError, match=r'data\["y_%s"\] has shape \(\d+,\), expected \(\d+,\)' % split):
        Solver(net(), d)


@pytest.mark.parametrize('name, value', [('batch_size', 0), ('num_epochs', -1),
                                         ('batch_size', 2.5), ('lr_decay', 1.5),
                                         ('num_train_samples', 0)])
def test_bad_solver_numbers(name, value, rng):
    with pytest.raises(ValueError, match=name):
        Solver(net(), data(rng), **{name: value})


def test_unknown_augment_and_schedule(rng):
    with pytest.raises(ValueError, match=r'augment'):
        Solver(net(), data(rng), augment='rotate')
    with pytest.raises(ValueError, match=r'lr_schedule'):
        Solver(net(), data(rng), lr_schedule='step')
