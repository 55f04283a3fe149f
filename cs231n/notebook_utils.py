"""What every notebook's setup cell needs: plotting defaults, autoreload, the
fast mode used in CI, data loading with a one-line fix when data is missing,
and checks that print a value next to the value it should have.
"""
import importlib
import os
import sys
import types

import numpy as np

from .gradient_check import rel_error

# CS231N_FAST=1 runs every experiment on small subsets for a few epochs, so
# that CI can execute the notebooks in minutes. Results are then meaningless,
# and the notebooks only assert properties that hold in both modes.
FAST = os.environ.get('CS231N_FAST', '').strip().lower() not in ('', '0', 'false', 'no')


def fast_or(full, fast):
    """`fast` in fast mode, `full` otherwise."""
    return fast if FAST else full


def setup_notebook():
    """Plot defaults and module autoreload for the notebook that calls this."""
    import matplotlib.pyplot as plt
    plt.rcParams['figure.figsize'] = (10.0, 8.0)
    plt.rcParams['image.interpolation'] = 'nearest'
    plt.rcParams['image.cmap'] = 'gray'
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ipython = get_ipython()
    if ipython is None:
        return
    # IPython 7 (still Colab's on Python 3.12) imports the `imp` module in
    # autoreload, and Python 3.12 removed it; a stand-in with reload is enough.
    if 'imp' not in sys.modules:
        try:
            importlib.import_module('imp')
        except ImportError:
            sys.modules['imp'] = types.SimpleNamespace(reload=importlib.reload)
    ipython.run_line_magic('load_ext', 'autoreload')
    ipython.run_line_magic('autoreload', '2')
    ipython.run_line_magic('matplotlib', 'inline')
    if FAST:
        print('Fast mode (CS231N_FAST=1): small subsets and few epochs; '
              'accuracies are not meaningful.')


class DataMissingError(FileNotFoundError):
    """Raised when CIFAR-10 is not on disk; IPython shows only its message."""

    def _render_traceback_(self):
        return [str(self)]


def load_cifar10(num_training=49000, num_validation=1000, num_test=1000, dtype=np.float32):
    """get_CIFAR10_data, with a one-line instruction if the data is missing.

    Inputs: as for cs231n.data_utils.get_CIFAR10_data

    Returns:
    - data: Dict with X_train, y_train, X_val, y_val, X_test, y_test
    """
    from .data_utils import get_CIFAR10_data
    try:
        data = get_CIFAR10_data(num_training=num_training, num_validation=num_validation,
                                num_test=num_test, dtype=dtype)
    except FileNotFoundError as e:
        raise DataMissingError(str(e)) from None
    for k, v in data.items():
        print('%s: %s %s' % (k, v.shape, v.dtype))
    return data


def _status(ok):
    return 'ok' if ok else 'FAILED'


def check_value(name, value, expected, tol=1e-8):
    """Print a value next to its reference value and assert they agree.

    Inputs:
    - name: What the value is
    - value, expected: Scalars or arrays of the same shape
    - tol: Largest relative error allowed (see rel_error)
    """
    value, expected = np.asarray(value, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    err = rel_error(value, expected)
    fmt = {'float_kind': lambda v: '%.12g' % v}
    print('%s: %s (expected %s)  %s' % (name, np.array2string(value, formatter=fmt),
                                        np.array2string(expected, formatter=fmt),
                                        _status(err <= tol)))
    assert err <= tol, '%s: relative error %.1e (expected <= %.0e)' % (name, err, tol)


def check_error(name, value, expected, tol):
    """Print the relative error between an analytic and a numeric result and
    assert it is below tol.

    Inputs:
    - name: What is compared, e.g. 'dx'
    - value, expected: Arrays of the same shape
    - tol: Largest relative error allowed
    """
    err = rel_error(value, expected)
    print('%s relative error: %.2e (expected < %.0e)  %s' % (name, err, tol, _status(err < tol)))
    assert err < tol, '%s: relative error %.1e (expected < %.0e)' % (name, err, tol)


def check_at_least(name, value, target):
    """Print a result such as an accuracy next to its target, and assert it."""
    print('%s: %.4f (target >= %.2f)  %s' % (name, value, target, _status(value >= target)))
    assert value >= target, '%s: %.4f, below the target %.2f' % (name, value, target)


def print_mean_std(x, axis=0):
    """Print the means and standard deviations of x along an axis."""
    print('  means: ', x.mean(axis=axis))
    print('  stds:  ', x.std(axis=axis))
    print()
