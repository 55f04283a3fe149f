"""The hidden grading tests (staff only; staff/ never ships).

    rubric.txt      points per part, the notebook accuracy checks, the limits
    references.py   reference layers, nets and update rules, from the formulas
    layers.py       every layer's forward and backward
    nets.py         TwoLayerNet and FullyConnectedNet (each normalization, dropout)
    optim.py        sgd_momentum, rmsprop, adam

Each part is a probe (drives the student's code in the sandbox, through the
session) and a judge, both in the grading process, written with ../api.py; the
judges compare with references.py. The machinery that runs them is the rest of
staff/grading/.
"""
import importlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))
RUBRIC = os.path.join(HERE, 'rubric.txt')
PART_MODULES = ('staff.grading.parts.layers', 'staff.grading.parts.nets',
                'staff.grading.parts.optim')


def load_parts():
    """{name: Part} of every hidden test, in declaration order."""
    from staff.grading import api
    for name in PART_MODULES:
        importlib.import_module(name)
    return dict(api.REGISTRY)
