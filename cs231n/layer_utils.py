"""Sandwich layers: common chains of layers as one forward/backward pair.

The cache of a sandwich holds the caches of its parts, in order.
"""
from .layers import *  # noqa: F401,F403  (notebooks get every layer from here)
from .layers import (affine_backward, affine_forward, batchnorm_backward_alt,
                     batchnorm_forward, dropout_backward, dropout_forward,
                     layernorm_backward, layernorm_forward, relu_backward,
                     relu_forward)


def affine_relu_forward(x, w, b):
    """Affine transform followed by a ReLU.

    Inputs:
    - x: Input to the affine layer, of shape (N, d_1, ..., d_k)
    - w, b: Weights (D, M) and biases (M,) for the affine layer

    Returns a tuple of:
    - out: Output from the ReLU, of shape (N, M)
    - cache: Object to give to the backward pass
    """
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    cache = (fc_cache, relu_cache)
    return out, cache


def affine_relu_backward(dout, cache):
    """Backward pass for the affine-relu convenience layer.

    Inputs:
    - dout: Upstream derivative, of shape (N, M)
    - cache: From affine_relu_forward

    Returns a tuple of:
    - dx: (N, d_1, ..., d_k), dw: (D, M), db: (M,)
    """
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    dx, dw, db = affine_backward(da, fc_cache)
    return dx, dw, db


###############################################################################
# TODO (optional): Write the hidden layer of FullyConnectedNet as one         #
# sandwich, affine - [batch/layer norm] - relu - [dropout], in the functions  #
# affine_norm_relu_dropout_forward(x, w, b, gamma=None, beta=None,            #
#     norm_param=None, normalization=None, dropout_param=None)                #
# affine_norm_relu_dropout_backward(dout, cache)                              #
# returning (dx, dw, db, dgamma, dbeta) (the tests check them when they       #
# exist). Written once, the block serves every normalization and dropout     #
# combination.                                                                #
###############################################################################
# *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

NORM_LAYERS = {
    'batchnorm': (batchnorm_forward, batchnorm_backward_alt),
    'layernorm': (layernorm_forward, layernorm_backward),
}


def affine_norm_relu_dropout_forward(x, w, b, gamma=None, beta=None, norm_param=None,
                                     normalization=None, dropout_param=None):
    """affine - [batchnorm or layernorm] - relu - [dropout].

    Inputs:
    - x: Input to the affine layer, of shape (N, d_1, ..., d_k)
    - w, b: Weights (D, M) and biases (M,) for the affine layer
    - gamma, beta: Scale and shift (M,) of the normalization layer
    - norm_param: bn_param or ln_param of the normalization layer
    - normalization: None, 'batchnorm' or 'layernorm'
    - dropout_param: Parameters of the dropout layer, or None for no dropout

    Returns a tuple of:
    - out: Output, of shape (N, M)
    - cache: Object to give to the backward pass
    """
    out, fc_cache = affine_forward(x, w, b)
    norm_cache = None
    if normalization is not None:
        norm_forward, _ = NORM_LAYERS[normalization]
        out, norm_cache = norm_forward(out, gamma, beta, norm_param)
    out, relu_cache = relu_forward(out)
    dropout_cache = None
    if dropout_param is not None:
        out, dropout_cache = dropout_forward(out, dropout_param)
    return out, (fc_cache, normalization, norm_cache, relu_cache, dropout_cache)


def affine_norm_relu_dropout_backward(dout, cache):
    """Backward pass for affine_norm_relu_dropout_forward.

    Inputs:
    - dout: Upstream derivative, of shape (N, M)
    - cache: From affine_norm_relu_dropout_forward

    Returns a tuple of:
    - dx: (N, d_1, ..., d_k), dw: (D, M), db: (M,)
    - dgamma, dbeta: (M,) each, or None without normalization
    """
    fc_cache, normalization, norm_cache, relu_cache, dropout_cache = cache
    if dropout_cache is not None:
        dout = dropout_backward(dout, dropout_cache)
    dout = relu_backward(dout, relu_cache)
    dgamma = dbeta = None
    if normalization is not None:
        _, norm_backward = NORM_LAYERS[normalization]
        dout, dgamma, dbeta = norm_backward(dout, norm_cache)
    dx, dw, db = affine_backward(dout, fc_cache)
    return dx, dw, db, dgamma, dbeta

# *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
###############################################################################
#                               END OF YOUR CODE                              #
###############################################################################
