"""The README's figures come from the tools: its results table is the one the
committed notebooks give (staff/readme.py), and no other measured figure is
typed into it.

Staff-only: staff/ never ships.
"""
import copy
import json
import os
import re

import pytest

from staff import readme


def _notebooks(root):
    out = {}
    for name, _, _ in readme.NOTEBOOKS:
        with open(os.path.join(root, 'notebooks', name + '.ipynb'), encoding='utf-8') as f:
            out[name] = json.load(f)
    return out


def _write(root, notebooks):
    os.makedirs(os.path.join(root, 'notebooks'), exist_ok=True)
    for name, nb in notebooks.items():
        with open(os.path.join(root, 'notebooks', name + '.ipynb'), 'w', encoding='utf-8') as f:
            json.dump(nb, f)


def test_the_readme_table_is_the_one_the_committed_notebooks_give():
    assert readme.readme_table() is not None, 'README.md lost its results markers'
    assert readme.readme_table() == readme.table(), (
        'README.md and the notebooks disagree: run python -m staff.readme --write')
    assert readme.main(['--check']) == 0


def test_the_table_follows_the_notebooks_outputs_and_run_times(tmp_path):
    """A changed printed accuracy or wall time changes the table; a notebook that no
    longer prints a figure, or records no full run, is an error naming it."""
    notebooks = _notebooks(readme.ROOT)
    _write(str(tmp_path), notebooks)
    before = readme.table(str(tmp_path))

    changed = copy.deepcopy(notebooks)
    nb = changed['03_Dropout']
    for cell in nb['cells']:
        for out in cell.get('outputs', []):
            if 'text' in out:
                text = ''.join(out['text'])
                text = re.sub(r'Test set accuracy: [0-9.]+', 'Test set accuracy: 0.4321', text)
                out['text'] = text
    nb['metadata'][readme.RUN_METADATA]['seconds'] = 1234.4
    _write(str(tmp_path), changed)
    after = readme.table(str(tmp_path))
    assert after != before
    assert '43.2% test' in after and '| 03_Dropout | 1234 s |' in after

    del nb['metadata'][readme.RUN_METADATA]
    _write(str(tmp_path), changed)
    with pytest.raises(readme.ResultsError, match='03_Dropout.ipynb records no full run'):
        readme.table(str(tmp_path))

    silent = copy.deepcopy(notebooks)
    for cell in silent['01_FullyConnectedNets']['cells']:
        cell['outputs'] = []
    _write(str(tmp_path), silent)
    with pytest.raises(readme.ResultsError, match='01_FullyConnectedNets.ipynb prints no line'):
        readme.table(str(tmp_path))


def test_check_fails_when_the_readme_drifts(tmp_path, monkeypatch):
    with open(readme.README, encoding='utf-8') as f:
        text = f.read()
    drifted = tmp_path / 'README.md'
    drifted.write_text(re.sub(r'(\d+\.\d)% val', '99.9% val', text, count=1), encoding='utf-8')
    monkeypatch.setattr(readme, 'README', str(drifted))
    assert readme.main(['--check']) == 1
    assert readme.main(['--write']) == 0
    assert readme.main(['--check']) == 0
