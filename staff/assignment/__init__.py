"""CS231n assignment 2 as the grading engine sees it (staff only; staff/ never ships).

    rubric.txt      points per part, the trained models' accuracy checks, the limits
    references.py   reference layers, nets and update rules, written from the formulas
    parts/          the hidden tests: every layer, the nets, the update rules
    mistakes/       the known mistakes, one catalogue of rows: named in the feedback when
                    a part fails, planted by the bug runner (python -m staff.bugs)
    models.py       the saved models, scored on held-out images with the references
    notebooks.py    what the executed notebooks printed (compared with models.py)

This package provides what staff/grading/assignment.py asks of an assignment;
the engine (staff/grading/) loads it by name, and it imports from the engine,
never the other way round.
"""
import os

from tools import collect_submission as _submission

from staff.grading import submission as _submission_limits

from . import models as _models, notebooks as _notebooks, references as _references
from .parts import load_parts  # noqa: F401: part of the interface

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = 'cs231n'
ANCHOR = 'cs231n/layers.py'
CODE = list(_submission.CODE)
FILES = CODE + list(_submission.NOTEBOOKS) + list(_submission.MODELS)
STUDENT_MODULES = ('cs231n.layers', 'cs231n.layer_utils', 'cs231n.classifiers.fc_net',
                   'cs231n.optim')
RUBRIC = os.path.join(HERE, 'rubric.txt')
# Outside this folder: how a submission is bundled and its notebooks checked, and
# how a saved model is read.
SOURCES = ('tools/__init__.py', 'tools/collect_submission.py', 'cs231n/__init__.py',
           'cs231n/saved_model.py')
REFERENCES = ('cs231n.layers', _references.LAYERS)
DATA_FILE = _models.HELDOUT_FILE
# The most grading an accuracy line adds to the grading process's memory, in MB: the
# larger of scoring a model (its arrays, the activations of one batch and the batch
# itself) and reading a notebook (its text, decoded at up to 4 bytes a character, and
# its values, parsed twice: here and by collect_submission's check).
ITEM_MEMORY_MB = max(
    (_models.MAX_ARRAYS + _models.ACTIVATIONS + _models.BATCH * 3072 * 8) >> 20,
    (2 * (4 * _submission_limits.MAX_NOTEBOOK + 100 * _notebooks.MAX_VALUES)) >> 20)


def name_mistakes(part_name, got):
    """[(key, message)] of the known mistakes that a failed part's results (or
    {'__error__': message}) show: the rows whose buggy reference passes a check
    of the part's judge that the results fail, and the custom matchers'."""
    from . import mistakes
    return mistakes.name_mistakes(part_name, got)


def grade_item(item, files, heldout):
    """(passed, message, flag) of an accuracy line of the rubric (flag: None, or why a
    person should look at the model)."""
    return _models.grade_accuracy(item, files, heldout)


def load_data(root, path=None):
    """The held-out images: from `path`, else the bundle's copy under `root`, else
    built from the local CIFAR-10."""
    return _models.load_heldout(path) if path else _models.heldout_for(root)


save_data = _models.save_heldout
data_digest = _models.digest
