"""Where the datasets live.

The data folder is resolved from this package, never from the current working
directory, so notebooks and scripts find it wherever they are started from.
CS231N_DATA_DIR overrides it; it names the folder that HOLDS
`cifar-10-batches-py`, the same meaning as `--data-dir` of
`python -m cs231n.datasets` and `data_dir=` of `get_CIFAR10_data`.

Importing this package is cheap. The work is done in its modules, which need
numpy (and requests only to download):
- batches: the batch files' layout, reading and validating them;
- download: HTTP(S) downloads with resume and progress;
- install: md5 check, safe extraction, atomic install, and fetch().
"""
import os

DEFAULT_DATA_DIR = os.path.dirname(os.path.abspath(__file__))
DATA_DIR_ENV = 'CS231N_DATA_DIR'
SOURCE_ENV = 'CIFAR10_SOURCE'
CIFAR10_FOLDER = 'cifar-10-batches-py'
FETCH_HINT = ('./get_datasets.sh   (or: python -m cs231n.datasets '
              '--source /path/to/cifar-10-python.tar.gz)')


def data_dir(override=None):
    """
    The folder that holds `cifar-10-batches-py`.

    Inputs:
    - override: a folder to use instead; None means CS231N_DATA_DIR if it is
      set and not empty, else DEFAULT_DATA_DIR.

    Returns: an absolute path (it need not exist yet).
    """
    if override is None:
        override = os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return os.path.abspath(os.path.expanduser(os.fspath(override)))


def cifar10_dir(override=None):
    """
    The `cifar-10-batches-py` folder that loaders read.

    Inputs:
    - override: as for data_dir. For convenience it may also name the
      `cifar-10-batches-py` folder itself (recognised by its data_batch_1).

    Returns: an absolute path (it need not exist yet).
    """
    base = data_dir(override)
    if (override is not None and not os.path.isdir(os.path.join(base, CIFAR10_FOLDER))
            and os.path.isfile(os.path.join(base, 'data_batch_1'))):
        return base
    return os.path.join(base, CIFAR10_FOLDER)
