"""Bundle your work for submission: the code files, the executed notebooks and the saved models.

    python -m tools.collect_submission                       # writes a2_submission.zip
    python -m tools.collect_submission --out my_bundle.zip

Before zipping it checks that
- every required file exists (the code you completed and the three notebooks);
- each notebook was run top to bottom in one kernel: every code cell has been
  executed, the execution counts are exactly 1, 2, ..., N in cell order, and
  no cell shows an error;
- each trained model that is graded was saved by its notebook (save_model) and
  can be read back: the grader scores these files on held-out images.
If anything is missing or stale it prints one line per problem, writes no zip
and exits with status 1. Fix a stale notebook with "Restart kernel and run
all cells", then save it.

The zip holds the required files plus every other .py file of the cs231n
package, under their paths in the assignment folder. It is written to a
temporary file first and renamed into place, so an old bundle is never left
half overwritten.
"""
import argparse
import json
import os
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
DEFAULT_OUT = 'a2_submission.zip'
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
    return problems, warnings


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
