"""Hidden grading tests (staff only; staff/ never ships).

- rubric.txt           points per part, the notebook accuracy checks, the limits
- references.py        reference layers, nets and update rules, from the formulas
- parts_layers.py      every layer's forward and backward
- parts_nets.py        TwoLayerNet and FullyConnectedNet (each normalization, dropout)
- parts_optim.py       sgd_momentum, rmsprop, adam

Each part is a probe (runs beside the student's code, in a child process) and
a judge (runs in the grading process); see tools/grading/api.py. The machinery
that runs them is tools/grading/; the commands are tools/grade.py (a whole
class on one machine) and tools/autograder.py (the Gradescope bundle).
"""
import importlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))
RUBRIC = os.path.join(HERE, 'rubric.txt')
PART_MODULES = ('staff.grading.parts_layers', 'staff.grading.parts_nets',
                'staff.grading.parts_optim')


def load_parts():
    """{name: Part} of every hidden test, in declaration order."""
    from tools.grading import api
    for name in PART_MODULES:
        importlib.import_module(name)
    return dict(api.REGISTRY)
