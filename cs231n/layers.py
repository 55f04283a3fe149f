"""Layers as forward/backward pairs.

Every layer is two functions:

    out, cache = layer_forward(inputs..., param)
    dinputs... = layer_backward(dout, cache)

The backward pass returns one gradient per input, each shaped like that input.
The code around each solution region checks the arguments and the results,
and gives the results the dtype of the inputs: float32 in, float32 out.
"""
import numpy as np

from ._checks import (check_array, check_dict, check_examples, check_labels, check_mode,
                      check_output, check_param_grad, check_real, check_rows,
                      check_scale_shift, tag_cache, untag_cache)


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
    check_array('affine_forward', 'w', w, ndim=2)
    check_array('affine_forward', 'b', b, shape=(w.shape[1],))
    check_array('affine_forward', 'x', x)
    check_examples('affine_forward', 'x', x, w.shape[0], 'the rows of w')
    check_rows('affine_forward', 'x', x, 'expected at least one example')
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
    out = check_output('affine_forward', 'out', out, (x.shape[0], w.shape[1]), x.dtype)
    cache = (x, w, b)
    return out, cache


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
    check_array('affine_backward', 'dout', dout, shape=(x.shape[0], w.shape[1]))
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
    dx = check_output('affine_backward', 'dx', dx, x.shape, x.dtype)
    dw = check_output('affine_backward', 'dw', dw, w.shape, w.dtype)
    db = check_output('affine_backward', 'db', db, b.shape, b.dtype)
    return dx, dw, db


def relu_forward(x):
    """Rectified linear unit, forward.

    Input:
    - x: Inputs, of any shape

    Returns a tuple of:
    - out: Output, of the same shape as x
    - cache: x
    """
    check_array('relu_forward', 'x', x)
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
    out = check_output('relu_forward', 'out', out, x.shape, x.dtype)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """Rectified linear unit, backward.

    Input:
    - dout: Upstream derivatives, of any shape
    - cache: Input x, of the same shape as dout

    Returns:
    - dx: Gradient with respect to x
    """
    x = cache
    check_array('relu_backward', 'dout', dout, shape=x.shape)
    dx = None
    ###########################################################################
    # TODO: Implement the ReLU backward pass.                                 #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    dx = dout * (x > 0)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return check_output('relu_backward', 'dx', dx, x.shape, x.dtype)


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
    check_array('softmax_loss', 'x', x, ndim=2)
    check_rows('softmax_loss', 'x', x, 'the loss is an average over at least one example')
    y = check_labels('softmax_loss', y, x.shape[0], x.shape[1])
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
    dx = check_output('softmax_loss', 'dx', dx, x.shape, x.dtype)
    return float(loss), dx


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
    check_array('svm_loss', 'x', x, ndim=2)
    check_rows('svm_loss', 'x', x, 'the loss is an average over at least one example')
    y = check_labels('svm_loss', y, x.shape[0], x.shape[1])
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
    dx = check_output('svm_loss', 'dx', dx, x.shape, x.dtype)
    return float(loss), dx


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
    fn = 'batchnorm_forward'
    check_dict(fn, 'bn_param', bn_param, required=('mode',))
    mode = bn_param['mode']
    check_mode(fn, 'bn_param["mode"]', mode)
    check_array(fn, 'x', x, ndim=2)
    N, D = x.shape
    check_scale_shift(fn, 'gamma', gamma, x)
    check_scale_shift(fn, 'beta', beta, x)
    eps = check_real(fn, 'bn_param["eps"]', bn_param.get('eps', 1e-5), '(0, inf)')
    momentum = check_real(fn, 'bn_param["momentum"]', bn_param.get('momentum', 0.9), '[0, 1]')
    running_mean = bn_param.get('running_mean', np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.zeros(D, dtype=x.dtype))
    for key, stat in (('running_mean', running_mean), ('running_var', running_var)):
        check_array(fn, 'bn_param["%s"]' % key, stat)
        if stat.shape not in ((D,), (1, D)):   # (1, D), kept by the student's code, is fine
            raise ValueError('%s: bn_param["%s"] has shape %s, expected (%d,)'
                             % (fn, key, stat.shape, D))
    if mode == 'train':
        check_rows(fn, 'x', x, 'train mode normalizes with the statistics of the batch')

    out, cache = None, None
    if mode == 'train':
        #######################################################################
        # TODO: Implement the training-time forward pass for batch norm.      #
        # Use minibatch statistics to normalize the incoming data, scale and  #
        # shift it with gamma and beta, and update the running averages.      #
        # Store what the backward pass needs in cache.                        #
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
        # Normalize with the running mean and variance, then scale and shift. #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        #######################################################################
        #                           END OF YOUR CODE                          #
        #######################################################################

    out = check_output(fn, 'out', out, x.shape, x.dtype)
    # Store the updated running means back into bn_param, shaped (D,)
    bn_param['running_mean'] = check_output(fn, 'running_mean', running_mean, (D,), x.dtype)
    bn_param['running_var'] = check_output(fn, 'running_var', running_var, (D,), x.dtype)
    return out, tag_cache(cache, out, gamma=gamma, beta=beta)


