"""The notebook parts: a trained model's accuracy, read from the executed notebook.

The grader does not retrain anything: it reads the line that the notebook's
check cell printed, `LABEL: 0.6090 (target >= 0.55)  ok`, from the outputs of
the code cell that calls check_at_least('LABEL', ...), and compares the
number with the rubric's minimum (not with the printed target, which fast
mode lowers). The notebook must have been run top to bottom in one kernel,
checked as tools/collect_submission.py checks it.
"""
import json
import os
import re
import tempfile

from tools import collect_submission as CS


def _text(output):
    parts = []
    if output.get('output_type') == 'stream':
        parts.append(output.get('text', ''))
    for key in ('text/plain',):
        parts.append(output.get('data', {}).get(key, ''))
    return ''.join(''.join(p) if isinstance(p, list) else str(p) for p in parts)


def read_accuracy(nb, label):
    """The last value printed as "LABEL: <number>" by a cell that checks LABEL, or None."""
    pattern = re.compile(r'^\s*%s:\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)' % re.escape(label),
                         re.M)
    value = None
    for cell in nb.get('cells', []):
        if not isinstance(cell, dict) or cell.get('cell_type') != 'code':
            continue
        source = CS._source(cell)
        if 'check_at_least(' not in source or label not in source:
            continue
        for output in cell.get('outputs', []) or []:
            if isinstance(output, dict):
                for m in pattern.finditer(_text(output)):
                    value = float(m.group(1))
    return value


def grade_accuracy(item, files):
    """(passed, message) of one accuracy item of the rubric."""
    data = files.get(item.notebook)
    name = os.path.basename(item.notebook)
    if data is None:
        return False, '%s is not in the submission' % item.notebook
    try:
        nb = json.loads(data.decode('utf-8'))
        if not isinstance(nb, dict):
            raise ValueError('not a notebook')
    except (ValueError, UnicodeDecodeError) as e:
        return False, '%s: cannot read the notebook (%s)' % (name, e)
    with tempfile.TemporaryDirectory(prefix='cs231n-grading-nb-') as tmp:
        path = os.path.join(tmp, name)
        with open(path, 'wb') as f:
            f.write(data)
        problems, _ = CS.check_notebook(path, item.notebook)
    value = read_accuracy(nb, item.label)
    if value is not None and value < item.minimum:
        return False, '%s: %s %.4f, below the target %.2f' % (name, item.label, value, item.minimum)
    if problems:
        more = ' (and %d more problem(s))' % (len(problems) - 1) if len(problems) > 1 else ''
        return False, 'the notebook was not run top to bottom, so its outputs do not count: %s%s' \
            % (problems[0], more)
    if value is None:
        return False, ('%s: no line "%s: ..." in the outputs of the cell that checks it; run the '
                       'notebook top to bottom and save it' % (name, item.label))
    return True, '%s: %s %.4f (target %.2f)' % (name, item.label, value, item.minimum)
