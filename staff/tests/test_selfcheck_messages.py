"""The public self-check's messages point at the function at fault (issues 27, 28).

Each test plants a mistake and checks what the failure message of the
self-check's helpers (tests/conftest.py) says: a failed net gradient check
tells a backward bug from a forward one, and an exception raised inside the
code students write names the function first.
"""
import numpy as np
import pytest

from cs231n import layer_utils, layers
from cs231n.classifiers.fc_net import FullyConnectedNet
from tests import conftest as C


def _layernorm_net(seed=231):
    np.random.seed(seed)
    X = np.random.randn(2, 15)
    y = np.random.randint(10, size=2)
    model = FullyConnectedNet([20, 30], input_dim=15, num_classes=10, weight_scale=5e-2,
                              dtype=np.float64, normalization='layernorm')
    return model, X, y


def _batch_axis_layernorm(monkeypatch):
    """A layer norm that normalizes over the batch axis (the batch norm, in
    train mode): its gradients are right for what it computes."""
    def forward(x, gamma, beta, ln_param):
        return layers.batchnorm_forward(x, gamma, beta, {'mode': 'train',
                                                         'eps': ln_param.get('eps', 1e-5)})
    for module in (layers, layer_utils):
        monkeypatch.setattr(module, 'layernorm_forward', forward)
    monkeypatch.setitem(layer_utils.NORM_LAYERS, 'layernorm',
                        (forward, layers.batchnorm_backward_alt))


def test_a_forward_bug_is_not_blamed_on_the_backward_pass(monkeypatch):
    """Issue 28: a layer norm over the batch axis failed the net check with
    "grads['W1'] relative error 1.1e-04" and nothing else."""
    _batch_axis_layernorm(monkeypatch)
    model, X, y = _layernorm_net()
    _, checks = C._net_grad_check(model, X, y, h=1e-5)
    with pytest.raises(AssertionError) as e:
        C._assert_net_grads('FullyConnectedNet.loss (layernorm)', checks, tol=1e-5)
    text = str(e.value)
    assert text.startswith("FullyConnectedNet.loss (layernorm): grads['W1'] relative error")
    assert 'the backward pass is consistent' in text
    assert 'The forward pass is off: layernorm_forward gives' in text


def test_a_backward_bug_is_named_as_one(monkeypatch):
    model, X, y = _layernorm_net()
    loss = model.loss

    def wrong_grads(X, y=None):
        if y is None:
            return loss(X)
        value, grads = loss(X, y)
        grads['W1'] = grads['W1'] * 1.01
        return value, grads
    monkeypatch.setattr(model, 'loss', wrong_grads)
    _, checks = C._net_grad_check(model, X, y, h=1e-5)
    with pytest.raises(AssertionError, match=r"grads\['W1'\] relative error .*disagrees as well "
                                             r".*the backward pass does not match"):
        C._assert_net_grads('FullyConnectedNet.loss', checks, tol=1e-5)


def test_the_right_net_passes_and_has_no_suspects():
    model, X, y = _layernorm_net()
    _, checks = C._net_grad_check(model, X, y, h=1e-5)
    C._assert_net_grads('FullyConnectedNet.loss', checks, tol=1e-5)
    assert C.forward_suspects(model) == []


def test_an_exception_in_your_code_names_the_function(monkeypatch):
    """Issue 27: an affine_forward that forgets to reshape x failed with a
    bare numpy error."""
    x, w, b = np.ones((2, 4, 5, 6)), np.ones((120, 3)), np.zeros(3)
    try:
        x.dot(w)
    except ValueError as e:
        error = e
    # An exception whose innermost frame of the package is affine_forward's.
    monkeypatch.setattr(layers._given, 'finish_affine_forward', lambda out, x, w: x.dot(w))
    with pytest.raises(ValueError) as raised:
        layers.affine_forward(x, w, b)
    message = C.error_message(raised.value)
    assert message.startswith('affine_forward raised ValueError: %s' % str(error)[:20])
    assert 'is x reshaped into rows' in message
    # The given code's own refusals already name the function: left alone.
    with pytest.raises(ValueError) as refused:
        layers.affine_forward(np.ones((2, 5)), w, b)
    assert C.error_message(refused.value) is None
