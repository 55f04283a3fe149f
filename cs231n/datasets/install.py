"""Installing CIFAR-10: md5 check, safe extraction, atomic swap into place.

Guarantees:
- Nothing is extracted before the md5 matches.
- Members are written by this module, never by tarfile.extract, and only if
  they are regular files that belong in `cifar-10-batches-py/`.
- Extraction happens in a `.tmp-*` folder beside the target and is validated
  there; only then is it renamed into place. A failed or interrupted run never
  leaves a half-populated `cifar-10-batches-py`.
- A `.tmp-*` folder that a killed run (SIGKILL, power loss) could not remove
  carries its owner's pid and host name: the next run removes it at once if
  that process is gone, and after STALE_TMP_SECONDS otherwise.
"""
import hashlib
import os
import re
import shutil
import socket
import stat
import tarfile
import tempfile
import time
import zlib

from .._checks import check_int, check_path, check_real
from . import CIFAR10_FOLDER
from . import data_dir as _resolve_data_dir
from .batches import (OPTIONAL, REQUIRED, ROWS, DatasetError, InvalidDataError, UnreadableError,
                      stat_or_none, validate_folder)
from .download import download, mb, say

URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz'
MD5 = 'c58f30108f718f92721af3b95e74349a'
ARCHIVE_NAME = 'cifar-10-python.tar.gz'
# A batch pickle is ~31 MB; anything far bigger is not CIFAR-10 (or is a bomb).
MAX_MEMBER_BYTES = 64 << 20
# A .tmp-* folder whose owner may still be running (or cannot be told) is only
# removed once it is this old; no install takes nearly as long.
STALE_TMP_SECONDS = 3600
# The host part of temporary names: letters, digits and dots only, so that
# '-' separates the fields of the name.
_HOST = re.sub(r'[^A-Za-z0-9.]+', '_', socket.gethostname())[:40] or 'unknown'
_TMP_NAME = re.compile(r'\.tmp-[a-z]+-(\d+)-([A-Za-z0-9._]+)-')


class ChecksumError(DatasetError):
    """The archive's md5 is not one of the accepted ones."""


class UnsafeArchiveError(DatasetError):
    """The archive holds a link, a special file or a path outside the folder."""


def md5_file(path, chunk=1 << 20):
    """Returns: the hex md5 of a file. Raises UnreadableError if it may not be read."""
    h = hashlib.md5(usedforsecurity=False)
    try:
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(chunk), b''):
                h.update(block)
    except PermissionError as e:
        raise UnreadableError('%s: cannot be read (permission denied)' % path) from e
    return h.hexdigest()


# -------------------------------------------------------------- extraction

def _member_name(m):
    """The file name a tar member may be written to, None to skip it.
    Raises UnsafeArchiveError for anything that is not a plain file or folder
    under cifar-10-batches-py/."""
    name = m.name
    if m.issym() or m.islnk():
        raise UnsafeArchiveError('refusing link member %r -> %r' % (name, m.linkname))
    if not (m.isfile() or m.isdir()):
        raise UnsafeArchiveError('refusing member %r: a device, fifo or other '
                                 'special file' % name)
    if name.startswith(('/', '\\')) or re.match(r'^[A-Za-z]:', name) or '\\' in name:
        raise UnsafeArchiveError('refusing member %r: absolute path' % name)
    parts = [p for p in name.split('/') if p not in ('', '.')]
    if '..' in parts:
        raise UnsafeArchiveError("refusing member %r: it contains '..'" % name)
    if not parts or parts[0] != CIFAR10_FOLDER:
        raise UnsafeArchiveError('refusing member %r: everything must lie under %s/'
                                 % (name, CIFAR10_FOLDER))
    if m.isdir() or len(parts) != 2 or parts[1] not in REQUIRED + OPTIONAL:
        return None
    if m.size > MAX_MEMBER_BYTES:
        raise UnsafeArchiveError('refusing member %r: %s is far bigger than a CIFAR-10 '
                                 'batch' % (name, mb(m.size)))
    return parts[1]


