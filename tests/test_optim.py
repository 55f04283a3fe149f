"""Self-check of the update rules in cs231n/optim.py.

Each rule is checked on the notebook's setup (w, dw and the state as
linspace fills of shape (4, 5)) against the expected arrays the notebook
prints, to their 8 decimals, and for properties that every correct update
has. An update may change w in place or return a new array: the tests only
use the next_w it returns.
"""
import numpy as np
import pytest

from cs231n import optim

N, D = 4, 5
RULES = ['sgd', 'sgd_momentum', 'rmsprop', 'adam']
STATE = {'sgd': (), 'sgd_momentum': ('velocity',), 'rmsprop': ('cache',), 'adam': ('m', 'v', 't')}
# The defaults the docstrings of cs231n/optim.py give (the given code fills them in).
DEFAULTS = {
    'sgd': {'learning_rate': 1e-2},
    'sgd_momentum': {'learning_rate': 1e-2, 'momentum': 0.9},
    'rmsprop': {'learning_rate': 1e-2, 'decay_rate': 0.99, 'epsilon': 1e-8},
    'adam': {'learning_rate': 1e-3, 'beta1': 0.9, 'beta2': 0.999, 'epsilon': 1e-8},
}


def lin(a, b):
    return np.linspace(a, b, num=N * D).reshape(N, D)


def assert_printed(what, actual, printed, decimals=8):
    """`actual` rounds to the notebook's printed array."""
    printed = np.asarray(printed)
    assert isinstance(actual, np.ndarray) and actual.shape == printed.shape, (
        '%s is %r, expected an array of shape %s' % (what, actual, printed.shape))
    diff = np.abs(actual - printed)
    ix = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape))
    assert diff[ix] <= 0.5 * 10.0 ** -decimals + 1e-15, (
        '%s differs from the notebook\'s expected array by up to %.1e (more than rounding to '
        '%d decimals); at %s: got %.10f, expected %.8f'
        % (what, diff[ix], decimals, ix, actual[ix], printed[ix]))


def step(rule, w, dw, config=None):
    """One update on copies of w and dw; returns (next_w, config)."""
    next_w, config = getattr(optim, rule)(w.copy(), dw.copy(), config)
    assert isinstance(next_w, np.ndarray) and next_w.shape == w.shape, (
        '%s returned next_w = %r, expected an array of shape %s' % (rule, next_w, w.shape))
    return next_w, config


# ---------------------------------------------------------------------------
# The notebook's checks
# ---------------------------------------------------------------------------

