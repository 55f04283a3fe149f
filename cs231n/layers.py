"""Layers as forward/backward pairs.

Every layer is two functions:

    out, cache = layer_forward(inputs..., param)
    dinputs... = layer_backward(dout, cache)

The backward pass returns one gradient per input, each shaped like that input.
Each function opens with a call that checks its arguments and closes with one
that checks the results and gives them the dtype of the inputs: float32 in,
float32 out (see _given.py).
"""
import numpy as np

from . import _given


def affine_forward(x, w, b):
    """Fully-connected (affine) layer, forward.

    Each example x[i] of shape (d_1, ..., d_k) is reshaped into a row of
    D = d_1 * ... * d_k values.

    Inputs:
    - x: A numpy array of shape (N, d_1, ..., d_k)
    - w: Weights, of shape (D, M)
    - b: Biases, of shape (M,)

    Returns a tuple of:
    - out: output, of shape (N, M)
    - cache: (x, w, b)
    """
    _given.prepare_affine_forward(x, w, b)
    out = None
    ###########################################################################
    # TODO: Implement the affine forward pass. Store the result in out. You   #
    # will need to reshape the input into rows.                               #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    out = x.reshape(x.shape[0], -1) @ w + b

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    cache = (x, w, b)
    return _given.finish_affine_forward(out, x, w), cache


def affine_backward(dout, cache):
    """Fully-connected (affine) layer, backward.

    Inputs:
    - dout: Upstream derivative, of shape (N, M)
    - cache: (x, w, b) from affine_forward

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, d1, ..., d_k)
    - dw: Gradient with respect to w, of shape (D, M)
    - db: Gradient with respect to b, of shape (M,)
    """
    x, w, b = cache
    _given.prepare_affine_backward(dout, x, w)
    dx, dw, db = None, None, None
    ###########################################################################
    # TODO: Implement the affine backward pass.                               #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return _given.finish_affine_backward(dx, dw, db, x, w, b)


def relu_forward(x):
    """Rectified linear unit, forward.

    Input:
    - x: Inputs, of any shape

    Returns a tuple of:
    - out: Output, of the same shape as x
    - cache: x
    """
    _given.prepare_relu_forward(x)
    out = None
    ###########################################################################
    # TODO: Implement the ReLU forward pass.                                  #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    out = np.maximum(0, x)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    cache = x
    return _given.finish_relu_forward(out, x), cache


def relu_backward(dout, cache):
    """Rectified linear unit, backward.

    Input:
    - dout: Upstream derivatives, of any shape
    - cache: Input x, of the same shape as dout

    Returns:
    - dx: Gradient with respect to x
    """
    dx, x = None, cache
    _given.prepare_relu_backward(dout, x)
    ###########################################################################
    # TODO: Implement the ReLU backward pass.                                 #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    dx = dout * (x > 0)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return _given.finish_relu_backward(dx, x)


def softmax_loss(x, y):
    """Softmax (cross-entropy) loss, averaged over the batch.

    Inputs:
    - x: Input data, of shape (N, C) where x[i, j] is the score for the jth
      class for the ith input.
    - y: Vector of labels, of shape (N,) where y[i] is the label for x[i] and
      0 <= y[i] < C

    Returns a tuple of:
    - loss: Scalar giving the loss
    - dx: Gradient of the loss with respect to x, of shape (N, C)
    """
    y = _given.prepare_loss('softmax_loss', x, y)
    loss, dx = None, None
    ###########################################################################
    # TODO: Compute the softmax loss and its gradient. Shift the scores by    #
    # their row maximum first, so that exp never overflows, and take the loss #
    # from log-probabilities, so that it stays finite when a probability      #
    # underflows to 0.                                                        #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    dx /= N

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return _given.finish_loss('softmax_loss', loss, dx, x)


