"""Argument checks shared by the layers, nets and solver.

Each check raises a ValueError or TypeError that names the function, the
argument, the value it got and what it expected, so that a wrong call fails
with one readable line instead of a numpy broadcasting traceback.
"""
import numbers

import numpy as np


def shape_of(a):
    return getattr(a, 'shape', type(a).__name__)


def check_array(fn, name, a, ndim=None, shape=None):
    """Raise unless `a` is a floating ndarray with the given ndim / shape.

    `shape` may hold None for "any size" in a dimension.
    """
    if not isinstance(a, np.ndarray):
        raise TypeError('%s: %s must be a numpy array, got %s'
                        % (fn, name, type(a).__name__))
    if a.dtype.kind != 'f':  # float16/32/64 (np.issubdtype is slow on hot paths)
        raise TypeError('%s: %s must hold floats, got dtype %s' % (fn, name, a.dtype))
    if ndim is not None and a.ndim != ndim:
        raise ValueError('%s: %s must be %d-dimensional, got shape %s'
                         % (fn, name, ndim, a.shape))
    if shape is not None and (a.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(a.shape, shape))):
        expected = '(%s)' % ', '.join('any' if s is None else str(s) for s in shape)
        raise ValueError('%s: %s has shape %s, expected %s' % (fn, name, a.shape, expected))


def check_labels(fn, y, num_examples, num_classes):
    """Raise unless y is an integer array of shape (num_examples,) in [0, num_classes)."""
    if not isinstance(y, np.ndarray):
        y = np.asarray(y)
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise TypeError('%s: y must hold integer class labels, got dtype %s' % (fn, y.dtype))
    if y.shape != (num_examples,):
        raise ValueError('%s: y has shape %s, expected (%d,) to match the %d rows of scores'
                         % (fn, y.shape, num_examples, num_examples))
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        bad = y[(y < 0) | (y >= num_classes)][0]
        raise ValueError('%s: y holds label %d, expected labels in [0, %d)'
                         % (fn, bad, num_classes))
    return y


def check_mode(fn, mode, name='mode'):
    if mode not in ('train', 'test'):
        raise ValueError('%s: invalid %s %r, expected "train" or "test"' % (fn, name, mode))


def check_probability(fn, name, p):
    """Raise unless p is a real number in (0, 1]."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 < p <= 1:
        raise ValueError('%s: %s must be a keep probability in (0, 1], got %r' % (fn, name, p))


def check_positive_int(fn, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError('%s: %s must be a positive integer, got %r' % (fn, name, value))
    return int(value)
