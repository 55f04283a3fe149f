"""The hidden grading tests (staff only; staff/ never ships).

    layers.py       every layer's forward and backward
    nets.py         TwoLayerNet and FullyConnectedNet (each normalization, dropout)
    optim.py        sgd_momentum, rmsprop, adam

Each part is a probe (drives the student's code in the sandbox, through the
session) and a judge, both in the grading process, written with
staff/grading/api.py; the judges compare with ../references.py.
"""
import importlib

PART_MODULES = ('staff.assignment.parts.layers', 'staff.assignment.parts.nets',
                'staff.assignment.parts.optim')


def load_parts():
    """{name: Part} of every hidden test, in declaration order."""
    from staff.grading import api
    for name in PART_MODULES:
        importlib.import_module(name)
    return dict(api.REGISTRY)
