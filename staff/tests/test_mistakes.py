"""The catalogue of known mistakes (staff/assignment/mistakes.py).

Each classic bug (staff/tests/known_bugs.py) is spliced into the model answers
by text substitution (staff/tests/submissions.py). The real probes of the
parts then drive the spliced package in a child process (staff/tests/probing.py),
and the real judges and name_mistakes() get what the probes emitted, in this
process, as the grader gives them. Each bug must fail its parts and be named
there; the model answers and the alternative solution name nothing.

Staff-only: staff/ never ships.
"""
import concurrent.futures
import os

import numpy as np
import pytest

from staff.assignment import mistakes as M
from staff.tests.known_bugs import NET_PARTS, known_bugs as _bugs
from staff.tests.probing import judged, probe_workspace
from staff.tests.submissions import SANDBOX, write_alt_package, write_package



# ---------------------------------------------------------------------------
# Fixtures: one package per bug, probed in parallel


@pytest.fixture(scope='module')
def probed(tmp_path_factory, starter):
    base = tmp_path_factory.mktemp('mistakes')
    everything = sorted(_all_parts())
    jobs = {key: (write_package(starter, str(base / key), spec[0]), spec[1])
            for key, spec in _bugs().items()}
    jobs['solution'] = (write_package(starter, str(base / 'solution')), everything)
    jobs['alt'] = (write_alt_package(starter, str(base / 'alt')), everything)
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {key: pool.submit(probe_workspace, ws, parts)
                   for key, (ws, parts) in jobs.items()}
        return {key: f.result() for key, f in futures.items()}


def _all_parts():
    from staff.assignment import parts as P
    return P.load_parts()


BUG_KEYS = sorted(_bugs())


@pytest.mark.parametrize('bug', BUG_KEYS)
def test_each_bug_fails_its_parts_and_is_named_there(probed, bug):
    spec = _bugs()[bug]
    parts, also = spec[1], (spec[2] if len(spec) > 2 else [])
    # the message names first the function the bug is in, or the part's own
    spliced = {key.split(' part ')[0] for key in spec[0]}
    for part in parts:
        data = probed[bug][part]
        if '__error__' in data:   # the given code refused what the bug computed
            named = dict(M.name_mistakes(part, {'__error__': data['__error__']}))
            assert bug in named, (part, data['__error__'], named)
        else:
            assert judged(part, data) is not None, '%s passes %s: it costs no points' % (bug,
                                                                                           part)
            named = dict(M.name_mistakes(part, data))
            assert bug in named, (part, judged(part, data), named)
        assert set(named) <= {bug} | set(also), (part, named)
        first = named[bug].split(':')[0]
        assert first in spliced | set(_all_parts()[part].functions) | {
            M.FUNCTION_OF.get(part, part)}, named[bug]


def test_every_catalogue_entry_has_a_bug_here():
    """A mistake no test produces is a matcher no test checks."""
    assert {key for _, key, _, _ in M.catalogue()} == set(BUG_KEYS)


@pytest.mark.parametrize('who', ['solution', 'alt'])
def test_correct_solutions_pass_and_name_nothing(probed, who):
    for part, data in probed[who].items():
        assert judged(part, data) is None, (who, part, judged(part, data))
        assert M.name_mistakes(part, data) == [], (who, part)


def test_a_correct_result_with_a_mistakes_inputs_names_nothing(probed):
    """Judged-correct results never match: every part of the model answers,
    and name_mistakes on malformed results returns [] rather than raising."""
    for part in probed['solution']:
        assert M.name_mistakes(part, {}) == []
        assert M.name_mistakes(part, {'__error__': 'x'}) == []
        assert M.name_mistakes(part, None) == []
    assert M.name_mistakes('no such part', {0: np.zeros(3)}) == []


def test_a_matcher_that_raises_counts_as_no_match(probed):
    data = probed['relu-backward-times-output']['relu_backward']
    broken = dict(data)
    broken[0] = 'not an array'
    assert M.name_mistakes('relu_backward', broken) == []
    assert M.name_mistakes('relu_backward', data)


def test_two_mistakes_at_once_name_neither(probed):
    """No guessing: the results match no single mistake's formula."""
    a = probed['adam-bias-correction-beta2-squared']['adam']
    b = probed['adam-no-bias-correction']['adam']
    mixed = {k: (a[k] if k % 2 else b[k]) for k in a}
    assert judged('adam', mixed) is not None
    assert M.name_mistakes('adam', mixed) == []


def test_the_grader_names_mistakes_that_end_a_part_in_an_error(tmp_path, starter):
    """Through the real session and sandbox: a result the given code refused
    (the part ends in its error), a net whose layer modes both ended in an
    error, and a wrong __init__ (the judge stops at the init), in one package."""
    from staff.grading import grader
    keys = ['affine-backward-dx-not-reshaped', 'fc-shares-one-bn-param', 'init-biases-not-zero']
    edits = {}
    for key in keys:
        edits.update(_bugs()[key][0])
    workspace = write_package(starter, str(tmp_path / 'three-bugs'), edits)
    rubric = grader.load_rubric()
    rubric.items = [i for i in rubric.items if i.kind == 'part']
    result = grader.grade(workspace, starter, rubric, sandbox=SANDBOX,
                          settings={'part_timeout': 30})
    named = {p.name: [k for k, _ in p.mistakes] for p in result.parts if not p.passed}
    assert named.pop('affine_backward') == ['affine-backward-dx-not-reshaped']
    # two mistakes in separate results (the init, the loss) are both named
    assert named.pop('fc_net_batchnorm') == ['fc-shares-one-bn-param', 'init-biases-not-zero']
    assert set(named) == set(NET_PARTS) - {'fc_net_batchnorm'}, named
    assert all(v == ['init-biases-not-zero'] for v in named.values()), named
