"""Submissions for the grading tests, built from the current model answers (staff only).

Every submission is a real zip made by the project's own tools: the starter
from staff.release, region bodies spliced in with staff.release.regions,
executed notebooks fabricated from the starter's (outputs with the check
lines), and the zip written by tools.collect_submission. Buggy submissions
derive their bodies by text substitution on the CURRENT model answers, so they
follow the model answers when those are rewritten; each substitution asserts
that it applied.

    make_submission(starter, folder, name, edits)  a zip, as a student hands it in
    write_package(starter, dest, edits)             a starter with the answers spliced in
    write_alt_package(starter, dest)                ... with the alternative solution
    prepend, substitute, replace_body, append      edits of a region's body
    CLASSIC_BUGS, ALTERNATIVE_FORMULATIONS          five classic bugs; correct code unlike
                                                    the model answers
    SANDBOX, HELDOUT, MODEL_FILES, SETTINGS         what the grading tests grade with
"""
import os
import re
import shutil

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
    """{(function, part): body} of the repository's current model answers."""
    return {(r.function, r.part): r.body for r in R.py_regions(read(ROOT, path), path)}


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


def substitute(*pairs):
    """An edit applying regex substitutions (pattern, replacement) to a body;
    each must apply at least once."""
    def edit(body):
        text = ''.join(body)
        for pattern, replacement in pairs:
            text, n = re.subn(pattern, replacement, text)
            assert n, 'the substitution %r no longer applies to the model answer:\n%s' % (
                pattern, text)
        return R.split_lines(text)
    return edit


def replace_body(*lines):
    """An edit replacing the whole body (lines at the markers' indentation)."""
    def edit(old):
        ind = indent_of(old)
        return ['\n'] + [ind + line + '\n' for line in lines] + ['\n']
    return edit


def append(*lines):
    """An edit that puts lines of code after a body, at its indentation."""
    def edit(old):
        ind = indent_of(old)
        return old + [ind + line + '\n' for line in lines] + ['\n']
    return edit


def write_package(starter, dest, edits=None, bodies='solution'):
    """Copy the starter to dest with the model answers (bodies='solution') or the
    stubs ('starter') in its regions, and `edits` ({'function' or 'function part
    K': edit(body) -> body}) applied to them; every edit must find its region.
    Returns dest."""
    shutil.copytree(starter, dest)
    edits = dict(edits or {})
    for path in code_files(starter):
        text = read(starter, path)
        regions = R.py_regions(text, path)
        answers = solution_bodies(path)
        new = []
        for r in regions:
            body = answers[(r.function, r.part)] if bodies == 'solution' else r.body
            for key in ('%s part %d' % (r.function, r.part), str(r.function)):
                if key in edits:
                    body = edits.pop(key)(body)
                    break
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

    - edits: {'function' or 'function part K': edit(body) -> body}, applied to
      the model answers; every edit must find its region
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


# The classic bugs, derived from the current model answers.
CLASSIC_BUGS = {
    # Adam's bias correction with beta2 ** 2 instead of beta2 ** t.
    'adam_beta2_squared': ({'adam': substitute(
        (r"(beta2(?:'\])?\s*\*\*\s*)(?:t\b|config\['t'\])", r'\g<1>2'))}, {'adam'},
        'adam: next_w relative error'),
    # A ReLU on the final scores of FullyConnectedNet.
    'relu_on_scores': ({'FullyConnectedNet.loss part 1': lambda body: body + [
        indent_of(body) + 'scores = np.maximum(scores, 0)\n', '\n']}, FCN_PARTS,
        'FullyConnectedNet.loss'),
    # TwoLayerNet forgets the L2 gradient of W1.
    'l2_gradient_missing': ({'TwoLayerNet.loss part 2': substitute(
        (r"(grads\[['\"]W1['\"]\]\s*=\s*[^\n]*?)\s*\+\s*self\.reg\s*\*\s*"
         r"(?:W1|self\.params\[['\"]W1['\"]\])", r'\g<1>'))}, {'two_layer_net'},
        "grads['W1']"),
    # Dropout that scales by p at test time instead of by 1/p at train time.
    'dropout_not_inverted': ({
        'dropout_forward part 1': substitute((r'\s*/\s*p\b', '')),
        'dropout_forward part 2': substitute((r'\bout\s*=\s*x\b', 'out = x * p'))},
        {'dropout_forward'}, 'dropout_forward'),
    # Batchnorm normalizing with the minibatch's statistics in test mode.
    'batchnorm_test_uses_batch_stats': ({'batchnorm_forward part 2': substitute(
        (r'\brunning_mean\b', 'x.mean(axis=0)'), (r'\brunning_var\b', 'x.var(axis=0)'))},
        {'batchnorm_forward_test'}, 'batchnorm_forward: out (test mode'),
}


