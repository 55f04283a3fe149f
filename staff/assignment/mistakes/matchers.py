"""The custom matchers: mistakes that no buggy reference expresses.

Each is matcher(part name, got) -> the message's fields, or None. They read
what the given code or numpy refused (the part's error), or statistics of
the student's results that no judge compares with a reference.
"""
import re

import numpy as np

from staff.grading.api import check_close
from ..parts import layers as L, nets as N
from ..references import REF

# check_output refuses a result of the wrong shape, after the region, as
# "<fn>: <name> is an array of shape (a, b) and dtype float64, expected an array
# of shape (c,)"; the session adds "<function> raised ValueError: " before it.
_REFUSED = re.compile(r'(\w+): (\w+) is an array of shape \(([\d, ]*)\) and dtype \w+, '
                      r'expected an array of shape \(([\d, ]*)\)')
_BROADCAST = re.compile(r'(\w+) raised ValueError: operands could not be broadcast together '
                        r'with shapes \(([\d,]*)\) \(([\d,]*)\)')
_BN_PARAM_SHAPE = re.compile(r'bn_param\["running_(?:mean|var)"\] has shape \((\d+),\), '
                             r'expected \((\d+),\)')


def _shape(text):
    return tuple(int(n) for n in text.replace(' ', '').split(',') if n)


def _refused(got):
    """[(function, result name, its shape, the shape expected)] of the given
    code's refusals in the part's error."""
    return [(fn, name, _shape(a), _shape(b))
            for fn, name, a, b in _REFUSED.findall(str(got.get('__error__', '')))]


def dx_not_reshaped(part, got):
    """affine_backward's dx of the flattened shape (N, D), refused."""
    for fn, name, shape, want in _refused(got):
        if (fn, name) == ('affine_backward', 'dx') and len(shape) == 2 and len(want) > 2 \
                and shape == (want[0], int(np.prod(want[1:]))):
            return {}
    return None


def wrong_axis(part, got):
    """A result that should hold one value per feature, (D,), refused with a
    per-example axis: a mean, variance or sum over axis 1 (with keepdims: (N, 1),
    then broadcast to (N, D)), or over no axis at all."""
    for fn, name, shape, want in _refused(got):
        if len(want) == 1 and shape != want and len(shape) in (1, 2) and \
                shape[-1] in (1, want[0]) and (len(shape) == 2 or shape[0] != want[0]):
            return {'fn': fn, 'name': name, 'shape': shape, 'want': want}
    return None


def keepdims_missing(part, got):
    """numpy's refusal to broadcast (a, b) with (a,): a per-row statistic that
    lost its axis (no keepdims, no [:, None]) meets a 2-d array."""
    m = _BROADCAST.search(str(got.get('__error__', '')))
    if m:
        a, b = _shape(m.group(2)), _shape(m.group(3))
        for two, one in ((a, b), (b, a)):
            if len(two) == 2 and one == two[:1] and two[0] != two[1]:
                return {'fn': m.group(1), 'shape': two}
    return None


def shared_bn_param(part, got):
    """Both layer modes of a batchnorm net ended in the refusal of a bn_param
    holding running statistics of another layer's width."""
    widths = N.FCN['hidden']
    for mode in ('reference', 'own'):
        results = got.get(mode)
        if not isinstance(results, dict) or set(results) != {'error'}:
            return None
        shapes = _BN_PARAM_SHAPE.findall(str(results['error']))
        if not any(int(a) in widths and a != b for a, b in shapes):
            return None
    return {}


def changed_input(part, got):
    """A layer changed one of its data inputs in place (parts/layers.py's probes note it)."""
    for key in got:
        if isinstance(key, tuple) and key[0] == L.CHANGED:
            return {'fn': key[1], 'input': key[2]}
    return None


def softmax_unstable(part, got):
    """Right on every case of small scores, wrong (inf, NaN or off) on some case
    of large ones (rows shifted by 1e3-1e4): exp overflowed or underflowed."""
    wrong_large = False
    for k, (label, x, y) in enumerate(L.loss_cases()):
        loss, dx = REF.softmax_loss(x.astype(np.float64), y)
        try:
            check_close('', '', np.asarray(got[k]['loss'], dtype=np.float64), loss,
                        L.tolerance(x.dtype.name, 1e-9, 1e-5))
            check_close('', '', got[k]['dx'], dx, L.tolerance(x.dtype.name, L.TOL64, L.TOL32))
            right = True
        except L.Fail:
            right = False
        if np.max(np.abs(x)) < 100 and not right:
            return None
        wrong_large |= not right
    return {} if wrong_large else None


def dropout_new_mask(part, got):
    """dropout_backward masks dx with a mask of its own: about p of the units
    kept and scaled by 1 / p, but not the units the forward pass kept."""
    for k, (label, x, dout, p) in enumerate(L.dropout_backward_cases()):
        fwd, dx = got[k]['out'], np.asarray(got[k]['dx'], dtype=np.float64)
        kept = dx != 0
        if abs(kept.mean() - p) > 6 * np.sqrt(p * (1 - p) / kept.size):
            return None
        check_close('', '', dx, dout * kept / p, 1e-9)   # raises (no match) otherwise
        if np.array_equal(kept, fwd != 0):
            return None
    return {}
