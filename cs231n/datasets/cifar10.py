"""CIFAR-10: download, verify, extract safely, validate and install atomically.

The official archive (python version) unpacks to `cifar-10-batches-py/` with
data_batch_1..5, test_batch, batches.meta and readme.html. Each batch is a
Python 2 pickle of a dict with 'data', a (10000, 3072) uint8 array, and
'labels', 10000 ints in 0..9.

Guarantees:
- Downloads go to `<archive>.part`; an interrupted transfer keeps it, and the
  next run resumes it with an HTTP Range request.
- Nothing is extracted before the md5 matches.
- Members are written by this module, never by tarfile.extract, and only if
  they are regular files that belong in `cifar-10-batches-py/`.
- Extraction happens in a `.tmp-*` folder beside the target and is validated
  there; only then is it renamed into place. A failed or interrupted run never
  leaves a half-populated `cifar-10-batches-py`.

Expected failures raise DatasetError subclasses whose messages are meant for
users; `python -m cs231n.datasets` prints them without a traceback.
"""
import hashlib
import os
import pickle
import re
import shutil
import sys
import tarfile
import tempfile
import time
import zlib

import numpy as np

from . import CIFAR10_FOLDER, FETCH_HINT
from . import data_dir as _resolve_data_dir

URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz'
MD5 = 'c58f30108f718f92721af3b95e74349a'
ARCHIVE_NAME = 'cifar-10-python.tar.gz'
BATCHES = tuple('data_batch_%d' % i for i in range(1, 6)) + ('test_batch',)
REQUIRED = BATCHES + ('batches.meta',)
OPTIONAL = ('readme.html',)
ROWS = 10000
PIXELS = 3 * 32 * 32
NUM_CLASSES = 10
# A batch pickle is ~31 MB; anything far bigger is not CIFAR-10 (or is a bomb).
MAX_MEMBER_BYTES = 64 << 20
# .tmp-* folders older than this can only be left over from a killed run.
STALE_TMP_SECONDS = 3600
# Seconds to wait before the n-th resume of a dropped transfer: n * RETRY_PAUSE.
RETRY_PAUSE = 1.0


class DatasetError(Exception):
    """An expected failure (network, checksum, bad archive or folder)."""


class DownloadError(DatasetError):
    pass


class DownloadInterrupted(DownloadError):
    """The transfer broke off; the .part file is kept for the next run."""


class ChecksumError(DatasetError):
    pass


class UnsafeArchiveError(DatasetError):
    pass


class InvalidDataError(DatasetError, ValueError):
    """A batch file or folder is missing pieces, truncated or corrupt."""


def _say(log, msg):
    stream = sys.stderr if log is None else log
    print(msg, file=stream, flush=True)


# ----------------------------------------------------------------- reading

