"""The grading tools: hidden tests, the Gradescope autograder, batch grading.

Every submission is a real zip, built from the current model answers by
staff/tests/submissions.py; the platforms are run as they run the grader
(staff/tests/platforms.py).

Staff-only: staff/ never ships.
"""
import io
import json
import os
import re
import shutil
import stat
import zipfile

import numpy as np
import pytest

from tools import collect_submission as CS
from staff.bugs.second_set import ENTRIES as SECOND_SET
from staff.release import regions as R
from staff.assignment import models as MOD
from staff.grading import grader, protocol, results as RES
from staff.grading import rubric as RUB, sandbox as SB, submission as SUB
from staff.tests import grading_fixtures as G
from staff.tests.platforms import (check_schema, grade_cli, gradescope_layout,
                                   processes_running, run_autograder, venv_under_tmp)
from staff.tests.submissions import (ALTERNATIVE_FORMULATIONS, CLASSIC_BUGS, HELDOUT,
                                     MODEL_FILES, NET_PARTS, ROOT, SANDBOX, SETTINGS,
                                     fabricate_notebook, make_submission, prepend, read,
                                     solution_bodies)

NOTEBOOK_PARTS = {'two_layer_net_accuracy', 'fc_net_best_accuracy', 'best_model_accuracy'}


def grade(path, starter, rubric, **settings):
    return grader.grade(path, starter, rubric, settings=dict(SETTINGS, **settings),
                        sandbox=SANDBOX, heldout=HELDOUT)


def lost(result):
    return {p.name for p in result.parts if not p.passed}


def by_name(result):
    return {p.name: p for p in result.parts}


# ---------------------------------------------------------------------------
# Whole submissions

def test_solution_gets_full_marks(starter, rubric, subs):
    result = grade(make_submission(starter, subs, 'solution'), starter, rubric)
    failed = {p.name: p.message for p in result.parts if not p.passed}
    assert not failed, failed
    assert result.total == rubric.total == 100
    assert [p.name for p in result.parts] == [i.name for i in rubric.items]
    assert not result.notes, result.notes


def test_untouched_starter_gets_zero_with_not_implemented(starter, rubric, subs):
    result = grade(make_submission(starter, subs, 'starter', bodies='starter', notebooks=False),
                   starter, rubric)
    assert result.total == 0
    for p in result.parts:
        if p.name in NOTEBOOK_PARTS:
            assert 'is not in the submission: run the cell that saves it' in p.message, \
                (p.name, p.message)
        else:
            assert p.message.startswith('not implemented'), (p.name, p.message)


@pytest.mark.parametrize('bug', sorted(CLASSIC_BUGS))
def test_classic_bug_loses_exactly_its_parts(starter, rubric, subs, bug):
    edits, expected, words = CLASSIC_BUGS[bug]
    result = grade(make_submission(starter, subs, bug, edits), starter, rubric)
    parts = by_name(result)
    assert lost(result) == expected, {n: parts[n].message for n in lost(result) ^ expected}
    assert result.total == rubric.total - sum(parts[n].points for n in expected)
    for name in expected:
        assert words in parts[name].message, parts[name].message
        assert re.search(r'relative error [0-9.e+-]+ \(tolerance|expected|is [-0-9.]+',
                         parts[name].message), parts[name].message


def test_a_net_that_passes_dropout_another_keep_ratio_loses_the_dropout_part(starter, rubric,
                                                                            subs):
    """At keep 0.6 a net that hands dropout p = 1 - keep (a bug of the second set)
    draws masks of another ratio; with the student's own layers they are replayed,
    so the judge checks their scale (the grader once gave this net full marks)."""
    flipped = next(e.edits for e in SECOND_SET if e.name == 's2_fcn_dropout_keep_ratio_flipped')
    result = grade(make_submission(starter, subs, 'keep-flipped', flipped), starter, rubric)
    part = by_name(result)['fc_net_dropout']
    assert lost(result) == {'fc_net_dropout'}, {p.name: p.message for p in result.parts
                                                if not p.passed}
    assert 'scaled the kept units by [2.5], expected 1/p = 1.667' in part.message, part.message


