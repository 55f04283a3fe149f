"""The trained-model parts: accuracies verified from the saved weights, not read.

The notebooks save each graded model with cs231n.saved_model.save_model, and
tools/collect_submission bundles the files. For each `accuracy` line of the
rubric the grader reads the file (no pickle), rebuilds the net with the
staff's references (parts/references.py) in test mode, and scores it on the
held-out images, here in the grading process: no student code runs. The
verified validation accuracy is what scores; the number the notebook printed
is only compared with it, and a notebook that printed more than its model
reaches is named in the feedback.

The held-out images are the ones the notebooks validate and test on: training
images 49,000 to 49,999 and the first 1,000 test images, as uint8, with the
mean of the 49,000 training images that get_CIFAR10_data subtracts. The
Gradescope bundle carries them as heldout.npz (a few MB); batch grading builds
them from the local copy of CIFAR-10. Every student has these images, so a
model trained on them scores what it memorised: beside them the grader scores
a fixed sample of 500 training images, and flags (for a person to look at,
never as a verdict) a held-out accuracy far above the training accuracy
(FLAG_MARGIN) or above what a fully-connected net reaches on these images (the
set's `ceiling`). To grade on images no student has, give the grader a private
set in the same format (save_heldout; `--heldout` of the batch command and of
the Gradescope bundle).
"""
import hashlib
import io
import os
import zipfile

import numpy as np

from cs231n import saved_model
from staff.grading import safezip

from . import notebooks

HELDOUT_FILE = 'heldout.npz'
NUM_TRAINING = 49000
BATCH = 500
MAX_PARAMETERS = 16_000_000    # about 3x the largest net the notebooks train (4.7M)
MAX_ARRAYS = 64 * 1024 * 1024  # bytes of all the arrays of one model file, as declared
MAX_MEMBERS = 4 * saved_model.MAX_LAYERS + 2
ACTIVATIONS = 64 * 1024 * 1024  # bytes of activations while one batch is scored
TRAINING_SAMPLE = 500           # training images scored beside the held-out ones
FLAG_MARGIN = 0.10              # held-out accuracy this far above the training accuracy: flagged
CIFAR_CEILING = 0.70            # above this on CIFAR-10 a fully-connected net is implausible
                                # (the notebooks' best reaches 0.61; published MLPs about 0.65)


class HeldOut:
    """uint8 images (N, 3, 32, 32) and int64 labels of the validation and test sets,
    the float64 training mean image (3, 32, 32), a sample of the training images
    with their labels (X_train, y_train: None in an older file), and `ceiling`, the
    accuracy above which a fully-connected net is implausible on these images."""

    def __init__(self, X_val, y_val, X_test, y_test, mean, X_train=None, y_train=None,
                 ceiling=CIFAR_CEILING):
        self.X_val, self.y_val, self.X_test, self.y_test = X_val, y_val, X_test, y_test
        self.mean = mean
        self.X_train, self.y_train = X_train, y_train
        self.ceiling = float(ceiling)


def build_heldout(data_dir=None):
    """The held-out set from the local CIFAR-10 (CS231N_DATA_DIR, else cs231n/datasets)."""
    from cs231n import data_utils
    Xtr, ytr, Xte, yte = data_utils._load_raw(data_utils.cifar10_dir(data_dir), data_dir)
    images = lambda X: np.ascontiguousarray(X.reshape(-1, 3, 32, 32))  # noqa: E731
    mean = Xtr[:NUM_TRAINING].mean(axis=0, dtype=np.float64).reshape(3, 32, 32)
    val = slice(NUM_TRAINING, NUM_TRAINING + 1000)
    sample = np.sort(np.random.RandomState(0).choice(NUM_TRAINING, TRAINING_SAMPLE,
                                                      replace=False))
    return HeldOut(images(Xtr[val]), ytr[val], images(Xte[:1000]), yte[:1000], mean,
                   images(Xtr[sample]), ytr[sample])