def _extract_into(archive, out, log):
    """Write the archive's expected members into the folder out.
    Returns: the set of file names written."""
    written = set()
    try:
        # Stream mode: one pass over the gzip; members are written by us, so
        # tarfile never creates a path, link or device on its own.
        with tarfile.open(archive, 'r|*') as tar:
            for m in tar:
                name = _member_name(m)
                if name is None:
                    if m.isfile():
                        say(log, 'skipping unexpected member %r' % m.name)
                    continue
                src = tar.extractfile(m)
                with open(os.path.join(out, name), 'wb') as f:
                    shutil.copyfileobj(src, f, 1 << 20)
                written.add(name)
    except (tarfile.TarError, EOFError, zlib.error) as e:
        raise InvalidDataError('%s: not a readable .tar.gz archive (%s)' % (archive, e)) from e
    except OSError as e:
        if e.filename is None:  # gzip.BadGzipFile and friends, not disk errors
            raise InvalidDataError('%s: not a readable .tar.gz archive (%s)'
                                   % (archive, e)) from e
        raise
    return written


# ------------------------------------------------------- temporary folders

def new_tmp(base, what='new'):
    """
    Make a temporary folder in base, named after this process.

    Inputs:
    - base: the folder to make it in (beside the target, so that renaming
      out of it stays on one file system).
    - what: a lowercase word saying what it holds ('new' or 'old').

    Returns: the path of the new, empty folder.
    """
    return tempfile.mkdtemp(prefix='.tmp-%s-%d-%s-' % (what, os.getpid(), _HOST), dir=base)