class _BatchUnpickler(pickle.Unpickler):
    # The batches only need numpy's array reconstruction, so refuse every other
    # global: a pickle from an unverified source cannot run arbitrary code.
    _ALLOWED = {
        ('numpy.core.multiarray', '_reconstruct'),
        ('numpy._core.multiarray', '_reconstruct'),
        ('numpy', 'ndarray'),
        ('numpy', 'dtype'),
        ('numpy.core.multiarray', 'scalar'),  # labels saved as numpy ints
        ('numpy._core.multiarray', 'scalar'),
        ('_codecs', 'encode'),  # Python 3 protocol-2 pickles wrap bytes in it
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError('unexpected object %s.%s' % (module, name))
        return super().find_class(module, name)


def _unpickle(path):
    try:
        with open(path, 'rb') as f:
            return _BatchUnpickler(f, encoding='latin1').load()
    except OSError:
        raise
    except Exception as e:  # unpickling garbage can raise almost anything
        raise InvalidDataError('%s: unreadable (truncated or corrupt?): %s: %s'
                               % (path, type(e).__name__, e)) from e


def read_batch(path, rows=ROWS):
    """
    Read one CIFAR-10 batch file without converting the pixels.

    Inputs:
    - path: a batch file such as data_batch_1 or test_batch.
    - rows: the expected number of images; None accepts any number.

    Returns a tuple of:
    - data: uint8 array of shape (rows, 3072): the R plane, then G, then B,
      each 32x32 row-major, so data.reshape(-1, 3, 32, 32) is channels-first.
    - labels: int64 array of shape (rows,), values in 0..9.

    Raises FileNotFoundError if the file is missing, InvalidDataError (a
    ValueError) naming the file if it is truncated, corrupt or mis-shaped.
    """
    d = _unpickle(path)
    if not isinstance(d, dict) or 'data' not in d or 'labels' not in d:
        raise InvalidDataError("%s: expected a dict with 'data' and 'labels', got %s"
                               % (path, type(d).__name__ if not isinstance(d, dict)
                                  else 'keys %s' % sorted(map(str, d))))
    data = d['data']
    want = '(%s, %d)' % (rows if rows is not None else 'N', PIXELS)
    if (not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2
            or data.shape[1] != PIXELS or (rows is not None and data.shape[0] != rows)):
        raise InvalidDataError("%s: 'data' should be a %s uint8 array, got %s"
                               % (path, want, _describe(data)))
    try:
        labels = np.asarray(d['labels'])
    except Exception as e:
        raise InvalidDataError("%s: 'labels' is not a list of ints: %s" % (path, e)) from e
    if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise InvalidDataError("%s: 'labels' should be %d ints, got %s"
                               % (path, data.shape[0], _describe(labels)))
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise InvalidDataError("%s: labels should lie in 0..%d, found %d..%d"
                               % (path, NUM_CLASSES - 1, labels.min(), labels.max()))
    return np.ascontiguousarray(data), labels.astype(np.int64, copy=False)


def _describe(a):
    if isinstance(a, np.ndarray):
        return 'shape %s dtype %s' % (a.shape, a.dtype)
    return type(a).__name__


def read_label_names(path):
    """
    Inputs:
    - path: the batches.meta file.

    Returns: list of the 10 class names, in label order.
    """
    d = _unpickle(path)
    names = d.get('label_names') if isinstance(d, dict) else None
    if (not isinstance(names, list) or len(names) != NUM_CLASSES
            or not all(isinstance(n, str) for n in names)):
        raise InvalidDataError("%s: expected 'label_names', a list of %d names"
                               % (path, NUM_CLASSES))
    return names


def validate_folder(folder, rows=ROWS):
    """
    Check a `cifar-10-batches-py` folder completely.

    Inputs:
    - folder: the folder that holds data_batch_1..5, test_batch, batches.meta.
    - rows: images expected per batch (10000 for the real data set).

    Raises InvalidDataError naming the folder or the first bad file.
    """
    if not os.path.isdir(folder):
        raise InvalidDataError('%s: not a folder' % folder)
    missing = [n for n in REQUIRED if not os.path.isfile(os.path.join(folder, n))]
    if missing:
        raise InvalidDataError('%s: missing %s' % (folder, ', '.join(missing)))
    for name in BATCHES:
        read_batch(os.path.join(folder, name), rows)
    read_label_names(os.path.join(folder, 'batches.meta'))


def md5_file(path, chunk=1 << 20):
    """Returns: the hex md5 of a file."""
    h = hashlib.md5(usedforsecurity=False)
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- download

def _mb(n):
    return '%.1f MB' % (n / 1e6)


class _Progress:
    """Bytes done of total, percentage and rate.

    A tqdm bar on a terminal; otherwise one plain line per ~10% so that CI
    logs stay short and readable.
    """

    def __init__(self, total, initial, stream):
        self.total, self.done, self.initial = total, initial, initial
        self.stream = stream
        self.t0 = time.monotonic()
        self.next_mark = self._mark_after(initial)
        self.bar = None
        isatty = getattr(stream, 'isatty', None)
        if isatty is not None and isatty():
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                self.bar = tqdm(total=total, initial=initial, unit='B', unit_scale=True,
                                unit_divisor=1000, file=stream, dynamic_ncols=True)

    def _mark_after(self, n):
        if self.total:
            step = max(self.total // 10, 1)
        else:
            step = 10 ** 7
        return (n // step + 1) * step

    def line(self):
        rate = (self.done - self.initial) / max(time.monotonic() - self.t0, 1e-6) / 1e6
        if self.total:
            return '  %s of %s (%3d%%)  %.1f MB/s' % (
                _mb(self.done), _mb(self.total), 100 * self.done // self.total, rate)
        return '  %s (size unknown)  %.1f MB/s' % (_mb(self.done), rate)

    def update(self, n):
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.done >= self.next_mark:
            print(self.line(), file=self.stream, flush=True)
            self.next_mark = self._mark_after(self.done)

    def close(self):
        if self.bar is not None:
            self.bar.close()


class _Interrupted(Exception):
    def __init__(self, done, total, why):
        super().__init__('connection lost after %s of %s (%s)'
                         % (_mb(done), _mb(total) if total else 'unknown', why))


def _import_requests():
    try:
        import requests
    except ImportError as e:
        raise DownloadError('downloading needs the requests package: pip install requests '
                            '(or pass a local copy with --source)') from e
    return requests


def _net_reason(e):
    # requests' messages nest several reprs; users need the gist.
    text = str(e)
    m = re.search(r'\[Errno -?\d+\] [^\'")\]]+', text)
    if m:
        return m.group(0).strip()
    for pattern, say in (('IncompleteRead|Connection broken|RemoteDisconnected',
                          'the server closed the connection'),
                         ('timed out', 'timed out'),
                         ('Name or service not known|getaddrinfo failed',
                          'cannot resolve the host name')):
        if re.search(pattern, text):
            return say
    return '%s: %s' % (type(e).__name__, text[:200])


def _content_range(value):
    """'bytes a-b/N' or 'bytes */N' -> (a or None, N or None)."""
    m = re.match(r'bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)', value or '')
    if not m:
        return None, None
    start = int(m.group(1)) if m.group(1) else None
    total = int(m.group(2)) if m.group(2) != '*' else None
    return start, total


def _fetch_once(requests, url, part, timeout, stream):
    """One HTTP request; appends to `part`. True when the file is complete,
    False when the caller should simply ask again (the .part was reset)."""
    start = os.path.getsize(part) if os.path.isfile(part) else 0
    # identity: a transparently gunzipped body would break both md5 and Range.
    headers = {'Accept-Encoding': 'identity', 'User-Agent': 'cs231n-datasets'}
    if start:
        headers['Range'] = 'bytes=%d-' % start
    try:
        r = requests.get(url, headers=headers, stream=True, timeout=timeout)
    except requests.exceptions.RequestException as e:
        raise DownloadError('could not download %s: %s' % (url, _net_reason(e))) from e
    with r:
        total = None
        if r.status_code == 416 and start:
            _, total = _content_range(r.headers.get('Content-Range'))
            if total == start:
                return True
            print('the partial download does not match the file on the server; '
                  'starting again', file=stream, flush=True)
            os.remove(part)
            return False
        if r.status_code == 206 and start:
            got, total = _content_range(r.headers.get('Content-Range'))
            if got != start:
                os.remove(part)
                return False
            mode = 'ab'
            print('resuming at %s' % _mb(start), file=stream, flush=True)
        elif r.status_code == 200:
            if start:
                print('the server does not support resuming; starting again from zero',
                      file=stream, flush=True)
            start, mode = 0, 'wb'
            length = r.headers.get('Content-Length')
            total = int(length) if length and length.isdigit() else None
        else:
            raise DownloadError('could not download %s: HTTP %d %s'
                                % (url, r.status_code, r.reason or ''))
        progress = _Progress(total, start, stream)
        done = start
        try:
            with open(part, mode) as f:
                try:
                    for chunk in r.iter_content(1 << 16):
                        f.write(chunk)
                        done += len(chunk)
                        progress.update(len(chunk))
                except requests.exceptions.RequestException as e:
                    raise _Interrupted(done, total, _net_reason(e)) from e
        finally:
            progress.close()
        if total is not None and done < total:
            raise _Interrupted(done, total, 'the server closed the connection')
        return True


def download(url, dest, timeout=30.0, retries=2, log=None):
    """
    Download url to `dest + '.part'`, resuming what an earlier run left there.

    Inputs:
    - url: http(s) URL of the archive.
    - dest: the archive's final path; the caller renames the .part to it
      once the md5 matches.
    - timeout: seconds to wait for the connection and for each read.
    - retries: how often a dropped transfer is resumed within this call.
    - log: stream for progress and notes (default sys.stderr).

    Returns: the path of the complete .part file.

    Raises DownloadError. A transfer cut off midway keeps the .part, so the
    next call resumes it; a request that got nothing leaves no file.
    """
    requests = _import_requests()
    stream = sys.stderr if log is None else log
    part = dest + '.part'
    _say(log, 'downloading %s' % url)
    t0 = time.monotonic()
    size0 = os.path.getsize(part) if os.path.isfile(part) else 0
    lost = resets = 0
    while True:
        try:
            if _fetch_once(requests, url, part, timeout, stream):
                break
            resets += 1
            if resets > 2:
                raise DownloadError('could not download %s: the server keeps rejecting '
                                    'the resume request' % url)
        except _Interrupted as e:
            if lost >= retries:
                raise DownloadInterrupted(
                    'download of %s interrupted: %s. The partial file %s is kept; run the '
                    'same command again to resume.' % (url, e, part)) from None
            lost += 1
            _say(log, '%s; resuming (retry %d of %d)' % (e, lost, retries))
            time.sleep(RETRY_PAUSE * lost)
        finally:
            if os.path.isfile(part) and os.path.getsize(part) == 0:
                os.remove(part)
    size = os.path.getsize(part)
    secs = time.monotonic() - t0
    _say(log, 'downloaded %s in %.1f s (%.1f MB/s)'
         % (_mb(size), secs, (size - size0) / max(secs, 1e-6) / 1e6))
    return part


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
                                 'batch' % (name, _mb(m.size)))
    return parts[1]


def _extract_into(archive, out, log):
    try:
        # Stream mode: one pass over the gzip; members are written by us, so
        # tarfile never creates a path, link or device on its own.
        with tarfile.open(archive, 'r|*') as tar:
            for m in tar:
                name = _member_name(m)
                if name is None:
                    if m.isfile():
                        _say(log, 'skipping unexpected member %r' % m.name)
                    continue
                src = tar.extractfile(m)
                with open(os.path.join(out, name), 'wb') as f:
                    shutil.copyfileobj(src, f, 1 << 20)
    except (tarfile.TarError, EOFError, zlib.error) as e:
        raise InvalidDataError('%s: not a readable .tar.gz archive (%s)' % (archive, e)) from e
    except OSError as e:
        if e.filename is None:  # gzip.BadGzipFile and friends, not disk errors
            raise InvalidDataError('%s: not a readable .tar.gz archive (%s)'
                                   % (archive, e)) from e
        raise


def _new_tmp(base, what='new'):
    return tempfile.mkdtemp(prefix='.tmp-%s-' % what, dir=base)


def _clean_stale(base, log):
    now = time.time()
    try:
        entries = os.listdir(base)
    except OSError:
        return
    for e in entries:
        p = os.path.join(base, e)
        try:
            if e.startswith('.tmp-') and now - os.lstat(p).st_mtime > STALE_TMP_SECONDS:
                _say(log, 'removing %s left over from an interrupted run' % p)
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def _swap_into_place(new, target):
    """Rename the validated folder `new` to `target`, replacing what is there.
    The old copy is moved aside first so that target is never half-written."""
    aside = None
    if os.path.lexists(target):
        aside = _new_tmp(os.path.dirname(target), 'old')
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


def install_archive(archive, target, rows=ROWS, log=None):
    """
    Extract a checked archive beside target, validate, then rename into place.

    Inputs:
    - archive: a cifar-10-python.tar.gz (md5 already checked by the caller).
    - target: the `.../cifar-10-batches-py` folder to create or replace.
    - rows: images expected per batch.

    Raises UnsafeArchiveError or InvalidDataError; nothing is left behind.
    """
    tmp = _new_tmp(os.path.dirname(target))
    try:
        out = os.path.join(tmp, CIFAR10_FOLDER)
        os.mkdir(out)
        _say(log, 'extracting %s' % archive)
        _extract_into(archive, out, log)
        try:
            validate_folder(out, rows)
        except InvalidDataError as e:
            raise InvalidDataError('%s does not hold a valid CIFAR-10: %s'
                                   % (archive, str(e).replace(out + os.sep, ''))) from None
        _swap_into_place(out, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def install_folder(folder, target, rows=ROWS, log=None):
    """
    Copy a validated, already-extracted `cifar-10-batches-py` folder to target
    (through a temporary folder, renamed into place).
    """
    validate_folder(folder, rows)
    tmp = _new_tmp(os.path.dirname(target))
    try:
        out = os.path.join(tmp, CIFAR10_FOLDER)
        os.mkdir(out)
        _say(log, 'copying %s' % folder)
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
        _say(log, 'note: %s has md5 %s, not the official %s; accepted because of '
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
    - timeout, retries: see download().
    - force: reinstall even if a valid copy is present.
    - keep_archive: keep a downloaded archive beside the folder.
    - rows: images expected per batch (10000; smaller only in tests).
    - log: stream for messages (default sys.stderr).

    Returns a tuple (path, already): the installed folder, and True if a valid
    copy was already there and nothing was done.

    Raises DatasetError (DownloadError, ChecksumError, UnsafeArchiveError,
    InvalidDataError) with a message for users.
    """
    base = _resolve_data_dir(data_dir)
    target = os.path.join(base, CIFAR10_FOLDER)
    accepted = {MD5} | {m.lower() for m in accept_md5}
    if os.path.lexists(target) and not force:
        try:
            validate_folder(target, rows)
            return target, True
        except InvalidDataError as e:
            _say(log, 'found an incomplete or invalid copy (%s); it will be replaced '
                 'once a valid copy is ready' % e)
    created = []
    d = base
    while not os.path.isdir(d):
        created.append(d)
        d = os.path.dirname(d)
    os.makedirs(base, exist_ok=True)
    _clean_stale(base, log)
    ok = False
    try:
        if source is not None and not _is_url(source):
            source = os.path.abspath(os.path.expanduser(os.fspath(source)))
            if os.path.isdir(source):
                inner = os.path.join(source, CIFAR10_FOLDER)
                folder = inner if os.path.isdir(inner) else source
                if os.path.abspath(folder) == target:
                    validate_folder(target, rows)
                    ok = True
                    return target, True
                install_folder(folder, target, rows, log)
            elif os.path.isfile(source):
                _check_md5(source, accepted, allow_unofficial, source, log)
                install_archive(source, target, rows, log)
            else:
                raise DatasetError('--source %s: no such file or folder' % source)
        else:
            _download_and_install(source or url, base, target, accepted, allow_unofficial,
                                  timeout, retries, keep_archive, rows, log)
        ok = True
        return target, False
    finally:
        if not ok:
            for d in created:  # only folders this call made, and only if empty
                try:
                    os.rmdir(d)
                except OSError:
                    break


def _download_and_install(url, base, target, accepted, allow_unofficial, timeout, retries,
                          keep_archive, rows, log):
    archive = os.path.join(base, ARCHIVE_NAME)
    if os.path.isfile(archive):
        # Left by --keep-archive or put there by hand: use it if it checks out.
        try:
            _check_md5(archive, accepted, False, archive, log)
            _say(log, 'using the archive already at %s' % archive)
            install_archive(archive, target, rows, log)
            if not keep_archive:
                os.remove(archive)
            return
        except ChecksumError as e:
            _say(log, 'ignoring %s' % e.args[0].split('. If')[0])
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
    # On Ctrl-C above, the verified archive stays and the next run uses it.
    if not keep_archive:
        os.remove(archive)


def missing_message(path):
    """The error text for a CIFAR-10 folder that is not there."""
    return 'CIFAR-10 not found at %s. Fetch it with:  %s' % (path, FETCH_HINT)
