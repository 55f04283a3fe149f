"""The given code around the regions: as thin as the official starter's, and
refusing only what is wrong (issue 28).

Each test below is a correct way of writing a region, or of calling the
package, that the given code refused before (see each docstring), or a
promise about its size.
"""
import pickle

import numpy as np
import pytest

from cs231n import layers, optim
from cs231n.classifiers.fc_net import FullyConnectedNet
from cs231n.layers import (batchnorm_backward, batchnorm_forward, layernorm_backward,
                           layernorm_forward)
from cs231n.solver import Solver
from staff.release import given_lines


def test_given_code_is_within_the_official_count_plus_two():
    counts = given_lines.count_tree(given_lines.ROOT)
    assert len(counts) == len(given_lines.OFFICIAL)
    assert given_lines.problems(counts) == []


def test_no_sentinel_default_in_the_net_signature():
    import inspect
    default = inspect.signature(FullyConnectedNet).parameters['dropout_keep_ratio'].default
    assert default is None
    assert not FullyConnectedNet([3], input_dim=4, num_classes=2).use_dropout
    assert FullyConnectedNet([3], input_dim=4, num_classes=2, dropout_keep_ratio=None,
                             dropout=0.5).dropout_param['p'] == 0.5


# ---------------------------------------------------------------------------
# Layer norm through the student's own batch norm on x.T, with ln_param
# ---------------------------------------------------------------------------

def _flag_batchnorm(x, gamma, beta, bn_param):
    """batchnorm_forward's train-mode region as public repositories write it
    for this idiom: a flag in bn_param skips the running averages."""
    layernorm = bn_param.get('layernorm', 0)
    mean, var = x.mean(axis=0), x.var(axis=0)
    eps = bn_param.get('eps', 1e-5)
    x_hat = (x - mean) / np.sqrt(var + eps)
    return x_hat, layernorm, mean, var


@pytest.fixture
def flag_idiom(monkeypatch):
    """batchnorm_forward and layernorm_forward with their regions written
    the idiom's way, around the given code of this package."""
    given = layers._given

    def bn_forward(x, gamma, beta, bn_param):
        mode, eps, momentum, running_mean, running_var = given.prepare_batchnorm_forward(
            x, gamma, beta, bn_param)
        out, cache = None, None
        if mode == 'train':
            x_hat, layernorm, mean, var = _flag_batchnorm(x, gamma, beta, bn_param)
            out = gamma * x_hat + beta
            if layernorm == 0:
                running_mean = momentum * running_mean + (1 - momentum) * mean
                running_var = momentum * running_var + (1 - momentum) * var
            cache = (x_hat, gamma, np.sqrt(var + eps))
        else:
            out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        return given.finish_batchnorm_forward(out, cache, running_mean, running_var, x, gamma,
                                              beta, bn_param)

    def ln_forward(x, gamma, beta, ln_param):
        given.prepare_layernorm_forward(x, gamma, beta, ln_param)
        ln_param['mode'] = 'train'
        ln_param['layernorm'] = 1
        out_t, cache = bn_forward(x.T, gamma.reshape(-1, 1), beta.reshape(-1, 1), ln_param)
        return given.finish_layernorm_forward(out_t.T, cache, x, gamma, beta)

    def ln_backward(dout, cache):
        cache, tag = given.prepare_norm_backward('layernorm_backward', dout, cache)
        x_hat_t, gamma_col, std = cache
        g = dout.T * gamma_col
        dx_t = (g - g.mean(axis=0) - x_hat_t * (g * x_hat_t).mean(axis=0)) / std
        dgamma, dbeta = (dout * x_hat_t.T).sum(axis=0), dout.sum(axis=0)
        return given.finish_norm_backward('layernorm_backward', dx_t.T, dgamma, dbeta, dout, tag)

    return bn_forward, ln_forward, ln_backward


def test_layernorm_idiom_leaves_per_example_statistics_and_keeps_working(flag_idiom, rng):
    """Before: `batchnorm_forward: bn_param["running_mean"] has shape (4,),
    expected (7,)` on the second call with another batch size."""
    _, ln_forward, ln_backward = flag_idiom
    gamma, beta = rng.randn(5), rng.randn(5)
    ln_param = {}
    for n in (4, 7, 1, 7):
        x = rng.randn(n, 5) * 3 + 1
        out, cache = ln_forward(x, gamma, beta, ln_param)
        want, want_cache = layernorm_forward(x, gamma, beta, {})
        assert np.allclose(out, want, rtol=1e-10, atol=1e-10)
        dout = rng.randn(n, 5)
        for got, expected in zip(ln_backward(dout, cache), layernorm_backward(dout, want_cache)):
            assert np.allclose(got, expected, rtol=1e-8, atol=1e-10)
    assert ln_param['running_mean'].shape == (4,)    # left by the first call, never used