def test_in_place_and_alternative_formulations_get_full_marks(starter, rubric, subs):
    """Correct code written unlike the model answers: in-place updates (w, the
    state arrays), RMSProp with epsilon inside the square root, Adam with its
    bias corrections folded into the step size, a dict cache for batchnorm, a
    boolean dropout mask scaled in backward."""
    result = grade(make_submission(starter, subs, 'alternative', ALTERNATIVE_FORMULATIONS),
                   starter, rubric)
    failed = {p.name: p.message for p in result.parts if not p.passed}
    assert not failed, failed


def test_staff_alternative_solution_gets_full_marks(starter, rubric, subs, tmp_path):
    """The independently written solution in staff/alt_solution, where present."""
    if not os.path.isdir(os.path.join(ROOT, 'staff', 'alt_solution', 'cs231n')):
        pytest.skip('no staff/alt_solution in this checkout')
    alt = pytest.importorskip('staff.alt_solution.run')
    root = str(tmp_path / 'alt')
    shutil.copytree(starter, root)
    alt.splice_release(root)
    G.write_models(root, MODEL_FILES)
    for path in CS.NOTEBOOKS:
        text = fabricate_notebook(read(root, path))
        with open(os.path.join(root, path), 'w', encoding='utf-8') as f:
            f.write(text)
    out = str(tmp_path / 'alt.zip')
    assert CS.main(['--root', root, '--out', out]) == 0
    result = grade(out, starter, rubric)
    failed = {p.name: p.message for p in result.parts if not p.passed}
    assert not failed, failed


def test_edits_outside_the_regions_do_not_count(starter, rubric, subs):
    """A correct affine_forward defined after the stub, and the given checks
    disabled, outside the regions: the starter's code is what runs."""
    override = ('\n\ndef affine_forward(x, w, b):\n'
                '    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)\n')
    path = make_submission(starter, subs, 'outside', bodies='starter', notebooks=False, extra={
        'cs231n/layers.py': lambda text: text + override})
    result = grade(path, starter, rubric)
    assert by_name(result)['affine_forward'].message.startswith('not implemented')
    assert result.total == 0


def test_exit_at_import_costs_only_the_parts_that_import_it(starter, rubric, subs):
    """sys.exit() in the module-level region of layer_utils.py: the nets
    import it and lose their points, the layers and update rules do not."""
    path = make_submission(starter, subs, 'exit_at_import', {
        '<module>': prepend('import sys', 'sys.exit(3)')})
    result = grade(path, starter, rubric)
    assert lost(result) == NET_PARTS
    for name in NET_PARTS:
        assert 'SystemExit' in by_name(result)[name].message


def test_os_exit_at_import_restarts_the_child_and_quarantines_the_import(starter, rubric, subs):
    path = make_submission(starter, subs, 'os_exit_at_import', {
        '<module>': prepend('import os', 'os._exit(0)')})
    result = grade(path, starter, rubric)
    assert lost(result) == NET_PARTS
    parts = by_name(result)
    assert 'exited with status 0' in parts['two_layer_net'].message
    assert 'was not run' in parts['fc_net_dropout'].message   # no second crash


def test_code_that_does_not_compile_stays_a_stub(starter, rubric, subs):
    path = make_submission(starter, subs, 'syntax', {
        'relu_backward': prepend('dx = (((')})
    result = grade(path, starter, rubric)
    assert lost(result) == {'relu_backward'}
    assert any('does not compile' in n and 'relu_backward' in n for n in result.notes)


# ---------------------------------------------------------------------------
# The Gradescope autograder, run as Gradescope runs it


