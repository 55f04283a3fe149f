"""The README's results table, generated from the committed notebooks (staff only).

    python -m staff.readme            # print the table the committed notebooks give
    python -m staff.readme --write    # put it into README.md, between its two markers
    python -m staff.readme --check    # exit 1 if README.md's table differs (a staff test runs it)

Every figure of the table is read from what a notebook printed in its last full
run (tools/run_notebooks.py, which also records each notebook's wall time in its
metadata), so the README cannot drift from the notebooks: re-run them with
./run_notebooks.sh --inplace, then --write. A figure whose line a notebook no
longer prints is an error that names it.
"""
import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, 'README.md')
BEGIN = '<!-- results: python -m staff.readme --write generates this table from the notebooks -->'
END = '<!-- end of results -->'
RUN_METADATA = 'cs231n_run'      # tools/run_notebooks.RUN_METADATA
NUMBER = r'([0-9]+(?:\.[0-9]+)?)'

# Per notebook: (figure, the pattern of the line that prints it), and the row's
# text, with {figure} for each (percentages for accuracies).
NOTEBOOKS = [
    ('01_FullyConnectedNets', [
        ('tln_val', r'TwoLayerNet best validation accuracy: ' + NUMBER),
        ('three_layer', r'Three-layer net training accuracy after \d+ epochs: ' + NUMBER),
        ('five_layer', r'Five-layer net training accuracy after \d+ epochs: ' + NUMBER),
        ('good_val', r'Validation set accuracy: ' + NUMBER),
        ('good_test', r'Test set accuracy: ' + NUMBER),
    ], 'TwoLayerNet {tln_val} val; 3- and 5-layer nets overfit 50 images to {three_layer} and '
       '{five_layer}; good model {good_val} val, {good_test} test'),
    ('02_BatchNormalization', [
        ('sweep_seconds', r'(\d+) networks trained in ' + NUMBER + ' s'),
    ], 'the {sweep_networks}-network weight-scale sweep in {sweep_seconds} s; batch-size '
       'experiments for batch and layer norm'),
    ('03_Dropout', [
        ('best_val', r'Validation set accuracy: ' + NUMBER),
        ('best_test', r'Test set accuracy: ' + NUMBER),
        ('plain', r'(\[[0-9, ]+\]), no batchnorm or dropout +\d+ +' + NUMBER + ' +' + NUMBER
         + ' +' + NUMBER + ' +' + NUMBER),
    ], 'best model (batchnorm, dropout, flips, cosine schedule) {best_val} val, {best_test} '
       'test; in the same budget without batchnorm and dropout, `{plain_dims}` reaches '
       '{plain_val} val, {plain_test} test'),
]


class ResultsError(ValueError):
    """A notebook does not print a figure the table quotes; the message says which."""


def _outputs(nb):
    """The text every code cell printed, one string."""
    chunks = []
    for cell in nb.get('cells', []):
        for out in cell.get('outputs', []) if cell.get('cell_type') == 'code' else ():
            for value in (out.get('text'), out.get('data', {}).get('text/plain')):
                if value:
                    chunks.append(''.join(value) if isinstance(value, list) else str(value))
    return '\n'.join(chunks)


def _percent(text):
    return '%.1f%%' % (100 * float(text))


def figures(name, patterns, nb):
    """{figure: its text} of one notebook, from its outputs and its run metadata."""
    text = _outputs(nb)
    found = {}
    for figure, pattern in patterns:
        matches = re.findall(pattern, text)
        if not matches:
            raise ResultsError('%s.ipynb prints no line matching %r (figure %s): run the notebooks '
                               'again, or change staff/readme.py' % (name, pattern, figure))
        m = matches[-1]
        if figure == 'sweep_seconds':
            found['sweep_networks'], found['sweep_seconds'] = m[0], '%.0f' % float(m[1])
        elif figure == 'plain':
            found['plain_dims'] = m[0]
            found['plain_val'], found['plain_test'] = _percent(m[3]), _percent(m[4])
        else:
            found[figure] = _percent(m)
    run = nb.get('metadata', {}).get(RUN_METADATA)
    if not isinstance(run, dict) or run.get('mode') != 'full':
        raise ResultsError('%s.ipynb records no full run (run ./run_notebooks.sh --inplace)' % name)
    found['seconds'] = float(run['seconds'])
    found['cores'] = run.get('cores')
    return found


def table(root=ROOT):
    """The results table (markdown) of the committed notebooks."""
    rows, total, cores = [], 0.0, set()
    for name, patterns, template in NOTEBOOKS:
        with open(os.path.join(root, 'notebooks', name + '.ipynb'), encoding='utf-8') as f:
            nb = json.load(f)
        found = figures(name, patterns, nb)
        total += found['seconds']
        cores.add(found['cores'])
        rows.append('| %s | %.0f s | %s |' % (name, found['seconds'], template.format(**found)))
    where = ('%d cores' % cores.pop()) if len(cores) == 1 and None not in cores else 'one machine'
    return '\n'.join([
        'Results of the committed run (full data: 49,000 training / 1,000 validation / 1,000 test '
        'images; float32 training on %s). The validation accuracies chose the hyperparameters and '
        'the best epoch, so they are optimistic; the test accuracies are the honest figures.' % where,
        '',
        '| notebook | wall time | headline results |',
        '|---|---|---|',
        *rows,
        '',
        'All three took %.0f s.' % total])


def readme_table(path=None):
    """The table now in README.md between the markers, or None without markers."""
    with open(path or README, encoding='utf-8') as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        return None
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip('\n')


def write(path=None, root=ROOT):
    """Put the table into the README at path (default README.md) between its markers."""
    path = path or README
    with open(path, encoding='utf-8') as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        raise ResultsError('%s has no results markers (%s ... %s)' % (path, BEGIN, END))
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    from cs231n._files import atomic_write
    with atomic_write(path, 'w', encoding='utf-8') as f:
        f.write(head + BEGIN + '\n' + table(root) + '\n' + END + tail)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m staff.readme', description=__doc__.split('\n\n')[0])
    how = parser.add_mutually_exclusive_group()
    how.add_argument('--write', action='store_true', help='write the table into README.md')
    how.add_argument('--check', action='store_true',
                     help='exit 1 if README.md does not hold the table the notebooks give')
    args = parser.parse_args(argv)
    try:
        if args.write:
            write()
            print('wrote the results table into %s' % README)
        elif args.check:
            if readme_table() != table():
                print('README.md\'s results table differs from the committed notebooks\': run '
                      'python -m staff.readme --write', file=sys.stderr)
                return 1
            print('README.md\'s results table matches the committed notebooks')
        else:
            print(table())
    except (ResultsError, OSError, ValueError) as e:
        print('staff.readme: %s' % e, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
