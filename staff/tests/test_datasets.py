"""The CIFAR-10 fetcher (cs231n.datasets): downloads from a real HTTP server
on 127.0.0.1, archives built here in the official layout, no internet."""
import errno
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from cs231n import datasets
from cs231n.datasets import batches, download, install
from staff.tests.cifar_fixtures import (REPO, Site, clean_env, closed_port_url,
                                        ctrl_c_as_in_a_terminal, deny_search, dump_py2,
                                        leftovers, member, run_cli, serve, tar_folder,
                                        write_folder)

PATH = '/cifar-10-python.tar.gz'


@pytest.fixture(scope='module')
def good(tmp_path_factory):
    """A full-size (10000 x 3072 per batch) folder and its ~2 MB archive."""
    root = tmp_path_factory.mktemp('good')
    folder = root / 'cifar-10-batches-py'
    write_folder(str(folder), compressible=True)
    archive = root / 'cifar-10-python.tar.gz'
    md5 = tar_folder(str(folder), str(archive))
    return {'folder': str(folder), 'archive': str(archive), 'md5': md5,
            'bytes': archive.read_bytes()}


@pytest.fixture
def site(good):
    return Site({PATH: good['bytes']})


@pytest.fixture
def work(tmp_path):
    """A cwd away from the repo, and a data dir that does not exist yet."""
    cwd = tmp_path / 'elsewhere'
    cwd.mkdir()
    return cwd, tmp_path / 'data'


def installed(data_dir):
    return os.path.join(str(data_dir), 'cifar-10-batches-py')


def assert_clean_failure(proc, data_dir, *phrases):
    assert proc.returncode == 1, proc.stderr
    assert 'Traceback' not in proc.stderr
    assert len(re.findall('^error: ', proc.stderr, re.M)) == 1, proc.stderr
    for p in phrases:
        assert p in proc.stderr, proc.stderr
    assert not os.path.exists(installed(data_dir))


# ------------------------------------------------------------- downloading

def test_download_success_shows_progress_and_is_idempotent(good, site, work):
    cwd, data = work
    with serve(site) as base:
        proc = run_cli(['--url', base + PATH, '--data-dir', str(data),
                        '--accept-md5', good['md5']], cwd)
    assert proc.returncode == 0, proc.stderr
    assert 'CIFAR-10 is ready at %s' % installed(data) in proc.stdout
    # Plain progress lines (stderr is not a TTY): bytes done of total, %, rate.
    lines = re.findall(r'([\d.]+) MB of ([\d.]+) MB \(\s*(\d+)%\)\s+[\d.]+ MB/s', proc.stderr)
    assert 5 <= len(lines) <= 12, proc.stderr
    assert lines[-1][2] == '100' and lines[-1][0] == lines[-1][1]
    assert 'downloaded' in proc.stderr
    batches.validate_folder(installed(data))
    assert leftovers(data) == []   # archive and .part removed, no .tmp-*
    assert site.log == [(PATH, None)]

    # Idempotent, and offline: a valid copy is trusted without the network.
    proc = run_cli(['--url', closed_port_url(), '--data-dir', str(data)], cwd)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ('CIFAR-10 already present and valid at %s'
                                   % installed(data))
    assert 'downloading' not in proc.stderr


def test_resume_after_cut_transfer(good, site, work):
    cwd, data = work
    size = len(good['bytes'])
    site.cut_at, site.cuts = size // 2, 1
    args = ['--url', None, '--data-dir', str(data), '--accept-md5', good['md5'],
            '--retries', '0']
    with serve(site) as base:
        args[1] = base + PATH
        first = run_cli(args, cwd)
        part = os.path.join(str(data), 'cifar-10-python.tar.gz.part')
        assert_clean_failure(first, data, 'interrupted', 'run the same command again to resume')
        # What arrived before the cut is kept (the tail of the last, broken
        # read may be lost: that is why resuming asks for the .part's size).
        kept = os.path.getsize(part)
        assert 0 < kept <= size // 2
        assert leftovers(data) == ['cifar-10-python.tar.gz.part']

        second = run_cli(args, cwd)
    assert second.returncode == 0, second.stderr
    assert 'resuming at' in second.stderr
    assert site.log == [(PATH, None), (PATH, 'bytes=%d-' % kept)]
    assert re.search(r'MB of [\d.]+ MB \(100%\)', second.stderr)
    batches.validate_folder(installed(data))
    assert leftovers(data) == []


