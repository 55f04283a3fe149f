"""What the executed notebooks printed: the accuracy each check cell reported.

The accuracy that scores comes from the saved model (models.py). This reads
the line that the notebook's check cell printed, `LABEL: 0.6090 (target >=
0.55)  ok`, from the outputs of the code cell that calls
check_at_least('LABEL', ...), so that the feedback can compare the two, and
says whether the notebook was run top to bottom in one kernel, checked as
tools/collect_submission.py checks it.
"""
import json
import os
import re
import tempfile

from staff.grading import protocol
from tools import collect_submission as CS

# A notebook is parsed only within these (checked on its bytes first): the executed
# notebooks hold about 1,500 JSON values, 6 levels deep.
MAX_VALUES = 200_000
MAX_DEPTH = 64


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


def printed_accuracy(item, files):
    """(the accuracy the notebook printed for item.label or None, a problem or None).

    A notebook that cannot be read (not JSON, too many values, nested too deep, or
    of an unexpected shape) gives (None, what is wrong with it), never an error."""
    data = files.get(item.notebook)
    name = os.path.basename(item.notebook)
    if data is None:
        return None, '%s is not in the submission' % item.notebook
    try:
        protocol.check_json(data, 'the notebook', MAX_VALUES, MAX_DEPTH)
        nb = json.loads(data.decode('utf-8'))
        if not isinstance(nb, dict):
            raise ValueError('not a notebook')
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        return None, '%s: cannot read the notebook (%s)' % (name, str(e)[:300])
    try:
        with tempfile.TemporaryDirectory(prefix='cs231n-grading-nb-') as tmp:
            path = os.path.join(tmp, name)
            with open(path, 'wb') as f:
                f.write(data)
            problems, _ = CS.check_notebook(path, item.notebook)
        problem = None
        if problems:
            more = ' (and %d more problem(s))' % (len(problems) - 1) if len(problems) > 1 else ''
            problem = '%s was not run top to bottom: %s%s' % (name, problems[0], more)
        return read_accuracy(nb, item.label), problem
    except Exception as e:  # noqa: BLE001 a notebook of an unexpected shape
        return None, ('%s: cannot read the notebook: it is not shaped like a Jupyter notebook '
                      '(%s: %s)' % (name, type(e).__name__, str(e)[:200]))
