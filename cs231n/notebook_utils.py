"""What every notebook's setup cell needs: plotting defaults, autoreload, the
fast mode used in CI, data loading with a one-line fix when data is missing,
checks that assert and print one line each, and short summaries of training
runs.
"""
import importlib
import os
import subprocess
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


def on_colab():
    """True inside a Google Colab kernel."""
    return 'google.colab' in sys.modules


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


def _fetch_cifar10():
    """Run the package's fetcher (python -m cs231n.datasets) from the assignment folder."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print('CIFAR-10 is missing; fetching it (about 163 MB) ...', flush=True)
    subprocess.run([sys.executable, '-m', 'cs231n.datasets'], cwd=root, check=True)


def load_cifar10(num_training=49000, num_validation=1000, num_test=1000, dtype=np.float32):
    """get_CIFAR10_data, with a one-line instruction if the data is missing.
    On Colab the data is fetched first if it is missing.

    Inputs: as for cs231n.data_utils.get_CIFAR10_data

    Returns:
    - data: Dict with X_train, y_train, X_val, y_val, X_test, y_test
    """
    from .data_utils import get_CIFAR10_data

    def load():
        return get_CIFAR10_data(num_training=num_training, num_validation=num_validation,
                                num_test=num_test, dtype=dtype)
    try:
        data = load()
    except FileNotFoundError as e:
        if not on_colab():
            raise DataMissingError(str(e)) from None
        _fetch_cifar10()
        data = load()
    for k, v in data.items():
        print('%s: %s %s' % (k, v.shape, v.dtype))
    return data


# ---------------------------------------------------------------------------
# Checks. Each prints one line: what was compared, the error or value, the
# tolerance or target, and ok or FAILED; on a failure it also prints the
# values compared, then raises AssertionError, which stops the cell.

def _status(ok):
    return 'ok' if ok else 'FAILED'


def _tol(tol):
    return '0' if tol == 0 else '%.0e' % tol


def _show(label, a):
    a = np.asarray(a, dtype=np.float64)
    text = np.array2string(a, precision=8, threshold=60, max_line_width=96)
    print('  %s:%s%s' % (label, '\n    ' if '\n' in text else ' ',
                         text.replace('\n', '\n    ')))


def check_value(name, value, expected, tol=1e-8):
    """Assert that a value matches its reference to a relative error of at most
    tol (see rel_error), and print one line about it.

    Inputs:
    - name: What is compared, e.g. 'affine_forward out'
    - value, expected: Scalars or arrays of the same shape
    - tol: Largest relative error allowed; 0 asks for equality
    """
    value, expected = np.asarray(value, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    err = rel_error(value, expected)
    ok = err <= tol
    shown = '%.10g, ' % value if value.ndim == 0 else ''
    print('%s: %srelative error %.1e (tol %s)  %s' % (name, shown, err, _tol(tol), _status(ok)))
    if not ok:
        _show('got', value)
        _show('expected', expected)
    assert ok, '%s: relative error %.1e (expected <= %s)' % (name, err, _tol(tol))


def check_error(name, value, expected, tol):
    """Assert that an analytic result (e.g. a gradient) agrees with a numeric
    one to a relative error below tol, and print one line about it.

    Inputs:
    - name: What is compared, e.g. 'affine_backward dx'
    - value, expected: Arrays of the same shape
    - tol: The relative error must be below this
    """
    err = rel_error(value, expected)
    ok = err < tol
    print('%s: relative error %.1e (tol %s)  %s' % (name, err, _tol(tol), _status(ok)))
    if not ok:
        _show('got', value)
        _show('expected', expected)
    assert ok, '%s: relative error %.1e (expected < %s)' % (name, err, _tol(tol))


def check_at_most(name, value, limit):
    """Assert that a non-negative quantity, such as the largest |mean| of
    normalized features, is at most limit; print one line about it."""
    value = float(value)
    ok = value <= limit
    print('%s: %.1e (limit %s)  %s' % (name, value, _tol(limit), _status(ok)))
    assert ok, '%s: %.1e, above the limit %s' % (name, value, _tol(limit))


def check_at_least(name, value, target):
    """Assert that a result such as an accuracy reaches its target; print one line."""
    value = float(value)
    ok = value >= target
    print('%s: %.4f (target >= %.2f)  %s' % (name, value, target, _status(ok)))
    assert ok, '%s: %.4f, below the target %.2f' % (name, value, target)


def print_mean_std(x, axis=0):
    """Print the means and standard deviations of x along an axis."""
    print('  means: ', x.mean(axis=axis))
    print('  stds:  ', x.std(axis=axis))
    print()


# ---------------------------------------------------------------------------
# Training runs

def run_summary(solver):
    """One line about a finished training run: the loss at its start and end,
    the final training accuracy, and the best validation accuracy with its epoch.

    Inputs:
    - solver: A trained Solver

    Returns:
    - A string such as 'loss 2.30 -> 1.21, final train acc 0.588, best val acc 0.313 (epoch 9)'
    """
    losses = np.asarray(solver.loss_history, dtype=np.float64)
    tail = losses[-max(1, len(losses) // 20):]
    best_epoch = int(np.argmax(solver.val_acc_history))
    return ('loss %.2f -> %.2f, final train acc %.3f, best val acc %.3f (epoch %d)'
            % (losses[0], tail.mean(), solver.train_acc_history[-1], solver.best_val_acc,
               best_epoch))
