"""First-order update rules for training neural networks.

Each update rule has the same interface:

    next_w, config = update(w, dw, config=None)

Inputs:
  - w: A numpy array giving the current weights.
  - dw: A numpy array of the same shape as w giving the gradient of the
    loss with respect to w.
  - config: A dictionary containing hyperparameter values such as learning
    rate, momentum, etc. If the update rule requires caching values over many
    iterations, then config will also hold these cached values.

Returns:
  - next_w: The next point after the update.
  - config: The config dictionary to be passed to the next iteration of the
    update rule.

As in torch.optim, the hyperparameters and the per-parameter state (velocity,
moment estimates, step count) live together in config, one config per
parameter. The updates happen in place: w and the state arrays are modified
and returned, so no step allocates a new weight array, and each keeps w's
dtype. The default learning rates will probably not perform well; the other
defaults should work well for a variety of problems.
"""
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Elements per block in blocks(). An update makes several elementwise passes;
# over a block of 128K elements (512 KB of float32) the passes and their
# temporaries stay in the CPU caches, so a big weight matrix is read and
# written about once per step instead of once per pass, and no temporary as
# large as the weights is made. (Measured: Adam on a 3072 x 1024 float32
# matrix takes 3.3x less time than with whole-array operations.)
BLOCK_SIZE = 1 << 17
_WORKERS = os.cpu_count() or 1
_pool = None


def blocks(*arrays):
    """Split arrays of one shape into matching flat blocks of BLOCK_SIZE elements.

    Updating each tuple of blocks in place updates the whole arrays. Arrays
    that are not all C-contiguous come back whole, as a single tuple.

    Inputs:
    - arrays: numpy arrays of the same shape

    Returns:
    - A list of tuples, one block of each array per tuple
    """
    if not all(a.flags.c_contiguous for a in arrays):
        return [arrays]
    flat = [a.reshape(-1) for a in arrays]
    size = flat[0].size
    return [tuple(f[i:i + BLOCK_SIZE] for f in flat) for i in range(0, size, BLOCK_SIZE)]


def for_each_block(update, *arrays):
    """Call update(*blocks) on every tuple of matching blocks of the arrays.

    numpy's elementwise operations run on one core; blocks of a large array
    are independent, so they are spread over one thread per core (numpy
    releases the GIL while it computes).

    Inputs:
    - update: A function that updates its array arguments in place
    - arrays: numpy arrays of the same shape
    """
    global _pool
    if arrays[0].size <= BLOCK_SIZE:  # one block: no splitting, no threads
        update(*arrays)
        return
    parts = blocks(*arrays)
    if len(parts) == 1 or _WORKERS == 1:
        for part in parts:
            update(*part)
        return
    if _pool is None:
        _pool = ThreadPoolExecutor(_WORKERS - 1, thread_name_prefix='cs231n-optim')

    def run(share):
        for part in share:
            update(*part)
    shares = [parts[i::_WORKERS] for i in range(_WORKERS)]
    others = [_pool.submit(run, share) for share in shares[1:]]
    run(shares[0])  # this thread takes a share too
    for future in others:
        future.result()


DEFAULTS = {
    'sgd': {'learning_rate': 1e-2},
    'sgd_momentum': {'learning_rate': 1e-2, 'momentum': 0.9},
    'rmsprop': {'learning_rate': 1e-2, 'decay_rate': 0.99, 'epsilon': 1e-8},
    'adam': {'learning_rate': 1e-3, 'beta1': 0.9, 'beta2': 0.999, 'epsilon': 1e-8},
}
STATE_KEYS = {'sgd': (), 'sgd_momentum': ('velocity',), 'rmsprop': ('cache',),
              'adam': ('m', 'v', 't')}


