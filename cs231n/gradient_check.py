"""Numerical gradients, to check analytic backward passes against.

All checks use centered differences, (f(x + h) - f(x - h)) / 2h, which are
accurate to O(h^2); run them in float64, since float32 rounding swamps h.
"""
import numpy as np


def rel_error(x, y):
    """Largest elementwise relative error between x and y.

    Inputs:
    - x, y: Arrays (or scalars) of the same shape

    Returns:
    - The maximum over elements of |x - y| / max(1e-8, |x| + |y|), as a float
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError('rel_error: x has shape %s but y has shape %s' % (x.shape, y.shape))
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def _evaluate_around(f, x, ix, h):
    """f at x with x[ix] moved by +h and by -h; x[ix] is restored after."""
    old_value = x[ix]
    x[ix] = old_value + h
    pos = f(x)
    if isinstance(pos, np.ndarray):
        pos = pos.copy()  # f may return a view of a buffer the next call reuses
    x[ix] = old_value - h
    neg = f(x)
    x[ix] = old_value
    return pos, neg


def _every_index(f, x, h):
    """Yield (index, f(x + h e_index), f(x - h e_index)) for every index of x."""
    it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])
    while not it.finished:
        yield (it.multi_index,) + _evaluate_around(f, x, it.multi_index, h)
        it.iternext()


def eval_numerical_gradient(f, x, verbose=True, h=0.00001):
    """Numerical gradient of a scalar function f at x.

    Inputs:
    - f: A function that takes a single argument and returns a scalar. It is
      called with x, which is perturbed in place, so f may also read x from
      elsewhere (for example model.params[name]).
    - x: The array to evaluate the gradient at; restored on return
    - verbose: If True, print each index and its gradient
    - h: Step size

    Returns:
    - grad: Array of the same shape as x
    """
    grad = np.zeros_like(x)
    for ix, fxph, fxmh in _every_index(f, x, h):
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Numerical gradient of sum(f(x) * df) at x, for an array-valued f.

    Inputs:
    - f: A function of x returning an array
    - x: The array to evaluate the gradient at; perturbed in place and restored
    - df: Upstream derivative, of the shape of f(x)
    - h: Step size

    Returns:
    - grad: Array of the same shape as x
    """
    grad = np.zeros_like(x)
    for ix, pos, neg in _every_index(f, x, h):
        grad[ix] = np.sum((np.asarray(pos) - np.asarray(neg)) * df) / (2 * h)
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=None):
    """Compare the analytic gradient with numerical ones at random entries.

    Inputs:
    - f: A function of x returning a scalar
    - x: The array to check at; perturbed in place and restored
    - analytic_grad: The gradient to check, of the same shape as x
    - num_checks: How many entries to check
    - h: Step size
    - seed: Seed for choosing the entries; None draws from np.random

    Returns:
    - rel_errors: Array of shape (num_checks,), the relative error per entry.
      Each check is also printed.
    """
    if analytic_grad.shape != x.shape:
        raise ValueError('grad_check_sparse: analytic_grad has shape %s, expected %s like x'
                         % (analytic_grad.shape, x.shape))
    rng = np.random.RandomState(seed) if seed is not None else np.random
    rel_errors = np.empty(num_checks)
    for i in range(num_checks):
        ix = tuple(int(rng.randint(n)) for n in x.shape)
        fxph, fxmh = _evaluate_around(f, x, ix, h)
        grad_numerical = (fxph - fxmh) / (2 * h)
        grad_analytic = analytic_grad[ix]
        denom = abs(grad_numerical) + abs(grad_analytic)
        rel_errors[i] = abs(grad_numerical - grad_analytic) / denom if denom else 0.0
        print('numerical: %f analytic: %f, relative error: %e'
              % (grad_numerical, grad_analytic, rel_errors[i]))
    return rel_errors