def test_bundle_holds_what_gradescope_expects(bundle):
    with zipfile.ZipFile(bundle) as z:
        names = set(z.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
    for name in ('setup.sh', 'run_autograder', 'requirements.txt', 'BUILD.txt',
                 'grader/staff/grading/grader.py', 'grader/staff/assignment/rubric.txt',
                 'grader/staff/assignment/parts/nets.py', 'starter/cs231n/layers.py',
                 'starter/notebooks/03_Dropout.ipynb', 'grader/cs231n/_files.py',
                 'grader/staff/grading/executor.py', 'grader/cs231n/saved_model.py',
                 'grader/heldout.npz', 'staff-requirements.txt'):
        assert name in names, name
    assert modes['run_autograder'] & 0o111 and modes['setup.sh'] & 0o111
    # The starter in the bundle is stubbed: no model answer ships to Gradescope's copy.
    with zipfile.ZipFile(bundle) as z:
        layers = z.read('starter/cs231n/layers.py').decode()
    assert 'raise NotImplementedError' in layers
    assert not any(n.startswith(('grader/cs231n/layers', 'starter/staff/')) for n in names)


def test_run_autograder_on_the_solution_zip(tmp_path, bundle, starter, rubric, subs):
    root = gradescope_layout(tmp_path, bundle)
    shutil.copy(make_submission(starter, subs, 'gs_solution'),
                str(root / 'submission' / 'a2_submission.zip'))
    data, status, _, stderr = run_autograder(root)
    assert status == 0, stderr[-3000:]
    check_schema(data, rubric)
    assert data['score'] == rubric.total, [t['output'] for t in data['tests']
                                           if t['score'] < t['max_score']]


def test_run_autograder_on_a_hostile_extracted_submission(tmp_path, bundle, starter, rubric,
                                                         subs):
    """Gradescope extracted the zip into submission/. The student's code prints
    megabytes, runs out of memory, calls os._exit and sys.exit, writes
    results.json itself and starts daemons: each of the first five parts gets
    zero with its reason, the others their points, results.json is the
    grader's, and no daemon survives."""
    root = gradescope_layout(tmp_path, bundle)
    forged = str(root / 'results' / 'results.json')
    path = make_submission(starter, subs, 'hostile', {
        'affine_forward': prepend("print('x' * 1000000)"),
        'svm_loss': prepend('_hog = np.ones(10 ** 10)'),
        'adam': prepend('import os', 'os._exit(0)'),
        'rmsprop': prepend('import sys', 'sys.exit(4)'),
        'sgd_momentum': prepend('open(%r, "w").write(\'{"score": 1000, "tests": []}\')' % forged),
        'relu_backward': prepend('import subprocess',
                                 "subprocess.Popen(['sleep', '3141'], start_new_session=True)"),
    })
    with zipfile.ZipFile(path) as z:
        z.extractall(str(root / 'submission'))
    data, status, _, stderr = run_autograder(root)
    assert status == 0, stderr[-3000:]
    check_schema(data, rubric)
    tests = {t['name']: t for t in data['tests']}
    zero = {n for n, t in tests.items() if t['score'] < t['max_score']}
    assert zero == {'affine_forward', 'svm_loss', 'adam', 'rmsprop', 'sgd_momentum'}, \
        {n: tests[n]['output'][:300] for n in zero}
    assert 'printed more than' in tests['affine_forward']['output']
    assert 'MemoryError' in tests['svm_loss']['output']
    assert 'exited with status 0' in tests['adam']['output']
    assert 'sys.exit(4)' in tests['rmsprop']['output']
    # results/ is out of the sandbox's reach: the forging open() fails.
    assert re.search(r'(FileNotFound|Permission)Error', tests['sgd_momentum']['output']), \
        tests['sgd_momentum']['output']
    assert data['score'] == rubric.total - sum(tests[n]['max_score'] for n in zero)
    assert sorted(os.listdir(str(root / 'results'))) == ['results.json']
    assert not processes_running(['sleep', '3141']), 'a daemon of the student outlived grading'


def test_run_autograder_writes_results_when_the_submission_is_refused(tmp_path, bundle,
                                                                      rubric):
    root = gradescope_layout(tmp_path, bundle)
    with zipfile.ZipFile(str(root / 'submission' / 'a2_submission.zip'), 'w') as z:
        z.writestr('../cs231n/layers.py', 'x = 1\n')
    data, status, _, stderr = run_autograder(root)
    assert status == 0, stderr[-3000:]
    check_schema(data, rubric)
    assert data['score'] == 0
    assert 'refused' in data['output'] and '".." component' in data['output']


# ---------------------------------------------------------------------------
# Batch grading


def test_batch_grades_a_class_goes_on_past_a_hang_and_resumes(tmp_path, starter, rubric, subs):
    folder = tmp_path / 'class'
    folder.mkdir()
    shutil.copy(make_submission(starter, subs, 'b_solution'), str(folder / 'alice.zip'))
    shutil.copy(make_submission(starter, subs, 'b_loop', {
        'relu_forward': prepend('while True:', '    pass')}), str(folder / 'bob.zip'))
    shutil.copy(make_submission(starter, subs, 'b_adam',
                                CLASSIC_BUGS['adam-bias-correction:beta2-squared'][0]),
                str(folder / 'carol.zip'))
    with zipfile.ZipFile(str(folder / 'dave.zip'), 'w') as z:
        z.writestr('cs231n/layers.py', 'x = 1\n')
        info = zipfile.ZipInfo('cs231n/optim.py')
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, '/etc/passwd')
    (folder / 'erin.zip').write_bytes(b'not a zip at all')

    proc = grade_cli(folder, '--starter', starter, '--jobs', '2', '--part-timeout', '3')
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = folder / 'grading'
    with open(str(out / 'grades.csv'), encoding='utf-8') as f:
        rows = [line.rstrip('\n').split(',') for line in f]
    header = rows[0]
    assert header == ['student'] + [i.name for i in rubric.items] + ['total', 'mistakes']
    table = {r[0]: dict(zip(header, r)) for r in rows[1:]}
    assert sorted(table) == ['alice', 'bob', 'carol', 'dave', 'erin']
    full = '%g' % rubric.total
    assert table['alice']['total'] == full
    assert table['bob']['relu_forward'] == '0'
    assert float(table['bob']['total']) == rubric.total - 2   # only relu_forward lost
    assert table['carol']['adam'] == '0' and float(table['carol']['total']) == rubric.total - 4
    assert table['carol']['mistakes'] == 'adam-bias-correction'
    assert table['alice']['mistakes'] == '' and table['bob']['mistakes'] == ''
    assert 'v_hat = v / (1 - beta2**2)' in (out / 'feedback' / 'carol.txt').read_text()
    report = (out / 'report.html').read_text()
    assert 'adam-bias-correction' in report and 'carol' in report
    assert table['dave']['total'] == '0' and table['erin']['total'] == '0'
    bob = (out / 'feedback' / 'bob.txt').read_text()
    # Charged 3 s of CPU time; on a machine too busy to give it that within 9 s, the backstop.
    assert 'relu_forward' in bob and re.search(r'stopped after (3 s of CPU time|9 s without)', bob)
    assert 'symbolic link' in (out / 'feedback' / 'dave.txt').read_text()
    assert 'not a readable zip' in (out / 'feedback' / 'erin.txt').read_text()

    # A second run grades nothing again; a changed zip is regraded alone.
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / 'results').iterdir()}
    proc = grade_cli(folder, '--starter', starter, '--jobs', '2')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '5 already graded, 0 to grade' in proc.stdout
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (out / 'results').iterdir()}
    shutil.copy(str(folder / 'alice.zip'), str(folder / 'carol.zip'))
    proc = grade_cli(folder, '--starter', starter, '--jobs', '2')
    assert '4 already graded, 1 to grade' in proc.stdout, proc.stdout
    with open(str(out / 'grades.csv'), encoding='utf-8') as f:
        assert 'carol,' in f.read()
    carol = json.loads((out / 'results' / 'carol.json').read_text())
    assert carol['total'] == rubric.total