def svm_loss(x, y):
    """Multiclass SVM (hinge) loss with margin 1, averaged over the batch.

    Inputs:
    - x: Input data, of shape (N, C) where x[i, j] is the score for the jth
      class for the ith input.
    - y: Vector of labels, of shape (N,) where y[i] is the label for x[i] and
      0 <= y[i] < C

    Returns a tuple of:
    - loss: Scalar giving the loss
    - dx: Gradient of the loss with respect to x, of shape (N, C)
    """
    y = _given.prepare_loss('svm_loss', x, y)
    loss, dx = None, None
    ###########################################################################
    # TODO: Compute the multiclass SVM loss and its (sub)gradient.            #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    N = x.shape[0]
    correct_scores = x[np.arange(N), y][:, None]
    margins = np.maximum(0, x - correct_scores + 1)
    margins[np.arange(N), y] = 0
    loss = margins.sum() / N
    dx = (margins > 0).astype(x.dtype)
    dx[np.arange(N), y] = -dx.sum(axis=1)
    dx /= N

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return _given.finish_loss('svm_loss', loss, dx, x)


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization, forward.

    In train mode each feature is normalized with the mean and (biased)
    variance of the minibatch, then scaled by gamma and shifted by beta.
    Running averages of the statistics are kept for test mode:

        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var

    The paper estimates test-time statistics over the whole training set;
    running averages, as torch7 does, need no extra pass over the data.

    Input:
    - x: Data of shape (N, D)
    - gamma: Scale parameter of shape (D,); your own code may also pass one
      that broadcasts over x, such as (N, 1) for the transposed problem
    - beta: Shift parameter, shaped like gamma
    - bn_param: Dictionary with the following keys:
      - mode: 'train' or 'test'; required
      - eps: Constant for numeric stability, default 1e-5
      - momentum: Constant for the running averages, default 0.9
      - running_mean: Array of shape (D,), running mean of features
      - running_var: Array of shape (D,), running variance of features
      The running statistics are written back into bn_param, of shape (D,)
      (statistics that your code keeps as (1, D) are reshaped).

    Returns a tuple of:
    - out: of shape (N, D)
    - cache: A tuple of values needed in the backward pass
    """
    mode, eps, momentum, running_mean, running_var = _given.prepare_batchnorm_forward(
        x, gamma, beta, bn_param)
    N, D = x.shape
    out, cache = None, None
    if mode == 'train':
        #######################################################################
        # TODO: Implement the training-time forward pass for batch norm.      #
        # Compute the mean and variance of each feature over the minibatch,   #
        # normalize the incoming data with them, then scale and shift the     #
        # normalized data with gamma and beta. Store the output in out, and   #
        # whatever the backward pass needs in cache.                          #
        #                                                                     #
        # Also update the running averages with the momentum, your sample     #
        # mean and your sample variance (see the docstring), storing them in  #
        # running_mean and running_var.                                       #
        #                                                                     #
        # Note that the running average is of the variance, while the data is #
        # normalized by the standard deviation (the square root of the        #
        # variance). The original paper (https://arxiv.org/abs/1502.03167)    #
        # may help.                                                           #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        mean = x.mean(axis=0)
        var = x.var(axis=0)
        std = np.sqrt(var + eps)
        x_hat = (x - mean) / std
        out = gamma * x_hat + beta
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
        cache = (x, x_hat, mean, std, gamma)

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        #######################################################################
        #                           END OF YOUR CODE                          #
        #######################################################################
    else:
        #######################################################################
        # TODO: Implement the test-time forward pass for batch normalization. #
        # Use the running mean and variance to normalize the incoming data,   #
        # then scale and shift the normalized data with gamma and beta. Store #
        # the result in out.                                                  #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        #######################################################################
        #                           END OF YOUR CODE                          #
        #######################################################################
    return _given.finish_batchnorm_forward(out, cache, running_mean, running_var, x, gamma,
                                           beta, bn_param)


def batchnorm_backward(dout, cache):
    """Batch normalization, backward, through the computation graph.

    Draw the computation graph of batch normalization on paper, then
    propagate the gradient backward through its intermediate nodes.

    Inputs:
    - dout: Upstream derivatives, of shape (N, D)
    - cache: Variable of intermediates from batchnorm_forward.

    Returns a tuple of:
    - dx: Gradient with respect to inputs x, of shape (N, D)
    - dgamma: Gradient with respect to scale parameter gamma, of shape (D,)
      (or of gamma's shape, if the forward pass got a gamma that broadcast)
    - dbeta: Gradient with respect to shift parameter beta, likewise
    """
    cache, tag = _given.prepare_norm_backward('batchnorm_backward', dout, cache)
    dx, dgamma, dbeta = None, None, None
    ###########################################################################
    # TODO: Implement the backward pass for batch normalization by walking    #
    # the computation graph backwards, one node at a time. Store the results  #
    # in dx, dgamma and dbeta. The original paper                             #
    # (https://arxiv.org/abs/1502.03167) may help.                            #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    x, x_hat, mean, std, gamma = cache
    N = dout.shape[0]
    # out = gamma * x_hat + beta
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    # x_hat = x_centered * inv_std
    x_centered = x - mean
    inv_std = 1 / std
    dx_centered = dx_hat * inv_std
    dinv_std = (dx_hat * x_centered).sum(axis=0)
    # inv_std = 1 / sqrt(var + eps)
    dvar = dinv_std * -0.5 * inv_std ** 3
    # var = mean(x_centered ** 2)
    dx_centered += 2 * x_centered * dvar / N
    # x_centered = x - mean;  mean = mean(x)
    dmean = -dx_centered.sum(axis=0)
    dx = dx_centered + dmean / N

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return _given.finish_norm_backward('batchnorm_backward', dx, dgamma, dbeta, dout, tag)


def batchnorm_backward_alt(dout, cache):
    """Batch normalization, backward, in simplified closed form.

    Work out the derivatives on paper and simplify them as far as you can.
    This function takes the same cache as batchnorm_backward (it may use
    only part of it) and gives the same result.

    Inputs / outputs: Same as batchnorm_backward
    """
    cache, tag = _given.prepare_norm_backward('batchnorm_backward_alt', dout, cache)
    dx, dgamma, dbeta = None, None, None
    ###########################################################################
    # TODO: Implement the backward pass for batch normalization. Store the    #
    # results in dx, dgamma and dbeta. Simplify the gradient with respect to  #
    # the centered inputs on paper first: dx then fits on a single            #
    # 80-character line.                                                      #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    _, x_hat, _, std, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return _given.finish_norm_backward('batchnorm_backward_alt', dx, dgamma, dbeta, dout, tag)


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalization, forward.

    Each data point is normalized over its own D features, then scaled by
    gamma and shifted by beta per feature. Train and test time behave the
    same, so there are no running averages.

    Input:
    - x: Data of shape (N, D)
    - gamma: Scale parameter of shape (D,)
    - beta: Shift parameter of shape (D,)
    - ln_param: Dictionary with the following keys:
        - eps: Constant for numeric stability, default 1e-5
      Other keys (such as 'mode') are ignored.

    Returns a tuple of:
    - out: of shape (N, D)
    - cache: A tuple of values needed in the backward pass
    """
    eps = _given.prepare_layernorm_forward(x, gamma, beta, ln_param)
    N, D = x.shape
    out, cache = None, None
    ###########################################################################
    # TODO: Implement the training-time forward pass for layer norm.          #
    # Normalize the incoming data, then scale and shift it with gamma and     #
    # beta. Hint: transpose, and reuse your batch norm training-time code.    #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    # Layer norm of x is batch norm of x.T without gamma and beta, which here
    # scale and shift the features, the columns of x.
    x_hat_t, bn_cache = batchnorm_forward(x.T, np.ones(N, x.dtype), np.zeros(N, x.dtype),
                                          {'mode': 'train', 'eps': eps})
    x_hat = x_hat_t.T
    out = gamma * x_hat + beta
    cache = (x_hat, gamma, bn_cache)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return _given.finish_layernorm_forward(out, cache, x, gamma, beta)


def layernorm_backward(dout, cache):
    """Layer normalization, backward.

    Inputs:
    - dout: Upstream derivatives, of shape (N, D)
    - cache: Variable of intermediates from layernorm_forward.

    Returns a tuple of:
    - dx: Gradient with respect to inputs x, of shape (N, D)
    - dgamma: Gradient with respect to scale parameter gamma, of shape (D,)
    - dbeta: Gradient with respect to shift parameter beta, of shape (D,)
    """
    cache, tag = _given.prepare_norm_backward('layernorm_backward', dout, cache)
    dx, dgamma, dbeta = None, None, None
    ###########################################################################
    # TODO: Implement the backward pass for layer norm.                       #
    # Hint: transpose, and reuse your batch norm backward code.               #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    x_hat, gamma, bn_cache = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat_t, _, _ = batchnorm_backward_alt((dout * gamma).T, bn_cache)
    dx = dx_hat_t.T

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return _given.finish_norm_backward('layernorm_backward', dx, dgamma, dbeta, dout, tag)


def dropout_forward(x, dropout_param):
    """Inverted dropout, forward.

    In train mode each unit is kept with probability p and the kept units are
    scaled by 1/p, so the expected output equals the input; test mode then
    passes the input through unchanged.

    NOTE: p is the probability of KEEPING a unit, not of dropping it.

    Inputs:
    - x: Input data, of any shape
    - dropout_param: A dictionary with the following keys:
      - p: Dropout parameter. We keep each neuron output with probability p.
      - mode: 'test' or 'train'. If the mode is train, then perform dropout;
        if the mode is test, then just return the input.
      - seed: Seed for the random number generator. Passing seed makes this
        function deterministic, which is needed for gradient checking. It is
        applied with np.random.seed on every call, so it also resets numpy's
        global random state.

    Returns:
    - out: Array of the same shape as x.
    - cache: tuple (dropout_param, mask). In training mode, mask is the dropout
      mask that was used to multiply the input; in test mode, mask is None.
    """
    p, mode = _given.prepare_dropout_forward(x, dropout_param)
    if dropout_param.get('seed') is not None:
        np.random.seed(dropout_param['seed'])
    mask = None
    out = None
    if mode == 'train':
        #######################################################################
        # TODO: Implement training phase forward pass for inverted dropout.   #
        # Draw a mask that keeps each unit with probability p (for example    #
        # with rand(*x.shape) < p) and store it in mask.                      #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        mask = (np.random.rand(*x.shape) < p).astype(x.dtype) / p
        out = x * mask

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        #######################################################################
        #                           END OF YOUR CODE                          #
        #######################################################################
    else:
        #######################################################################
        # TODO: Implement the test phase forward pass for inverted dropout.   #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        out = x

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        #######################################################################
        #                           END OF YOUR CODE                          #
        #######################################################################
    cache = (dropout_param, mask)
    return _given.finish_dropout_forward(out, x), cache


def dropout_backward(dout, cache):
    """Inverted dropout, backward.

    Inputs:
    - dout: Upstream derivatives, of any shape
    - cache: (dropout_param, mask) from dropout_forward.

    Returns:
    - dx: Gradient with respect to x, of the same shape as dout
    """
    dropout_param, mask = cache
    mode = dropout_param['mode']
    _given.prepare_dropout_backward(dout, mask, mode)
    dx = None
    if mode == 'train':
        #######################################################################
        # TODO: Implement training phase backward pass for inverted dropout   #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        dx = dout * mask

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        #######################################################################
        #                          END OF YOUR CODE                           #
        #######################################################################
    else:
        dx = dout
    return _given.finish_dropout_backward(dx, dout)