def save_heldout(heldout, path_or_file):
    """Write heldout as .npz to a path (atomically) or an open binary file.

    A private set (images the course keeps back, so that no student has them):
        save_heldout(HeldOut(X_val, y_val, X_test, y_test, mean, X_train, y_train), path)
    with uint8 images of shape (N, 3, 32, 32), int64 labels, the training mean
    image that the notebooks subtract (3, 32, 32), and a sample of the training
    images the students train on (for the comparison; may be None)."""
    arrays = dict(X_val=heldout.X_val, y_val=heldout.y_val, X_test=heldout.X_test,
                  y_test=heldout.y_test, mean=heldout.mean,
                  ceiling=np.array(heldout.ceiling))
    if heldout.X_train is not None:
        arrays.update(X_train=heldout.X_train, y_train=heldout.y_train)
    if hasattr(path_or_file, 'write'):
        np.savez_compressed(path_or_file, **arrays)
        return
    from cs231n._files import atomic_write
    with atomic_write(path_or_file) as f:
        np.savez_compressed(f, **arrays)


def load_heldout(path):
    with np.load(path, allow_pickle=False) as z:
        names = set(z.files)
        return HeldOut(z['X_val'], z['y_val'], z['X_test'], z['y_test'], z['mean'],
                       z['X_train'] if 'X_train' in names else None,
                       z['y_train'] if 'y_train' in names else None,
                       float(z['ceiling']) if 'ceiling' in names else CIFAR_CEILING)


def digest(heldout):
    """sha256 of the held-out arrays (part of the grader's fingerprint)."""
    h = hashlib.sha256()
    arrays = [heldout.X_val, heldout.y_val, heldout.X_test, heldout.y_test, heldout.mean]
    if heldout.X_train is not None:
        arrays += [heldout.X_train, heldout.y_train, np.array(heldout.ceiling)]
    for a in arrays:
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


_heldout_cache = {}


def heldout_for(grader_root):
    """The bundle's heldout.npz when there is one, else built from the local data (once)."""
    path = os.path.join(grader_root, HELDOUT_FILE)
    key = path if os.path.exists(path) else 'local'
    if key not in _heldout_cache:
        _heldout_cache[key] = load_heldout(path) if key == path else build_heldout()
    return _heldout_cache[key]