def test_sgd_momentum_matches_notebook():
    w, dw, v = lin(-0.4, 0.6), lin(-0.6, 0.4), lin(0.6, 0.9)
    next_w, config = step('sgd_momentum', w, dw, {'learning_rate': 1e-3, 'velocity': v})
    assert_printed('sgd_momentum: next_w', next_w, [
        [0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
        [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
        [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
        [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096]])
    assert_printed("sgd_momentum: config['velocity']", config['velocity'], [
        [0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158],
        [0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105],
        [0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053],
        [0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096]])


def test_rmsprop_matches_notebook():
    w, dw, cache = lin(-0.4, 0.6), lin(-0.6, 0.4), lin(0.6, 0.9)
    next_w, config = step('rmsprop', w, dw, {'learning_rate': 1e-2, 'cache': cache})
    assert_printed('rmsprop: next_w', next_w, [
        [-0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247],
        [-0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774],
        [0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447],
        [0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619]])
    assert_printed("rmsprop: config['cache']", config['cache'], [
        [0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321],
        [0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377],
        [0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936],
        [0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926]])


def test_adam_matches_notebook():
    w, dw, m, v = lin(-0.4, 0.6), lin(-0.6, 0.4), lin(0.6, 0.9), lin(0.7, 0.5)
    next_w, config = step('adam', w, dw, {'learning_rate': 1e-2, 'm': m, 'v': v, 't': 5})
    assert config['t'] == 6, (
        "adam: config['t'] is %r after one step from t=5, expected 6 (increment t before "
        "using it)" % (config['t'],))
    assert_printed('adam: next_w', next_w, [
        [-0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977],
        [-0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929],
        [0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969],
        [0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459]])
    assert_printed("adam: config['v']", config['v'], [
        [0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853],
        [0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385],
        [0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767],
        [0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966]])
    assert_printed("adam: config['m']", config['m'], [
        [0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474],
        [0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316],
        [0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158],
        [0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85]])


# ---------------------------------------------------------------------------
# Properties of every rule
# ---------------------------------------------------------------------------

@pytest.mark.parametrize('rule', RULES)
def test_zero_learning_rate_leaves_w_unchanged(rule):
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    config = None
    for k in range(3):
        config = dict(config or {}, learning_rate=0.0)
        next_w, config = step(rule, w, dw, config)
        assert np.allclose(next_w, w, rtol=0, atol=1e-15), (
            '%s: step %d with learning_rate 0 moved w by up to %.1e'
            % (rule, k + 1, np.max(np.abs(next_w - w))))


@pytest.mark.parametrize('rule', RULES)
def test_update_moves_against_the_gradient(rule):
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    dw[dw == 0] = 0.1
    next_w, _ = step(rule, w, dw)
    moved = next_w - w
    wrong = np.sign(moved) != -np.sign(dw)
    assert not wrong.any(), (
        '%s: the first step from a fresh config moves %d of %d weights along their gradient '
        'or not at all, expected every weight to move against it'
        % (rule, wrong.sum(), wrong.size))


@pytest.mark.parametrize('rule', RULES)
def test_defaults_and_state_kept_in_config(rule):
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    _, config = step(rule, w, dw)
    for key, value in DEFAULTS[rule].items():
        assert config.get(key) == value, (
            '%s: config[%r] is %r after a call without config, expected the default %r'
            % (rule, key, config.get(key), value))
    for key in STATE[rule]:
        assert key in config, '%s: config has no %r after a step' % (rule, key)
        if key != 't':
            assert isinstance(config[key], np.ndarray) and config[key].shape == w.shape, (
                "%s: config[%r] is %r, expected an array shaped like w"
                % (rule, key, config[key]))


@pytest.mark.parametrize('rule', RULES)
def test_next_step_depends_only_on_the_state_in_config(rule):
    """The second step from a config must equal a first step from a fresh
    config that holds copies of the same state: everything a rule remembers
    lives in config."""
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    dw2 = lin(0.3, -0.5)
    lr = {'sgd': 1e-2, 'sgd_momentum': 1e-2, 'rmsprop': 1e-2, 'adam': 1e-3}[rule]
    w1, config = step(rule, w, dw, {'learning_rate': lr})
    copied = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in config.items()}
    w2, _ = step(rule, w1, dw2, config)
    w2_again, _ = step(rule, w1, dw2, copied)
    assert np.allclose(w2, w2_again, rtol=1e-14, atol=1e-15), (
        '%s: two steps in a row differ from the same second step made from a copy of the '
        'config by up to %.1e' % (rule, np.max(np.abs(w2 - w2_again))))
    if rule != 'sgd':
        fresh, _ = step(rule, w1, dw2, {'learning_rate': lr})
        assert not np.allclose(w2, fresh, rtol=1e-6, atol=0), (
            '%s: the second step ignores the state that the first step stored in config' % rule)


def test_momentum_zero_is_sgd():
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    expected, _ = step('sgd', w, dw, {'learning_rate': 0.05})
    config = {'learning_rate': 0.05, 'momentum': 0.0}
    got, config = step('sgd_momentum', w, dw, config)
    got2, _ = step('sgd_momentum', got, dw, config)
    expected2, _ = step('sgd', expected, dw, {'learning_rate': 0.05})
    for what, a, b in (('first', got, expected), ('second', got2, expected2)):
        assert np.allclose(a, b, rtol=1e-13, atol=1e-15), (
            'sgd_momentum with momentum 0: the %s step differs from sgd by up to %.1e'
            % (what, np.max(np.abs(a - b))))


def test_adam_counts_steps_from_zero():
    w, dw = lin(-0.4, 0.6), lin(-0.6, 0.4)
    next_w, config = step('adam', w, dw)
    assert config['t'] == 1, "adam: config['t'] is %r after the first call, expected 1" % (
        config['t'],)
    # Bias correction makes the very first step about learning_rate long for
    # every weight, whatever the size of its gradient.
    moved = np.abs(next_w - w)
    assert np.allclose(moved, 1e-3, rtol=1e-4), (
        'adam: the first step from a fresh config moves the weights by %.3g to %.3g, expected '
        'about learning_rate = 1e-3 each (is the bias correction complete?)'
        % (moved.min(), moved.max()))
    _, config = step('adam', next_w, dw, config)
    assert config['t'] == 2


@pytest.mark.parametrize('rule', RULES)
def test_update_keeps_float32(rule, assert_dtype):
    w = lin(-0.4, 0.6).astype(np.float32)
    dw = lin(-0.6, 0.4).astype(np.float32)
    update = getattr(optim, rule)
    config = None
    for _ in range(3):
        w, config = update(w, dw, config)
    assert_dtype('%s returned next_w' % rule, w, np.float32)
    for key in STATE[rule]:
        if key != 't':
            assert_dtype("%s left config[%r]" % (rule, key), config[key], np.float32)
