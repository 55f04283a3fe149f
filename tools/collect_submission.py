"""Bundle your work for submission: the code files, the executed notebooks and the saved models.

    python -m tools.collect_submission                       # writes a2_submission.zip
    python -m tools.collect_submission --out my_bundle.zip

Before zipping it checks that
- every required file exists (the code you completed and the three notebooks);
- each notebook was run top to bottom in one kernel: every code cell has been
  executed, the execution counts are exactly 1, 2, ..., N in cell order, and
  no cell shows an error;
- each trained model that is graded was saved by its notebook (save_model) and
  can be read back: the grader scores these files on held-out images;
- no notebook is stale: older than the model it saves, or than a file of the
  cs231n package that it imports (directly or through other modules).
If anything is missing or stale it prints one line per problem, writes no zip
and exits with status 1. Fix a stale notebook with "Restart kernel and run
all cells", then save it.

Then it scores the three saved models with your own cs231n package on the
1,000 validation images the notebooks use (training images 49,000-49,999,
minus the mean of the first 49,000), and prints each beside the accuracy the
grader asks for, e.g. "two_layer_net.npz: 0.597 on the validation images,
needs >= 0.50" (--no-score skips it; it needs CIFAR-10 on this machine).

The zip holds the required files plus every other .py file of the cs231n
package, under their paths in the assignment folder. It is written to a
temporary file first and renamed into place, so an old bundle is never left
half overwritten.
"""
import argparse
import json
import os
import re
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as a script: python tools/collect_submission.py
    sys.path.insert(0, ROOT)
from cs231n._files import atomic_write  # noqa: E402
CODE = [
    'cs231n/layers.py',
    'cs231n/layer_utils.py',
    'cs231n/classifiers/fc_net.py',
    'cs231n/optim.py',
    'cs231n/solver.py',
]
NOTEBOOKS = [
    'notebooks/01_FullyConnectedNets.ipynb',
    'notebooks/02_BatchNormalization.ipynb',
    'notebooks/03_Dropout.ipynb',
]
# The models the notebooks save with cs231n.saved_model.save_model, and where.
MODELS = {
    'saved_models/two_layer_net.npz': 'notebooks/01_FullyConnectedNets.ipynb',
    'saved_models/fc_net_best.npz': 'notebooks/01_FullyConnectedNets.ipynb',
    'saved_models/best_model.npz': 'notebooks/03_Dropout.ipynb',
}
# The validation accuracy each saved model needs for its points.
THRESHOLDS = {
    'saved_models/two_layer_net.npz': 0.50,
    'saved_models/fc_net_best.npz': 0.50,
    'saved_models/best_model.npz': 0.58,
}
DEFAULT_OUT = 'a2_submission.zip'
# File times on a FAT disk or in a zip are kept to 2 s: closer than that is not stale.
STALE_SECONDS = 2.0
PLACEHOLDER = '[FILL THIS IN]'


def _source(cell):
    src = cell.get('source', '')
    return ''.join(src) if isinstance(src, list) else src