@pytest.mark.skipif(not shutil.which('bwrap') or not SB.bwrap_works(SB.sandbox_user()
                    if os.geteuid() == 0 else None), reason='bubblewrap does not run here')
def test_bubblewrap_runs_a_python_that_lives_under_tmp(starter, rubric, subs):
    """A clone or a CI workspace under /tmp: the sandbox's own /tmp must not hide
    the venv (the tmpfs is mounted before the binds), through a symlink too."""
    import tempfile
    tmp_root = tempfile.mkdtemp(prefix='cs231n venv ', dir='/tmp')
    try:
        user = SB.sandbox_user() if os.geteuid() == 0 else None
        for k, python in enumerate(venv_under_tmp(tmp_root)):
            assert SB.bwrap_problem(user, python) is None
            result = grader.grade(make_submission(starter, subs, 'tmp_venv%d' % k), starter, rubric,
                                  settings=SETTINGS, sandbox=SB.Sandbox('bwrap', user),
                                  python=python, heldout=HELDOUT)
            assert result.total == rubric.total, [(p.name, p.message) for p in result.parts
                                                  if not p.passed]
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0 or SB.sandbox_user() is None,
                    reason='needs root and the sandbox user')
def test_privacy_check_fails_closed(tmp_path, monkeypatch):
    """A probe that cannot run to its end refuses grading, with the reason."""
    box = SB.Sandbox('user', SB.sandbox_user())
    private = tmp_path / 'private'
    private.mkdir(mode=0o700)
    SB.check_private(box, [str(private)])      # runs to its end: nothing readable
    monkeypatch.setattr(SB.sys, 'executable', '/nonexistent/python')
    with pytest.raises(SB.SandboxUnavailable, match='could not check'):
        SB.check_private(box, [str(private)])
    monkeypatch.setattr(SB.sys, 'executable', '/bin/false')
    with pytest.raises(SB.SandboxUnavailable, match='could not check'):
        SB.check_private(box, [str(private)])


