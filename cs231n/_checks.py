"""Argument checks shared by the whole package.

Each check raises a ValueError or TypeError that names the function, the
argument, the value it got and what it expected, so that a wrong call fails
with one readable line instead of a numpy broadcasting traceback or a
silently wrong result. Callers spend one line per argument, e.g.

    check_array('affine_forward', 'w', w, ndim=2)
    check_real('adam', 'config["beta1"]', beta1, '[0, 1)')

check_output does the same for what a function computed, and casts it to the
dtype of the inputs: float32 in, float32 out, whatever the arithmetic did.
"""
import functools
import math
import numbers
import os
import re

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def describe(a):
    """A short description of a value for an error message."""
    if isinstance(a, np.ndarray):
        return 'an array of shape %s and dtype %s' % (a.shape, a.dtype)
    return '%r' % (a,) if isinstance(a, (numbers.Number, str, type(None))) else type(a).__name__


def _shape_text(shape):
    return '(%s%s)' % (', '.join('any' if s is None else str(s) for s in shape),
                       ',' if len(shape) == 1 else '')


def check_array(fn, name, a, ndim=None, shape=None):
    """Raise unless `a` is a floating-point ndarray of the given ndim or shape.

    Inputs:
    - fn, name: The function and the argument, for the message
    - a: The value to check
    - ndim: The number of dimensions, or None
    - shape: A tuple of sizes, None in a dimension meaning any size; or None
    """
    if not isinstance(a, np.ndarray):
        raise TypeError('%s: %s must be a numpy array, got %s' % (fn, name, describe(a)))
    if a.dtype.kind != 'f':
        raise TypeError('%s: %s must hold floats (float32 or float64), got dtype %s'
                        % (fn, name, a.dtype))
    if ndim is not None and a.ndim != ndim:
        raise ValueError('%s: %s must be %d-dimensional, got shape %s' % (fn, name, ndim, a.shape))
    if shape is not None and (a.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(a.shape, shape))):
        raise ValueError('%s: %s has shape %s, expected %s'
                         % (fn, name, a.shape, _shape_text(shape)))


def check_examples(fn, name, X, size, size_name):
    """Raise unless X is a float array of shape (N, d_1, ..., d_k) whose
    examples have d_1 * ... * d_k == size values; size_name says where the
    size comes from."""
    check_array(fn, name, X)
    if X.ndim < 2 or np.prod(X.shape[1:]) != size:
        raise ValueError('%s: %s has shape %s, expected (N, d_1, ..., d_k) with '
                         'd_1 * ... * d_k = %d values per example (%s)'
                         % (fn, name, X.shape, size, size_name))


def check_rows(fn, name, a, why):
    """Raise if the array `a` has no rows (an empty batch); `why` says what needs them."""
    if a.shape[0] == 0:
        raise ValueError('%s: %s has no rows (shape %s); %s' % (fn, name, a.shape, why))


def check_labels(fn, y, num_examples, num_classes=None, name='y'):
    """Raise unless y is an integer array of shape (num_examples,) with labels in
    [0, num_classes); num_classes None skips the range check.

    Returns:
    - y as an ndarray
    """
    y = np.asarray(y)
    if y.dtype == bool or y.dtype.kind not in 'iu':
        raise TypeError('%s: %s must hold integer class labels, got dtype %s' % (fn, name, y.dtype))
    if y.shape != (num_examples,):
        raise ValueError('%s: %s has shape %s, expected (%d,): one label per example'
                         % (fn, name, y.shape, num_examples))
    if num_classes is not None and y.size and (y.min() < 0 or y.max() >= num_classes):
        bad = y[(y < 0) | (y >= num_classes)][0]
        raise ValueError('%s: %s holds label %d, expected labels in [0, %d)'
                         % (fn, name, bad, num_classes))
    return y


def check_mode(fn, name, mode):
    if mode not in ('train', 'test'):
        raise ValueError('%s: %s must be "train" or "test", got %r' % (fn, name, mode))


def check_dict(fn, name, d, required=()):
    """Raise unless d is a dict holding every key in `required`."""
    if not isinstance(d, dict):
        raise TypeError('%s: %s must be a dict, got %s' % (fn, name, describe(d)))
    missing = [k for k in required if k not in d]
    if missing:
        raise ValueError('%s: %s is missing the key(s) %s; it has %s'
                         % (fn, name, ', '.join(map(repr, missing)), sorted(d, key=str)))


def check_choice(fn, name, value, choices, or_callable=False):
    """Raise unless value is one of `choices` (or, with or_callable, a function)."""
    if or_callable and callable(value):
        return
    try:
        ok = value in choices
    except TypeError:  # unhashable
        ok = False
    if not ok:
        raise ValueError('%s: %s must be one of %s%s, got %r'
                         % (fn, name, ', '.join(map(repr, choices)),
                            ' or a function' if or_callable else '', value))