def check_notebook(path, name):
    """(problems, warnings) of one notebook, each a list of one-line strings."""
    try:
        with open(path, encoding='utf-8') as f:
            nb = json.load(f)
        cells = nb['cells']
    except (OSError, ValueError, KeyError, TypeError) as e:
        return ['%s: cannot read the notebook (%s)' % (name, e)], []
    problems, warnings, counts, unexecuted = [], [], [], []
    for k, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get('cell_type') != 'code':
            if isinstance(cell, dict) and cell.get('cell_type') == 'markdown' \
                    and _source(cell).lstrip().startswith('## Answer') \
                    and PLACEHOLDER in _source(cell):
                warnings.append('%s: cell %d: inline answer not written yet (%s)'
                                % (name, k, PLACEHOLDER))
            continue
        count = cell.get('execution_count')
        blank = not _source(cell).strip()
        for out in cell.get('outputs', []):
            if out.get('output_type') == 'error':
                problems.append('%s: cell %d shows an error: %s: %s'
                                % (name, k, out.get('ename', '?'),
                                   str(out.get('evalue', '')).splitlines()[0][:160]
                                   if out.get('evalue') else ''))
        if count is None:
            if not blank:
                unexecuted.append(k)
            continue
        counts.append((k, count))
    if unexecuted and not counts:
        problems.append('%s: was not run: none of its %d code cells has been executed'
                        % (name, len(unexecuted)))
        return problems, warnings
    for k in unexecuted:
        problems.append('%s: cell %d was not executed' % (name, k))
    expected = list(range(1, len(counts) + 1))
    got = [c for _, c in counts]
    if got != expected:
        first = next(i for i, c in enumerate(got) if c != i + 1)
        shown = ', '.join(str(c) for c in got[:12]) + (', ...' if len(got) > 12 else '')
        problems.append('%s: not run top to bottom in one kernel: cell %d has execution count '
                        '%d, expected %d (counts [%s], expected 1..%d in cell order); restart '
                        'the kernel, run all cells, and save'
                        % (name, counts[first][0], got[first], first + 1, shown, len(counts)))
    return problems, warnings


def check(root=ROOT):
    """(problems, warnings) for the whole submission."""
    problems, warnings = [], []
    for path in CODE + NOTEBOOKS:
        if not os.path.isfile(os.path.join(root, path)):
            problems.append('%s: required file not found' % path)
    for path in NOTEBOOKS:
        full = os.path.join(root, path)
        if os.path.isfile(full):
            p, w = check_notebook(full, path)
            problems += p
            warnings += w
    from cs231n.saved_model import ModelFileError, read_model
    for path, notebook in MODELS.items():
        full = os.path.join(root, path)
        if not os.path.isfile(full):
            problems.append('%s: not found; run %s to the end: its save_model cell writes it'
                            % (path, notebook))
            continue
        try:
            read_model(full, path)
        except ModelFileError as e:
            problems.append('%s; run the save_model cell of %s again' % (e, notebook))
    for path in CODE:
        full = os.path.join(root, path)
        if os.path.isfile(full):
            with open(full, encoding='utf-8', errors='replace') as f:
                if 'raise NotImplementedError(' in f.read():
                    warnings.append('%s: still raises NotImplementedError somewhere' % path)
    problems += stale(root)
    return problems, warnings


# ---------------------------------------------------------------------------
# Stale notebooks

_FROM = re.compile(r'^[ \t]*from[ \t]+(cs231n(?:\.\w+)*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)',
                   re.M)
_IMPORT = re.compile(r'^[ \t]*import[ \t]+(cs231n(?:\.\w+)*)', re.M)


def _module_file(root, module):
    """The file of a module of the package under root, or None."""
    base = os.path.join(root, *module.split('.'))
    for path in (base + '.py', os.path.join(base, '__init__.py')):
        if os.path.isfile(path):
            return path
    return None


def _with_names(root, module, names):
    """module, and module.NAME for each imported name that is a module itself."""
    out = [module]
    for name in re.sub(r'#[^\n]*|[(),\\]', ' ', names).split():
        if name.isidentifier() and _module_file(root, module + '.' + name):
            out.append(module + '.' + name)
    return out


def _module_imports(root, module, path):
    """The cs231n modules a module's file imports (anywhere in it: lazy imports too)."""
    import ast
    try:
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError, ValueError):
        return []
    package = module.split('.') if path.endswith('__init__.py') else module.split('.')[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split('.')[0] == 'cs231n']
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                name = '.'.join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ''
            if name.split('.')[0] == 'cs231n':
                found += _with_names(root, name, ' '.join(a.name for a in node.names))
    return found