# ---------------------------------------------------------------------------
# Parts of the machinery

@pytest.mark.parametrize('name, why', [
    ('../evil.py', '".." component'), ('/etc/evil.py', 'an absolute path'),
    ('a/../../evil.py', '".." component'), ('C:/evil.py', 'an absolute path')])
def test_unsafe_zip_members_are_refused(tmp_path, name, why):
    path = str(tmp_path / 'bad.zip')
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr('cs231n/layers.py', 'x = 1\n')
        z.writestr(name, 'x = 1\n')
    with pytest.raises(SUB.Refused, match=re.escape(why)):
        SUB.read_zip(path)


def test_symlinks_are_refused_in_zips_and_folders(tmp_path):
    path = str(tmp_path / 'link.zip')
    with zipfile.ZipFile(path, 'w') as z:
        info = zipfile.ZipInfo('cs231n/layers.py')
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, '/etc/passwd')
    with pytest.raises(SUB.Refused, match='symbolic link'):
        SUB.read_zip(path)
    folder = tmp_path / 'sub'
    (folder / 'cs231n').mkdir(parents=True)
    os.symlink('/etc/passwd', str(folder / 'cs231n' / 'layers.py'))
    with pytest.raises(SUB.Refused, match='symbolic link'):
        SUB.read_folder(str(folder))


def test_a_folder_holding_the_zip_or_a_prefixed_zip_is_read(tmp_path):
    inner = tmp_path / 'inner.zip'
    with zipfile.ZipFile(str(inner), 'w') as z:
        z.writestr('my_a2/cs231n/layers.py', 'x = 1\n')
        z.writestr('my_a2/notebooks/03_Dropout.ipynb', '{}')
    files, notes = SUB.read_zip(str(inner))
    assert files['cs231n/layers.py'] == b'x = 1\n'
    assert 'notebooks/03_Dropout.ipynb' in files
    assert any('cs231n/optim.py is missing' in n for n in notes)
    folder = tmp_path / 'upload'
    folder.mkdir()
    shutil.copy(str(inner), str(folder / 'a2_submission.zip'))
    assert SUB.read_folder(str(folder))[0] == files


def test_splicing_matches_regions_by_function_not_position(starter):
    """A student file whose regions moved (a helper added before them) still
    gives each body to its own function."""
    path = 'cs231n/optim.py'
    text = read(starter, path)
    regions = R.py_regions(text, path)
    model = solution_bodies(path)
    student = R.replace_bodies(text, regions, [model[r.key] for r in regions])
    student = student.replace('\ndef sgd_momentum(', '\ndef helper():\n    return 1\n\n\n'
                              'def sgd_momentum(', 1)
    notes = []
    spliced = SUB.splice_file(text, path, student, notes)
    assert not notes
    assert spliced == R.replace_bodies(text, regions, [model[r.key] for r in regions])
    assert 'def helper' not in spliced


def test_protocol_round_trip_never_unpickles():
    value = {'a': np.arange(6.0).reshape(2, 3), 'b': [1, 2.5, None, 'x', True],
             3: np.float32(1.5), 'nan': float('nan')}
    decoded = protocol.decode_value(protocol.encode_value(value))
    assert np.array_equal(decoded['a'], value['a']) and decoded['b'] == [1, 2.5, None, 'x', True]
    assert decoded[3] == 1.5 and np.isnan(decoded['nan'])
    assert isinstance(protocol.decode_value(protocol.encode_value(object())), protocol.Opaque)
    obj = np.array([{'x': 1}], dtype=object)
    assert isinstance(protocol.decode_value(protocol.encode_value(obj)), protocol.Opaque)
    import base64
    import io
    buf = io.BytesIO()
    np.save(buf, obj, allow_pickle=True)      # a forged message holding a pickle
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_value({'__npy__': base64.b64encode(buf.getvalue()).decode()})
    reader = protocol.Reader()
    data = protocol.frame({'event': 'x'})
    assert reader.feed(data[:3]) == [] and reader.feed(data[3:]) == [{'event': 'x'}]
    with pytest.raises(protocol.ProtocolError):
        protocol.Reader().feed(b'\xff\xff\xff\xff')


