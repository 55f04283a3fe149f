"""Trained models saved as .npz files: what the notebooks hand in with the code.

    save_model(best_model, 'best_model')      # -> saved_models/best_model.npz
    model = load_model('saved_models/best_model.npz')

A file holds a TwoLayerNet or a FullyConnectedNet: its parameters, the running
statistics of its batch normalization layers, and what is needed to rebuild
it (the class, the number of layers, the normalization) as JSON. It holds no
pickle, and is read with allow_pickle=False: reading a file runs no code.
read_model() checks everything before it returns: the shapes fit together,
the dtypes are float32 or float64, the values are finite, and no member is
larger than it should be.
"""
import json
import os
import zipfile

import numpy as np

from ._files import atomic_write

FORMAT = 1
FOLDER = 'saved_models'
CLASSES = ('TwoLayerNet', 'FullyConnectedNet')
NORMALIZATIONS = (None, 'batchnorm', 'layernorm')
MAX_BYTES = 256 * 1024 * 1024       # a model of more than 64M float32 parameters is no model here
MAX_LAYERS = 20


class ModelFileError(ValueError):
    """A saved model that cannot be read; the message names the file and what is wrong."""


class SavedModel:
    """What read_model() returns.

    - kind: 'TwoLayerNet' or 'FullyConnectedNet'
    - num_layers: number of affine layers L
    - normalization: None, 'batchnorm' or 'layernorm'
    - params: {'W1': (D, H1), 'b1': (H1,), ..., and 'gamma1', 'beta1', ... with normalization}
    - running: per hidden layer, {'running_mean': (Hi,), 'running_var': (Hi,)} with batchnorm
    - dtype: the parameters' dtype
    """

    def __init__(self, kind, num_layers, normalization, params, running):
        self.kind, self.num_layers, self.normalization = kind, num_layers, normalization
        self.params, self.running = params, running
        self.dtype = params['W1'].dtype

    @property
    def input_dim(self):
        return self.params['W1'].shape[0]

    @property
    def num_classes(self):
        return self.params['W%d' % self.num_layers].shape[1]

    @property
    def hidden_dims(self):
        return [self.params['W%d' % i].shape[1] for i in range(1, self.num_layers)]