def imported_files(root, notebook):
    """{relative path: mtime} of the files of the cs231n package that a notebook
    imports, directly or through the modules it imports."""
    try:
        with open(os.path.join(root, notebook), encoding='utf-8') as f:
            cells = json.load(f)['cells']
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    todo = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get('cell_type') == 'code':
            src = _source(cell)
            for m in _FROM.finditer(src):
                todo += _with_names(root, m.group(1), m.group(2))
            todo += [m.group(1) for m in _IMPORT.finditer(src)]
    seen = {}
    while todo:
        module = todo.pop()
        parts = module.split('.')
        for k in range(1, len(parts) + 1):            # a module's packages run first
            name = '.'.join(parts[:k])
            path = _module_file(root, name)
            if path is None or name in seen:
                continue
            seen[name] = path
            todo += _module_imports(root, name, path)
    return {os.path.relpath(p, root).replace(os.sep, '/'): os.path.getmtime(p)
            for p in seen.values()}


def _after(seconds):
    if seconds < 120:
        return '%d s' % seconds
    if seconds < 7200:
        return '%d min' % (seconds // 60)
    if seconds < 2 * 86400:
        return '%d h' % (seconds // 3600)
    return '%d days' % (seconds // 86400)


def stale(root=ROOT):
    """One line per notebook older than the model it saves or than the code it imports."""
    problems = []
    for notebook in NOTEBOOKS:
        path = os.path.join(root, notebook)
        if not os.path.isfile(path):
            continue
        saved = os.path.getmtime(path)
        rerun = ('run %s again top to bottom (Restart Kernel and Run All Cells) and save it'
                 % os.path.basename(notebook))
        for model, by in MODELS.items():
            full = os.path.join(root, model)
            if by == notebook and os.path.isfile(full) and \
                    os.path.getmtime(full) > saved + STALE_SECONDS:
                problems.append('%s is older than %s (saved %s after the notebook): the '
                                'notebook does not show how this model was trained; %s'
                                % (notebook, model, _after(os.path.getmtime(full) - saved),
                                   rerun))
        newer = sorted((t - saved, rel) for rel, t in imported_files(root, notebook).items()
                       if t > saved + STALE_SECONDS)
        if newer:
            names = [rel for _, rel in newer]
            problems.append('%s is older than %s, which it imports (changed up to %s after the '
                            'notebook): its outputs may not come from your current code; %s'
                            % (notebook, ', '.join(names[:4]) + (' and %d more' % (
                                len(names) - 4) if len(names) > 4 else ''),
                               _after(max(d for d, _ in newer)), rerun))
    return problems


# ---------------------------------------------------------------------------
# The saved models, scored with the package's own code

VALIDATION = (49000, 1000)       # the notebooks' validation images: training rows 49000-49999
_MARK = '@@scores@@'
_SCORER = r"""
import json, os, sys
root, start, count, mark = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, root)
out = {}
def say():
    print(mark + json.dumps(out))
try:
    import numpy as np
    from cs231n.saved_model import load_model
except Exception as e:
    out['error'] = 'your cs231n package does not import (%s: %s)' % (type(e).__name__, e)
    say(); sys.exit(0)
nets = {}
for path in sys.argv[5:]:
    try:
        nets[path] = load_model(os.path.join(root, path))
    except Exception as e:
        out[path] = {'error': '%s: %s' % (type(e).__name__, str(e)[:300])}
if nets:
    try:
        from cs231n import data_utils
        from cs231n.datasets import cifar10_dir
        Xtr, ytr, _, _ = data_utils._load_raw(cifar10_dir(None), None)
    except Exception as e:
        out['error'] = 'the validation images could not be loaded: %s' % str(e).splitlines()[0]
        say(); sys.exit(0)
    mean = Xtr[:start].mean(axis=0, dtype=np.float64).reshape(3, 32, 32)
    pixels, labels = Xtr[start:start + count].reshape(-1, 3, 32, 32), ytr[start:start + count]
for path, net in nets.items():
    try:
        dtype = net.params['W1'].dtype
        X = np.subtract(pixels, mean.astype(dtype), dtype=dtype)
        predicted = np.concatenate([np.argmax(net.loss(X[i:i + 500]), axis=1)
                                    for i in range(0, len(X), 500)])
        out[path] = {'accuracy': float(np.mean(predicted == labels))}
    except Exception as e:
        out[path] = {'error': '%s: %s' % (type(e).__name__, str(e)[:300])}
say()
"""


def score_models(root=ROOT, timeout=600):
    """({model path: (validation accuracy, or None, and why not)}, a problem or None):
    each saved model rebuilt with the cs231n package under root (its own classes and
    layers, in a child process) and scored on the notebooks' validation images."""
    import subprocess
    models = [m for m in MODELS if os.path.isfile(os.path.join(root, m))]
    try:
        p = subprocess.run([sys.executable, '-c', _SCORER, root, str(VALIDATION[0]),
                            str(VALIDATION[1]), _MARK] + models, capture_output=True,
                           text=True, timeout=timeout, cwd=root)
    except subprocess.TimeoutExpired:
        return {}, 'scoring the saved models took over %d s; they were not scored' % timeout
    lines = [line for line in p.stdout.splitlines() if line.startswith(_MARK)]
    if not lines:
        said = (p.stderr.strip().splitlines() or ['no message'])[-1][:300]
        return {}, 'the saved models could not be scored (%s)' % said
    found = json.loads(lines[-1][len(_MARK):])
    scores = {m: (found[m].get('accuracy'), found[m].get('error')) for m in models
              if isinstance(found.get(m), dict)}
    return scores, found.get('error')


def score_lines(scores):
    """One line per model: its accuracy beside the threshold, or why it has none."""
    lines = []
    for model, (accuracy, error) in scores.items():
        name, need = os.path.basename(model), THRESHOLDS.get(model)
        if accuracy is None:
            lines.append('%s: not scored: %s' % (name, error))
            continue
        line = '%s: %.3f on the validation images, needs >= %.2f' % (name, accuracy, need)
        if accuracy < need:
            line += ' (below: train it further, then run %s again)' % os.path.basename(
                MODELS[model])
        lines.append(line)
    return lines


def bundle_files(root=ROOT):
    """Relative paths that go into the zip, in order."""
    extra = []
    pkg = os.path.join(root, 'cs231n')
    for folder, dirs, files in os.walk(pkg):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__' and not d.startswith('.'))
        for name in sorted(files):
            if name.endswith('.py'):
                rel = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, '/')
                if rel not in CODE:
                    extra.append(rel)
    # check() requires the models; a folder without them bundles what it has.
    models = [m for m in MODELS if os.path.isfile(os.path.join(root, m))]
    return CODE + NOTEBOOKS + models + extra


def write_zip(root, out, files):
    """Write `files` (relative to root) into the zip `out`, atomically."""
    with atomic_write(out) as f, zipfile.ZipFile(f, 'w', zipfile.ZIP_DEFLATED) as z:
        for rel in files:
            z.write(os.path.join(root, rel), rel)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m tools.collect_submission',
        description='Check and zip the code files and the executed notebooks for submission.')
    parser.add_argument('--out', default=None,
                        help='zip to write (default: %s in the assignment folder)' % DEFAULT_OUT)
    parser.add_argument('--no-score', action='store_true',
                        help='do not score the saved models on the validation images (it '
                        'needs CIFAR-10 and takes a few seconds)')
    parser.add_argument('--root', default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)
    out = args.out or os.path.join(root, DEFAULT_OUT)

    problems, warnings = check(root)
    for w in warnings:
        print('warning: %s' % w)
    if problems:
        for p in problems:
            print('error: %s' % p, file=sys.stderr)
        print('No zip written: %d problem(s) above.' % len(problems), file=sys.stderr)
        return 1
    if not args.no_score:
        scores, problem = score_models(root)
        if scores or problem:
            print('Your saved models, scored with your cs231n code on the 1,000 validation '
                  'images:')
        for line in score_lines(scores):
            print('  ' + line)
        if problem:
            print('warning: %s' % problem)
    files = bundle_files(root)
    write_zip(root, out, files)
    total = 0
    for rel in files:
        size = os.path.getsize(os.path.join(root, rel))
        total += size
        print('  %-45s %9d bytes' % (rel, size))
    print('Wrote %s: %d files, %d bytes before compression.' % (out, len(files), total))
    return 0


if __name__ == '__main__':
    sys.exit(main())
