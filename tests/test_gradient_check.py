"""Tests of cs231n/gradient_check.py, on functions whose gradients are known."""
import numpy as np
import pytest

from cs231n.gradient_check import (eval_numerical_gradient, eval_numerical_gradient_array,
                                   grad_check_sparse, rel_error)


def test_rel_error_is_the_elementwise_maximum():
    x = np.array([1.0, 2.0, 0.0])
    y = np.array([1.0, 2.2, 0.0])
    assert rel_error(x, y) == pytest.approx(0.2 / 4.2, rel=1e-15)
    assert rel_error(x, x) == 0.0
    # near zero the denominator is floored at 1e-8
    assert rel_error(np.array([0.0]), np.array([1e-10])) == pytest.approx(1e-2, rel=1e-12)
    assert rel_error(3.0, 3.0) == 0.0


def test_rel_error_rejects_different_shapes():
    with pytest.raises(ValueError, match='shape'):
        rel_error(np.zeros(3), np.zeros((3, 1)))


def test_eval_numerical_gradient_of_a_cubic(capsys):
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.3]])
    before = x.copy()
    f = lambda x: np.sum(x ** 3 + 2 * x)
    grad = eval_numerical_gradient(f, x, verbose=False)
    # centered differences are exact up to h**2 * f''' / 6 = 1e-10 here
    assert np.allclose(grad, 3 * x ** 2 + 2, rtol=0, atol=1e-8)
    assert np.array_equal(x, before), 'eval_numerical_gradient must restore x'
    assert capsys.readouterr().out == ''
    eval_numerical_gradient(f, x, verbose=True)
    assert len(capsys.readouterr().out.splitlines()) == x.size


def test_eval_numerical_gradient_reads_x_in_place():
    """The notebooks pass f = lambda _: model.loss(X, y)[0] and the parameter
    array itself: f ignores its argument and sees the perturbation in place."""
    params = {'w': np.array([1.0, 2.0, 3.0])}
    f = lambda _: float(np.sum(params['w'] ** 2))
    grad = eval_numerical_gradient(f, params['w'], verbose=False)
    assert np.allclose(grad, 2 * params['w'], atol=1e-8)


def test_eval_numerical_gradient_array():
    rng = np.random.RandomState(0)
    A = rng.randn(4, 3)
    x = rng.randn(3, 2)
    df = rng.randn(4, 2)
    before = x.copy()
    grad = eval_numerical_gradient_array(lambda x: A @ x, x, df)
    assert np.allclose(grad, A.T @ df, rtol=0, atol=1e-9)
    assert np.array_equal(x, before)
    # f returning a view of a buffer it later overwrites: outputs are copied
    buf = np.zeros(2)

    def f(x):
        buf[:] = 2 * x
        return buf
    grad = eval_numerical_gradient_array(f, np.array([1.0, -1.0]), np.array([1.0, 3.0]))
    assert np.allclose(grad, [2.0, 6.0], atol=1e-9)


def test_grad_check_sparse(capsys):
    x = np.random.RandomState(0).randn(5, 4)
    f = lambda x: np.sum(np.sin(x))
    errors = grad_check_sparse(f, x, np.cos(x), num_checks=6, seed=1)
    assert errors.shape == (6,) and np.all(errors < 1e-8)
    assert len(capsys.readouterr().out.splitlines()) == 6
    again = grad_check_sparse(f, x, np.cos(x), num_checks=6, seed=1)
    assert np.array_equal(errors, again), 'the same seed must pick the same entries'
    wrong = grad_check_sparse(f, x, -np.cos(x), num_checks=3, seed=1)
    assert np.allclose(wrong, 1.0)
    with pytest.raises(ValueError, match='analytic_grad'):
        grad_check_sparse(f, x, np.cos(x)[:2])
