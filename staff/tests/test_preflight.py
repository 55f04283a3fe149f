"""The student's pre-flight in tools/collect_submission.py: the saved models scored, stale notebooks refused.

The real command (python -m tools.collect_submission) on a student's folder:
a starter with the model answers spliced in, real saved models (the teacher
nets of grading_fixtures.py) and executed notebooks, against a CIFAR-10
folder in the official format whose validation images the teacher labelled.

Staff-only: staff/ never ships.
"""
import os
import re
import subprocess
import sys
import time

import pytest

from staff.tests import grading_fixtures as G
from staff.tests.submissions import (MODEL_FILES, ROOT, fabricate_notebook, indent_of, read,
                                     write_package)
from tools import collect_submission as CS


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    """The folder holding cifar-10-batches-py (CS231N_DATA_DIR), labelled by the teacher."""
    base = tmp_path_factory.mktemp('cifar')
    G.teacher_cifar(str(base / 'cifar-10-batches-py'))
    return str(base)


def student(starter, dest, edits=None, models=None):
    """A student's assignment folder, every notebook run and saved after the code."""
    root = write_package(starter, str(dest), edits)
    G.write_models(root, MODEL_FILES if models is None else models)
    for path in CS.NOTEBOOKS:
        text = fabricate_notebook(read(root, path))
        with open(os.path.join(root, path), 'w', encoding='utf-8') as f:
            f.write(text)
    return root


def collect(root, data_dir, *args):
    env = dict(os.environ, CS231N_DATA_DIR=data_dir)
    p = subprocess.run([sys.executable, '-m', 'tools.collect_submission', '--root', root,
                        '--out', os.path.join(root, 'a2_submission.zip')] + list(args),
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def scores(stdout):
    return {m.group(1): (float(m.group(2)), float(m.group(3)), m.group(4)) for m in re.finditer(
        r'^  (\w+\.npz): ([0-9.]+) on the validation images, needs >= ([0-9.]+)(.*)$', stdout,
        re.M)}


def test_the_saved_models_are_scored_beside_their_thresholds(starter, tmp_path, data_dir):
    root = student(starter, tmp_path / 'a2')
    status, out, err = collect(root, data_dir)
    assert status == 0, err
    assert 'two_layer_net.npz: 1.000 on the validation images, needs >= 0.50\n' in out
    assert scores(out) == {'two_layer_net.npz': (1.0, 0.5, ''), 'fc_net_best.npz': (1.0, 0.5, ''),
                           'best_model.npz': (1.0, 0.58, '')}
    assert os.path.isfile(os.path.join(root, 'a2_submission.zip'))


def test_models_below_their_threshold_are_named_and_still_bundled(starter, tmp_path, data_dir):
    root = student(starter, tmp_path / 'a2', models=G.untrained_model_files())
    status, out, err = collect(root, data_dir)
    assert status == 0, err
    got = scores(out)
    assert set(got) == {'two_layer_net.npz', 'fc_net_best.npz', 'best_model.npz'}
    for name, (accuracy, need, note) in got.items():
        assert accuracy < 0.3 and note.startswith(' (below: train it further, then run ')
    assert got['best_model.npz'][2] == ' (below: train it further, then run 03_Dropout.ipynb again)'
    assert os.path.isfile(os.path.join(root, 'a2_submission.zip'))


def test_the_scores_come_from_the_students_own_code(starter, tmp_path, data_dir):
    """FullyConnectedNet.loss that negates its scores: the two nets it rebuilds score
    about 0, the TwoLayerNet (the student's other class) still 1.000."""
    root = student(starter, tmp_path / 'a2', {'FullyConnectedNet.loss part 1': lambda body: (
        body + [indent_of(body) + 'scores = -scores\n', '\n'])})
    status, out, err = collect(root, data_dir)
    assert status == 0, err
    got = scores(out)
    assert got['two_layer_net.npz'][0] == 1.0
    assert got['fc_net_best.npz'][0] < 0.1 and got['best_model.npz'][0] < 0.1


def test_a_stale_notebook_is_refused_with_what_to_run_again(starter, tmp_path, data_dir):
    root = student(starter, tmp_path / 'a2')
    now = time.time()
    for here, _, files in os.walk(root):
        for name in files:
            os.utime(os.path.join(here, name), (now - 1000, now - 1000))
    for path in CS.NOTEBOOKS:
        os.utime(os.path.join(root, path), (now - 500, now - 500))
    # A file no notebook imports is no reason.
    os.utime(os.path.join(root, 'cs231n', 'datasets', 'download.py'), (now, now))
    assert CS.stale(root) == []
    # The best model saved again after its notebook.
    os.utime(os.path.join(root, 'saved_models', 'best_model.npz'), (now, now))
    status, out, err = collect(root, data_dir)
    assert status == 1 and not os.path.exists(os.path.join(root, 'a2_submission.zip'))
    errors = [line for line in err.splitlines() if line.startswith('error: ')]
    assert errors == [
        'error: notebooks/03_Dropout.ipynb is older than saved_models/best_model.npz (saved 8 min '
        'after the notebook): the notebook does not show how this model was trained; run '
        '03_Dropout.ipynb again top to bottom (Restart Kernel and Run All Cells) and save it']
    assert 'No zip written: 1 problem(s) above.' in err
    # layers.py changed after every notebook was saved: each imports it (through fc_net).
    os.utime(os.path.join(root, 'saved_models', 'best_model.npz'), (now - 1000, now - 1000))
    os.utime(os.path.join(root, 'cs231n', 'layers.py'), (now, now))
    status, out, err = collect(root, data_dir)
    errors = [line for line in err.splitlines() if line.startswith('error: ')]
    assert status == 1 and len(errors) == 3
    for path, line in zip(CS.NOTEBOOKS, errors):
        assert line == ('error: %s is older than cs231n/layers.py, which it imports (changed up '
                        'to 8 min after the notebook): its outputs may not come from your '
                        'current code; run %s again top to bottom (Restart Kernel and Run All '
                        'Cells) and save it' % (path, os.path.basename(path)))


def test_without_the_data_the_models_are_not_scored_and_it_says_why(starter, tmp_path):
    root = student(starter, tmp_path / 'a2')
    status, out, err = collect(root, str(tmp_path / 'nowhere'))
    assert status == 0, err
    (line,) = [line for line in out.splitlines() if line.startswith('warning: the validation')]
    assert line.startswith('warning: the validation images could not be loaded: ') and \
        'get_datasets' in line
    status, out, err = collect(root, str(tmp_path / 'nowhere'), '--no-score')
    assert status == 0 and 'validation' not in out


def test_the_thresholds_are_the_rubrics(rubric):
    """collect_submission ships to students without the rubric: its copy must agree."""
    assert CS.THRESHOLDS == {i.model: i.minimum for i in rubric.accuracies}
    assert set(CS.THRESHOLDS) == set(CS.MODELS)
