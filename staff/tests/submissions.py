"""Submissions for the grading tests, built from the current model answers (staff only).

Every submission is a real zip made by the project's own tools: the starter
from staff.release, region bodies spliced in with staff.release.regions,
executed notebooks fabricated from the starter's (outputs with the check
lines), and the zip written by tools.collect_submission. Buggy submissions
derive their bodies from the CURRENT model answers, by the edits of the
mistake catalogue (staff/assignment/mistakes/: each must apply exactly once),
so they follow the model answers when those are rewritten.

    make_submission(starter, folder, name, edits)  a zip, as a student hands it in
    write_package(starter, dest, edits)             a starter with the answers spliced in
    write_alt_package(starter, dest)                ... with the alternative solution
    planting(name)                                  the edits of a bug runner entry
    prepend                                         an edit of a region's body
    CLASSIC_BUGS, ALTERNATIVE_FORMULATIONS          five classic bugs of the catalogue;
                                                    its variants graded together
    SANDBOX, HELDOUT, MODEL_FILES, SETTINGS         what the grading tests grade with
"""
import os
import re
import shutil

from staff.bugs import runner as BUGS
from staff.grading import sandbox as SB
from staff.release import regions as R
from staff.release import starter as REL
from staff.tests import grading_fixtures as G
from tools import collect_submission as CS

ROOT = REL.ROOT
NET_PARTS = {'two_layer_net', 'fc_net', 'fc_net_batchnorm', 'fc_net_layernorm', 'fc_net_dropout'}
FCN_PARTS = NET_PARTS - {'two_layer_net'}
SETTINGS = {'part_timeout': 30}
HELDOUT = G.synthetic_heldout()
MODEL_FILES = G.model_files()


def _sandbox():
    """The sandbox these tests grade in: the real one where it runs, else (on a
    machine with neither bubblewrap nor root) none; the adversarial suite then skips."""
    try:
        return SB.choose(os.environ.get('CS231N_TEST_SANDBOX', 'auto'))
    except SB.SandboxUnavailable:
        return SB.choose('none')


SANDBOX = _sandbox()


def code_files(starter):
    return [p for p in CS.CODE if R.START_MARKER in read(starter, p)]


def read(root, path):
    with open(os.path.join(root, path), encoding='utf-8') as f:
        return f.read()


def solution_bodies(path):
    """{Region.key: body} of the repository's current model answers."""
    return {r.key: r.body for r in R.py_regions(read(ROOT, path), path)}


def planting(name):
    """The edits of the bug runner's entry `name` (a planting of the catalogue)."""
    return {e.name: e.edits for e in BUGS.catalogue_entries()}[name]


def _as_functions(edits):
    """{Region.key: edit(body) -> body} of a planting's edits."""
    out = {}
    for path, key, old, new in edits:
        def edit(body, before=out.get(key, lambda b: b), old=old, new=new, where=key):
            return BUGS.apply_edit(before(body), old, new, where)
        out[key] = edit
    return out


def indent_of(body):
    for line in body:
        if line.strip():
            return line[:len(line) - len(line.lstrip())]
    return ''


def prepend(*code):
    """An edit that puts lines of code before a body, at its indentation."""
    def edit(body):
        ind = indent_of(body)
        return ['\n'] + [ind + line + '\n' for line in code] + body
    return edit


def write_package(starter, dest, edits=None, bodies='solution'):
    """Copy the starter to dest with the model answers (bodies='solution') or the
    stubs ('starter') in its regions, and `edits` applied to them: a planting
    of the catalogue ([(path, region key, old, new)]) or {region key:
    edit(body) -> body}, the keys being Region.key; every edit must find its
    region. Returns dest."""
    shutil.copytree(starter, dest)
    edits = _as_functions(edits) if isinstance(edits, list) else dict(edits or {})
    for path in code_files(starter):
        text = read(starter, path)
        regions = R.py_regions(text, path)
        answers = solution_bodies(path)
        new = []
        for r in regions:
            body = answers[r.key] if bodies == 'solution' else r.body
            if r.key in edits:
                body = edits.pop(r.key)(body)
            new.append(body)
        with open(os.path.join(dest, path), 'w', encoding='utf-8') as f:
            f.write(R.replace_bodies(text, regions, new))
    assert not edits, 'no region for the edit(s) %s' % sorted(edits)
    return dest