@functools.lru_cache(maxsize=None)
def _interval(text):
    m = re.fullmatch(r'([\[(])\s*(\S+)\s*,\s*(\S+)\s*([\])])', text)
    if m is None:
        raise ValueError('not an interval: %r' % text)
    return m.group(1) == '[', float(m.group(2)), float(m.group(3)), m.group(4) == ']'


def _in_interval(value, interval):
    closed_low, low, high, closed_high = _interval(interval)
    return ((low <= value if closed_low else low < value)
            and (value <= high if closed_high else value < high))


def check_real(fn, name, value, interval):
    """Raise unless value is a real number (not a bool, not NaN) in `interval`.

    Inputs:
    - interval: Text such as '(0, 1]' or '[0, inf)'; 'inf' bounds are open

    Returns:
    - value as a Python float
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or math.isnan(value) or not _in_interval(value, interval):
        raise ValueError('%s: %s must be a number in %s, got %r' % (fn, name, interval, value))
    return float(value)


def check_int(fn, name, value, interval='[1, inf)'):
    """Raise unless value is an integer (not a bool) in `interval`.

    Returns:
    - value as a Python int
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or not _in_interval(value, interval):
        raise ValueError('%s: %s must be an integer in %s, got %r' % (fn, name, interval, value))
    return int(value)


def check_dtype(fn, name, dtype):
    """Raise unless dtype names float32 or float64.

    Returns:
    - The numpy dtype
    """
    try:
        dt = None if dtype is None else np.dtype(dtype)  # np.dtype(None) is float64
    except TypeError:
        dt = None
    if dt is None or dt not in FLOAT_DTYPES:
        raise ValueError('%s: %s must be np.float32 or np.float64, got %r' % (fn, name, dtype))
    return dt


def same_up_to_ones(shape, want):
    """Whether two shapes differ only by axes of size 1: (1, D), (D, 1) and (D,)."""
    return [s for s in shape if s != 1] == [s for s in want if s != 1]


def broadcasts_over(shape, target):
    """Whether an array of `shape` broadcasts against one of shape `target`
    without changing it: (D,), (1, D) or (N, 1) over (N, D)."""
    try:
        return np.broadcast_shapes(tuple(shape), tuple(target)) == tuple(target)
    except ValueError:
        return False


def check_output(fn, name, value, shape, dtype):
    """Check a result that a function computed, and give it the dtype of the inputs.

    The arithmetic may widen float32 to float64 (np.ones((N, D)) or
    np.random.rand(N, D) are float64); casting here keeps a float32 model in
    float32 from one layer to the next. A result whose shape differs from
    `shape` only by axes of size 1 (a mean taken with keepdims=True, of shape
    (1, D) for (D,)) holds the right values: it is reshaped to `shape`.

    Inputs:
    - fn, name: The function and the result, for the message
    - value: The result
    - shape: The shape it must have
    - dtype: The dtype to give it

    Returns:
    - value with shape `shape` and dtype `dtype` (value itself if it has them already)
    """
    shape = tuple(shape)
    if value is None:
        raise TypeError('%s: %s is None; the code of %s must compute it' % (fn, name, fn))
    if not isinstance(value, np.ndarray) or not same_up_to_ones(value.shape, shape):
        raise ValueError('%s: %s is %s, expected an array of shape %s'
                         % (fn, name, describe(value), shape))
    if value.shape != shape:
        value = value.reshape(shape)
    return value.astype(dtype, copy=False)


def check_scale_shift(fn, name, a, x):
    """Raise unless `a` (gamma or beta of a normalization layer) is a number,
    or a numeric array of shape (D,) for x of shape (N, D), or of any shape
    that broadcasts over x without changing its shape.

    Your own code may call the layer with such a gamma, e.g. a layer norm
    that reuses the batch norm code on the transposed problem with gamma of
    shape (D, 1), which scales the rows of x.T, or with gamma 1 and beta 0.
    """
    if isinstance(a, numbers.Real) and not isinstance(a, (bool, np.bool_)):
        return
    if not isinstance(a, np.ndarray) or a.dtype.kind not in 'iuf':
        raise TypeError('%s: %s must be a numpy array of numbers, got %s' % (fn, name, describe(a)))
    D = x.shape[1]
    if not (same_up_to_ones(a.shape, (D,)) or broadcasts_over(a.shape, x.shape)):
        raise ValueError('%s: %s has shape %s, expected (%d,) (one per feature of x, of shape '
                         '%s)' % (fn, name, a.shape, D, x.shape))


def check_param_grad(fn, name, value, size, param_shape, dout, dtype):
    """Check the gradient of a normalization layer's gamma or beta.

    Inputs:
    - fn, name: The function and the gradient, for the message
    - value: The gradient
    - size: D, the number of features
    - param_shape: The shape of the parameter the forward pass got, or None
      if unknown (a cache that your code built and passed on)
    - dout: The upstream derivative, of shape (N, D)
    - dtype: The dtype to give it

    Returns:
    - value with shape (D,) if it has D values in one axis; else (a
      gradient shaped like a parameter that broadcast over the transposed
      problem, or a number for a parameter that was a number) value as it
      is, if it has that parameter's shape
    """
    if isinstance(value, (numbers.Real, np.generic)) and not isinstance(value, (bool, np.bool_)):
        value = np.asarray(value)
    if isinstance(value, np.ndarray) and not same_up_to_ones(value.shape, (size,)):
        fits = (same_up_to_ones(value.shape, param_shape) if param_shape is not None
                else broadcasts_over(value.shape, dout.shape))
        if fits:
            return value.astype(dtype, copy=False)
    return check_output(fn, name, value, (size,), dtype)


