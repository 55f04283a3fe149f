"""CIFAR-10 loaders (cs231n.data_utils) on batches in the official pickle
layout, plus (slow) the real copy when one is available."""
import os

import numpy as np
import pytest

from cs231n import data_utils
from cs231n.data_utils import (CLASSES, InvalidDataError, get_CIFAR10_data, load_CIFAR10,
                               load_CIFAR10_label_names, load_CIFAR_batch, load_pickle)
from cs231n.datasets import batches
from staff.tests.cifar_fixtures import BATCHES, deny_search, dump_py2, dump_py3, write_folder


@pytest.fixture(scope='module')
def cifar(tmp_path_factory):
    """A full-size folder of random images, written like the official files;
    returns (data dir holding cifar-10-batches-py, {batch: (data, labels)})."""
    root = tmp_path_factory.mktemp('cifar')
    arrays = write_folder(str(root / 'cifar-10-batches-py'), seed=1)
    return str(root), arrays


def official(arrays, num_training=49000, num_validation=1000, num_test=1000):
    """The original assignment's preprocessing, step by step, as the reference."""
    def chw_last(data):
        return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype('float')
    need = num_training + num_validation
    Xtr = np.concatenate([chw_last(arrays[b][0]) for b in BATCHES[:(need - 1) // 10000 + 1]])
    ytr = np.concatenate([arrays[b][1] for b in BATCHES[:5]])
    Xte, yte = chw_last(arrays['test_batch'][0]), arrays['test_batch'][1]
    X_val = Xtr[num_training:num_training + num_validation]
    X_train = Xtr[:num_training]
    X_test = Xte[:num_test]
    mean_image = np.mean(X_train, axis=0)
    X_train, X_val, X_test = X_train - mean_image, X_val - mean_image, X_test - mean_image
    return {'X_train': X_train.transpose(0, 3, 1, 2).copy(), 'y_train': ytr[:num_training],
            'X_val': X_val.transpose(0, 3, 1, 2).copy(),
            'y_val': ytr[num_training:num_training + num_validation],
            'X_test': X_test.transpose(0, 3, 1, 2).copy(), 'y_test': yte[:num_test]}


@pytest.mark.parametrize('dump', [dump_py2, dump_py3])
def test_load_pickle_reads_python2_and_python3_layouts(dump, tmp_path):
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    path = str(tmp_path / 'b')
    dump({'data': data, 'labels': [1, 9], 'batch_label': 'x'}, path)
    with open(path, 'rb') as f:
        d = load_pickle(f)
    assert sorted(d) == ['batch_label', 'data', 'labels']  # str keys, not bytes
    assert d['data'].dtype == np.uint8 and np.array_equal(d['data'], data)


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_load_CIFAR_batch(cifar, dtype):
    root, arrays = cifar
    X, Y = load_CIFAR_batch(os.path.join(root, 'cifar-10-batches-py', 'data_batch_2'), dtype)
    data, labels = arrays['data_batch_2']
    assert X.shape == (10000, 32, 32, 3) and X.dtype == dtype and X.flags.c_contiguous
    assert Y.shape == (10000,) and Y.dtype == np.int64 and np.array_equal(Y, labels)
    # Pixel (row 5, col 7) of image 3: R, G, B planes are 1024 apart.
    assert X[3, 5, 7].tolist() == [data[3, k * 1024 + 5 * 32 + 7] for k in range(3)]


def test_load_CIFAR10(cifar):
    root, arrays = cifar
    Xtr, Ytr, Xte, Yte = load_CIFAR10(os.path.join(root, 'cifar-10-batches-py'), np.float32)
    assert Xtr.shape == (50000, 32, 32, 3) and Ytr.shape == (50000,)
    assert Xte.shape == (10000, 32, 32, 3) and Yte.shape == (10000,)
    assert Xtr.dtype == Xte.dtype == np.float32
    assert np.array_equal(Xtr[20000:30000].transpose(0, 3, 1, 2).reshape(10000, -1),
                          arrays['data_batch_3'][0])
    assert np.array_equal(Yte, arrays['test_batch'][1])


def test_get_CIFAR10_data_defaults(cifar):
    root, arrays = cifar
    data = get_CIFAR10_data(data_dir=root)
    shapes = {'X_train': (49000, 3, 32, 32), 'y_train': (49000,), 'X_val': (1000, 3, 32, 32),
              'y_val': (1000,), 'X_test': (1000, 3, 32, 32), 'y_test': (1000,)}
    assert sorted(data) == sorted(shapes)
    for k, shape in shapes.items():
        assert data[k].shape == shape and data[k].flags.c_contiguous, k
        assert data[k].dtype == (np.float64 if k[0] == 'X' else np.int64), k
    train = np.concatenate([arrays[b][0] for b in BATCHES[:5]])
    mean = train[:49000].mean(axis=0, dtype=np.float64)
    # Validation is training rows 49000..49999; test is the first 1000 test rows.
    assert np.array_equal(data['X_val'][-1].reshape(-1), train[-1] - mean)
    assert np.array_equal(data['X_test'][7].reshape(-1), arrays['test_batch'][0][7] - mean)
    assert np.array_equal(data['y_val'], arrays['data_batch_5'][1][9000:])
    assert abs(data['X_train'].mean(axis=0)).max() < 1e-9


def test_get_CIFAR10_data_equals_the_original_preprocessing(cifar):
    root, arrays = cifar
    data = get_CIFAR10_data(5000, 1000, 1000, data_dir=root)
    ref = official(arrays, 5000, 1000, 1000)
    for k in ref:
        assert data[k].dtype == ref[k].dtype == (np.float64 if k[0] == 'X' else np.int64)
        assert np.array_equal(data[k], ref[k]), k


def test_get_CIFAR10_data_float32_and_custom_splits(cifar):
    root, arrays = cifar
    data = get_CIFAR10_data(num_training=500, num_validation=200, num_test=300,
                            dtype=np.float32, data_dir=root)
    ref = official(arrays, 500, 200, 300)
    for k in ref:
        assert data[k].shape == ref[k].shape, k
        if k[0] == 'X':
            assert data[k].dtype == np.float32
            np.testing.assert_allclose(data[k], ref[k], rtol=0, atol=1e-4)
        else:
            assert np.array_equal(data[k], ref[k])
    # Validation is the training rows right after the training split.
    raw = get_CIFAR10_data(500, 200, 300, subtract_mean=False, data_dir=root)
    assert np.array_equal(raw['X_val'][0].reshape(-1), arrays['data_batch_1'][0][500])
    assert raw['X_train'].min() >= 0 and raw['X_train'].max() <= 255


def test_cifar10_data_dir_env_and_folder_itself(cifar, monkeypatch):
    root, _ = cifar
    monkeypatch.setenv('CS231N_DATA_DIR', root)
    assert get_CIFAR10_data(10, 10, 10)['X_train'].shape == (10, 3, 32, 32)
    assert load_CIFAR10_label_names() == list(CLASSES)
    monkeypatch.delenv('CS231N_DATA_DIR')
    folder = os.path.join(root, 'cifar-10-batches-py')
    assert get_CIFAR10_data(10, 10, 10, data_dir=folder)['y_test'].shape == (10,)


@pytest.mark.parametrize('kwargs, exc, words', [
    ({'num_training': 0}, ValueError,
     'get_CIFAR10_data: num_training must be an integer in [1, 50000], got 0'),
    ({'num_validation': -5}, ValueError, 'num_validation must be an integer in [1, 50000], got -5'),
    ({'num_test': 10001}, ValueError, 'num_test must be an integer in [1, 10000], got 10001'),
    ({'num_training': 1.5}, ValueError, 'num_training must be an integer in [1, 50000], got 1.5'),
    ({'num_test': True}, ValueError, 'num_test must be an integer in [1, 10000], got True'),
    ({'num_training': 49500, 'num_validation': 1000}, ValueError,
     'get_CIFAR10_data: num_training + num_validation must be at most 50000, got 49500 + 1000'),
    ({'dtype': np.int32}, ValueError, 'get_CIFAR10_data: dtype must be np.float32 or np.float64'),
    ({'dtype': np.float16}, ValueError, 'dtype must be np.float32 or np.float64, got'),
    ({'dtype': 'not a dtype'}, ValueError,
     "dtype must be np.float32 or np.float64, got 'not a dtype'"),
    ({'dtype': None}, ValueError, 'dtype must be np.float32 or np.float64, got None'),
    ({'data_dir': 5}, TypeError, 'get_CIFAR10_data: data_dir must be a path (a str or os.PathLike) '
                                 'or None, got 5'),
])
def test_get_CIFAR10_data_checks_arguments(kwargs, exc, words, tmp_path):
    # Arguments are checked before anything is read: tmp_path holds no data.
    kwargs.setdefault('data_dir', str(tmp_path))
    with pytest.raises(exc) as info:
        get_CIFAR10_data(**kwargs)
    assert words in str(info.value)


@pytest.mark.parametrize('call, words', [
    (lambda: load_CIFAR_batch('data_batch_1', dtype='int8'),
     "load_CIFAR_batch: dtype must be np.float32 or np.float64, got 'int8'"),
    (lambda: load_CIFAR_batch(None), 'load_CIFAR_batch: filename must be a path'),
    (lambda: load_CIFAR10('x', dtype=np.float16), 'load_CIFAR10: dtype must be np.float32'),
    (lambda: load_CIFAR10(b'x'), 'load_CIFAR10: ROOT must be a path (a str or os.PathLike), '
                                 'got bytes'),
    (lambda: load_CIFAR10_label_names(3.0), 'load_CIFAR10_label_names: data_dir must be a path'),
])
def test_loaders_check_arguments(call, words):
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    assert words in str(info.value)


def test_missing_data_names_the_path_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv('CS231N_DATA_DIR', str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        get_CIFAR10_data()
    msg = str(info.value)
    assert os.path.join(str(tmp_path), 'cifar-10-batches-py') in msg
    assert './get_datasets.sh' in msg and 'python -m cs231n.datasets --source' in msg
    assert 'CS231N_DATA_DIR is set' in msg
    with pytest.raises(FileNotFoundError, match='get_datasets.sh'):
        load_CIFAR10(str(tmp_path / 'nowhere'))
    with pytest.raises(FileNotFoundError, match='get_datasets.sh'):
        load_CIFAR10_label_names(str(tmp_path))


def test_unreadable_data_is_not_called_missing(cifar, monkeypatch):
    root, _ = cifar
    deny_search(monkeypatch, root)
    folder = os.path.join(root, 'cifar-10-batches-py')
    with pytest.raises(PermissionError) as info:
        get_CIFAR10_data(10, 10, 10, data_dir=root)
    assert str(info.value) == '%s: cannot be read (permission denied)' % folder


def test_missing_batch_names_the_file(cifar, tmp_path):
    root, _ = cifar
    folder = tmp_path / 'cifar-10-batches-py'
    folder.mkdir()
    for name in BATCHES[:3]:
        os.symlink(os.path.join(root, 'cifar-10-batches-py', name), str(folder / name))
    with pytest.raises(FileNotFoundError, match='data_batch_4. Fetch it with'):
        get_CIFAR10_data(data_dir=str(tmp_path))


@pytest.mark.parametrize('damage', ['truncated', 'garbage', 'wrong shape', 'bytes data'])
def test_corrupt_batch_names_the_file(damage, tmp_path):
    path = str(tmp_path / 'data_batch_1')
    data = np.zeros((10000, 3072), np.uint8)
    labels = [0] * 10000
    if damage == 'truncated':
        dump_py2({'data': data, 'labels': labels}, path)
        with open(path, 'r+b') as f:
            f.truncate(os.path.getsize(path) // 2)
    elif damage == 'garbage':
        with open(path, 'wb') as f:
            f.write(b'<html>404 Not Found</html>')
    elif damage == 'wrong shape':
        dump_py2({'data': data.reshape(3072, 10000), 'labels': labels}, path)
    else:
        dump_py3({'data': data.tobytes(), 'labels': labels}, path)
    with pytest.raises(InvalidDataError) as info:
        load_CIFAR_batch(path)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(path + ': ')


def test_label_names(cifar):
    root, _ = cifar
    assert load_CIFAR10_label_names(root) == list(CLASSES)
    assert len(CLASSES) == 10 and CLASSES[3] == 'cat'


def test_no_legacy_imports():
    with open(data_utils.__file__) as f:
        source = f.read()
    for name in ('six', 'future', 'imageio', 'past', 'scipy'):
        assert 'import %s' % name not in source and 'from %s' % name not in source


# ------------------------------------------------------------ the real copy

def _real_copy():
    """$CS231N_TEST_CIFAR_DIR: a folder holding a real cifar-10-batches-py
    (CI builds one from ../shared/cifar10 and installs it with get_datasets.sh)."""
    base = os.environ.get('CS231N_TEST_CIFAR_DIR')
    if not base:
        pytest.skip('real CIFAR-10 not requested: set CS231N_TEST_CIFAR_DIR to a folder '
                    'holding cifar-10-batches-py (e.g. after ./get_datasets.sh: '
                    'CS231N_TEST_CIFAR_DIR=cs231n/datasets)')
    if not os.path.isdir(os.path.join(base, 'cifar-10-batches-py')):
        pytest.skip('CS231N_TEST_CIFAR_DIR=%s holds no cifar-10-batches-py' % base)
    return base


@pytest.mark.slow
def test_real_copy_validates_and_loads():
    base = _real_copy()
    folder = os.path.join(base, 'cifar-10-batches-py')
    batches.validate_folder(folder)
    assert load_CIFAR10_label_names(base) == list(CLASSES)
    for dtype in (np.float32, np.float64):
        data = get_CIFAR10_data(dtype=dtype, data_dir=base)
        assert data['X_train'].shape == (49000, 3, 32, 32) and data['X_train'].dtype == dtype
        assert data['X_val'].shape == data['X_test'].shape == (1000, 3, 32, 32)
        for k in ('y_train', 'y_val', 'y_test'):
            assert data[k].min() == 0 and data[k].max() == 9
        assert np.bincount(data['y_train'], minlength=10).min() > 4500
        assert abs(data['X_train'].mean(axis=0, dtype=np.float64)).max() < 1e-3
        assert 40 < data['X_train'].std() < 80  # raw pixels, not standardised
    X, y = load_CIFAR_batch(os.path.join(folder, 'data_batch_1'), np.float32)
    assert X.min() == 0 and X.max() == 255 and np.array_equal(np.unique(y), np.arange(10))
