"""Read a submission safely and splice the student's regions into the starter.

A submission is a zip of the assignment's FILES (for this repository's, the
zip tools/collect_submission.py writes: code, executed notebooks, saved
models), or a folder holding its files (Gradescope extracts an uploaded zip into
/autograder/submission), or a folder holding one such zip. Nothing of it is
ever extracted to disk as it is: the grader reads the few files it needs
into memory, after refusing the whole zip if any member is unsafe (an
absolute path, a `..` component, a symlink, an encrypted member, a member
compressed otherwise than stored or deflated, a member or a total over the
size limits). Each file is read in chunks against its own limit (MAX_CODE,
MAX_NOTEBOOK, MAX_FILE) and the submission's (MAX_READ); a file over its
limit is not read, with a note (safezip.py). From a folder only regular
files are read: a file the grader needs that is a link, a FIFO or a device
refuses the submission, and nothing else is opened.

Only the bodies of the solution regions count: each is spliced, by function
name and part, into a fresh copy of the pristine starter's file, so that
edits outside the regions (the given code, the checks, the tests) change
nothing. A region whose code does not compile stays a stub.
"""
import errno
import os
import shutil
import stat
import zipfile

from staff.release import regions as R

from . import assignment as A, safezip

MAX_MEMBER = 64 * 1024 * 1024     # any member of the zip (never read beyond the files below)
MAX_TOTAL = 256 * 1024 * 1024     # all members together, as declared
MAX_MEMBERS = 5000                # members of a zip, or files in a submission folder
MAX_CODE = 2 * 1024 * 1024        # a .py file the grader reads
MAX_NOTEBOOK = 8 * 1024 * 1024    # a notebook
MAX_FILE = 64 * 1024 * 1024       # any other file it reads (a saved model)
MAX_READ = 128 * 1024 * 1024      # everything it reads from one submission, together


class Refused(Exception):
    """The submission cannot be graded; the message says why."""


def file_limit(rel):
    """The most bytes the grader reads of the submission's file `rel`."""
    if rel.endswith('.py'):
        return MAX_CODE
    if rel.endswith('.ipynb'):
        return MAX_NOTEBOOK
    return MAX_FILE


def _reading_order(wanted):
    """The files to read, smallest limit first: the code before the models."""
    return sorted(wanted, key=lambda rel: (file_limit(rel), rel))


def _too_big(rel, size, notes):
    notes.append('%s: %d bytes, over the limit of %d; not read' % (rel, size, file_limit(rel)))


def _over_budget(rel, notes):
    notes.append('%s: not read: the files read from one submission may hold %d MB in all'
                 % (rel, MAX_READ >> 20))


def read_zip(path, only=None):
    """{relative path: bytes} of the files the grader needs (or of `only`), and notes.

    path: a zip's path, or a binary file object holding one."""
    name = os.path.basename(path) if isinstance(path, str) else 'the submission'
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise Refused('%s is not a readable zip file (%s)' % (name, e))
    with zf:
        try:
            infos = safezip.check_members(zf, MAX_MEMBERS, MAX_MEMBER)
        except safezip.UnsafeZip as e:
            raise Refused('unsafe zip: %s; make the zip with "python -m '
                          'tools.collect_submission"' % e)
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL:
            raise Refused('the zip unpacks to %d bytes (at most %d)' % (total, MAX_TOTAL))
        names = {i.filename.replace('\\', '/'): i for i in infos if not i.is_dir()}
        wanted, notes = _locate(list(names), only)
        budget = safezip.Budget(MAX_READ)
        files = {}
        try:
            for rel in _reading_order(wanted):
                info = names[wanted[rel]]
                if info.file_size > file_limit(rel):
                    _too_big(rel, info.file_size, notes)
                elif info.file_size > budget.left:
                    _over_budget(rel, notes)
                else:
                    files[rel] = safezip.read_member(zf, info, file_limit(rel), budget)
        except safezip.UnsafeZip as e:
            raise Refused('the zip is damaged: %s' % e)
        except (zipfile.BadZipFile, OSError, RuntimeError, EOFError, ValueError) as e:
            raise Refused('the zip is damaged: %s' % e)
        return files, notes