class TaggedCache:
    """A layer's cache that is neither a tuple, a list nor a dict, together
    with the shape and dtype of the layer's output (see tag_cache).

    Indexing, iteration, len and attributes reach the cache inside, so code
    that reads the cache of a forward pass it called works unchanged.
    """
    __slots__ = ('cache', 'shape', 'dtype', 'param_shapes')

    def __init__(self, cache, shape, dtype, param_shapes=None):
        self.cache, self.shape, self.dtype = cache, shape, dtype
        self.param_shapes = param_shapes or {}

    def __getitem__(self, key):
        return self.cache[key]

    def __iter__(self):
        return iter(self.cache)

    def __len__(self):
        return len(self.cache)

    def __getattr__(self, name):
        if name in TaggedCache.__slots__ or name.startswith('__'):
            raise AttributeError(name)
        return getattr(self.cache, name)


# A tuple, list or dict cache keeps its type: the tag rides along as
# attributes of a subclass, so that unpacking, indexing, `+`, isinstance,
# .get() and the rest behave as on the cache itself. Like a TaggedCache, it
# has .cache, .shape, .dtype and .param_shapes; its .cache is itself.
class _Tagged:
    @property
    def cache(self):
        return self


class _TaggedTuple(_Tagged, tuple):
    pass


class _TaggedList(_Tagged, list):
    pass


class _TaggedDict(_Tagged, dict):
    pass


_TAGGED = {tuple: _TaggedTuple, list: _TaggedList, dict: _TaggedDict}


def tag_cache(cache, out, **params):
    """The cache of a forward pass, tagged with the shape and dtype of its
    output and with the shapes of the parameters in `params` (gamma=gamma, ...)."""
    param_shapes = {k: np.shape(v) for k, v in params.items()}
    kind = _TAGGED.get(type(cache))
    if kind is None:
        return TaggedCache(cache, out.shape, out.dtype, param_shapes)
    tagged = kind(cache)
    tagged.shape, tagged.dtype, tagged.param_shapes = out.shape, out.dtype, param_shapes
    return tagged


def _tag_of(cache):
    if isinstance(cache, TaggedCache):
        return cache.cache, cache
    if type(cache) in _TAGGED.values():
        return cache, cache
    return cache, None


def untag_cache(fn, dout, cache):
    """Check dout against a tagged cache and unwrap it.

    A cache that is not tagged (one that your code built and passes on,
    e.g. from layernorm to the batchnorm code it reuses) is returned as it
    is, after a looser check of dout.

    Returns a tuple of:
    - cache: The cache inside the tag (a tagged tuple, list or dict is its
      own cache)
    - dtype: The dtype the gradients get
    - param_shapes: {parameter name: shape} the forward pass got ({} if not tagged)
    """
    cache, tag = _tag_of(cache)
    if tag is not None:
        check_array(fn, 'dout', dout, shape=tag.shape)
        dtype, param_shapes = tag.dtype, tag.param_shapes
    else:
        check_array(fn, 'dout', dout, ndim=2)
        dtype, param_shapes = dout.dtype, {}
    if cache is None:
        raise ValueError('%s: the cache is None; the backward pass needs the cache of a '
                         'forward pass in "train" mode' % fn)
    return cache, dtype, param_shapes


def check_grads(fn, grads, params):
    """Check the gradients a model computed against its parameters.

    Inputs:
    - fn: The function that computed them, for the message
    - grads: Dict of gradients
    - params: Dict of parameters

    Returns:
    - A dict with the same keys as params, each gradient shaped like its
      parameter and with its dtype
    """
    check_dict(fn, 'grads', grads)
    if grads.keys() != params.keys():
        raise ValueError('%s: grads has the keys %s, expected those of params, %s'
                         % (fn, sorted(grads), sorted(params)))
    return {k: check_output(fn, 'grads[%r]' % k, g, params[k].shape, params[k].dtype)
            for k, g in grads.items()}


def check_path(fn, name, value, allow_none=False):
    """Raise unless value is a path: a str or os.PathLike naming one (or
    None, if allow_none).

    Returns:
    - value as a str, or None
    """
    if value is None and allow_none:
        return None
    try:
        path = os.fspath(value)
    except TypeError:
        path = None
    if not isinstance(path, str):
        raise TypeError('%s: %s must be a path (a str or os.PathLike)%s, got %s'
                        % (fn, name, ' or None' if allow_none else '', describe(value)))
    return path
