"""Test helpers: CIFAR-10 files in the official format, archives, an HTTP server.

Nothing here touches the real data set. The batches are written the way
Python 2's cPickle wrote the official ones (protocol 2, byte strings as
Python 2 `str`, arrays through numpy.core.multiarray._reconstruct), so the
loaders meet the same bytes they meet in the real cifar-10-batches-py.
"""
import contextlib
import errno
import hashlib
import http.server
import io
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import tarfile
import threading

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer',
           'dog', 'frog', 'horse', 'ship', 'truck']
BATCHES = ['data_batch_%d' % i for i in range(1, 6)] + ['test_batch']


class _Py2Pickler(pickle._Pickler):
    """The pure-Python pickler, made to write str/bytes as Python 2 `str`."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2_str(self, obj):
        raw = obj.encode('latin1') if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack('<i', len(raw)) + raw)

    dispatch[str] = _save_py2_str
    dispatch[bytes] = _save_py2_str

    def save_global(self, obj, name=None):
        if getattr(obj, '__name__', None) == '_reconstruct':
            # numpy 2 calls the module numpy._core; Python 2 files say numpy.core.
            self.write(pickle.GLOBAL + b'numpy.core.multiarray\n_reconstruct\n')
        else:
            super().save_global(obj, name)


def dump_py2(obj, path):
    """Write obj as a Python 2 protocol-2 pickle (the official batch format)."""
    with open(path, 'wb') as f:
        p = _Py2Pickler(f, protocol=2)
        p.fast = True  # no memo: the official files have none
        p.dump(obj)


def dump_py3(obj, path):
    """A plain Python 3 protocol-2 pickle of obj."""
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=2)


def batch_dict(data, labels, label='training batch 1 of 5'):
    return {'batch_label': label, 'labels': [int(v) for v in labels], 'data': data,
            'filenames': ['img_%05d.png' % i for i in range(len(labels))]}


def write_folder(folder, rows=10000, seed=0, compressible=False, dump=dump_py2):
    """
    Write a complete cifar-10-batches-py folder.

    Inputs:
    - folder: the cifar-10-batches-py folder to create.
    - rows: images per batch (10000 is the official shape).
    - seed: for the random pixels and labels.
    - compressible: pixels from a short repeating pattern, so that an archive
      of the full-size folder is ~2 MB instead of ~180 MB.

    Returns: dict batch name -> (data uint8 (rows, 3072), labels int64 (rows,)).
    """
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = {}
    for b, name in enumerate(BATCHES):
        if compressible:
            data = ((np.arange(rows * 3072) + b) % 251).astype(np.uint8).reshape(rows, 3072)
        else:
            data = rng.integers(0, 256, (rows, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, rows)
        title = ('testing batch 1 of 1' if name == 'test_batch'
                 else 'training batch %d of 5' % (b + 1))
        dump(batch_dict(data, labels, title), os.path.join(folder, name))
        out[name] = (data, labels.astype(np.int64))
    dump({'num_cases_per_batch': rows, 'label_names': CLASSES, 'num_vis': 3072},
         os.path.join(folder, 'batches.meta'))
    with open(os.path.join(folder, 'readme.html'), 'w') as f:
        f.write('<p>test copy</p>\n')
    return out


def tar_folder(folder, archive, extra=()):
    """
    Write archive (.tar.gz) holding folder as cifar-10-batches-py/, like the
    official one, then the (TarInfo, bytes or None) pairs in extra.
    Returns: the archive's md5.
    """
    with tarfile.open(archive, 'w:gz', compresslevel=1) as tar:
        if folder is not None:
            tar.add(folder, arcname='cifar-10-batches-py')
        for info, payload in extra:
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return md5_file(archive)


def member(name, kind='file', payload=b'x', linkname=''):
    """A TarInfo for tar_folder(extra=...): kind is file, dir, symlink,
    hardlink, chardev or fifo."""
    info = tarfile.TarInfo(name)
    info.type = {'file': tarfile.REGTYPE, 'dir': tarfile.DIRTYPE, 'symlink': tarfile.SYMTYPE,
                 'hardlink': tarfile.LNKTYPE, 'chardev': tarfile.CHRTYPE,
                 'fifo': tarfile.FIFOTYPE}[kind]
    info.linkname = linkname
    if kind == 'file':
        info.size = len(payload)
        return info, payload
    return info, None


def deny_search(monkeypatch, folder):
    """Make os.stat fail inside folder as it does for a user who lacks read
    and search permission on it. The tests run as root, whom chmod does not
    stop, so the refusal is simulated at the one call that meets it first."""
    real_stat = os.stat

    def stat(path, *args, **kwargs):
        if os.fspath(path).startswith(folder + os.sep):
            raise PermissionError(errno.EACCES, 'Permission denied', os.fspath(path))
        return real_stat(path, *args, **kwargs)
    monkeypatch.setattr(os, 'stat', stat)


def md5_file(path):
    with open(path, 'rb') as f:
        return hashlib.md5(f.read()).hexdigest()


# ------------------------------------------------------------------ server

class Site:
    """What the test server serves, how it misbehaves, and what it saw.

    - files: URL path -> bytes.
    - cut_at / cuts: the first `cuts` responses stop after cut_at bytes of
      body and drop the connection (the Content-Length promises more).
    - ignore_range: answer every request with 200 and the whole file.
    - stall_at: send this many bytes of body, then hang until `release` is set.
    - log: (path, Range header or None) of every request.
    """

    def __init__(self, files):
        self.files = dict(files)
        self.cut_at = None
        self.cuts = 0
        self.ignore_range = False
        self.stall_at = None
        self.release = threading.Event()
        self.log = []


def _handler(site):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.0'  # one request per connection

        def log_message(self, *args):
            pass

        def do_GET(self):
            rng = self.headers.get('Range')
            site.log.append((self.path, rng))
            body = site.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            start = 0
            if rng and not site.ignore_range:
                start = int(rng.split('=')[1].split('-')[0])
                if start >= len(body):
                    self.send_response(416)
                    self.send_header('Content-Range', 'bytes */%d' % len(body))
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header('Content-Range', 'bytes %d-%d/%d'
                                 % (start, len(body) - 1, len(body)))
            else:
                self.send_response(200)
            self.send_header('Content-Type', 'application/x-gzip')
            self.send_header('Content-Length', str(len(body) - start))
            self.end_headers()
            part = body[start:]
            if site.cuts > 0 and site.cut_at is not None:
                site.cuts -= 1
                self.wfile.write(part[:site.cut_at])
                self.wfile.flush()
                # Drop the connection hard, mid-body.
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if site.stall_at is not None:
                self.wfile.write(part[:site.stall_at])
                self.wfile.flush()
                site.release.wait(60)
                return
            self.wfile.write(part)

    return Handler


@contextlib.contextmanager
def serve(site):
    """Serve `site` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _handler(site))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield 'http://127.0.0.1:%d' % server.server_address[1]
    finally:
        site.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port_url():
    """An http URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    return 'http://127.0.0.1:%d/cifar-10-python.tar.gz' % port


# --------------------------------------------------------------------- CLI

def clean_env(**extra):
    """os.environ without the data-path variables, plus the repo on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('CIFAR10_SOURCE', 'CS231N_DATA_DIR', 'PYTHONPATH')}
    env['PYTHONPATH'] = REPO
    env.update(extra)
    return env


def ctrl_c_as_in_a_terminal():
    """preexec_fn: SIGINT at its default in the child, so that Python turns it
    into KeyboardInterrupt as after Ctrl-C in a terminal (a job started with &
    by a non-interactive shell, e.g. CI in the background, inherits it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_cli(args, cwd, env=None, timeout=120):
    """Run `python -m cs231n.datasets ARGS` in cwd; returns CompletedProcess (text)."""
    return subprocess.run([sys.executable, '-m', 'cs231n.datasets'] + list(args),
                          cwd=cwd, env=clean_env() if env is None else env,
                          capture_output=True, text=True, timeout=timeout)


def leftovers(data_dir):
    """Everything in data_dir except a cifar-10-batches-py folder."""
    if not os.path.isdir(data_dir):
        return []
    return sorted(n for n in os.listdir(data_dir) if n != 'cifar-10-batches-py')
