"""The catalogue of known mistakes (staff/assignment/mistakes/), row by row.

Each planting of each row (the bug runner's entries) is spliced into the
model answers (staff/tests/submissions.py). The real probes of every part
drive the spliced package in a child process (staff/tests/probing.py), and
the real judges and name_mistakes() get what the probes emitted, in this
process, as the grader gives them. A bug must fail a part of a function it
edits (any part, for an edit at a module's level); each such part must name
its row, and nothing else; no part names another row. The model answers, the
alternative solution and every variant pass every part and name nothing.

Staff-only: staff/ never ships.
"""
import concurrent.futures
import os

import numpy as np
import pytest

from staff.assignment import mistakes as M
from staff.bugs import runner
from staff.tests.probing import judged, probe_workspace
from staff.tests.submissions import (NET_PARTS, SANDBOX, planting, write_alt_package,
                                     write_package)

ENTRIES = {e.name: e for e in runner.catalogue_entries()}
BUGS = sorted(name for name, e in ENTRIES.items() if e.kind == 'bug')
CORRECT = ['solution', 'alt'] + sorted(name for name, e in ENTRIES.items() if e.kind == 'variant')


def _all_parts():
    from staff.assignment import parts as P
    return P.load_parts()


def named_in(part, data):
    """{key: message} that name_mistakes gives for what a part's probe emitted."""
    got = {'__error__': data['__error__']} if '__error__' in data else data
    return dict(M.name_mistakes(part, got))


def failure(part, data):
    """Why the part fails, or None if it passes."""
    return data['__error__'] if '__error__' in data else judged(part, data)


@pytest.fixture(scope='module')
def probed(tmp_path_factory, starter):
    """{entry, 'solution' or 'alt': {part: what its probe emitted}}, every part probed."""
    base = tmp_path_factory.mktemp('mistakes')
    packages = {name: write_package(starter, str(base / name.replace(':', '_')), e.edits)
                for name, e in ENTRIES.items()}
    packages['solution'] = write_package(starter, str(base / 'solution'))
    packages['alt'] = write_alt_package(starter, str(base / 'alt'))
    everything = sorted(_all_parts())
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {name: pool.submit(probe_workspace, ws, everything)
                   for name, ws in packages.items()}
        return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize('name', BUGS)
def test_each_planting_fails_its_function_and_is_named_there(probed, name):
    key, edits = name.split(':')[0], ENTRIES[name].edits
    edited = {region.split(' part ')[0] for _, region, _, _ in edits}
    own = []
    for part, data in probed[name].items():
        if failure(part, data) is None:
            continue
        named = named_in(part, data)
        assert set(named) <= {key}, (part, failure(part, data), named)
        if '<module>' in edited or set(_all_parts()[part].functions) & edited:
            own.append(part)
            assert key in named, '%s fails %s unnamed: %s' % (name, part, failure(part, data))
            assert named[key].startswith(tuple(_all_parts()[part].functions) + (
                'FullyConnectedNet', 'TwoLayerNet')), named[key]
    assert own, '%s fails no part of the functions it edits: it costs no points' % name


@pytest.mark.parametrize('who', CORRECT)
def test_correct_solutions_pass_and_name_nothing(probed, who):
    for part, data in probed[who].items():
        assert failure(part, data) is None, (who, part, failure(part, data))
        assert M.name_mistakes(part, data) == [], (who, part)


def test_every_row_is_planted_and_its_messages_format():
    """Every mistake has a planting (the test above proves it), and every
    reference of a family fills its message in every part it is named in, naming
    the student function first."""
    for row in M.rows():
        assert row.plants and all(row.plants.values()), row.key
        if row.kind == 'variant':
            continue
        for part in row.parts:
            functions = _all_parts()[part].functions
            for _, fields in row.candidates or [(None, M._Blank())]:
                text = row.text(_all_parts()[part], fields)
                assert text.split(':')[0] in functions, (row.key, part, text)


def test_a_result_it_cannot_read_names_nothing(probed):
    """name_mistakes on malformed results returns [] rather than raising."""
    for part in probed['solution']:
        assert M.name_mistakes(part, {}) == []
        assert M.name_mistakes(part, {'__error__': 'x'}) == []
        assert M.name_mistakes(part, None) == []
    assert M.name_mistakes('no such part', {0: np.zeros(3)}) == []
    data = probed['relu-backward-gradient:times-output']['relu_backward']
    broken = dict(data)
    broken[0] = 'not an array'
    assert M.name_mistakes('relu_backward', broken) == []
    assert M.name_mistakes('relu_backward', data)


def test_two_mistakes_at_once_name_neither(probed):
    """No guessing: the results, one mistake in some cases and another in the
    others, match no single row's reference."""
    a = probed['adam-bias-correction:beta2-squared']['adam']
    b = probed['squared-gradient']['adam']
    mixed = {k: (a[k] if k % 2 else b[k]) for k in a}
    assert judged('adam', mixed) is not None
    assert named_in('adam', a) and named_in('adam', b)
    assert M.name_mistakes('adam', mixed) == []


def test_the_grader_names_mistakes_that_end_a_part_in_an_error(tmp_path, starter):
    """Through the real session and sandbox: a result the given code refused
    (the part ends in its error), a net whose layer modes both ended in an
    error, a wrong __init__ (the judge stops at the init), and a layer that
    changes its input in place (sent as the executor's value, fetched back
    after the call), in one package."""
    from staff.grading import grader
    edits = []
    for name in ('affine-backward-dx-not-reshaped', 'fc-shares-one-bn-param', 'init-biases:both',
                 'layer-changes-input:relu_forward'):
        edits += planting(name)
    workspace = write_package(starter, str(tmp_path / 'four-bugs'), edits)
    rubric = grader.load_rubric()
    rubric.items = [i for i in rubric.items if i.kind == 'part']
    result = grader.grade(workspace, starter, rubric, sandbox=SANDBOX,
                          settings={'part_timeout': 30})
    named = {p.name: [k for k, _ in p.mistakes] for p in result.parts if not p.passed}
    assert named.pop('affine_backward') == ['affine-backward-dx-not-reshaped']
    assert named.pop('relu_forward') == ['layer-changes-input']
    # two mistakes in separate checks (the init, the loss) are both named
    assert named.pop('fc_net_batchnorm') == ['fc-shares-one-bn-param', 'init-biases']
    assert set(named) == set(NET_PARTS) - {'fc_net_batchnorm'}, named
    assert all(v == ['init-biases'] for v in named.values()), named
