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
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Bytes per block of each array in blocks(). An update makes several
# elementwise passes; over blocks of about this size they mostly hit the CPU's
# L2 cache, so a big weight matrix comes from memory about once per step
# instead of once per pass. Smaller blocks mean more numpy calls, and the
# threads hand the GIL over at every call (bench/bench_threads.py); much
# larger ones fall out of the cache. (Measured on 2 cores with 2 MB of L2
# each: Adam on a 3072 x 1024 float32 matrix right after its gradient's
# product takes 4.4 ms in blocks of 768 KB, 5.7 ms in blocks of 256 KB.)
BLOCK_BYTES = 768 << 10
_WORKERS = os.cpu_count() or 1
_pool = None


def blocks(*arrays):
    """Split arrays of one shape into matching flat blocks of at most about
    BLOCK_BYTES each, of equal length, their count a multiple of the CPU count.

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
    per_block = max(1, BLOCK_BYTES // max(a.itemsize for a in arrays))
    count = -(-size // per_block)
    count = -(-count // _WORKERS) * _WORKERS  # every core gets the same work
    length = -(-size // count)
    return [tuple(f[i:i + length] for f in flat) for i in range(0, size, length)]


def for_each_block(update, *arrays, scratch=0):
    """Call update(*blocks, *scratch_blocks) on every tuple of matching blocks.

    numpy's elementwise operations run on one core; blocks of a large array
    are independent, so they are spread over one thread per core (numpy
    releases the GIL while it computes). The scratch blocks are temporaries
    that update may overwrite (with out=), made once per thread rather than
    once per operation.

    Inputs:
    - update: A function that updates its array arguments in place
    - arrays: numpy arrays of the same shape
    - scratch: How many scratch blocks update takes after the array blocks;
      they have the dtype of the first array and the shape of its block
    """
    global _pool

    def run(parts):
        # One set of scratch arrays per thread, cut to each block's length
        # (the last block may be shorter).
        spare = [np.empty(parts[0][0].shape, arrays[0].dtype) for _ in range(scratch)]
        for part in parts:
            size = part[0].size
            update(*part, *(s.reshape(-1)[:size].reshape(part[0].shape) for s in spare))

    parts = [arrays] if arrays[0].nbytes <= BLOCK_BYTES else blocks(*arrays)
    if len(parts) == 1 or _WORKERS == 1:  # no threads
        run(parts)
        return
    if _pool is None:
        _pool = ThreadPoolExecutor(_WORKERS - 1, thread_name_prefix='cs231n-optim')
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

    def update(w, dw, step):
        np.multiply(dw, learning_rate, out=step)
        w -= step
    for_each_block(update, w, dw, scratch=1)
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

    def update(w, dw, v, step):
        v *= momentum
        np.multiply(dw, learning_rate, out=step)
        v -= step
        w += v
    for_each_block(update, w, dw, v, scratch=1)
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

    # Written with out= into two scratch blocks, so that no pass allocates;
    # the arithmetic is that of
    #   cache = decay_rate * cache + (1 - decay_rate) * dw * dw
    #   w -= lr * dw / (np.sqrt(cache) + eps)
    def update(w, dw, cache, step, denominator):
        cache *= decay_rate
        np.multiply(dw, 1 - decay_rate, out=step)
        step *= dw
        cache += step
        np.sqrt(cache, out=denominator)
        denominator += eps
        np.multiply(dw, lr, out=step)
        step /= denominator
        w -= step
    for_each_block(update, w, dw, config['cache'], scratch=2)
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

    beta1, beta2 = float(config['beta1']), float(config['beta2'])
    config['t'] += 1
    t = config['t']
    lr, eps = config['learning_rate'], config['epsilon']
    # The moments start at zero, so after t steps they are biased towards zero
    # by the factors (1 - beta1**t) and (1 - beta2**t). Rather than dividing
    # m and v by them elementwise, fold them into the step size and epsilon,
    # as Kingma & Ba do at the end of section 2 of the Adam paper:
    #   lr * (m / bias1) / (sqrt(v / bias2) + eps)
    #     = lr * sqrt(bias2) / bias1 * m / (sqrt(v) + eps * sqrt(bias2))
    # (math.sqrt keeps these scalars Python floats, so float32 stays float32.)
    bias1, bias2 = 1 - beta1 ** t, 1 - beta2 ** t
    step_size = float(lr) * math.sqrt(bias2) / bias1
    eps_hat = float(eps) * math.sqrt(bias2)

    # In place, with out= into a scratch block so that no pass allocates.
    def update(w, dw, m, v, step):
        m *= beta1
        np.multiply(dw, 1 - beta1, out=step)
        m += step                      # m = beta1 * m + (1 - beta1) * dw
        v *= beta2
        np.multiply(dw, 1 - beta2, out=step)
        step *= dw
        v += step                      # v = beta2 * v + (1 - beta2) * dw**2
        np.sqrt(v, out=step)
        step += eps_hat
        np.divide(m, step, out=step)
        step *= step_size
        w -= step                      # w -= step_size * m / (sqrt(v) + eps_hat)
    for_each_block(update, w, dw, config['m'], config['v'], scratch=1)
    next_w = w

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################

    return next_w, config