def _locate(names, only=None):
    """{expected path: member name}: the files may sit under a common folder."""
    wanted, notes = {}, []
    anchor = A.current().ANCHOR
    prefix = None
    for name in sorted(names, key=len):
        if name.endswith(anchor) and '__MACOSX' not in name:
            prefix = name[:-len(anchor)]
            break
    if prefix is None:
        prefix = ''
    for rel in A.current().FILES if only is None else only:
        if prefix + rel in names:
            wanted[rel] = prefix + rel
            continue
        base = rel.rsplit('/', 1)[-1]
        matches = [n for n in names if n.rsplit('/', 1)[-1] == base and '__MACOSX' not in n]
        if len(matches) == 1:
            wanted[rel] = matches[0]
            notes.append('%s found as %s' % (rel, matches[0]))
        else:
            notes.append('%s is missing from the submission' % rel)
    return wanted, notes


KINDS = ((stat.S_ISLNK, 'a symbolic link'), (stat.S_ISFIFO, 'a FIFO'),
         (stat.S_ISSOCK, 'a socket'), (stat.S_ISCHR, 'a device'), (stat.S_ISBLK, 'a device'))


def _kind(mode):
    for test, what in KINDS:
        if test(mode):
            return what
    return 'not a regular file'


def _scan(folder):
    """({relative path: (path, lstat)} of everything under folder, never following a
    link, at most MAX_MEMBERS entries and 5 levels deep."""
    found = {}
    todo = [(folder, 0)]
    while todo:
        here, depth = todo.pop()
        try:
            entries = list(os.scandir(here))
        except OSError as e:
            raise Refused('cannot list %s (%s)' % (os.path.relpath(here, folder), e.strerror))
        for entry in entries:
            if len(found) >= MAX_MEMBERS:
                raise Refused('the submission holds more than %d files' % MAX_MEMBERS)
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                if depth < 5 and not entry.name.startswith('.') and entry.name != '__MACOSX':
                    todo.append((entry.path, depth + 1))
                continue
            rel = os.path.relpath(entry.path, folder).replace(os.sep, '/')
            found[rel] = (entry.path, st)
    return found


def _open_regular(path, rel):
    """A binary file object of the regular file at path: never a link, a FIFO or a device
    (opened without following a link or waiting for a writer, then checked)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise Refused('%s is a symbolic link' % rel)
        raise Refused('cannot open %s (%s)' % (rel, e.strerror))
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise Refused('%s is %s, not a regular file' % (rel, _kind(st.st_mode)))
    os.set_blocking(fd, True)
    return os.fdopen(fd, 'rb')


def _read_regular(path, rel, limit):
    with _open_regular(path, rel) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise Refused('%s grew while it was read' % rel)
    return data


def read_folder(folder, only=None):
    """The same from a folder: an extracted submission, or one holding the zip.
    Only regular files are read; a file the grader needs that is anything else (a
    link, a FIFO, a device) refuses the submission."""
    folder = os.path.abspath(folder)
    scanned = _scan(folder)
    regular = {rel: path for rel, (path, st) in scanned.items() if stat.S_ISREG(st.st_mode)}
    if not any(rel.endswith(A.current().ANCHOR) for rel in scanned):
        zips = [rel for rel in regular if rel.endswith('.zip')]
        if len(zips) == 1:
            with _open_regular(regular[zips[0]], zips[0]) as f:
                return read_zip(f, only)
        if len(zips) > 1:
            raise Refused('the submission holds %d zip files (%s) and no %s/ folder; '
                          'submit one zip' % (len(zips), ', '.join(sorted(zips)[:5]),
                                              A.current().PACKAGE))
    wanted, notes = _locate(list(scanned), only)
    for rel, name in wanted.items():
        mode = scanned[name][1].st_mode
        if not stat.S_ISREG(mode):
            raise Refused('%s is %s, not a regular file' % (name, _kind(mode)))
    budget = safezip.Budget(MAX_READ)
    files = {}
    for rel in _reading_order(wanted):
        name = wanted[rel]
        size = scanned[name][1].st_size
        if size > file_limit(rel):
            _too_big(rel, size, notes)
        elif size > budget.left:
            _over_budget(rel, notes)
        else:
            files[rel] = _read_regular(regular[name], name, min(file_limit(rel), budget.left))
            budget.take(len(files[rel]), rel)
    return files, notes


def read_submission(path, only=None):
    """({relative path: bytes}, notes) of a submission (a zip or a folder): the
    assignment's FILES, or the paths in `only`."""
    if os.path.isdir(path):
        return read_folder(path, only)
    try:
        st = os.lstat(path)
    except OSError:
        raise Refused('%s does not exist' % path)
    if not stat.S_ISREG(st.st_mode):
        raise Refused('%s is %s, not a regular file' % (os.path.basename(path), _kind(st.st_mode)))
    with _open_regular(path, os.path.basename(path)) as f:
        files, notes = read_zip(f, only)
    return files, notes