def batchnorm_backward(dout, cache):
    """Batch normalization, backward, through the computation graph.

    Inputs:
    - dout: Upstream derivatives, of shape (N, D)
    - cache: Variable of intermediates from batchnorm_forward.

    Returns a tuple of:
    - dx: Gradient with respect to inputs x, of shape (N, D)
    - dgamma: Gradient with respect to scale parameter gamma, of shape (D,)
      (or of gamma's shape, if the forward pass got a gamma that broadcast)
    - dbeta: Gradient with respect to shift parameter beta, likewise
    """
    fn = 'batchnorm_backward'
    cache, dtype, param_shapes = untag_cache(fn, dout, cache)
    dx, dgamma, dbeta = None, None, None
    ###########################################################################
    # TODO: Implement the backward pass for batch normalization by walking    #
    # the computation graph backwards, one node at a time.                    #
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
    N, D = dout.shape
    dx = check_output(fn, 'dx', dx, (N, D), dtype)
    dgamma = check_param_grad(fn, 'dgamma', dgamma, D, param_shapes.get('gamma'), dout, dtype)
    dbeta = check_param_grad(fn, 'dbeta', dbeta, D, param_shapes.get('beta'), dout, dtype)
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Batch normalization, backward, in simplified closed form.

    Takes the same cache as batchnorm_backward and gives the same result.

    Inputs / outputs: Same as batchnorm_backward
    """
    fn = 'batchnorm_backward_alt'
    cache, dtype, param_shapes = untag_cache(fn, dout, cache)
    dx, dgamma, dbeta = None, None, None
    ###########################################################################
    # TODO: Implement the backward pass for batch normalization. Simplify     #
    # the gradient with respect to the centered inputs on paper first: dx     #
    # fits on a single 80-character line.                                     #
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
    N, D = dout.shape
    dx = check_output(fn, 'dx', dx, (N, D), dtype)
    dgamma = check_param_grad(fn, 'dgamma', dgamma, D, param_shapes.get('gamma'), dout, dtype)
    dbeta = check_param_grad(fn, 'dbeta', dbeta, D, param_shapes.get('beta'), dout, dtype)
    return dx, dgamma, dbeta


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
    fn = 'layernorm_forward'
    check_dict(fn, 'ln_param', ln_param)
    check_array(fn, 'x', x, ndim=2)
    N, D = x.shape
    check_scale_shift(fn, 'gamma', gamma, x)
    check_scale_shift(fn, 'beta', beta, x)
    if D == 0:
        raise ValueError('%s: x has shape %s: no features to normalize over' % (fn, x.shape))
    eps = check_real(fn, 'ln_param["eps"]', ln_param.get('eps', 1e-5), '(0, inf)')
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
    out = check_output(fn, 'out', out, x.shape, x.dtype)
    return out, tag_cache(cache, out, gamma=gamma, beta=beta)


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
    fn = 'layernorm_backward'
    cache, dtype, param_shapes = untag_cache(fn, dout, cache)
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
    N, D = dout.shape
    dx = check_output(fn, 'dx', dx, (N, D), dtype)
    dgamma = check_param_grad(fn, 'dgamma', dgamma, D, param_shapes.get('gamma'), dout, dtype)
    dbeta = check_param_grad(fn, 'dbeta', dbeta, D, param_shapes.get('beta'), dout, dtype)
    return dx, dgamma, dbeta


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
    fn = 'dropout_forward'
    check_dict(fn, 'dropout_param', dropout_param, required=('p', 'mode'))
    p, mode = dropout_param['p'], dropout_param['mode']
    check_real(fn, 'dropout_param["p"] (the keep probability)', p, '(0, 1]')
    check_mode(fn, 'dropout_param["mode"]', mode)
    check_array(fn, 'x', x)
    # Reseeding numpy's global generator (rather than a private one) is the
    # assignment's convention: the reference losses of later cells depend on it.
    if dropout_param.get('seed') is not None:
        np.random.seed(dropout_param['seed'])

    mask, out = None, None
    if mode == 'train':
        #######################################################################
        # TODO: Implement training phase forward pass for inverted dropout.  #
        # Draw a mask that keeps each unit with probability p (for example   #
        # with rand(*x.shape) < p) and store it in mask.                     #
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
    out = check_output(fn, 'out', out, x.shape, x.dtype)
    return out, cache


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
    check_array('dropout_backward', 'dout', dout, shape=np.shape(mask) if mode == 'train' else None)

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
    elif mode == 'test':
        dx = dout
    return check_output('dropout_backward', 'dx', dx, dout.shape, dout.dtype)