def test_rubric_total_and_errors(rubric):
    assert rubric.total == 100
    assert {i.name for i in rubric.accuracies} == NOTEBOOK_PARTS
    parts = list(grader.load_parts())
    with pytest.raises(RUB.RubricError, match='no points for the hidden test'):
        RUB.parse('part adam 3\n', known_parts=parts)
    with pytest.raises(RUB.RubricError, match='no hidden test named'):
        RUB.parse(rubric.text + 'part nonsense 1\n', known_parts=parts)
    with pytest.raises(RUB.RubricError, match='POINTS must be a number'):
        RUB.parse('part adam many\n')
    with pytest.raises(RUB.RubricError, match='listed twice'):
        RUB.parse('part adam 1\npart adam 2\n')


def test_rubric_accuracy_checks_exist_in_the_notebooks(starter, rubric):
    """Each accuracy line's label is printed by a check_at_least cell of its notebook."""
    for item in rubric.accuracies:
        nb = json.loads(read(starter, item.notebook))
        sources = [R.cell_source(c) for c in nb['cells'] if c.get('cell_type') == 'code']
        assert any('check_at_least(' in s and "'%s'" % item.label in s for s in sources), \
            '%s: no check_at_least(%r, ...) cell' % (item.notebook, item.label)


def test_accuracy_is_verified_from_the_saved_model_not_read(starter, rubric):
    """The saved model scores; the printed number is only compared with it."""
    item = [i for i in rubric.accuracies if i.name == 'best_model_accuracy'][0]
    text = read(starter, item.notebook)
    good = fabricate_notebook(text, {item.label: 0.6123}).encode()
    files = {item.notebook: good, item.model: MODEL_FILES[item.model]}
    passed, message, _ = MOD.grade_accuracy(item, files, HELDOUT)
    assert passed and '1.0000 on the 1,000 validation images (target 0.58)' in message, message
    assert 'your notebook printed 0.6123' in message
    # A notebook that prints 0.99 beside an untrained model: no points, and named.
    liar = fabricate_notebook(text, {item.label: 0.99}).encode()
    untrained = G.untrained_model_files()[item.model]
    passed, message, _ = MOD.grade_accuracy(item, {item.notebook: liar, item.model: untrained},
                                         HELDOUT)
    assert not passed and 'printed "Validation set accuracy: 0.9900"' in message, message
    assert 'does not reach' in message
    # Not run in order: still scored from the model, with a note.
    nb = json.loads(good)
    code = [c for c in nb['cells'] if c['cell_type'] == 'code']
    code[0]['execution_count'], code[1]['execution_count'] = 2, 1
    passed, message, _ = MOD.grade_accuracy(item, dict(files, **{
        item.notebook: json.dumps(nb).encode()}), HELDOUT)
    assert passed and 'not run top to bottom' in message, message
    # No model, or a file that is not one.
    passed, message, _ = MOD.grade_accuracy(item, {item.notebook: good}, HELDOUT)
    assert not passed and 'saved_models/best_model.npz is not in the submission' in message
    passed, message, _ = MOD.grade_accuracy(item, {item.model: b'PK\x03\x04 junk'}, HELDOUT)
    assert not passed and 'cannot use the saved model' in message, message