def default_path(name):
    """saved_models/NAME.npz in the assignment folder (beside cs231n/)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(root, FOLDER, name + '.npz')


def save_model(model, name_or_path):
    """Save a trained TwoLayerNet or FullyConnectedNet.

    Inputs:
    - model: the net, as trained (for a Solver's net: solver.model)
    - name_or_path: a name ('best_model' -> saved_models/best_model.npz in the
      assignment folder) or a path ending in .npz

    Returns the path written. The file is written whole or not at all.
    """
    kind = type(model).__name__
    if kind not in CLASSES or not isinstance(getattr(model, 'params', None), dict):
        raise TypeError('save_model: model must be a TwoLayerNet or a FullyConnectedNet, got %s'
                        % kind)
    if not isinstance(name_or_path, (str, os.PathLike)) or not str(name_or_path):
        raise TypeError('save_model: name_or_path must be a name or a path, got %r'
                        % (name_or_path,))
    path = os.fspath(name_or_path)
    if not path.endswith('.npz'):
        if os.sep in path or '/' in path:
            raise ValueError('save_model: a path must end in .npz, got %r' % path)
        path = default_path(path)
    num_layers = getattr(model, 'num_layers', 2)
    normalization = getattr(model, 'normalization', None)
    arrays = {'params/' + k: np.asarray(v) for k, v in model.params.items()}
    if normalization == 'batchnorm':
        for i, bn_param in enumerate(getattr(model, 'bn_params', []), 1):
            for key in ('running_mean', 'running_var'):
                if key in bn_param:
                    stats = np.asarray(bn_param[key])
                    # Kept as (1, D) by a batchnorm that broadcasts: saved as (D,).
                    if stats.ndim > 1 and stats.size == max(stats.shape):
                        stats = stats.reshape(-1)
                    arrays['running/%s%d' % (key, i)] = stats
    config = {'format': FORMAT, 'class': kind, 'num_layers': int(num_layers),
              'normalization': normalization}
    arrays['config'] = np.array(json.dumps(config))
    # Checked as the grader will read it, before anything is written.
    _validate(path, config, {k: v for k, v in arrays.items() if k != 'config'})
    with atomic_write(path) as f:
        np.savez(f, **arrays)
    return path


def read_model(path_or_file, name=None):
    """The SavedModel in an .npz file (a path or a binary file object), fully checked.

    Raises ModelFileError naming the file (or `name`) and what is wrong."""
    if name is None:
        name = 'the model file' if hasattr(path_or_file, 'read') else os.fspath(path_or_file)
    try:
        with zipfile.ZipFile(path_or_file) as z:
            infos = z.infolist()
            if len(infos) > 4 * MAX_LAYERS + 2:
                raise ModelFileError('%s: %d members, too many for a model' % (name, len(infos)))
            if sum(i.file_size for i in infos) > MAX_BYTES:
                raise ModelFileError('%s: its arrays hold over %d MB' % (name, MAX_BYTES >> 20))
            arrays = {}
            for info in infos:
                if not info.filename.endswith('.npy') or info.flag_bits & 0x1:
                    raise ModelFileError('%s: unexpected member %r' % (name, info.filename[:100]))
                with z.open(info) as f:
                    arrays[info.filename[:-4]] = np.lib.format.read_array(f, allow_pickle=False)
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as e:
        raise ModelFileError('%s: not a readable .npz file written by save_model (%s)'
                             % (name, str(e)[:200]))
    config_array = arrays.pop('config', None)
    try:
        config = json.loads(str(config_array[()]))
        if not isinstance(config, dict):
            raise ValueError('not an object')
    except (TypeError, ValueError, IndexError) as e:
        raise ModelFileError('%s: no readable config (%s)' % (name, e))
    return _validate(name, config, arrays)


def _validate(name, config, arrays):
    def bad(text):
        raise ModelFileError('%s: %s' % (name, text))

    if config.get('format') != FORMAT:
        bad('format %r, expected %d' % (config.get('format'), FORMAT))
    kind, L, norm = config.get('class'), config.get('num_layers'), config.get('normalization')
    if kind not in CLASSES:
        bad('class %r, expected one of %s' % (kind, ', '.join(CLASSES)))
    if isinstance(L, bool) or not isinstance(L, int) or not 2 <= L <= MAX_LAYERS:
        bad('num_layers %r, expected an integer in [2, %d]' % (L, MAX_LAYERS))
    if norm not in NORMALIZATIONS or (kind == 'TwoLayerNet' and (norm or L != 2)):
        bad('normalization %r with %d layers does not fit a %s' % (norm, L, kind))
    expected = {'W%d' % i for i in range(1, L + 1)} | {'b%d' % i for i in range(1, L + 1)}
    if norm:
        expected |= {'%s%d' % (k, i) for k in ('gamma', 'beta') for i in range(1, L)}
    params = {k[len('params/'):]: v for k, v in arrays.items() if k.startswith('params/')}
    running_arrays = {k[len('running/'):]: v for k, v in arrays.items() if k.startswith('running/')}
    others = sorted(set(arrays) - {'params/' + k for k in params} - {'running/' + k
                                                                      for k in running_arrays})
    if others:
        bad('unexpected arrays %s' % ', '.join(others[:5]))
    if set(params) != expected:
        missing, extra = sorted(expected - set(params)), sorted(set(params) - expected)
        bad('parameters %s%s' % ('missing ' + ', '.join(missing) if missing else '',
                                 (' and ' if missing and extra else '')
                                 + ('unexpected ' + ', '.join(extra) if extra else '')))
    dtype = params['W1'].dtype
    if dtype not in (np.float32, np.float64):
        bad('W1 has dtype %s, expected float32 or float64' % dtype)
    dims = [params['W1'].shape[0] if params['W1'].ndim == 2 else -1]
    for i in range(1, L + 1):
        W = params['W%d' % i]
        if W.ndim != 2 or W.shape[0] != dims[-1]:
            bad('W%d has shape %s, expected (%d, ...)' % (i, W.shape, dims[-1]))
        dims.append(W.shape[1])
    shapes = {}
    for i in range(1, L + 1):
        shapes['b%d' % i] = (dims[i],)
        if norm and i < L:
            shapes['gamma%d' % i] = shapes['beta%d' % i] = (dims[i],)
    checked = [(k, params[k], shapes.get(k)) for k in sorted(params)]
    running = []
    if norm == 'batchnorm':
        for i in range(1, L):
            stats = {}
            for key in ('running_mean', 'running_var'):
                a = running_arrays.pop('%s%d' % (key, i), None)
                if a is None:
                    bad('no %s for batchnorm layer %d (was the model trained?)' % (key, i))
                stats[key] = a
                checked.append(('%s%d' % (key, i), a, (dims[i],)))
            running.append(stats)
    if running_arrays:
        bad('unexpected running statistics %s' % ', '.join(sorted(running_arrays)[:5]))
    for key, a, shape in checked:
        if shape is not None and a.shape != shape:
            bad('%s has shape %s, expected %s' % (key, a.shape, shape))
        if a.dtype != dtype:
            bad('%s has dtype %s, W1 has %s: a model has one dtype' % (key, a.dtype, dtype))
        if not np.all(np.isfinite(a)):
            bad('%s holds NaN or inf' % key)
    if any(np.any(s['running_var'] < 0) for s in running):
        bad('a running variance is negative')
    return SavedModel(kind, L, norm, params, running)


def load_model(path):
    """Rebuild the saved net with this package's classes (in test mode, ready to score).

    Returns the TwoLayerNet or FullyConnectedNet."""
    from .classifiers.fc_net import FullyConnectedNet, TwoLayerNet
    saved = read_model(path)
    dtype = saved.dtype.type
    if saved.kind == 'TwoLayerNet':
        model = TwoLayerNet(input_dim=saved.input_dim, hidden_dim=saved.hidden_dims[0],
                            num_classes=saved.num_classes, dtype=dtype)
    else:
        model = FullyConnectedNet(saved.hidden_dims, input_dim=saved.input_dim,
                                  num_classes=saved.num_classes,
                                  normalization=saved.normalization, dtype=dtype)
        for bn_param, stats in zip(model.bn_params, saved.running):
            bn_param.update({k: v.copy() for k, v in stats.items()})
    model.params = {k: v.copy() for k, v in saved.params.items()}
    return model