@pytest.mark.skipif(os.name != 'posix', reason='sends POSIX signals')
@pytest.mark.parametrize('sig, status, word', [(signal.SIGINT, 130, 'interrupted'),
                                               (signal.SIGTERM, 143, 'terminated')])
def test_signal_mid_download_keeps_the_part_and_installs_nothing(sig, status, word, good, site,
                                                                 work):
    cwd, data = work
    site.stall_at = 500000
    part = os.path.join(str(data), 'cifar-10-python.tar.gz.part')
    with serve(site) as base:
        proc = subprocess.Popen(
            [sys.executable, '-m', 'cs231n.datasets', '--url', base + PATH,
             '--data-dir', str(data), '--accept-md5', good['md5']],
            cwd=str(cwd), env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, preexec_fn=ctrl_c_as_in_a_terminal)
        deadline = time.monotonic() + 30
        while not (os.path.exists(part) and os.path.getsize(part) > 0):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == status, err
    assert '%s: nothing was installed' % word in err and 'Traceback' not in err
    assert 'kept as a .part file and the next run resumes it' in err
    assert os.path.getsize(part) > 0
    assert leftovers(data) == ['cifar-10-python.tar.gz.part']
    assert not os.path.exists(installed(data))


# The CLI, made to stop after it has extracted `members` members of the archive
# (batches.meta, data_batch_1, ...), so that a signal surely arrives mid-extraction.
PAUSING_CLI = r"""
import shutil, sys, time
members, real_copy = int(sys.argv[1]), shutil.copyfileobj
def copy_then_pause(src, dst, length=0):
    global members
    real_copy(src, dst, length)
    members -= 1
    if members == 0:
        dst.flush()
        print('PAUSED', file=sys.stderr, flush=True)
        time.sleep(120)
shutil.copyfileobj = copy_then_pause
from cs231n.datasets.__main__ import main
sys.exit(main(sys.argv[2:]))
"""


