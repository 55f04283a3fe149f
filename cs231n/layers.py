"""Layers as forward/backward pairs.

Every layer is two functions:

    out, cache = layer_forward(inputs..., param)
    dinputs... = layer_backward(dout, cache)

The backward pass returns one gradient per input, each shaped like that input.
Everything stays in the dtype of the inputs: float32 in, float32 out.
"""
import numpy as np

from ._checks import check_array, check_labels, check_mode, check_probability


def affine_forward(x, w, b):
    """Fully-connected (affine) layer, forward.

    Each example x[i] of shape (d_1, ..., d_k) is flattened into a row of
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
    if x.ndim == 0 or x[:1].size != w.shape[0]:
        raise ValueError(
            'affine_forward: each example of x (shape %s) has %d values, but w of shape %s '
            'expects %d' % (x.shape, x[:1].size if x.ndim else 0, w.shape, w.shape[0]))
    out = None
    ###########################################################################
    # TODO: Implement the affine forward pass. Store the result in out. You   #
    # will need to reshape the input into rows.                               #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    out = x.reshape(x.shape[0], -1) @ w
    out += b

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
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
    return dx, dw, db


def relu_forward(x):
    """Rectified linear unit, forward.

    Input:
    - x: Inputs, of any shape

    Returns a tuple of:
    - out: Output, of the same shape as x
    - cache: x
    """
    out = None
    ###########################################################################
    # TODO: Implement the ReLU forward pass.                                  #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    out = np.maximum(x, 0)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
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
    dx, x = None, cache
    ###########################################################################
    # TODO: Implement the ReLU backward pass.                                 #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    dx = dout * (x > 0)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return dx


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
    y = check_labels('softmax_loss', y, x.shape[0], x.shape[1])
    loss, dx = None, None
    ###########################################################################
    # TODO: Compute the softmax loss and its gradient. Shift the scores by    #
    # their row maximum first, so that exp never overflows.                   #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    log_probs_correct = shifted[np.arange(N), y] - np.log(sum_exp[:, 0])
    loss = -float(log_probs_correct.mean(dtype=np.float64))
    dx = exp
    dx /= sum_exp
    dx[np.arange(N), y] -= 1
    dx /= N

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return loss, dx


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
    y = check_labels('svm_loss', y, x.shape[0], x.shape[1])
    loss, dx = None, None
    ###########################################################################
    # TODO: Compute the multiclass SVM loss and its (sub)gradient.            #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    N = x.shape[0]
    rows = np.arange(N)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    margins[rows, y] = 0
    loss = float(margins.sum(dtype=np.float64)) / N
    dx = (margins > 0).astype(x.dtype)
    dx[rows, y] -= dx.sum(axis=1)
    dx /= N

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return loss, dx


def _check_norm_inputs(fn, x, gamma, beta):
    check_array(fn, 'x', x, ndim=2)
    check_array(fn, 'gamma', gamma, shape=(x.shape[1],))
    check_array(fn, 'beta', beta, shape=(x.shape[1],))


###############################################################################
# TODO (optional): Helpers shared by batch and layer normalization. Layer     #
# norm is batch norm of the transposed data, so one pair of functions that    #
# standardizes the columns of a matrix can serve both.                        #
###############################################################################
# *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

# Bytes of a row block in _standardize_backward: the blocks of dout, x_hat,
# dx and a temporary stay in the CPU caches.
_CACHE_BLOCK_BYTES = 1 << 19


def _standardize_forward(x, eps):
    """Shift and scale each column of x to mean 0, variance 1.

    The statistics run over axis 0 (the rows), and the variance is the biased
    one (divided by N). Batchnorm calls this on x; layernorm calls it on x.T.

    Inputs:
    - x: Data of shape (N, D)
    - eps: Constant added to the variance for numeric stability

    Returns a tuple of:
    - x_hat: Standardized data, of shape (N, D)
    - mean, var: Column means and variances, of shape (D,)
    - cache: (x_hat, x, mean, std); x - mean gives back the centred data
    """
    mean = x.mean(axis=0)
    x_hat = x - mean  # centred here, standardized in place below
    var = np.einsum('ij,ij->j', x_hat, x_hat) / x.shape[0]
    std = np.sqrt(var + eps)
    x_hat /= std
    return x_hat, mean, var, (x_hat, x, mean, std)


def _standardize_backward(dout, x_hat, std, scale=1, sum_dout=None, sum_dout_x_hat=None):
    """Gradient of sum(dout * scale * x_hat) with respect to x, in closed form.

    With x_hat = (x - mean) / std per column over N rows, the chain rule
    through the mean and the variance collapses to

        dx = scale / (N * std) * (N * dout - sum(dout) - x_hat * sum(dout * x_hat))

    with the sums over the rows: four elementwise passes over the data.

    Inputs:
    - dout: Upstream derivative, of shape (N, D)
    - x_hat, std: From _standardize_forward, of shapes (N, D) and (D,)
    - scale: A factor per column, of shape (D,) (batchnorm's gamma), or 1
    - sum_dout, sum_dout_x_hat: The two column sums, of shape (D,), if the
      caller has them already (batchnorm's dbeta and dgamma); else computed

    Returns:
    - dx: Gradient with respect to x, of shape (N, D)
    """
    N = dout.shape[0]
    if sum_dout is None:
        sum_dout = np.einsum('ij->j', dout)  # faster than dout.sum(axis=0) for large N
    if sum_dout_x_hat is None:
        sum_dout_x_hat = np.einsum('ij,ij->j', dout, x_hat)
    k = scale / (N * std)
    dout_factor, x_hat_factor, offset = N * k, k * sum_dout_x_hat, k * sum_dout
    dx = np.empty_like(x_hat, dtype=np.result_type(dout, x_hat, k))  # x_hat's memory order
    # A few rows at a time, so that each row block's temporary stays in the
    # CPU cache, and the only large new array is dx: freshly allocated
    # temporaries as large as the data cost more (in page faults) than the
    # arithmetic. The operations are those of the whole-array formula.
    rows = max(1, _CACHE_BLOCK_BYTES // max(1, dx.itemsize * dx.shape[1]))
    for start in range(0, N, rows):
        block = dx[start:start + rows]
        np.multiply(dout[start:start + rows], dout_factor, out=block)
        correction = x_hat[start:start + rows] * x_hat_factor
        correction += offset
        block -= correction
    return dx

# *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
###############################################################################
#                               END OF YOUR CODE                              #
###############################################################################


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization, forward.

    In train mode each feature is standardized with the mean and (biased)
    variance of the minibatch, then scaled by gamma and shifted by beta.
    Running averages of the statistics are kept for test mode:

        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var

    The paper estimates test-time statistics over the whole training set;
    running averages, as torch7 does, need no extra pass over the data.

    Input:
    - x: Data of shape (N, D)
    - gamma: Scale parameter of shape (D,)
    - beta: Shift parameter of shape (D,)
    - bn_param: Dictionary with the following keys:
      - mode: 'train' or 'test'; required
      - eps: Constant for numeric stability, default 1e-5
      - momentum: Constant for the running averages, default 0.9
      - running_mean: Array of shape (D,), running mean of features
      - running_var: Array of shape (D,), running variance of features
      The running statistics are written back into bn_param.

    Returns a tuple of:
    - out: of shape (N, D)
    - cache: A tuple of values needed in the backward pass
    """
    if not isinstance(bn_param, dict) or 'mode' not in bn_param:
        raise ValueError('batchnorm_forward: bn_param must be a dict with a "mode" key '
                         '("train" or "test"), got %r' % (bn_param,))
    mode = bn_param['mode']
    check_mode('batchnorm_forward', mode, 'bn_param["mode"]')
    _check_norm_inputs('batchnorm_forward', x, gamma, beta)
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)

    N, D = x.shape
    running_mean = bn_param.get('running_mean', np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == 'train':
        #######################################################################
        # TODO: Implement the training-time forward pass for batch norm.      #
        # Use minibatch statistics to normalize the incoming data, scale and  #
        # shift it with gamma and beta, and update the running averages.      #
        # Store what the backward pass needs in cache.                        #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        x_hat, mean, var, std_cache = _standardize_forward(x, eps)
        out = gamma * x_hat
        out += beta
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
        cache = (std_cache, gamma)

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

        scale = gamma / np.sqrt(running_var + eps)
        out = x * scale
        out += beta - running_mean * scale

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        #######################################################################
        #                           END OF YOUR CODE                          #
        #######################################################################

    # Store the updated running means back into bn_param
    bn_param['running_mean'] = running_mean
    bn_param['running_var'] = running_var
    return out, cache


def _check_train_cache(fn, cache):
    if cache is None:
        raise ValueError('%s: the cache is None; backward needs the cache of a '
                         'forward pass in "train" mode' % fn)


def batchnorm_backward(dout, cache):
    """Batch normalization, backward, through the computation graph.

    Inputs:
    - dout: Upstream derivatives, of shape (N, D)
    - cache: Variable of intermediates from batchnorm_forward.

    Returns a tuple of:
    - dx: Gradient with respect to inputs x, of shape (N, D)
    - dgamma: Gradient with respect to scale parameter gamma, of shape (D,)
    - dbeta: Gradient with respect to shift parameter beta, of shape (D,)
    """
    _check_train_cache('batchnorm_backward', cache)
    dx, dgamma, dbeta = None, None, None
    ###########################################################################
    # TODO: Implement the backward pass for batch normalization by walking    #
    # the computation graph backwards, one node at a time.                    #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    (x_hat, x, mean, std), gamma = cache
    x_centered = x - mean
    N = dout.shape[0]
    # out = gamma * x_hat + beta
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    # x_hat = x_centered * inv_std
    inv_std = 1 / std
    dinv_std = (dx_hat * x_centered).sum(axis=0)
    dx_centered = dx_hat * inv_std
    # inv_std = 1 / std;  std = sqrt(var + eps)
    dstd = -dinv_std / std ** 2
    dvar = 0.5 * dstd / std
    # var = mean(x_centered ** 2)
    dsquares = np.ones_like(dout) * dvar / N
    dx_centered += 2 * x_centered * dsquares
    # x_centered = x - mean;  mean = mean(x)
    dmean = -dx_centered.sum(axis=0)
    dx = dx_centered + np.ones_like(dout) * dmean / N

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Batch normalization, backward, in simplified closed form.

    Takes the same cache as batchnorm_backward and gives the same result.

    Inputs / outputs: Same as batchnorm_backward
    """
    _check_train_cache('batchnorm_backward_alt', cache)
    dx, dgamma, dbeta = None, None, None
    ###########################################################################
    # TODO: Implement the backward pass for batch normalization. Simplify     #
    # the gradient with respect to the centered inputs on paper first: dx     #
    # fits on a single 80-character line.                                     #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    (x_hat, _, _, std), gamma = cache
    dbeta = np.einsum('ij->j', dout)  # the column sums; faster than dout.sum(axis=0)
    dgamma = np.einsum('ij,ij->j', dout, x_hat)
    dx = _standardize_backward(dout, x_hat, std, gamma, dbeta, dgamma)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalization, forward.

    Each data point is standardized over its own D features, then scaled by
    gamma and shifted by beta per feature. Train and test time behave the
    same, so there are no running averages. This is batch normalization of
    x.T, so it reuses the batchnorm machinery on the transposed problem.

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
    if not isinstance(ln_param, dict):
        raise TypeError('layernorm_forward: ln_param must be a dict, got %r' % (ln_param,))
    _check_norm_inputs('layernorm_forward', x, gamma, beta)
    out, cache = None, None
    eps = ln_param.get('eps', 1e-5)
    ###########################################################################
    # TODO: Implement the training-time forward pass for layer norm.          #
    # Normalize the incoming data, then scale and shift it with gamma and     #
    # beta. Hint: transpose, and reuse your batch norm training-time code.    #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    x_hat_t, _, _, std_cache = _standardize_forward(x.T, eps)
    x_hat = x_hat_t.T
    out = gamma * x_hat
    out += beta
    cache = (std_cache, gamma)

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return out, cache


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
    dx, dgamma, dbeta = None, None, None
    ###########################################################################
    # TODO: Implement the backward pass for layer norm.                       #
    # Hint: transpose, and reuse your batch norm backward code.               #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    (x_hat_t, _, _, std), gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = np.einsum('ij,ji->j', dout, x_hat_t)
    dx = _standardize_backward((dout * gamma).T, x_hat_t, std).T

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
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
    if not isinstance(dropout_param, dict) or 'p' not in dropout_param:
        raise ValueError('dropout_forward: dropout_param must be a dict with a keep '
                         'probability "p" and a "mode", got %r' % (dropout_param,))
    p, mode = dropout_param['p'], dropout_param.get('mode')
    check_probability('dropout_forward', 'dropout_param["p"]', p)
    check_mode('dropout_forward', mode, 'dropout_param["mode"]')
    check_array('dropout_forward', 'x', x)
    # Reseeding numpy's global generator (rather than a private one) is the
    # assignment's convention: the reference losses of later cells depend on it.
    if dropout_param.get('seed') is not None:
        np.random.seed(dropout_param['seed'])

    mask, out = None, None
    if mode == 'train':
        #######################################################################
        # TODO: Implement training phase forward pass for inverted dropout.  #
        # Draw the mask with rand(*x.shape) < p and store it in mask.         #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        keep = np.random.rand(*x.shape) < p
        mask = keep.astype(x.dtype)
        mask *= x.dtype.type(1 / p)
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
    out = out.astype(x.dtype, copy=False)
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
    return dx