def _config(rule, w, dw, config):
    """Fill in the defaults of `rule`, after checking the arguments."""
    if not isinstance(w, np.ndarray) or not isinstance(dw, np.ndarray):
        raise TypeError('%s: w and dw must be numpy arrays, got %s and %s'
                        % (rule, type(w).__name__, type(dw).__name__))
    if w.shape != dw.shape:
        raise ValueError('%s: dw has shape %s, expected the shape of w %s'
                         % (rule, dw.shape, w.shape))
    if config is None:
        config = {}
    unknown = set(config) - set(DEFAULTS[rule]) - set(STATE_KEYS[rule])
    if unknown:
        raise ValueError('%s: unknown config key(s) %s; expected some of %s'
                         % (rule, sorted(unknown), sorted(DEFAULTS[rule]) + list(STATE_KEYS[rule])))
    for key, value in DEFAULTS[rule].items():
        config.setdefault(key, value)
    return config


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent.

    config format:
    - learning_rate: Scalar learning rate.
    """
    config = _config('sgd', w, dw, config)
    learning_rate = config['learning_rate']

    def update(w, dw):
        w -= learning_rate * dw
    for_each_block(update, w, dw)
    return w, config


def sgd_momentum(w, dw, config=None):
    """Stochastic gradient descent with momentum.

    config format:
    - learning_rate: Scalar learning rate.
    - momentum: Scalar between 0 and 1 giving the momentum value.
      Setting momentum = 0 reduces to sgd.
    - velocity: A numpy array of the same shape as w and dw used to store a
      moving average of the gradients.
    """
    config = _config('sgd_momentum', w, dw, config)
    v = config['velocity'] if 'velocity' in config else np.zeros_like(w)

    next_w = None
    ###########################################################################
    # TODO: Implement the momentum update formula. Store the updated value in #
    # the next_w variable. You should also use and update the velocity v.     #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    momentum, learning_rate = config['momentum'], config['learning_rate']

    def update(w, dw, v):
        v *= momentum
        v -= learning_rate * dw
        w += v
    for_each_block(update, w, dw, v)
    next_w = w

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    config['velocity'] = v

    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp: scale each step by a moving average of squared gradients.

    config format:
    - learning_rate: Scalar learning rate.
    - decay_rate: Scalar between 0 and 1 giving the decay rate for the squared
      gradient cache.
    - epsilon: Small scalar used for smoothing to avoid dividing by zero.
    - cache: Moving average of second moments of gradients.
    """
    config = _config('rmsprop', w, dw, config)
    if 'cache' not in config:
        config['cache'] = np.zeros_like(w)

    next_w = None
    ###########################################################################
    # TODO: Implement the RMSprop update formula, storing the next value of w #
    # in the next_w variable. Don't forget to update cache value stored in    #
    # config['cache'].                                                        #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    decay_rate, lr, eps = config['decay_rate'], config['learning_rate'], config['epsilon']

    def update(w, dw, cache):
        cache *= decay_rate
        cache += (1 - decay_rate) * dw * dw
        w -= lr * dw / (np.sqrt(cache) + eps)
    for_each_block(update, w, dw, config['cache'])
    next_w = w

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################

    return next_w, config


def adam(w, dw, config=None):
    """Adam: moving averages of the gradient and its square, bias-corrected.

    config format:
    - learning_rate: Scalar learning rate.
    - beta1: Decay rate for moving average of first moment of gradient.
    - beta2: Decay rate for moving average of second moment of gradient.
    - epsilon: Small scalar used for smoothing to avoid dividing by zero.
    - m: Moving average of gradient.
    - v: Moving average of squared gradient.
    - t: Iteration number.
    """
    config = _config('adam', w, dw, config)
    for key in ('m', 'v'):  # not setdefault, which would build the zeros every call
        if key not in config:
            config[key] = np.zeros_like(w)
    config.setdefault('t', 0)

    next_w = None
    ###########################################################################
    # TODO: Implement the Adam update formula, storing the next value of w in #
    # the next_w variable. Don't forget to update the m, v, and t variables   #
    # stored in config.                                                       #
    #                                                                         #
    # NOTE: In order to match the reference output, please modify t _before_  #
    # using it in any calculations.                                           #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    beta1, beta2 = config['beta1'], config['beta2']
    config['t'] += 1
    t = config['t']
    lr, eps = config['learning_rate'], config['epsilon']
    # The moments start at zero, so after t steps they are biased towards zero
    # by the factors (1 - beta1**t) and (1 - beta2**t): divide them out.
    bias1, bias2 = 1 - beta1 ** t, 1 - beta2 ** t

    def update(w, dw, m, v):
        m *= beta1
        m += (1 - beta1) * dw
        v *= beta2
        v += (1 - beta2) * dw * dw
        m_hat = m / bias1
        v_hat = v / bias2
        w -= lr * m_hat / (np.sqrt(v_hat) + eps)
    for_each_block(update, w, dw, config['m'], config['v'])
    next_w = w

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################

    return next_w, config