def write_alt_package(starter, dest):
    """Copy the starter to dest with the alternative solution spliced in."""
    from staff.alt_solution import run as ALT
    shutil.copytree(starter, dest)
    ALT.splice_release(dest)
    return dest


def fabricate_notebook(text, accuracies=None):
    """A starter notebook as if run top to bottom: execution counts 1..N and,
    for each check_at_least('LABEL', ...) cell, the line it prints."""
    nb = R.load_notebook(text)
    count = 0
    for cell in nb['cells']:
        if cell.get('cell_type') != 'code':
            continue
        count += 1
        cell['execution_count'] = count
        cell['outputs'] = []
        src = R.cell_source(cell)
        for label in re.findall(r"check_at_least\(\s*'([^']+)'", src):
            value = (accuracies or {}).get(label, 0.61)
            cell['outputs'].append({'name': 'stdout', 'output_type': 'stream',
                                    'text': ['%s: %.4f (target >= 0.50)  ok\n' % (label, value)]})
    return R.dump_notebook(nb)


def make_submission(starter, folder, name, edits=None, bodies='solution', notebooks=True,
                    accuracies=None, extra=None, models=None):
    """Write folder/name.zip; return its path.

    - edits: as write_package's, applied to the model answers
    - bodies: 'solution' (the model answers) or 'starter' (the stubs)
    - notebooks: fabricate executed notebooks (else the starter's, not run)
    - accuracies: {notebook path: {label: value}} for the fabricated outputs
    - models: {path: bytes} of the saved models (default: the teacher's, which
      score 100% on HELDOUT), with fabricated notebooks only
    - extra: {path: function(text) -> text} applied last (edits outside regions)
    """
    root = write_package(starter, os.path.join(str(folder), name), edits, bodies)
    for path, fn in (extra or {}).items():
        text = fn(read(root, path))
        with open(os.path.join(root, path), 'w', encoding='utf-8') as f:
            f.write(text)
    out = os.path.join(str(folder), name + '.zip')
    if notebooks:
        G.write_models(root, MODEL_FILES if models is None else models)
        for path in CS.NOTEBOOKS:
            text = fabricate_notebook(read(root, path), (accuracies or {}).get(path))
            with open(os.path.join(root, path), 'w', encoding='utf-8') as f:
                f.write(text)
        # --no-score: a zip per test; collect_submission's scoring is tested on its own.
        assert CS.main(['--root', root, '--out', out, '--no-score']) == 0
    else:
        CS.write_zip(root, out, CS.bundle_files(root))
    return out


# Five classic bugs of the catalogue: (edits, the parts they lose, words of the
# messages there).
CLASSIC_BUGS = {name: (planting(name), parts, words) for name, parts, words in [
    ('adam-bias-correction:beta2-squared', {'adam'}, 'adam: next_w relative error'),
    ('net-relu-on-scores:fc', FCN_PARTS, 'FullyConnectedNet.loss'),
    ('net-l2-some-weights:two-layer-W1', {'two_layer_net'}, "grads['W1']"),
    ('dropout-keep-and-scale:scaled-at-test-time', {'dropout_forward'}, 'dropout_forward'),
    ('batchnorm-mode-statistics:test', {'batchnorm_forward_test'},
     'batchnorm_forward: out (test mode')]}


def _alternative_formulations():
    from staff.assignment.mistakes import variants
    return [edit for name in variants.ALTERNATIVE_FORMULATIONS for edit in planting(name)]


# Correct code written unlike the model answers (also run under many salts: test_salts.py).
ALTERNATIVE_FORMULATIONS = _alternative_formulations()
