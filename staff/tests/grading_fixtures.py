"""Saved models and held-out images for the grading tests, in milliseconds.

Training a net to the rubric's accuracies takes minutes, so the tests grade
against synthetic held-out images instead: random uint8 images labelled by a
"teacher" net. The teacher, saved as each of the three graded models (a
TwoLayerNet, a FullyConnectedNet, and one with batchnorm whose running
statistics make it compute the same function), reaches 100% on them; a net
with other random weights reaches about 10%. The grader's own path is the
same as with CIFAR-10: the .npz files are read without pickle, rebuilt with
the staff's layers and scored in the grading process.
"""
import os
import tempfile

import numpy as np

from cs231n import saved_model as SM
from cs231n.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from staff.assignment import models as MOD
from staff.assignment import references as ref
from tools import collect_submission as CS

HIDDEN = 40


def teacher(seed=0):
    r = np.random.RandomState(seed)
    return {'W1': r.randn(3072, HIDDEN) / np.sqrt(3072) * 0.05, 'b1': r.randn(HIDDEN) * 0.1,
            'W2': r.randn(HIDDEN, 10) / np.sqrt(HIDDEN), 'b2': r.randn(10) * 0.1}


def synthetic_heldout(params=None, n=1000, seed=1, n_train=MOD.TRAINING_SAMPLE):
    """A models.HeldOut whose labels are the teacher's predictions (a sample of
    "training" images too); the teacher reaches 100% here, so the ceiling is 1."""
    params = params or teacher()
    r = np.random.RandomState(seed)
    mean = np.full((3, 32, 32), 127.5)

    def split(n=n):
        X = r.randint(0, 256, size=(n, 3, 32, 32)).astype(np.uint8)
        scores = ref.net_loss(params, X.astype(np.float64) - mean, None, 2, 0.0)
        return X, np.argmax(scores, axis=1).astype(np.int64)
    X_val, y_val = split()
    X_test, y_test = split()
    X_train, y_train = split(n_train)
    return MOD.HeldOut(X_val, y_val, X_test, y_test, mean, X_train, y_train, ceiling=1.0)


def heldout_file(path, heldout=None):
    MOD.save_heldout(heldout or synthetic_heldout(), path)
    return path


def saved_bytes(model):
    """The .npz bytes that save_model writes for model."""
    with tempfile.TemporaryDirectory() as tmp:
        path = SM.save_model(model, os.path.join(tmp, 'model.npz'))
        with open(path, 'rb') as f:
            return f.read()


def model_files(params=None):
    """{path in the submission: bytes} of the three graded models, all computing params."""
    params = params or teacher()
    tln = TwoLayerNet(input_dim=3072, hidden_dim=HIDDEN, num_classes=10)
    tln.params = {k: v.copy() for k, v in params.items()}
    fcn = FullyConnectedNet([HIDDEN], input_dim=3072, num_classes=10)
    fcn.params = {k: v.copy() for k, v in params.items()}
    bn = FullyConnectedNet([HIDDEN], input_dim=3072, num_classes=10, normalization='batchnorm')
    bn.params = dict({k: v.copy() for k, v in params.items()}, gamma1=np.ones(HIDDEN),
                     beta1=np.zeros(HIDDEN))
    # Test mode then computes (h - 0) / sqrt(1 - eps + eps) = h: the teacher again.
    bn.bn_params[0].update(running_mean=np.zeros(HIDDEN), running_var=np.full(HIDDEN, 1 - 1e-5))
    data = {'two_layer_net': saved_bytes(tln), 'fc_net_best': saved_bytes(fcn),
            'best_model': saved_bytes(bn)}
    return {path: data[os.path.splitext(os.path.basename(path))[0]] for path in CS.MODELS}


def untrained_model_files():
    """The same three models with random weights: about 10% on the held-out images."""
    return model_files(teacher(seed=99))


def teacher_cifar(folder, params=None, seed=3):
    """A cifar-10-batches-py folder in the official format (cifar_fixtures.py) whose
    validation images (training images 49,000-49,999, the notebooks') are labelled by
    the teacher: model_files() score 100% on them, untrained_model_files() about 10%.
    Returns folder."""
    from staff.tests import cifar_fixtures as CF
    params = params or teacher()
    batches = CF.write_folder(folder, seed=seed)
    Xtr = np.concatenate([batches['data_batch_%d' % i][0] for i in range(1, 6)])
    mean = Xtr[:MOD.NUM_TRAINING].mean(axis=0, dtype=np.float64)
    X = (Xtr[MOD.NUM_TRAINING:].astype(np.float64) - mean).reshape(-1, 3, 32, 32)
    data, labels = batches['data_batch_5']
    labels = labels.copy()
    labels[MOD.NUM_TRAINING - 40000:] = np.argmax(ref.net_loss(params, X, None, 2, 0.0), axis=1)
    CF.dump_py2(CF.batch_dict(data, labels, 'training batch 5 of 5'),
                os.path.join(folder, 'data_batch_5'))
    return folder


def write_models(root, files):
    for rel, data in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
        with open(os.path.join(root, rel), 'wb') as f:
            f.write(data)