def _owner_gone(name):
    """True if the .tmp-* entry `name` was made by a process on this host
    that has ended; False if it lives, or if that cannot be told."""
    m = _TMP_NAME.match(name)
    if m is None or m.group(2) != _HOST or os.name != 'posix':
        # On Windows os.kill(pid, 0) would terminate the process, not probe it.
        return False
    pid = int(m.group(1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: alive, but another user's
        return False
    return False


def clean_stale(base, log=None):
    """
    Remove `.tmp-*` entries of base left by runs that were killed.

    An entry is removed at once if its owner (pid and host in its name) is
    gone, and after STALE_TMP_SECONDS if its owner lives or is unknown (a
    name without an owner, another host's run, a reused pid).

    Inputs:
    - base: the data folder.
    - log: stream for notes (default sys.stderr).
    """
    now = time.time()
    try:
        entries = os.listdir(base)
    except OSError:
        return
    for e in entries:
        if not e.startswith('.tmp-'):
            continue
        p = os.path.join(base, e)
        try:
            if _owner_gone(e):
                why = 'its process has ended'
            elif now - os.lstat(p).st_mtime > STALE_TMP_SECONDS:
                why = 'older than %d s' % STALE_TMP_SECONDS
            else:
                continue
        except OSError:
            continue
        say(log, 'removing %s left over from an interrupted run (%s)' % (p, why))
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            try:
                os.remove(p)
            except OSError:
                pass


def _swap_into_place(new, target):
    """Rename the validated folder `new` to `target`, replacing what is there.
    The old copy is moved aside first so that target is never half-written."""
    aside = None
    if os.path.lexists(target):
        aside = new_tmp(os.path.dirname(target), 'old')
        os.replace(target, os.path.join(aside, 'old'))
    try:
        os.replace(new, target)
    except BaseException:
        if aside is not None:
            os.replace(os.path.join(aside, 'old'), target)
        raise
    finally:
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)


# ------------------------------------------------------------- installing

def install_archive(archive, target, rows=ROWS, log=None):
    """
    Extract a checked archive beside target, validate, then rename into place.

    Inputs:
    - archive: a cifar-10-python.tar.gz (md5 already checked by the caller).
    - target: the `.../cifar-10-batches-py` folder to create or replace.
    - rows: images expected per batch.
    - log: stream for messages (default sys.stderr).

    Raises UnsafeArchiveError or InvalidDataError naming the archive; nothing
    is left behind.
    """
    tmp = new_tmp(os.path.dirname(target))
    try:
        out = os.path.join(tmp, CIFAR10_FOLDER)
        os.mkdir(out)
        say(log, 'extracting %s' % archive)
        written = _extract_into(archive, out, log)
        missing = ['%s/%s' % (CIFAR10_FOLDER, n) for n in REQUIRED if n not in written]
        if missing:
            raise InvalidDataError('%s is incomplete: it has no %s'
                                   % (archive, ', '.join(missing)))
        try:
            validate_folder(out, rows)
        except InvalidDataError as e:
            # Name the batch, not the temporary folder that is about to go.
            reason = str(e).replace(out + os.sep, '').replace(out, CIFAR10_FOLDER)
            raise InvalidDataError('%s does not hold a valid CIFAR-10: %s'
                                   % (archive, reason)) from None
        _swap_into_place(out, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def install_folder(folder, target, rows=ROWS, log=None):
    """
    Copy a validated, already-extracted `cifar-10-batches-py` folder to target
    (through a temporary folder, renamed into place).

    Inputs:
    - folder: the folder to copy; it is left as it is.
    - target, rows, log: as for install_archive.

    Raises InvalidDataError or UnreadableError naming folder or a file in it.
    """
    validate_folder(folder, rows)
    tmp = new_tmp(os.path.dirname(target))
    try:
        out = os.path.join(tmp, CIFAR10_FOLDER)
        os.mkdir(out)
        say(log, 'copying %s' % folder)
        for name in REQUIRED + OPTIONAL:
            src = os.path.join(folder, name)
            if os.path.isfile(src):
                shutil.copyfile(src, os.path.join(out, name))
                if os.path.getsize(src) != os.path.getsize(os.path.join(out, name)):
                    raise InvalidDataError('%s: copy came out short' % src)
        _swap_into_place(out, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -------------------------------------------------------------------- fetch

def _is_url(s):
    return isinstance(s, str) and re.match(r'^https?://', s, re.I) is not None


def _check_md5(path, accepted, allow_unofficial, what, log):
    digest = md5_file(path)
    if digest in accepted:
        return digest
    if allow_unofficial:
        say(log, 'note: %s has md5 %s, not the official %s; accepted because of '
            '--allow-unofficial' % (what, digest, MD5))
        return digest
    raise ChecksumError('%s has md5 %s, expected %s. If you trust this copy (e.g. a '
                        'rebuilt one), rerun with --accept-md5 %s'
                        % (what, digest, ' or '.join(sorted(accepted)), digest))


def fetch(data_dir=None, source=None, url=URL, accept_md5=(), allow_unofficial=False,
          timeout=30.0, retries=2, force=False, keep_archive=False, rows=ROWS, log=None):
    """
    Make sure a valid CIFAR-10 is at `<data_dir>/cifar-10-batches-py`.

    Inputs:
    - data_dir: the folder to hold cifar-10-batches-py (None: CS231N_DATA_DIR,
      else the cs231n/datasets package folder).
    - source: None to download `url`; an http(s) URL (a mirror); a local
      .tar.gz archive; or an extracted cifar-10-batches-py folder (or a folder
      holding one).
    - url: the download URL used when source is None.
    - accept_md5: extra archive md5s to accept besides the official MD5.
    - allow_unofficial: accept an archive whatever its md5 (it is still
      checked member by member and validated).
    - timeout, retries: see download.download().
    - force: reinstall even if a valid copy is present.
    - keep_archive: keep a downloaded archive beside the folder.
    - rows: images expected per batch (10000; smaller only in tests).
    - log: stream for messages (default sys.stderr).

    Returns a tuple (path, already): the installed folder, and True if a valid
    copy was already there and nothing was done.

    Raises TypeError or ValueError naming a bad argument; DatasetError
    (DownloadError, ChecksumError, UnsafeArchiveError, InvalidDataError,
    UnreadableError) with a message for users.
    """
    data_dir = check_path('fetch', 'data_dir', data_dir, allow_none=True)
    source = check_path('fetch', 'source', source, allow_none=True)
    timeout = check_real('fetch', 'timeout', timeout, '(0, inf)')
    retries = check_int('fetch', 'retries', retries, '[0, inf)')
    rows = check_int('fetch', 'rows', rows)
    base = _resolve_data_dir(data_dir)
    target = os.path.join(base, CIFAR10_FOLDER)
    accepted = {MD5} | {m.lower() for m in accept_md5}
    if os.path.lexists(target) and not force:
        try:
            validate_folder(target, rows)
            return target, True
        except InvalidDataError as e:
            say(log, 'found an incomplete or invalid copy (%s); it will be replaced '
                'once a valid copy is ready' % e)
    created = []
    d = base
    while not os.path.isdir(d):
        created.append(d)
        d = os.path.dirname(d)
    os.makedirs(base, exist_ok=True)
    clean_stale(base, log)
    ok = False
    try:
        if source is not None and not _is_url(source):
            source = os.path.abspath(os.path.expanduser(source))
            already = _install_local(source, target, accepted, allow_unofficial, rows, log)
        else:
            _download_and_install(source or url, base, target, accepted, allow_unofficial,
                                  timeout, retries, keep_archive, rows, log)
            already = False
        ok = True
        return target, already
    finally:
        if not ok:
            for d in created:  # only folders this call made, and only if empty
                try:
                    os.rmdir(d)
                except OSError:
                    break


def _install_local(source, target, accepted, allow_unofficial, rows, log):
    """Install from a local archive or folder; True if source is target itself."""
    st = stat_or_none(source)
    if st is None:
        raise DatasetError('--source %s: no such file or folder' % source)
    if stat.S_ISDIR(st.st_mode):
        inner = os.path.join(source, CIFAR10_FOLDER)
        st_inner = stat_or_none(inner, shown=source)
        folder = inner if st_inner is not None and stat.S_ISDIR(st_inner.st_mode) else source
        if folder == target:
            validate_folder(target, rows)
            return True
        install_folder(folder, target, rows, log)
    elif stat.S_ISREG(st.st_mode):
        _check_md5(source, accepted, allow_unofficial, source, log)
        install_archive(source, target, rows, log)
    else:
        raise DatasetError('--source %s: not a file or folder (a device or fifo?)' % source)
    return False


def _download_and_install(url, base, target, accepted, allow_unofficial, timeout, retries,
                          keep_archive, rows, log):
    archive = os.path.join(base, ARCHIVE_NAME)
    if os.path.isfile(archive):
        # Left by --keep-archive or put there by hand: use it if it checks out.
        try:
            _check_md5(archive, accepted, False, archive, log)
            say(log, 'using the archive already at %s' % archive)
            install_archive(archive, target, rows, log)
            if not keep_archive:
                os.remove(archive)
            return
        except ChecksumError as e:
            say(log, 'ignoring %s' % e.args[0].split('. If')[0])
    part = download(url, archive, timeout, retries, log)
    try:
        _check_md5(part, accepted, allow_unofficial, 'the download from %s' % url, log)
    except ChecksumError as e:
        # Resuming cannot repair a complete file with the wrong bytes.
        os.remove(part)
        raise ChecksumError('%s. The download was removed; nothing was extracted.'
                            % e) from None
    os.replace(part, archive)
    try:
        install_archive(archive, target, rows, log)
    except Exception:
        os.remove(archive)
        raise
    # On Ctrl-C or SIGTERM above, the verified archive stays and the next run uses it.
    if not keep_archive:
        os.remove(archive)
