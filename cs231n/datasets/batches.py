"""CIFAR-10 batch files: their layout, a reader that runs no code, a validator.

The official archive (python version) unpacks to `cifar-10-batches-py/` with
data_batch_1..5, test_batch, batches.meta and readme.html. Each batch is a
Python 2 pickle of a dict with 'data', a (10000, 3072) uint8 array, and
'labels', 10000 ints in 0..9.

Expected failures raise DatasetError subclasses whose messages are meant for
users; `python -m cs231n.datasets` prints them without a traceback.
"""
import os
import pickle
import stat

import numpy as np

from .._checks import describe
from . import FETCH_HINT

BATCHES = tuple('data_batch_%d' % i for i in range(1, 6)) + ('test_batch',)
REQUIRED = BATCHES + ('batches.meta',)
OPTIONAL = ('readme.html',)
ROWS = 10000
PIXELS = 3 * 32 * 32
NUM_CLASSES = 10


class DatasetError(Exception):
    """An expected failure (network, checksum, bad archive or folder)."""


class InvalidDataError(DatasetError, ValueError):
    """A batch file or folder is missing pieces, truncated or corrupt."""


class UnreadableError(DatasetError, PermissionError):
    """A file or folder is there, but permissions forbid reading it."""


def missing_message(path):
    """The error text for a CIFAR-10 folder that is not there."""
    return 'CIFAR-10 not found at %s. Fetch it with:  %s' % (path, FETCH_HINT)


def stat_or_none(path, shown=None):
    """
    Look a path up, telling "not there" apart from "not allowed to look".

    os.path.isfile and isdir answer False in both cases, which would report
    an unreadable folder's files as missing.

    Inputs:
    - path: the file or folder to look up.
    - shown: the path that error messages name (default path), e.g. the
      folder whose permissions hide `path`.

    Returns: the os.stat_result, or None if nothing is there.

    Raises UnreadableError (a PermissionError) naming `shown`.
    """
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError as e:
        raise UnreadableError('%s: cannot be read (permission denied)'
                              % (path if shown is None else shown)) from e


class _BatchUnpickler(pickle.Unpickler):
    # The batches only need numpy's array reconstruction, so refuse every other
    # global: a pickle from an unverified source cannot run arbitrary code.
    _ALLOWED = {
        ('numpy.core.multiarray', '_reconstruct'),
        ('numpy._core.multiarray', '_reconstruct'),
        ('numpy', 'ndarray'),
        ('numpy', 'dtype'),
        ('numpy.core.multiarray', 'scalar'),  # labels saved as numpy ints
        ('numpy._core.multiarray', 'scalar'),
        ('_codecs', 'encode'),  # Python 3 protocol-2 pickles wrap bytes in it
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError('unexpected object %s.%s' % (module, name))
        return super().find_class(module, name)


def _unpickle(path):
    try:
        with open(path, 'rb') as f:
            return _BatchUnpickler(f, encoding='latin1').load()
    except PermissionError as e:
        raise UnreadableError('%s: cannot be read (permission denied)' % path) from e
    except OSError:
        raise
    except Exception as e:  # unpickling garbage can raise almost anything
        raise InvalidDataError('%s: unreadable (truncated or corrupt?): %s: %s'
                               % (path, type(e).__name__, e)) from e


def read_batch(path, rows=ROWS):
    """
    Read one CIFAR-10 batch file without converting the pixels.

    Inputs:
    - path: a batch file such as data_batch_1 or test_batch.
    - rows: the expected number of images; None accepts any number.

    Returns a tuple of:
    - data: uint8 array of shape (rows, 3072): the R plane, then G, then B,
      each 32x32 row-major, so data.reshape(-1, 3, 32, 32) is channels-first.
    - labels: int64 array of shape (rows,), values in 0..9.

    Raises FileNotFoundError if the file is missing, UnreadableError (a
    PermissionError) if it may not be read, InvalidDataError (a ValueError)
    naming the file if it is truncated, corrupt or mis-shaped.
    """
    d = _unpickle(path)
    if not isinstance(d, dict) or 'data' not in d or 'labels' not in d:
        raise InvalidDataError("%s: expected a dict with 'data' and 'labels', got %s"
                               % (path, type(d).__name__ if not isinstance(d, dict)
                                  else 'keys %s' % sorted(map(str, d))))
    data = d['data']
    want = '(%s, %d)' % (rows if rows is not None else 'N', PIXELS)
    if (not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2
            or data.shape[1] != PIXELS or (rows is not None and data.shape[0] != rows)):
        raise InvalidDataError("%s: 'data' should be a %s uint8 array, got %s"
                               % (path, want, describe(data)))
    try:
        labels = np.asarray(d['labels'])
    except Exception as e:
        raise InvalidDataError("%s: 'labels' is not a list of ints: %s" % (path, e)) from e
    if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise InvalidDataError("%s: 'labels' should be %d ints, got %s"
                               % (path, data.shape[0], describe(labels)))
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise InvalidDataError("%s: labels should lie in 0..%d, found %d..%d"
                               % (path, NUM_CLASSES - 1, labels.min(), labels.max()))
    return np.ascontiguousarray(data), labels.astype(np.int64, copy=False)


def read_label_names(path):
    """
    Inputs:
    - path: the batches.meta file.

    Returns: list of the 10 class names, in label order.

    Raises as read_batch does.
    """
    d = _unpickle(path)
    names = d.get('label_names') if isinstance(d, dict) else None
    if (not isinstance(names, list) or len(names) != NUM_CLASSES
            or not all(isinstance(n, str) for n in names)):
        raise InvalidDataError("%s: expected 'label_names', a list of %d names"
                               % (path, NUM_CLASSES))
    return names


def validate_folder(folder, rows=ROWS):
    """
    Check a `cifar-10-batches-py` folder completely.

    Inputs:
    - folder: the folder that holds data_batch_1..5, test_batch, batches.meta.
    - rows: images expected per batch (10000 for the real data set).

    Raises InvalidDataError naming the folder or the first bad file;
    UnreadableError (a PermissionError) naming the folder or file that
    permissions keep from being read.
    """
    st = stat_or_none(folder)
    if st is None or not stat.S_ISDIR(st.st_mode):
        raise InvalidDataError('%s: not a folder' % folder)
    missing = []
    for name in REQUIRED:
        st = stat_or_none(os.path.join(folder, name), shown=folder)
        if st is None or not stat.S_ISREG(st.st_mode):
            missing.append(name)
    if missing:
        raise InvalidDataError('%s: missing %s' % (folder, ', '.join(missing)))
    for name in BATCHES:
        read_batch(os.path.join(folder, name), rows)
    read_label_names(os.path.join(folder, 'batches.meta'))
