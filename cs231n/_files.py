"""Files written whole or not at all, and SIGTERM cleaned up like Ctrl-C.

- atomic_write(path) writes a temporary file beside `path` and renames it
  onto `path` only when the block completes: an error, Ctrl-C or `kill`
  leaves the old file (or none) and no temporary file.
- terminate_as_interrupt() makes SIGTERM raise Terminated, a kind of
  KeyboardInterrupt, so that the clean-up Ctrl-C gets (finally blocks,
  except KeyboardInterrupt) also runs when a process is killed.
"""
import contextlib
import os
import signal
import tempfile
import threading

TMP_PREFIX = '.tmp-'


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived inside terminate_as_interrupt()."""


def _raise_terminated(signum, frame):
    raise Terminated('terminated by SIGTERM')


@contextlib.contextmanager
def terminate_as_interrupt():
    """Within the block, SIGTERM raises Terminated in the main thread.

    Only the main thread can receive Python signal handlers, and a handler
    someone else installed is left alone; in both cases this does nothing.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path, mode='wb', encoding=None):
    """Yield a file to write; on success it replaces `path` in one rename.

    Inputs:
    - path: The file to write; its folder is created if needed
    - mode: 'wb' or 'w'
    - encoding: For text mode
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with terminate_as_interrupt():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=TMP_PREFIX,
                                   suffix=os.path.splitext(path)[1])
        try:
            with os.fdopen(fd, mode, encoding=encoding) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