def test_saved_model_files_are_checked_before_use(tmp_path):
    """read_model refuses what the grader cannot score, naming the file."""
    from cs231n import saved_model as SM
    data = MODEL_FILES['saved_models/fc_net_best.npz']
    saved = SM.read_model(io.BytesIO(data), 'm.npz')
    assert saved.kind == 'FullyConnectedNet' and saved.hidden_dims == [G.HIDDEN]
    bad = str(tmp_path / 'bad.npz')
    np.savez(bad, config=np.array('{"format": 1, "class": "FullyConnectedNet", "num_layers": 2,'
                                  ' "normalization": null}'), **{'params/W1': np.ones((3, 2))})
    with pytest.raises(SM.ModelFileError, match='bad.npz: parameters missing'):
        SM.read_model(bad)
    pickled = str(tmp_path / 'pickled.npz')
    np.savez(pickled, config=np.array([{'x': 1}], dtype=object))
    with pytest.raises(SM.ModelFileError, match='pickled.npz'):
        SM.read_model(pickled)


def test_schema_check_catches_bad_results():
    good = {'score': 3.0, 'tests': [{'name': 'a', 'score': 3.0, 'max_score': 3.0,
                                     'visibility': 'visible', 'output': 'ok'}]}
    assert RES.validate(good) == []
    assert RES.validate(dict(good, score=4.0))                       # not the sum
    assert RES.validate(dict(good, visibility='everyone'))
    assert RES.validate({'score': 1, 'tests': [{'name': 'a', 'score': 2, 'max_score': 1}]})
    assert RES.validate({'score': '3'})
    assert RES.validate({'tests': [{'name': 'a', 'score': 1}, {'name': 'a', 'score': 1}]})


def test_references_match_numerical_gradients():
    """The staff references the judges trust, against centered differences."""
    from staff.assignment import references as ref

    def num_grad(f, x, h=1e-6):
        g = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + h
            plus = f()
            x[i] = old - h
            minus = f()
            x[i] = old
            g[i] = (plus - minus) / (2 * h)
        return g

    def close(a, b, tol=1e-6):
        assert np.max(np.abs(a - b)) <= tol * max(1.0, np.max(np.abs(b))), (a, b)

    r = np.random.RandomState(0)
    x, gamma, beta, dout = r.randn(5, 4) * 3 + 1, r.rand(4) + 0.5, r.randn(4), r.randn(5, 4)
    for fwd, bwd, param in ((ref.batchnorm_forward, ref.batchnorm_backward, {'mode': 'train'}),
                            (ref.layernorm_forward, ref.layernorm_backward, {})):
        _, cache = fwd(x, gamma, beta, dict(param))
        dx, dgamma, dbeta = bwd(dout, cache)
        loss = lambda: float((fwd(x, gamma, beta, dict(param))[0] * dout).sum())  # noqa: E731
        close(dx, num_grad(loss, x))
        close(dgamma, num_grad(loss, gamma))
        close(dbeta, num_grad(loss, beta))
    for loss_fn in (ref.softmax_loss, ref.svm_loss):
        s, y = r.randn(6, 4), r.randint(4, size=6)
        close(loss_fn(s, y)[1], num_grad(lambda: loss_fn(s, y)[0], s))
    for norm in (None, 'batchnorm', 'layernorm'):
        dims = [6, 5, 4, 3]
        params = {}
        for i in range(1, 4):
            params['W%d' % i] = r.randn(dims[i - 1], dims[i])
            params['b%d' % i] = r.randn(dims[i])
            if norm and i < 3:
                params['gamma%d' % i] = r.rand(dims[i]) + 0.5
                params['beta%d' % i] = r.randn(dims[i])
        X, y = r.randn(7, 6), r.randint(3, size=7)
        dropout = (0.7, 3) if norm is None else None

        def f():
            nps = [{'mode': 'train'} if norm == 'batchnorm' else {} for _ in range(2)]
            return ref.net_loss(params, X, y, 3, 0.2, norm, nps, dropout)[0]
        nps = [{'mode': 'train'} if norm == 'batchnorm' else {} for _ in range(2)]
        _, grads = ref.net_loss(params, X, y, 3, 0.2, norm, nps, dropout)
        for k in params:
            close(grads[k], num_grad(f, params[k]), 1e-5)
    # Adam: the textbook steps (Kingma & Ba, algorithm 1) for two steps by hand.
    w, dw = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    c = dict(ref.UPDATE_DEFAULTS['adam'], learning_rate=0.1)
    w1, c = ref.adam(w, dw, c)
    close(w1, w - 0.1 * np.sign(dw), 1e-6)      # step one is lr * sign(g) up to epsilon
    assert c['t'] == 1