def start_paused_install(good, data, cwd, members=3):
    """Start the CLI on the full-size archive; return it, paused after writing
    `members` members, and the temporary folder they are in."""
    proc = subprocess.Popen(
        [sys.executable, '-c', PAUSING_CLI, str(members), '--source', good['archive'],
         '--data-dir', str(data), '--accept-md5', good['md5']],
        cwd=str(cwd), env=clean_env(), stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    err = []
    for line in proc.stderr:
        err.append(line)
        if line.startswith('PAUSED'):
            break
    assert err and err[-1].startswith('PAUSED'), ''.join(err)
    tmp = [n for n in leftovers(data) if n.startswith('.tmp-new-%d-' % proc.pid)]
    assert len(tmp) == 1, leftovers(data)
    return proc, os.path.join(str(data), tmp[0])


@pytest.mark.skipif(os.name != 'posix', reason='sends SIGTERM')
def test_sigterm_mid_extraction_cleans_up_like_ctrl_c(good, work):
    cwd, data = work
    proc, tmp = start_paused_install(good, data, cwd)
    # A real partial install: two full batches (~62 MB) are on disk.
    extracted = os.path.join(tmp, 'cifar-10-batches-py')
    assert sorted(os.listdir(extracted)) == ['batches.meta', 'data_batch_1', 'data_batch_2']
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert 'terminated: nothing was installed' in err and 'Traceback' not in err
    assert leftovers(data) == []     # the temporary folder went with the process
    assert not os.path.exists(installed(data))


@pytest.mark.skipif(os.name != 'posix', reason='sends SIGKILL')
def test_folder_of_a_killed_run_is_removed_by_the_next_run(good, work):
    cwd, data = work
    proc, tmp = start_paused_install(good, data, cwd)
    proc.kill()   # SIGKILL: no clean-up can run
    proc.communicate(timeout=30)
    assert leftovers(data) == [os.path.basename(tmp)]
    # Fresh, but its process is gone: the next run removes it at once.
    again = run_cli(['--source', good['archive'], '--data-dir', str(data),
                     '--accept-md5', good['md5']], cwd)
    assert again.returncode == 0, again.stderr
    assert 'removing %s left over from an interrupted run (its process has ended)' % tmp \
        in again.stderr
    assert leftovers(data) == []
    batches.validate_folder(installed(data))


def test_dropped_transfer_resumes_within_one_run(good, site, tmp_path, monkeypatch):
    monkeypatch.setattr(download, 'RETRY_PAUSE', 0.0)
    site.cut_at, site.cuts = 300000, 2
    log = io.StringIO()
    with serve(site) as base:
        part = download.download(base + PATH, str(tmp_path / 'a.tar.gz'), retries=2, log=log)
    assert install.md5_file(part) == good['md5']
    assert 'retry 2 of 2' in log.getvalue()
    ranges = [r for _, r in site.log]
    assert len(ranges) == 3 and ranges[0] is None
    starts = [int(r[6:-1]) for r in ranges[1:]]
    assert 0 < starts[0] <= 300000 < starts[1] <= 600000
    assert 'retry 2 of 2' in log.getvalue()


def test_server_ignoring_range_restarts_from_zero(good, site, tmp_path):
    dest = str(tmp_path / 'a.tar.gz')
    with open(dest + '.part', 'wb') as f:
        f.write(b'garbage that is not the start of the file')
    site.ignore_range = True
    log = io.StringIO()
    with serve(site) as base:
        part = download.download(base + PATH, dest, log=log)
    assert 'does not support resuming' in log.getvalue()
    assert install.md5_file(part) == good['md5']


def test_complete_part_is_not_downloaded_again(good, site, tmp_path):
    # A run killed between the last byte and the md5 check: the server answers
    # the resume request with 416, which means "you already have it all".
    dest = str(tmp_path / 'a.tar.gz')
    with open(dest + '.part', 'wb') as f:
        f.write(good['bytes'])
    with serve(site) as base:
        part = download.download(base + PATH, dest, log=io.StringIO())
    assert install.md5_file(part) == good['md5']
    assert site.log == [(PATH, 'bytes=%d-' % len(good['bytes']))]


def test_md5_mismatch_extracts_nothing(site, work):
    cwd, data = work
    with serve(site) as base:
        proc = run_cli(['--url', base + PATH, '--data-dir', str(data)], cwd)
    assert_clean_failure(proc, data, 'expected %s' % install.MD5, '--accept-md5',
                         'nothing was extracted')
    assert leftovers(data) == []


def test_http_error_is_one_clear_message(site, work):
    cwd, data = work
    with serve(site) as base:
        proc = run_cli(['--url', base + '/nope.tar.gz', '--data-dir', str(data)], cwd)
    assert_clean_failure(proc, data, 'HTTP 404', '--source')
    assert not data.exists()


def test_unreachable_server_leaves_nothing(work):
    cwd, data = work
    proc = run_cli(['--url', closed_port_url(), '--data-dir', str(data), '--timeout', '5'], cwd)
    assert_clean_failure(proc, data, 'could not download', 'Connection refused',
                         'If you have a copy, pass it with:',
                         '--source /path/to/cifar-10-python.tar.gz')
    assert len(proc.stderr.strip().splitlines()) == 3  # downloading..., error, hint
    assert not data.exists()
    # An existing data folder is left as it was: empty.
    data.mkdir()
    proc = run_cli(['--url', closed_port_url(), '--data-dir', str(data)], cwd)
    assert proc.returncode == 1 and os.listdir(str(data)) == []


def test_kept_archive_is_reused_without_the_network(tmp_path):
    # rows=20: the logic under test does not depend on the batch size.
    folder = str(tmp_path / 'small' / 'cifar-10-batches-py')
    write_folder(folder, rows=20)
    archive = str(tmp_path / 'small.tar.gz')
    md5 = tar_folder(folder, archive)
    with open(archive, 'rb') as f:
        site = Site({PATH: f.read()})
    data = tmp_path / 'data'
    with serve(site) as base:
        install.fetch(data_dir=str(data), url=base + PATH, accept_md5=[md5], rows=20,
                      keep_archive=True, log=io.StringIO())
    assert leftovers(data) == ['cifar-10-python.tar.gz']
    shutil.rmtree(installed(data))
    log = io.StringIO()
    path, already = install.fetch(data_dir=str(data), url=closed_port_url(),
                                  accept_md5=[md5], rows=20, log=log)
    assert not already and 'using the archive already at' in log.getvalue()
    batches.validate_folder(path, rows=20)
    assert leftovers(data) == []


# ------------------------------------------------------- unsafe archives

EVIL = {
    'dotdot': [member('cifar-10-batches-py/../evil.txt')],
    'dotdot-top': [member('../evil.txt')],
    'absolute': [member('/tmp/cs231n-evil.txt')],
    'symlink': [member('cifar-10-batches-py/data_batch_1', 'symlink', linkname='/etc/passwd')],
    'hardlink': [member('cifar-10-batches-py/data_batch_1', 'hardlink',
                        linkname='cifar-10-batches-py/batches.meta')],
    'chardev': [member('cifar-10-batches-py/data_batch_1', 'chardev')],
    'fifo': [member('cifar-10-batches-py/test_batch', 'fifo')],
    'outside': [member('evil.txt')],
}


@pytest.mark.parametrize('kind', sorted(EVIL))
def test_unsafe_member_is_rejected(kind, tmp_path):
    # A harmless member first, so a rejection must also undo what was written.
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'readme.html').write_text('x')
    archive = str(tmp_path / 'evil.tar.gz')
    tar_folder(str(src), archive, EVIL[kind])
    data = tmp_path / 'data'
    with pytest.raises(install.UnsafeArchiveError, match='refusing member|refusing link'):
        install.fetch(data_dir=str(data), source=archive, allow_unofficial=True,
                      log=io.StringIO())
    assert not os.path.exists(installed(data))
    assert leftovers(data) == []
    assert not (tmp_path / 'evil.txt').exists()
    assert not os.path.exists('/tmp/cs231n-evil.txt')


