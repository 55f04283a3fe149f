"""Loading CIFAR-10 for the assignment.

The batches are Python 2 pickles; they are read with encoding='latin1' (see
load_pickle) through a reader that accepts nothing but numpy arrays, lists and
strings. The data folder is resolved from the package, not from the current
working directory: `cs231n/datasets/cifar-10-batches-py`, or
`$CS231N_DATA_DIR/cifar-10-batches-py` when CS231N_DATA_DIR is set. Fetch the
data with `./get_datasets.sh` (or `python -m cs231n.datasets --help`).
"""
import os
import pickle
import stat

import numpy as np

from cs231n._checks import check_dtype, check_int, check_path
from cs231n.datasets import DATA_DIR_ENV, cifar10_dir
from cs231n.datasets.batches import (BATCHES, ROWS, InvalidDataError, missing_message,
                                     read_batch, read_label_names, stat_or_none)

__all__ = ['CLASSES', 'InvalidDataError', 'load_pickle', 'load_CIFAR_batch', 'load_CIFAR10',
           'get_CIFAR10_data', 'load_CIFAR10_label_names']

CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer',
           'dog', 'frog', 'horse', 'ship', 'truck')
NUM_TRAIN = 5 * ROWS
NUM_TEST = ROWS


def load_pickle(f):
    """
    Unpickle one object from an open binary file.

    latin1 maps Python 2 byte strings one to one, so the CIFAR batches load
    with str keys and numpy restores their arrays byte for byte.
    """
    return pickle.load(f, encoding='latin1')


def _missing(path, data_dir):
    msg = missing_message(path)
    if data_dir is None and os.environ.get(DATA_DIR_ENV):
        msg += '  (%s is set to %s)' % (DATA_DIR_ENV, os.environ[DATA_DIR_ENV])
    return FileNotFoundError(msg)


def _read(path, data_dir=None):
    try:
        return read_batch(path)
    except FileNotFoundError:
        raise _missing(path, data_dir) from None


def _load_raw(root, data_dir=None):
    """uint8 (50000, 3072), int64 (50000,), uint8 (10000, 3072), int64 (10000,)."""
    st = stat_or_none(root)  # an unreadable folder is not reported as missing
    if st is None or not stat.S_ISDIR(st.st_mode):
        raise _missing(root, data_dir)
    Xtr = np.empty((NUM_TRAIN, 3 * 32 * 32), np.uint8)
    ytr = np.empty(NUM_TRAIN, np.int64)
    for b, name in enumerate(BATCHES[:5]):
        rows = slice(b * ROWS, (b + 1) * ROWS)
        Xtr[rows], ytr[rows] = _read(os.path.join(root, name), data_dir)
    Xte, yte = _read(os.path.join(root, BATCHES[5]), data_dir)
    return Xtr, ytr, Xte, yte


def _channels_last(X, dt):
    return X.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(dt, order='C')


def load_CIFAR_batch(filename, dtype=np.float64):
    """
    Load one CIFAR-10 batch file.

    Inputs:
    - filename: path of data_batch_1..5 or test_batch.
    - dtype: np.float32 or np.float64.

    Returns a tuple of:
    - X: array of shape (10000, 32, 32, 3) (channels last), pixel values 0..255.
    - Y: int64 array of shape (10000,), labels in 0..9.

    Raises ValueError for a bad dtype; FileNotFoundError if the file is
    missing, PermissionError if it may not be read, InvalidDataError (a
    ValueError) naming the file if it is truncated or corrupt.
    """
    filename = check_path('load_CIFAR_batch', 'filename', filename)
    dt = check_dtype('load_CIFAR_batch', 'dtype', dtype)
    data, labels = _read(filename)
    return _channels_last(data, dt), labels


def load_CIFAR10(ROOT, dtype=np.float64):
    """
    Load all of CIFAR-10.

    Inputs:
    - ROOT: the cifar-10-batches-py folder.
    - dtype: np.float32 or np.float64.

    Returns a tuple of:
    - Xtr: (50000, 32, 32, 3) training images, channels last, values 0..255.
    - Ytr: (50000,) int64 training labels.
    - Xte: (10000, 32, 32, 3) test images.
    - Yte: (10000,) int64 test labels.

    Raises as load_CIFAR_batch does.
    """
    ROOT = check_path('load_CIFAR10', 'ROOT', ROOT)
    dt = check_dtype('load_CIFAR10', 'dtype', dtype)
    Xtr, Ytr, Xte, Yte = _load_raw(ROOT)
    return _channels_last(Xtr, dt), Ytr, _channels_last(Xte, dt), Yte


