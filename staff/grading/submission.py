"""Read a submission safely and splice the student's regions into the starter.

A submission is a zip of the assignment's FILES (for this repository's, the
zip tools/collect_submission.py writes: code, executed notebooks, saved
models), or a folder holding its files (Gradescope extracts an uploaded zip into
/autograder/submission), or a folder holding one such zip. Nothing of it is
ever extracted to disk as it is: the grader reads the few files it needs
into memory, after refusing the whole zip if any member is unsafe (an
absolute path, a `..` component, a symlink, an encrypted member, a member or
a total over the size limits).

Only the bodies of the solution regions count: each is spliced, by function
name and part, into a fresh copy of the pristine starter's file, so that
edits outside the regions (the given code, the checks, the tests) change
nothing. A region whose code does not compile stays a stub.
"""
import os
import re
import shutil
import stat
import zipfile

from staff.release import regions as R

from . import assignment as A

MAX_MEMBER = 64 * 1024 * 1024
MAX_TOTAL = 256 * 1024 * 1024
MAX_MEMBERS = 5000
MAX_CODE = 2 * 1024 * 1024


class Refused(Exception):
    """The submission cannot be graded; the message says why."""


def _unsafe(name):
    if '\0' in name:
        return 'a NUL byte in the name'
    if name.startswith(('/', '\\')) or re.match(r'^[A-Za-z]:', name):
        return 'an absolute path'
    if '..' in re.split(r'[\\/]+', name):
        return 'a ".." component'
    return None


def read_zip(path):
    """{relative path: bytes} of the files the grader needs, and notes."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise Refused('%s is not a readable zip file (%s)' % (os.path.basename(path), e))
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise Refused('the zip has %d members (at most %d)' % (len(infos), MAX_MEMBERS))
        total = 0
        for info in infos:
            why = _unsafe(info.filename)
            mode = info.external_attr >> 16
            if why is None and stat.S_ISLNK(mode):
                why = 'a symbolic link'
            if why is None and info.flag_bits & 0x1:
                why = 'an encrypted member'
            if why is None and info.file_size > MAX_MEMBER:
                why = 'a member of %d bytes (at most %d)' % (info.file_size, MAX_MEMBER)
            if why:
                raise Refused('unsafe zip member %r: %s; make the zip with '
                              '"python -m tools.collect_submission"' % (info.filename[:200], why))
            total += info.file_size
        if total > MAX_TOTAL:
            raise Refused('the zip unpacks to %d bytes (at most %d)' % (total, MAX_TOTAL))
        names = {i.filename.replace('\\', '/'): i for i in infos if not i.is_dir()}
        wanted, notes = _locate(list(names))

        def read(name):
            with zf.open(names[name]) as f:
                data = f.read(MAX_MEMBER + 1)
            if len(data) > MAX_MEMBER:
                raise Refused('zip member %r is larger than it claims' % name)
            return data
        try:
            return {rel: read(name) for rel, name in wanted.items()}, notes
        except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as e:
            raise Refused('the zip is damaged: %s' % e)


def _locate(names):
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
    for rel in A.current().FILES:
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


def read_folder(folder):
    """The same from a folder: an extracted submission, or one holding the zip."""
    folder = os.path.abspath(folder)
    found = {}
    for here, dirs, files in os.walk(folder):
        depth = os.path.relpath(here, folder).count(os.sep)
        dirs[:] = [d for d in dirs if depth < 5 and not d.startswith('.') and d != '__MACOSX']
        for name in files:
            found[os.path.relpath(os.path.join(here, name), folder).replace(os.sep, '/')] = \
                os.path.join(here, name)
    if not any(rel.endswith(A.current().ANCHOR) for rel in found):
        zips = [rel for rel in found if rel.endswith('.zip')]
        if len(zips) == 1:
            return read_zip(found[zips[0]])
        if len(zips) > 1:
            raise Refused('the submission holds %d zip files (%s) and no %s/ folder; '
                          'submit one zip' % (len(zips), ', '.join(sorted(zips)[:5]),
                                              A.current().PACKAGE))
    wanted, notes = _locate(list(found))
    files = {}
    for rel, name in wanted.items():
        path = found[name]
        # No symlink anywhere between the folder and the file.
        p = path
        while p != folder and len(p) > len(folder):
            if os.path.islink(p):
                raise Refused('%s is a symbolic link' % os.path.relpath(p, folder))
            p = os.path.dirname(p)
        if os.path.getsize(path) > MAX_MEMBER:
            raise Refused('%s has %d bytes (at most %d)' % (name, os.path.getsize(path),
                                                          MAX_MEMBER))
        with open(path, 'rb') as f:
            files[rel] = f.read()
    return files, notes


def read_submission(path):
    if os.path.isdir(path):
        return read_folder(path)
    if not os.path.isfile(path):
        raise Refused('%s does not exist' % path)
    return read_zip(path)


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