# Correct code written unlike the model answers (also run under many salts: test_salts.py).
ALTERNATIVE_FORMULATIONS = {
    'sgd_momentum': lambda body: [indent_of(body) + line + '\n' for line in (
        "v *= config['momentum']", "v -= config['learning_rate'] * dw", 'w += v',
        'next_w = w')],
    'rmsprop': lambda body: [indent_of(body) + line + '\n' for line in (
        "cache = config['cache']", "cache *= config['decay_rate']",
        "cache += (1 - config['decay_rate']) * dw * dw",
        # epsilon inside the square root, as TensorFlow 1's RMSPropOptimizer
        "w -= config['learning_rate'] * dw / np.sqrt(cache + config['epsilon'])",
        'next_w = w')],
    'adam': lambda body: [indent_of(body) + line + '\n' for line in (
        "config['t'] = t = config['t'] + 1",
        "b1, b2 = config['beta1'], config['beta2']",
        "config['m'] *= b1", "config['m'] += (1 - b1) * dw",
        "config['v'] *= b2", "config['v'] += (1 - b2) * dw ** 2",
        "alpha = config['learning_rate'] * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)",
        "w -= alpha * config['m'] / (np.sqrt(config['v']) + config['epsilon'])",
        'next_w = w')],
    'batchnorm_forward part 1': lambda body: [indent_of(body) + line + '\n' for line in (
        'mu = np.mean(x, axis=0)', 'xc = x - mu', 'var = np.mean(xc ** 2, axis=0)',
        'inv = 1.0 / np.sqrt(var + eps)', 'out = xc * inv * gamma + beta',
        'running_mean = momentum * running_mean + (1 - momentum) * mu',
        'running_var = momentum * running_var + (1 - momentum) * var',
        "cache = {'xc': xc, 'inv': inv, 'gamma': gamma}")],
    'batchnorm_backward': lambda body: [indent_of(body) + line + '\n' for line in (
        "xc, inv, gamma = cache['xc'], cache['inv'], cache['gamma']",
        'n = dout.shape[0]', 'dbeta = np.sum(dout, axis=0)',
        'dgamma = np.sum(dout * xc * inv, axis=0)', 'dxhat = dout * gamma',
        'dvar = np.sum(dxhat * xc, axis=0) * -0.5 * inv ** 3',
        'dmu = -np.sum(dxhat * inv, axis=0) - 2.0 * dvar * np.mean(xc, axis=0)',
        'dx = dxhat * inv + 2.0 * xc * dvar / n + dmu / n')],
    'batchnorm_backward_alt': lambda body: [indent_of(body) + line + '\n' for line in (
        "xc, inv, gamma = cache['xc'], cache['inv'], cache['gamma']",
        'xhat = xc * inv', 'dbeta = dout.sum(0)', 'dgamma = (dout * xhat).sum(0)',
        'dx = gamma * inv / dout.shape[0] * (dout.shape[0] * dout - dbeta - xhat * dgamma)')],
    'dropout_forward part 1': lambda body: [indent_of(body) + line + '\n' for line in (
        'mask = np.random.rand(*x.shape) < p', 'out = np.where(mask, x / p, 0)')],
    'dropout_backward': lambda body: [indent_of(body) + line + '\n' for line in (
        "dx = np.where(mask, dout, 0) / dropout_param['p']",)],
}