def test_updated_statistics_of_another_shape_are_refused(rng):
    """The model answer updates the running averages: a statistic of another
    shape is refused in train mode too, after the code ran, and bn_param is
    left as it was."""
    stale = np.ones(3)
    bn_param = {'mode': 'train', 'running_mean': stale}
    with pytest.raises(ValueError, match=r'batchnorm_forward: bn_param\["running_mean"\] has '
                                         r'shape \(3,\), expected \(4,\)'):
        batchnorm_forward(rng.randn(6, 4), np.ones(4), np.zeros(4), bn_param)
    assert bn_param['running_mean'] is stale and 'running_var' not in bn_param


def test_layernorm_idiom_in_a_net_with_a_solver(flag_idiom, monkeypatch, rng):
    """Before: the float32 Solver runs with layernorm failed on the check of
    the running statistics left in ln_param (train batches of one size,
    accuracy checks of another)."""
    from cs231n import layer_utils
    from cs231n.classifiers import fc_net
    _, ln_forward, ln_backward = flag_idiom
    for module in (layer_utils, fc_net):
        monkeypatch.setattr(module, 'layernorm_forward', ln_forward)
        monkeypatch.setattr(module, 'layernorm_backward', ln_backward)
    monkeypatch.setitem(layer_utils.NORM_LAYERS, 'layernorm', (ln_forward, ln_backward))
    data = {'X_train': rng.randn(30, 6), 'y_train': rng.randint(3, size=30),
            'X_val': rng.randn(11, 6), 'y_val': rng.randint(3, size=11)}
    np.random.seed(0)
    model = FullyConnectedNet([5, 4], input_dim=6, num_classes=3, normalization='layernorm')
    Solver(model, data, num_epochs=2, batch_size=8, verbose=False).train()
    assert all(p['running_mean'].dtype == np.float32 for p in model.bn_params)


# ---------------------------------------------------------------------------
# Caches keep their type
# ---------------------------------------------------------------------------

def test_a_layernorm_may_extend_and_read_its_batchnorm_cache(rng):
    """Before: the tagged cache was a wrapper, so `cache + (gamma,)`,
    isinstance(cache, tuple) and a dict cache's .get() failed."""
    x, gamma = rng.randn(4, 5), rng.randn(5)
    out_t, cache = batchnorm_forward(x.T, gamma.reshape(-1, 1), np.zeros((5, 1)),
                                     {'mode': 'train'})
    assert isinstance(cache, tuple)
    extended = cache + (gamma,)
    assert len(extended) == len(cache) + 1
    dx_t, _, _ = batchnorm_backward(rng.randn(5, 4), extended[:-1])
    assert dx_t.shape == (5, 4)
    assert pickle.loads(pickle.dumps(cache))[0].shape == cache[0].shape


def test_dict_caches_keep_their_methods(monkeypatch, rng):
    given = layers._given

    def forward(x, gamma, beta, ln_param):
        given.prepare_layernorm_forward(x, gamma, beta, ln_param)
        out = x.copy()
        return given.finish_layernorm_forward(out, {'x': x}, x, gamma, beta)
    _, cache = forward(rng.randn(3, 4), np.ones(4), np.zeros(4), {})
    assert isinstance(cache, dict) and cache.get('x').shape == (3, 4)
    assert sorted(dict(cache)) == ['x']


def test_gamma_and_beta_may_be_numbers(rng):
    """Before: `batchnorm_forward: gamma must be a numpy array, got 1.0`."""
    x = rng.randn(5, 3)
    out_t, cache = batchnorm_forward(x.T, 1.0, 0, {'mode': 'train'})
    want, _ = layernorm_forward(x, np.ones(3), np.zeros(3), {})
    assert np.allclose(out_t.T, want, rtol=1e-10, atol=1e-10)
    dx_t, dgamma, dbeta = batchnorm_backward(rng.randn(3, 5), cache)
    assert dx_t.shape == (3, 5)
    dx, _, _ = layernorm_backward(rng.randn(5, 3), layernorm_forward(x, np.ones(3),
                                                                     np.zeros(3), {})[1])
    assert dx.shape == (5, 3)


# ---------------------------------------------------------------------------
# Update rules and nets
# ---------------------------------------------------------------------------

def test_an_update_rule_may_keep_more_state_in_config(monkeypatch):
    """Before: a key that the rule's own code stored in config (beta1 ** t,
    kept from one step to the next) was refused on the second step."""
    config = {}
    w = np.ones(3)
    w, config = optim.adam(w, np.ones(3), config)
    config['beta1_t'] = config['beta1'] ** config['t']
    w, config = optim.adam(w, np.ones(3), config)
    assert config['t'] == 2
    with pytest.raises(ValueError, match=r"adam: config has the key\(s\) 'beta1_t'"):
        optim.adam(np.ones(3), np.ones(3), {'beta1_t': 0.9})


def test_net_loss_accepts_integer_pixels(rng):
    """Before: `FullyConnectedNet.loss: X must hold floats`; the official
    starter casts X to the net's dtype."""
    np.random.seed(0)
    model = FullyConnectedNet([4], input_dim=6, num_classes=3, dtype=np.float64)
    X = rng.randint(0, 255, size=(5, 6))
    assert np.array_equal(model.loss(X), model.loss(X.astype(np.float64)))