def accuracy(saved, X, y, mean):
    """Accuracy of a SavedModel on uint8 images X, preprocessed as the notebooks do
    (the training mean image subtracted, in the model's dtype)."""
    from . import references as ref
    dtype = saved.dtype
    mean = mean.astype(dtype)
    correct = 0
    # The batch shrinks for wide nets: the activations of one batch stay within ACTIVATIONS.
    widths = 3 * 32 * 32 + sum(saved.hidden_dims) + saved.num_classes
    batch_size = int(max(1, min(BATCH, ACTIVATIONS // (4 * dtype.itemsize * widths))))
    norm_params = None
    if saved.normalization == 'batchnorm':
        norm_params = [dict(stats, mode='test') for stats in saved.running]
    elif saved.normalization == 'layernorm':
        norm_params = [{} for _ in range(saved.num_layers - 1)]
    for start in range(0, len(X), batch_size):
        batch = np.subtract(X[start:start + batch_size], mean, dtype=dtype)
        scores = ref.net_loss(saved.params, batch, None, saved.num_layers, 0.0,
                              saved.normalization, norm_params, None, dtype=dtype)
        correct += int((np.argmax(scores, axis=1) == y[start:start + batch_size]).sum())
    return correct / len(X)


def check_npz(data, name):
    """Raise saved_model.ModelFileError unless the .npz can be read with bounded
    memory: each member stored or deflated (safezip.py), at most MAX_ARRAYS bytes
    in all as declared, and each .npy header asking for no more bytes than its
    member holds (numpy allocates what the header says before it reads)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        return      # read_model says what is wrong with it
    with zf:
        try:
            infos = safezip.check_members(zf, MAX_MEMBERS, MAX_ARRAYS)
        except safezip.UnsafeZip as e:
            raise saved_model.ModelFileError('%s: %s' % (name, e))
        declared = sum(i.file_size for i in infos)
        if declared > MAX_ARRAYS:
            raise saved_model.ModelFileError('%s: its arrays hold %d bytes, over the %d MB '
                                             'graded here' % (name, declared, MAX_ARRAYS >> 20))
        for info in infos:
            try:
                with zf.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                    else:
                        raise ValueError('.npy format version %s' % (version,))
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, SyntaxError) as e:
                raise saved_model.ModelFileError('%s: member %r is not an array written by '
                                                 'numpy (%s)' % (name, info.filename[:100],
                                                                 str(e)[:200]))
            wants = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if wants > info.file_size:
                raise saved_model.ModelFileError(
                    '%s: member %r declares an array of %d bytes in %d bytes'
                    % (name, info.filename[:100], wants, info.file_size))


def verify(data, name, heldout):
    """(validation accuracy, test accuracy) of the model file's bytes; raises
    saved_model.ModelFileError when the file cannot be used."""
    check_npz(data, name)
    saved = saved_model.read_model(io.BytesIO(data), name)
    if saved.input_dim != 3 * 32 * 32 or saved.num_classes != 10:
        raise saved_model.ModelFileError('%s: a net from %d inputs to %d classes, expected 3072 '
                                         'to 10 (CIFAR-10)' % (name, saved.input_dim,
                                                               saved.num_classes))
    n = sum(a.size for a in saved.params.values())
    if n > MAX_PARAMETERS:
        raise saved_model.ModelFileError('%s: %d parameters, more than the %d graded here'
                                         % (name, n, MAX_PARAMETERS))
    train = None
    if heldout.X_train is not None:
        train = accuracy(saved, heldout.X_train, heldout.y_train, heldout.mean)
    return (accuracy(saved, heldout.X_val, heldout.y_val, heldout.mean),
            accuracy(saved, heldout.X_test, heldout.y_test, heldout.mean), train)


def implausible(val, test, train, heldout):
    """Why the held-out accuracies are implausible for the model (one line), or None."""
    best = max(val, test)
    if train is not None and best > train + FLAG_MARGIN:
        return ('%.4f on held-out images but %.4f on training images: a model scores less '
                'on images it never trained on, so it may have trained on the held-out images'
                % (best, train))
    if best > heldout.ceiling:
        return ('%.4f on held-out images, above the %.2f that a fully-connected net reaches on '
                'them: it may have trained on them' % (best, heldout.ceiling))
    return None


def grade_accuracy(item, files, heldout):
    """(passed, message, flag) of one accuracy item of the rubric: flag is None, or why
    a person should look at the model (it changes no score)."""
    printed, nb_problem = notebooks.printed_accuracy(item, files)
    data = files.get(item.model)
    if data is None:
        return False, ('%s is not in the submission: run the cell that saves it in %s, then '
                       'python -m tools.collect_submission' % (
                           item.model, os.path.basename(item.notebook))), None
    try:
        val, test, train = verify(data, item.model, heldout)
    except saved_model.ModelFileError as e:
        return False, 'cannot use the saved model: %s' % e, None
    except (MemoryError, ValueError, FloatingPointError) as e:
        return False, 'cannot evaluate the saved model %s (%s)' % (item.model, str(e)[:200]), None
    message = ('%s: %.4f on the %s validation images (target %.2f), %.4f on the %s test '
               'images' % (item.model, val, '{:,}'.format(len(heldout.y_val)), item.minimum,
                           test, '{:,}'.format(len(heldout.y_test))))
    if train is not None:
        message += ', %.4f on %s training images' % (train, '{:,}'.format(len(heldout.y_train)))
    if printed is not None:
        if printed > val + 0.0015:
            message += ('; your notebook printed "%s: %.4f", which this saved model does not '
                        'reach: only the verified accuracy counts' % (item.label, printed))
        else:
            message += '; your notebook printed %.4f' % printed
    if nb_problem:
        message += '; note: ' + nb_problem
    flag = implausible(val, test, train, heldout)
    if flag:
        message += ('; flagged for the course staff to look at (this changes no score): %s'
                    % flag)
    return val >= item.minimum, message, flag
