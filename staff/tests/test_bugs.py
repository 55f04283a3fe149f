"""The bug runner (staff/bugs): every planting of the mistake catalogue splices,
and a few run against the public self-check, narrowed with -k so that CI holds
them in seconds. `python -m staff.bugs` runs them all (README: kill rates)."""
import pytest

from staff.bugs import runner
from staff.release import starter as REL

ENTRIES = runner.catalogue_entries()


def test_catalogue_is_large_and_every_entry_splices():
    bugs = [e for e in ENTRIES if e.kind == 'bug']
    variants = [e for e in ENTRIES if e.kind == 'variant']
    assert len(bugs) >= 60 and len(variants) >= 10
    assert len({e.name for e in ENTRIES}) == len(ENTRIES), 'two entries share a name'
    for entry in ENTRIES:
        assert entry.kind in ('bug', 'variant')
        bodies = runner.mutated_bodies(entry)
        for path, key, _, _ in entry.edits:
            assert bodies[path][key] != REL.model_bodies(path)[key], (
                '%s: the edit changes nothing' % entry.name)


def test_an_edit_that_does_not_apply_is_an_error():
    bad = runner.Entry('bad', 'bug', [('cs231n/layers.py', 'affine_forward', 'no such text', 'x')],
                       '')
    with pytest.raises(runner.SpliceError, match='occurs 0 times'):
        runner.mutated_bodies(bad)


@pytest.fixture(scope='module')
def starter(tmp_path_factory):
    target = tmp_path_factory.mktemp('bugs') / 'starter'
    REL.release(str(target), root=REL.ROOT)
    return str(target)


def _entry(name):
    return next(e for e in ENTRIES if e.name == name)


@pytest.mark.parametrize('name, k, function', [
    ('net-relu-on-scores:two-layer', 'negative', 'TwoLayerNet'),
    ('hyperparameter-ignored:bn-eps-1e-5', 'eps', 'batchnorm_forward'),
    ('hyperparameter-ignored:ln-eps-not-passed', 'eps', 'layernorm_forward'),
    ('softmax-unstable:no-shift', 'softmax', 'softmax_loss'),
])
def test_classic_bugs_are_caught_and_named(name, k, function, starter, tmp_path):
    row = runner.run_entry(_entry(name), starter, str(tmp_path), pytest_args=['-k', k])
    assert not row.get('problems'), row
    assert row['caught'], '%s survived pytest tests -k %s' % (name, k)
    assert row['naming'] == 'first' and row['message'].split(': ', 1)[-1].startswith(function), (
        '%s: the first message does not name %s first: %s' % (name, function, row['message']))


@pytest.mark.parametrize('name, k', [
    ('layernorm-via-own-batchnorm-transposed', 'layernorm or norm_backward or float32'),
    ('dropout-binomial-mask', 'dropout'),
])
def test_variants_pass(name, k, starter, tmp_path):
    row = runner.run_entry(_entry(name), starter, str(tmp_path), pytest_args=['-k', k])
    assert not row.get('problems'), row
    assert not row['caught'], '%s is rejected: %s: %s' % (name, row['failed'], row['message'])