def get_CIFAR10_data(num_training=49000, num_validation=1000, num_test=1000,
                     subtract_mean=True, dtype=np.float64, data_dir=None):
    """
    Load CIFAR-10 and prepare it for the classifiers.

    Validation is training rows [num_training, num_training + num_validation),
    test is the first num_test test rows. With subtract_mean, the mean image
    of the training split is subtracted from all three splits (no division by
    the standard deviation).

    Inputs:
    - num_training, num_validation: numbers of rows taken from the 50000
      training images; their sum is at most 50000.
    - num_test: number of test images, at most 10000.
    - subtract_mean: whether to subtract the training mean image.
    - dtype: np.float64 (the default, as in the original assignment) or
      np.float32; the pixels are converted straight to it.
    - data_dir: the folder holding cifar-10-batches-py (or that folder
      itself); None means $CS231N_DATA_DIR, else cs231n/datasets.

    Returns a dict with C-contiguous arrays:
    - X_train: (num_training, 3, 32, 32); y_train: (num_training,) int64
    - X_val: (num_validation, 3, 32, 32); y_val: (num_validation,) int64
    - X_test: (num_test, 3, 32, 32); y_test: (num_test,) int64

    Raises ValueError naming a bad argument, before anything is read;
    FileNotFoundError (naming the path and the command that fetches the
    data) if it is missing; PermissionError if it may not be read;
    InvalidDataError naming a corrupt file.
    """
    fn = 'get_CIFAR10_data'
    num_training = check_int(fn, 'num_training', num_training, '[1, %d]' % NUM_TRAIN)
    num_validation = check_int(fn, 'num_validation', num_validation, '[1, %d]' % NUM_TRAIN)
    num_test = check_int(fn, 'num_test', num_test, '[1, %d]' % NUM_TEST)
    dt = check_dtype(fn, 'dtype', dtype)
    data_dir = check_path(fn, 'data_dir', data_dir, allow_none=True)
    if num_training + num_validation > NUM_TRAIN:
        raise ValueError('%s: num_training + num_validation must be at most %d, got %d + %d'
                         % (fn, NUM_TRAIN, num_training, num_validation))
    Xtr, ytr, Xte, yte = _load_raw(cifar10_dir(data_dir), data_dir)

    train = slice(0, num_training)
    val = slice(num_training, num_training + num_validation)
    mean_image = None
    if subtract_mean:
        # Accumulate over the uint8 pixels in float64 even for float32 output.
        mean_image = Xtr[train].mean(axis=0, dtype=np.float64).reshape(3, 32, 32).astype(dt)

    def prepare(pixels):
        # The batches store each image channels-first already, so the reshape
        # is free; converting and subtracting in one ufunc pass writes each
        # output element once (no float64 detour for float32).
        out = np.empty((len(pixels), 3, 32, 32), dt)
        pixels = pixels.reshape(-1, 3, 32, 32)
        if mean_image is None:
            np.copyto(out, pixels)
        else:
            np.subtract(pixels, mean_image, out=out)
        return out

    return {
        'X_train': prepare(Xtr[train]), 'y_train': ytr[train].copy(),
        'X_val': prepare(Xtr[val]), 'y_val': ytr[val].copy(),
        'X_test': prepare(Xte[:num_test]), 'y_test': yte[:num_test].copy(),
    }


def load_CIFAR10_label_names(data_dir=None):
    """
    Inputs:
    - data_dir: as for get_CIFAR10_data.

    Returns: list of the 10 class names, in label order (read from
    batches.meta; CLASSES holds the same names without reading anything).

    Raises as get_CIFAR10_data does.
    """
    data_dir = check_path('load_CIFAR10_label_names', 'data_dir', data_dir, allow_none=True)
    path = os.path.join(cifar10_dir(data_dir), 'batches.meta')
    try:
        return read_label_names(path)
    except FileNotFoundError:
        raise _missing(os.path.dirname(path), data_dir) from None