@pytest.mark.parametrize('kind', ['dotdot', 'symlink'])
def test_unsafe_archive_over_http_is_rejected(kind, tmp_path):
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'batches.meta').write_text('x')
    archive = str(tmp_path / 'evil.tar.gz')
    md5 = tar_folder(str(src), archive, EVIL[kind])
    with open(archive, 'rb') as f:
        site = Site({PATH: f.read()})
    data = tmp_path / 'data'
    with serve(site) as base:
        proc = run_cli(['--url', base + PATH, '--data-dir', str(data), '--accept-md5', md5],
                       str(tmp_path))
    assert_clean_failure(proc, data, 'refusing')
    assert leftovers(data) == []
    assert not (tmp_path / 'evil.txt').exists()


def test_truncated_archive_is_reported(good, tmp_path):
    archive = str(tmp_path / 'short.tar.gz')
    with open(archive, 'wb') as f:
        f.write(good['bytes'][:len(good['bytes']) // 3])
    with pytest.raises(batches.InvalidDataError, match='not a readable .tar.gz'):
        install.fetch(data_dir=str(tmp_path / 'data'), source=archive,
                      allow_unofficial=True, log=io.StringIO())
    assert leftovers(tmp_path / 'data') == []


def test_interrupt_during_extraction_leaves_nothing(good, tmp_path, monkeypatch):
    def ctrl_c(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(install, 'validate_folder', ctrl_c)
    data = tmp_path / 'data'
    data.mkdir()
    with pytest.raises(KeyboardInterrupt):
        install.install_archive(good['archive'], installed(data), log=io.StringIO())
    assert os.listdir(str(data)) == []


# ---------------------------------------------------------- local sources

def test_local_archive_needs_a_known_md5(good, work):
    cwd, data = work
    proc = run_cli(['--source', good['archive'], '--data-dir', str(data)], cwd)
    assert_clean_failure(proc, data, 'has md5 %s' % good['md5'],
                         '--accept-md5 %s' % good['md5'])
    proc = run_cli(['--source', good['archive'], '--data-dir', str(data),
                    '--accept-md5', good['md5'].upper()], cwd)
    assert proc.returncode == 0, proc.stderr
    assert os.path.isfile(good['archive'])  # the user's own copy is never removed
    assert leftovers(data) == []


def test_allow_unofficial_still_validates(work, tmp_path):
    # Too few images per batch: the md5 is waved through, the content is not.
    cwd, data = work
    folder = str(tmp_path / 'small' / 'cifar-10-batches-py')
    write_folder(folder, rows=20)
    archive = str(tmp_path / 'small.tar.gz')
    md5 = tar_folder(folder, archive)
    proc = run_cli(['--source', archive, '--data-dir', str(data), '--allow-unofficial'], cwd)
    assert 'has md5 %s, not the official' % md5 in proc.stderr
    assert_clean_failure(proc, data, "%s does not hold a valid CIFAR-10: data_batch_1: 'data' "
                                     "should be a (10000, 3072) uint8 array, got an array of "
                                     "shape (20, 3072)" % archive)
    assert '.tmp-' not in proc.stderr
    assert leftovers(data) == []


def test_folder_source_and_env_variables(good, work):
    cwd, data = work
    env = clean_env(CIFAR10_SOURCE=os.path.dirname(good['folder']),  # holds the folder
                    CS231N_DATA_DIR=str(data))
    proc = run_cli([], cwd, env=env)
    assert proc.returncode == 0, proc.stderr
    batches.validate_folder(installed(data))
    assert sorted(os.listdir(installed(data))) == sorted(os.listdir(good['folder']))
    proc = run_cli(['--check'], cwd, env=env)
    assert proc.returncode == 0 and 'present and valid' in proc.stdout


def test_invalid_folder_source_is_refused(good, work, tmp_path):
    cwd, data = work
    broken = tmp_path / 'broken' / 'cifar-10-batches-py'
    shutil.copytree(good['folder'], str(broken))
    os.remove(str(broken / 'data_batch_4'))
    proc = run_cli(['--source', str(broken), '--data-dir', str(data)], cwd)
    assert_clean_failure(proc, data, 'missing data_batch_4')
    with pytest.raises(batches.DatasetError, match='no such file or folder'):
        install.fetch(data_dir=str(data), source=str(tmp_path / 'no-such-thing'),
                      log=io.StringIO())
    assert leftovers(data) == []


def test_unreadable_folder_source_is_not_called_missing(good, tmp_path, monkeypatch):
    data = tmp_path / 'data'
    folder = good['folder']
    # The source folder itself, or the folder holding it, cannot be read.
    for locked in (folder, os.path.dirname(folder)):
        with monkeypatch.context() as m:
            deny_search(m, locked)
            with pytest.raises(PermissionError) as info:
                install.fetch(data_dir=str(data), source=locked, log=io.StringIO())
        assert isinstance(info.value, batches.DatasetError)
        assert str(info.value) == '%s: cannot be read (permission denied)' % locked
        assert leftovers(data) == [] and not os.path.exists(installed(data))


def test_unreadable_batch_file_is_named(good, tmp_path, monkeypatch):
    bad = os.path.join(good['folder'], 'data_batch_3')
    real_open = open

    def fake_open(path, *args, **kwargs):
        if os.fspath(path) == bad:
            raise PermissionError(errno.EACCES, 'Permission denied', bad)
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(batches, 'open', fake_open, raising=False)
    with pytest.raises(batches.UnreadableError,
                       match='^%s: cannot be read \\(permission denied\\)$' % re.escape(bad)):
        install.fetch(data_dir=str(tmp_path / 'data'), source=good['folder'], log=io.StringIO())
    assert leftovers(tmp_path / 'data') == []


def as_user_whom_permissions_stop():
    """The command prefix that runs a command bound by file permissions: none
    for an ordinary user; for root, setpriv without the capabilities that let
    root read everything. Skips the test if neither is possible."""
    if os.name != 'posix':
        pytest.skip('POSIX permissions')
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which('setpriv')
    if setpriv is None:
        pytest.skip('running as root without setpriv: permissions do not stop root')
    return [setpriv, '--bounding-set=-dac_override,-dac_read_search']


@pytest.mark.parametrize('locked_part', ['folder', 'holder'])
def test_unreadable_folder_for_real(locked_part, good, work, tmp_path):
    prefix = as_user_whom_permissions_stop()
    cwd, data = work
    holder = tmp_path / 'copy'
    shutil.copytree(good['folder'], str(holder / 'cifar-10-batches-py'))
    locked = holder / 'cifar-10-batches-py' if locked_part == 'folder' else holder
    locked.chmod(0)
    try:
        proc = subprocess.run(prefix + [sys.executable, '-m', 'cs231n.datasets', '--source',
                                        str(holder), '--data-dir', str(data)],
                              cwd=str(cwd), env=clean_env(), capture_output=True, text=True,
                              timeout=120)
    finally:
        locked.chmod(0o755)
    assert_clean_failure(proc, data, 'error: %s: cannot be read (permission denied)' % locked)
    assert 'missing' not in proc.stderr


def test_incomplete_archive_names_the_archive_and_what_it_lacks(good, tmp_path):
    src = tmp_path / 'src' / 'cifar-10-batches-py'
    shutil.copytree(good['folder'], str(src))
    os.remove(str(src / 'data_batch_2'))
    os.remove(str(src / 'test_batch'))
    archive = str(tmp_path / 'short.tar.gz')
    tar_folder(str(src), archive)
    data = tmp_path / 'data'
    with pytest.raises(batches.InvalidDataError) as info:
        install.fetch(data_dir=str(data), source=archive, allow_unofficial=True,
                      log=io.StringIO())
    assert str(info.value) == ('%s is incomplete: it has no cifar-10-batches-py/data_batch_2, '
                               'cifar-10-batches-py/test_batch' % archive)
    assert leftovers(data) == [] and not os.path.exists(installed(data))


def test_partial_folder_is_replaced_atomically(good, tmp_path):
    data = tmp_path / 'data'
    stale = data / 'cifar-10-batches-py'
    stale.mkdir(parents=True)
    shutil.copy(os.path.join(good['folder'], 'data_batch_1'), str(stale))
    with pytest.raises(batches.InvalidDataError, match='missing data_batch_2'):
        batches.validate_folder(str(stale))
    # A failing source leaves the old folder exactly as it was.
    log = io.StringIO()
    with pytest.raises(download.DownloadError):
        install.fetch(data_dir=str(data), source=closed_port_url(), log=log)
    assert 'found an incomplete or invalid copy' in log.getvalue()
    assert os.listdir(str(stale)) == ['data_batch_1']
    path, already = install.fetch(data_dir=str(data), source=good['folder'], log=log)
    assert path == str(stale) and not already
    batches.validate_folder(path)
    assert leftovers(data) == []


def test_get_datasets_sh_keeps_relative_paths(good, tmp_path):
    shutil.copy(good['archive'], str(tmp_path / 'copy.tar.gz'))
    env = clean_env(PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    del env['PYTHONPATH']
    proc = subprocess.run([os.path.join(REPO, 'get_datasets.sh'), '--source', 'copy.tar.gz',
                           '--data-dir', 'data', '--accept-md5', good['md5']],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    batches.validate_folder(installed(tmp_path / 'data'))
    proc = subprocess.run([os.path.join(REPO, 'get_datasets.sh'), '--timeout', '-1'],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True)
    assert proc.returncode == 2 and 'get_datasets.sh: error:' in proc.stderr


# -------------------------------------------------------------- validation

def test_validator_names_the_bad_file(tmp_path):
    folder = str(tmp_path / 'cifar-10-batches-py')
    write_folder(folder, rows=20)
    batches.validate_folder(folder, rows=20)
    with pytest.raises(batches.InvalidDataError, match=r"data_batch_1: 'data' should be "
                                                       r"a \(10000, 3072\) uint8"):
        batches.validate_folder(folder)
    bad = os.path.join(folder, 'data_batch_3')
    with open(bad, 'r+b') as f:
        f.truncate(5000)
    with pytest.raises(batches.InvalidDataError, match='data_batch_3: unreadable'):
        batches.validate_folder(folder, rows=20)


def test_validator_checks_labels_and_meta(tmp_path):
    import numpy as np
    from staff.tests.cifar_fixtures import batch_dict
    folder = str(tmp_path / 'cifar-10-batches-py')
    write_folder(folder, rows=20)
    data = np.zeros((20, 3072), np.uint8)
    dump_py2(batch_dict(data, [3] * 19 + [10]), os.path.join(folder, 'test_batch'))
    with pytest.raises(batches.InvalidDataError, match=r'test_batch: labels should lie in 0..9'):
        batches.validate_folder(folder, rows=20)
    dump_py2(batch_dict(data, [3] * 19), os.path.join(folder, 'test_batch'))
    with pytest.raises(batches.InvalidDataError, match=r"test_batch: 'labels' should be 20"):
        batches.validate_folder(folder, rows=20)
    dump_py2(batch_dict(data, [3] * 20), os.path.join(folder, 'test_batch'))
    dump_py2({'label_names': ['a']}, os.path.join(folder, 'batches.meta'))
    with pytest.raises(batches.InvalidDataError, match='batches.meta'):
        batches.validate_folder(folder, rows=20)


def test_batch_reader_runs_no_code(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ('echo pwned > %s' % (tmp_path / 'pwned'),))
    path = str(tmp_path / 'data_batch_1')
    with open(path, 'wb') as f:
        pickle.dump({'data': Evil(), 'labels': []}, f, protocol=2)
    with pytest.raises(batches.InvalidDataError, match='data_batch_1: unreadable.*unexpected '
                                                       'object (posix|nt).system'):
        batches.read_batch(path)
    assert not (tmp_path / 'pwned').exists()


def test_stale_temp_folders_are_cleaned(tmp_path):
    ended = subprocess.Popen([sys.executable, '-c', 'pass'])
    ended.wait()
    alive = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    host = install._HOST
    data = tmp_path / 'data'
    names = {
        'ended': '.tmp-new-%d-%s-abc' % (ended.pid, host),    # removed at once
        'alive': '.tmp-new-%d-%s-abc' % (alive.pid, host),    # kept: its run may go on
        'alive-old': '.tmp-old-%d-%s-abc' % (alive.pid, host),  # removed: too old
        'other-host': '.tmp-new-%d-%s-abc' % (ended.pid, host + 'x'),  # kept: cannot tell
        'unowned': '.tmp-new-recent',                          # kept: cannot tell
        'unowned-old': '.tmp-new-old',                         # removed: too old
        'file-old': '.tmp-x1y2.pkl',                           # removed: too old
    }
    data.mkdir()
    for key, name in names.items():
        if key.startswith('file'):
            (data / name).write_bytes(b'x')
        else:
            (data / name / 'cifar-10-batches-py').mkdir(parents=True)
        if key.endswith('-old'):
            old = time.time() - 2 * install.STALE_TMP_SECONDS
            os.utime(str(data / name), (old, old))
    log = io.StringIO()
    try:
        with pytest.raises(batches.DatasetError, match='no such file or folder'):
            install.fetch(data_dir=str(data), source=str(tmp_path / 'none'), log=log)
    finally:
        alive.kill()
        alive.wait()
    assert leftovers(data) == sorted(names[k] for k in ('alive', 'other-host', 'unowned'))
    assert '%s left over from an interrupted run (its process has ended)' % (
        data / names['ended']) in log.getvalue()
    assert log.getvalue().count('older than %d s' % install.STALE_TMP_SECONDS) == 3


def test_temporary_folders_are_named_after_their_process(tmp_path):
    tmp = install.new_tmp(str(tmp_path))
    assert os.path.basename(tmp).startswith('.tmp-new-%d-%s-' % (os.getpid(), install._HOST))
    assert os.listdir(tmp) == []
    install.clean_stale(str(tmp_path), io.StringIO())   # this process's own: kept
    assert os.path.isdir(tmp)


def test_data_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv('CS231N_DATA_DIR', raising=False)
    pkg = os.path.dirname(os.path.abspath(datasets.__file__))
    assert datasets.data_dir() == datasets.DEFAULT_DATA_DIR == pkg
    assert datasets.cifar10_dir() == os.path.join(pkg, 'cifar-10-batches-py')
    monkeypatch.setenv('CS231N_DATA_DIR', str(tmp_path))
    assert datasets.cifar10_dir() == os.path.join(str(tmp_path), 'cifar-10-batches-py')
    monkeypatch.chdir(tmp_path)
    assert datasets.data_dir('rel') == os.path.join(str(tmp_path), 'rel')


def test_help_and_usage_errors(work):
    cwd, _ = work
    proc = run_cli(['--help'], cwd)
    assert proc.returncode == 0
    for opt in ('--source', '--data-dir', '--accept-md5', '--allow-unofficial', '--url',
                '--timeout', 'CIFAR10_SOURCE', 'CS231N_DATA_DIR'):
        assert opt in proc.stdout
    proc = run_cli(['--accept-md5', 'xyz'], cwd)
    assert proc.returncode == 2 and 'not an md5' in proc.stderr


@pytest.mark.parametrize('value', ['inf', '-inf', 'nan', '1e999', '0', '-1', 'soon'])
def test_timeout_must_be_finite_and_positive(value, work):
    cwd, data = work
    proc = run_cli(['--timeout=' + value, '--data-dir', str(data)], cwd)
    assert proc.returncode == 2, proc.stderr
    assert ("argument --timeout: %r is not a positive, finite number of seconds" % value
            in proc.stderr), proc.stderr
    assert 'Traceback' not in proc.stderr and not data.exists()


@pytest.mark.parametrize('kwargs, words', [
    ({'timeout': float('inf')}, 'fetch: timeout must be a number in (0, inf), got inf'),
    ({'timeout': 0}, 'fetch: timeout must be a number in (0, inf), got 0'),
    ({'retries': -1}, 'fetch: retries must be an integer in [0, inf), got -1'),
    ({'rows': 0}, 'fetch: rows must be an integer in [1, inf), got 0'),
    ({'source': 7}, 'fetch: source must be a path (a str or os.PathLike) or None, got 7'),
])
def test_fetch_checks_arguments_before_any_work(kwargs, words, tmp_path):
    data = tmp_path / 'data'
    with pytest.raises((TypeError, ValueError)) as info:
        install.fetch(data_dir=str(data), log=io.StringIO(), **kwargs)
    assert words in str(info.value)
    assert not data.exists()
    with pytest.raises(ValueError, match=r'download: timeout must be a number in \(0, inf\)'):
        download.download(closed_port_url(), str(tmp_path / 'a'), timeout=float('nan'))
