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

An update rule may update w in place and return it (the given sgd does), or
return a new array; callers always use the returned next_w. The config dict
is updated in place and returned too. The code around each solution region
checks the arguments, and gives next_w and the state arrays the dtype of w.

NOTE: For most update rules, the default learning rate will probably not
perform well; however the default values of the other hyperparameters should
work well for a variety of different problems.
"""
import numpy as np

from ._checks import check_array, check_dict, check_int, check_output, check_real

# The hyperparameters of each rule, with their defaults.
DEFAULTS = {
    'sgd': {'learning_rate': 1e-2},
    'sgd_momentum': {'learning_rate': 1e-2, 'momentum': 0.9},
    'rmsprop': {'learning_rate': 1e-2, 'decay_rate': 0.99, 'epsilon': 1e-8},
    'adam': {'learning_rate': 1e-3, 'beta1': 0.9, 'beta2': 0.999, 'epsilon': 1e-8},
}
# Where each hyperparameter must lie.
RANGES = {'learning_rate': '[0, inf)', 'momentum': '[0, 1)', 'decay_rate': '[0, 1)',
          'beta1': '[0, 1)', 'beta2': '[0, 1)', 'epsilon': '(0, inf)'}
# The arrays each rule keeps in config between calls, shaped like w; Adam
# also counts its steps in config['t'].
STATE = {'sgd': (), 'sgd_momentum': ('velocity',), 'rmsprop': ('cache',), 'adam': ('m', 'v')}
UPDATE_RULES = tuple(DEFAULTS)


def check_hyperparameters(fn, rule, config, name='config'):
    """Raise unless config holds valid values, and, before the first update
    (no state in config yet), only keys that `rule` uses: a misspelled
    hyperparameter would be ignored. After it, config may also hold what the
    rule's code keeps there of its own.

    Inputs:
    - fn, name: The caller and the argument, for the message
    - rule: The name of an update rule
    - config: Its config dict (hyperparameters and state); the values of the
      hyperparameters become Python floats
    """
    check_dict(fn, name, config)
    known = set(DEFAULTS[rule]) | set(STATE[rule]) | ({'t'} if rule == 'adam' else set())
    unknown = sorted(set(config) - known, key=str)
    if unknown and not any(key in config for key in STATE[rule]):
        raise ValueError('%s: %s has the key(s) %s, which %s does not use; it takes %s'
                         % (fn, name, ', '.join(map(repr, unknown)), rule, sorted(known)))
    for key in DEFAULTS[rule]:
        if key in config:
            config[key] = check_real(fn, '%s[%r]' % (name, key), config[key], RANGES[key])


def _prepare(rule, w, dw, config):
    """Check the arguments of an update rule and fill in its defaults.

    Returns:
    - config, the same dict (a new one if config was None)
    """
    check_array(rule, 'w', w)
    check_array(rule, 'dw', dw, shape=w.shape)
    config = {} if config is None else config
    check_hyperparameters(rule, rule, config)
    for key, value in DEFAULTS[rule].items():
        config.setdefault(key, value)
    for key in STATE[rule]:
        if key in config:
            check_array(rule, 'config[%r]' % key, config[key], shape=w.shape)
    if 't' in config:
        check_int(rule, "config['t']", config['t'], '[0, inf)')
    return config


def _finish(rule, w, next_w, config):
    """Check what an update computed; give next_w and the state w's dtype."""
    next_w = check_output(rule, 'next_w', next_w, w.shape, w.dtype)
    for key in STATE[rule]:
        config[key] = check_output(rule, 'config[%r]' % key, config[key], w.shape, w.dtype)
    return next_w, config


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent.

    config format:
    - learning_rate: Scalar learning rate.
    """
    config = _prepare('sgd', w, dw, config)

    w -= config['learning_rate'] * dw
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
    config = _prepare('sgd_momentum', w, dw, config)
    v = config.get('velocity', np.zeros_like(w))

    next_w = None
    ###########################################################################
    # TODO: Implement the momentum update formula. Store the updated value in #
    # the next_w variable. You should also use and update the velocity v.     #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    v = config['momentum'] * v - config['learning_rate'] * dw
    next_w = w + v

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    config['velocity'] = v

    return _finish('sgd_momentum', w, next_w, config)


def rmsprop(w, dw, config=None):
    """RMSProp: scale each step by a moving average of squared gradients.

    config format:
    - learning_rate: Scalar learning rate.
    - decay_rate: Scalar between 0 and 1 giving the decay rate for the squared
      gradient cache.
    - epsilon: Small scalar used for smoothing to avoid dividing by zero.
    - cache: Moving average of second moments of gradients.
    """
    config = _prepare('rmsprop', w, dw, config)
    config.setdefault('cache', np.zeros_like(w))

    next_w = None
    ###########################################################################
    # TODO: Implement the RMSprop update formula, storing the next value of w #
    # in the next_w variable. Don't forget to update cache value stored in    #
    # config['cache'].                                                        #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    decay_rate = config['decay_rate']
    config['cache'] = decay_rate * config['cache'] + (1 - decay_rate) * dw ** 2
    next_w = w - config['learning_rate'] * dw / (np.sqrt(config['cache']) + config['epsilon'])

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################

    return _finish('rmsprop', w, next_w, config)


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
    config = _prepare('adam', w, dw, config)
    config.setdefault('m', np.zeros_like(w))
    config.setdefault('v', np.zeros_like(w))
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
    config['m'] = beta1 * config['m'] + (1 - beta1) * dw
    config['v'] = beta2 * config['v'] + (1 - beta2) * dw ** 2
    m_hat = config['m'] / (1 - beta1 ** t)
    v_hat = config['v'] / (1 - beta2 ** t)
    next_w = w - config['learning_rate'] * m_hat / (np.sqrt(v_hat) + config['epsilon'])

    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################

    return _finish('adam', w, next_w, config)
