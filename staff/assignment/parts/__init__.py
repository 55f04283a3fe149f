"""The hidden grading tests (staff only; staff/ never ships).

    layers.py       every layer's forward and backward
    nets.py         TwoLayerNet and FullyConnectedNet (each normalization, dropout)
    optim.py        sgd_momentum, rmsprop, adam

Each part is a probe (drives the student's code in the sandbox, through the
session) and a judge, both in the grading process, written with
staff/grading/api.py. A judge is one or more checks, each check(got, R=REF):
it compares with the references R it is given (../references.py), so that a
known mistake (../mistakes/) is recognised by the same check given a buggy
reference.
"""
import importlib

_made = {}

PART_MODULES = ('staff.assignment.parts.layers', 'staff.assignment.parts.nets',
                'staff.assignment.parts.optim')


def load_parts():
    """{name: Part} of every hidden test, in declaration order."""
    from staff.grading import api
    for name in PART_MODULES:
        importlib.import_module(name)
    return dict(api.REGISTRY)


def once_per_draw(seed, make):
    """make(), computed once per draw of a part's inputs (its seed, with the
    grading's salt), for inputs that take long to draw: naming a mistake judges
    the same results many times. What make() returns must not be changed."""
    from staff.grading.api import salt
    key = (seed, salt())
    if key not in _made:
        if len(_made) > 64:
            _made.clear()
        _made[key] = make()
    return _made[key]