# ---------------------------------------------------------------------------
# The workspace

def _student_bodies(starter_regions, text, rel, notes):
    """The student's body for each starter region (None: keep the stub)."""
    try:
        theirs = R.py_regions(text, rel)
        by_name = {(r.function, r.part): r.body for r in theirs}
        bodies = [by_name.get((r.function, r.part)) for r in starter_regions]
        for r, b in zip(starter_regions, bodies):
            if b is None:
                notes.append('%s: no region found for %s (part %d); a marker line changed?'
                             % (rel, r.function or 'module level', r.part))
        return bodies
    except R.RegionError as e:
        error = e
    # Not parseable (a syntax error outside the regions): match the regions in order.
    try:
        theirs = R.find_regions(text, rel)
    except R.RegionError as e:
        notes.append('%s: the region markers are broken (%s); every function of this file '
                     'counts as not implemented' % (rel, e))
        return [None] * len(starter_regions)
    if len(theirs) != len(starter_regions):
        notes.append('%s: %d regions, the starter has %d (%s); every function of this file '
                     'counts as not implemented' % (rel, len(theirs), len(starter_regions), error))
        return [None] * len(starter_regions)
    return [r.body for r in theirs]


def splice_file(starter_text, rel, student_text, notes):
    """The starter file with every compiling student region spliced in."""
    regions = R.py_regions(starter_text, rel)
    if not regions:
        return starter_text
    stubs = [r.body for r in regions]
    if student_text is None:
        return starter_text
    theirs = _student_bodies(regions, student_text, rel, notes)
    current = list(stubs)
    for k, (region, body) in enumerate(zip(regions, theirs)):
        if body is None or body == stubs[k]:
            continue
        trial = list(current)
        trial[k] = body
        try:
            compile(R.replace_bodies(starter_text, regions, trial), rel, 'exec')
        except (SyntaxError, ValueError) as e:
            notes.append('%s: your code in %s does not compile (%s, line %s); it counts as not '
                         'implemented' % (rel, region.function or 'the module-level region',
                                          getattr(e, 'msg', e), getattr(e, 'lineno', '?')))
            continue
        current = trial
    return R.replace_bodies(starter_text, regions, current)


def build_workspace(starter_dir, files, dest):
    """Write the starter's package with the student's regions into dest.

    Returns notes (one line each) about what could not be used."""
    notes = []
    package = A.current().PACKAGE
    src = os.path.join(starter_dir, package)
    shutil.copytree(src, os.path.join(dest, package),
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc', 'cifar-10-*', '*.tar.gz',
                                                  '*.part', '.tmp-*'))
    for folder, _, names in os.walk(os.path.join(dest, package)):
        for name in sorted(names):
            if not name.endswith('.py'):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, dest).replace(os.sep, '/')
            with open(path, encoding='utf-8') as f:
                starter_text = f.read()
            if R.START_MARKER not in starter_text:
                continue
            data = files.get(rel)
            student_text = None
            if data is not None:
                if len(data) > MAX_CODE:
                    notes.append('%s: %d bytes, over the limit of %d; not used'
                                 % (rel, len(data), MAX_CODE))
                else:
                    student_text = data.decode('utf-8', errors='replace').replace('\r\n', '\n')
            new = splice_file(starter_text, rel, student_text, notes)
            with open(path, 'w', encoding='utf-8') as f:
                f.write(new)
    return notes
