"""Zip archives from students, read with bounds (a submission, a saved model's .npz).

zipfile inflates a bzip2 (method 12) or LZMA (method 14) member in one call,
whatever size the member declares: a zip of 1.5 KB can ask for gigabytes.
So every reader of a student's zip goes through here:

    check_members(zf, max_members)            every member stored or deflated, none
                                              encrypted, a link, or an unsafe path
    read_member(zf, info, limit, budget)      its bytes, inflated 1 MB at a time, at
                                              most `limit` and what `budget` has left

Stored and deflated members are the only ones zip tools write by default
(tools.collect_submission and numpy.savez write them); for those zipfile
inflates at most what each read asks for, and never past the size the member
declares (a member that inflates to more is cut there, and its CRC fails).
"""
import re
import stat
import zipfile

ALLOWED = {zipfile.ZIP_STORED: 'stored', zipfile.ZIP_DEFLATED: 'deflated'}
CHUNK = 1 << 20


class UnsafeZip(ValueError):
    """A member the grader will not read; the message names it and says why."""


class Budget:
    """Bytes a whole submission may still read."""

    def __init__(self, total):
        self.total = self.left = int(total)

    def take(self, n, what):
        if n > self.left:
            raise UnsafeZip('%s: %d bytes, over what is left of the %d bytes read from one '
                            'submission' % (what, n, self.total))
        self.left -= n


def unsafe_name(name):
    if '\0' in name:
        return 'a NUL byte in the name'
    if name.startswith(('/', '\\')) or re.match(r'^[A-Za-z]:', name):
        return 'an absolute path'
    if '..' in re.split(r'[\\/]+', name):
        return 'a ".." component'
    return None


def member_problem(info, limit=None):
    """Why the member cannot be read (one phrase), or None."""
    why = unsafe_name(info.filename)
    if why:
        return why
    if stat.S_ISLNK(info.external_attr >> 16):
        return 'a symbolic link'
    if info.flag_bits & 0x1:
        return 'an encrypted member'
    if info.compress_type not in ALLOWED:
        return ('compressed with method %d (%s); only stored and deflated members are read'
                % (info.compress_type, {zipfile.ZIP_BZIP2: 'bzip2',
                                        zipfile.ZIP_LZMA: 'LZMA'}.get(info.compress_type,
                                                                      'unknown')))
    if limit is not None and info.file_size > limit:
        return 'a member of %d bytes (at most %d)' % (info.file_size, limit)
    return None


def check_members(zf, max_members, limit=None):
    """Raise UnsafeZip at the first member that cannot be read; the members."""
    infos = zf.infolist()
    if len(infos) > max_members:
        raise UnsafeZip('%d members (at most %d)' % (len(infos), max_members))
    for info in infos:
        why = member_problem(info, limit)
        if why:
            raise UnsafeZip('member %r: %s' % (info.filename[:200], why))
    return infos


def read_member(zf, info, limit, budget=None):
    """The bytes of one member, inflated in chunks, against its own limit and the
    submission's budget (a Budget, or None)."""
    why = member_problem(info, limit)
    if why:
        raise UnsafeZip('member %r: %s' % (info.filename[:200], why))
    if budget is not None:
        budget.take(info.file_size, info.filename[:200])
    buf = bytearray(info.file_size)
    view = memoryview(buf)
    got = 0
    try:
        with zf.open(info) as f:
            while True:
                chunk = f.read(min(CHUNK, info.file_size - got + 1))
                if not chunk:
                    break
                if got + len(chunk) > info.file_size:
                    raise UnsafeZip('member %r is larger than it claims' % info.filename[:200])
                view[got:got + len(chunk)] = chunk
                got += len(chunk)
    finally:
        view.release()
    if got != info.file_size:
        raise UnsafeZip('member %r is shorter than it claims' % info.filename[:200])
    return bytes(buf)
