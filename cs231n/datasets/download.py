"""Downloading one file over HTTP(S): resumable, with progress and clear errors.

- download() writes `<dest>.part`; an interrupted transfer keeps it, and the
  next call resumes it with an HTTP Range request. The caller checks the
  complete .part and renames it into place.
- Progress: a tqdm bar on a terminal, else one plain line per ~10%.
- Failures raise DownloadError with a message for users.

requests is imported only when a download starts.
"""
import os
import re
import sys
import time

from .._checks import check_int, check_real
from .batches import DatasetError

# Seconds to wait before the n-th resume of a dropped transfer: n * RETRY_PAUSE.
RETRY_PAUSE = 1.0


class DownloadError(DatasetError):
    """The file could not be downloaded."""


class DownloadInterrupted(DownloadError):
    """The transfer broke off; the .part file is kept for the next run."""


def say(log, msg):
    """Print one line to `log` (None: sys.stderr), flushed at once."""
    print(msg, file=sys.stderr if log is None else log, flush=True)


def mb(n):
    """Returns: n bytes as text in MB, e.g. '170.5 MB'."""
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
                mb(self.done), mb(self.total), 100 * self.done // self.total, rate)
        return '  %s (size unknown)  %.1f MB/s' % (mb(self.done), rate)

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
                         % (mb(done), mb(total) if total else 'unknown', why))


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
    for pattern, reason in (('IncompleteRead|Connection broken|RemoteDisconnected',
                             'the server closed the connection'),
                            ('timed out', 'timed out'),
                            ('Name or service not known|getaddrinfo failed',
                             'cannot resolve the host name')):
        if re.search(pattern, text):
            return reason
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
            print('resuming at %s' % mb(start), file=stream, flush=True)
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

    The .part is appended to as bytes arrive (that is what makes resuming
    possible), so it is never the finished file: the caller checks it and
    renames it to dest in one step.

    Inputs:
    - url: http(s) URL of the file.
    - dest: the file's final path.
    - timeout: seconds (finite, > 0) to wait for the connection and each read.
    - retries: how often (>= 0) a dropped transfer is resumed within this call.
    - log: stream for progress and notes (default sys.stderr).

    Returns: the path of the complete .part file.

    Raises DownloadError. A transfer cut off midway keeps the .part, so the
    next call resumes it; a request that got nothing leaves no file.
    """
    timeout = check_real('download', 'timeout', timeout, '(0, inf)')
    retries = check_int('download', 'retries', retries, '[0, inf)')
    requests = _import_requests()
    stream = sys.stderr if log is None else log
    part = dest + '.part'
    say(log, 'downloading %s' % url)
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
            say(log, '%s; resuming (retry %d of %d)' % (e, lost, retries))
            time.sleep(RETRY_PAUSE * lost)
        finally:
            if os.path.isfile(part) and os.path.getsize(part) == 0:
                os.remove(part)
    size = os.path.getsize(part)
    secs = time.monotonic() - t0
    say(log, 'downloaded %s in %.1f s (%.1f MB/s)'
        % (mb(size), secs, (size - size0) / max(secs, 1e-6) / 1e6))
    return part
