"""Write the student starter from this solution repository.

    python -m staff.release OUT_DIR            # OUT_DIR must not exist, or be empty
    python -m staff.release OUT_DIR --force    # replace an existing OUT_DIR

The starter is generated, never edited by hand:
- every solution region of a .py file becomes a stub: raise NotImplementedError
  naming the function, its file and what to implement (a bare `pass` at module
  level), with the TODO banner, the stub variables before the region and the
  bookkeeping lines after it kept as they are;
- every notebook keeps its cells, with code regions emptied to `pass`, the
  inline answers replaced by "[FILL THIS IN]", and outputs, execution counts
  and run metadata cleared;
- pyproject.toml ships without the testpaths entries that do not ship
  (staff/tests), so that a student's bare `pytest` collects only what they have;
- all other files are copied byte for byte.

What ships is listed in staff/release/manifest.txt: the files git tracks,
minus the staff-only ones (this tool, the release checks, CI, benchmarks),
plus the files every release requires; a "replace" line ships one file in
place of another (the student README, staff/release/student_README.md, as README.md). The starter is built in a temporary
folder beside OUT_DIR and renamed into place only when complete.
Check a release with:  python -m staff.release.check
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

from . import regions as R

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANIFEST = os.path.join('staff', 'release', 'manifest.txt')


class ReleaseError(Exception):
    pass


def _parse_manifest(root=ROOT):
    """(excludes, requires, {release path: source path}) of staff/release/manifest.txt."""
    excludes, requires, replaces = [], [], {}
    path = os.path.join(root, MANIFEST)
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if parts[0] in ('exclude', 'require') and len(parts) == 2:
                (excludes if parts[0] == 'exclude' else requires).append(parts[1])
            elif parts[0] == 'replace' and len(parts) == 3:
                if parts[1] in replaces:
                    raise ReleaseError('%s:%d: %s is replaced twice' % (MANIFEST, n, parts[1]))
                if parts[1] == parts[2]:
                    raise ReleaseError('%s:%d: %s replaces itself' % (MANIFEST, n, parts[1]))
                replaces[parts[1]] = parts[2]
            else:
                raise ReleaseError('%s:%d: expected "exclude PATH", "require PATH" or '
                                   '"replace PATH SOURCE", got %r' % (MANIFEST, n, line))
    return excludes, requires, replaces


def load_manifest(root=ROOT):
    """(excludes, requires) from staff/release/manifest.txt."""
    excludes, requires, _ = _parse_manifest(root)
    return excludes, requires


def load_replacements(root=ROOT):
    """{path in the release: path of the file that ships there instead}, from the
    manifest's "replace" lines (the student README replaces the solution's)."""
    return _parse_manifest(root)[2]


def is_excluded(path, excludes):
    return any(path.startswith(e) if e.endswith('/') else path == e for e in excludes)


def tracked_files(root=ROOT):
    try:
        out = subprocess.run(['git', 'ls-files', '-z'], cwd=root, capture_output=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise ReleaseError('cannot list the tracked files with git ls-files in %s: %s'
                           % (root, getattr(e, 'stderr', b'').decode(errors='replace') or e))
    return [p for p in out.decode('utf-8').split('\0') if p]


def release_files(root=ROOT):
    """(sorted relative paths that ship, warnings).

    A path that the manifest replaces ships with the content of its source,
    and the source does not ship under its own path."""
    excludes, requires, replaces = _parse_manifest(root)
    warnings = []
    tracked = set(tracked_files(root))
    sources = set(replaces.values())
    files = set()
    for p in tracked:
        if is_excluded(p, excludes) or p in sources:
            continue
        if not os.path.isfile(os.path.join(root, p)):
            warnings.append('%s is tracked but missing from the working tree; not shipped' % p)
            continue
        files.add(p)
    missing = []
    for p in requires:
        if is_excluded(p, excludes):
            raise ReleaseError('%s is both required and excluded in %s' % (p, MANIFEST))
        if not os.path.isfile(os.path.join(root, p)):
            missing.append(p)
        elif p not in tracked:
            warnings.append('%s is not tracked by git; shipped because the manifest requires it'
                            % p)
            files.add(p)
    for dest, src in sorted(replaces.items()):
        if is_excluded(dest, excludes):
            raise ReleaseError('%s is both replaced and excluded in %s' % (dest, MANIFEST))
        if dest in sources:
            raise ReleaseError('%s is both replaced and the replacement of another file in %s'
                               % (dest, MANIFEST))
        if not os.path.isfile(os.path.join(root, src)):
            missing.append('%s (the replacement of %s)' % (src, dest))
        elif src not in tracked:
            warnings.append('%s is not tracked by git; shipped as %s because the manifest '
                            'says so' % (src, dest))
        files.add(dest)
    if missing:
        raise ReleaseError('required file(s) missing: %s' % ', '.join(missing))
    return sorted(files), warnings


def source_of(path, root=ROOT, replaces=None):
    """The file of the repository whose content ships as `path`."""
    replaces = load_replacements(root) if replaces is None else replaces
    return replaces.get(path, path)


def shipped_testpaths(text, excludes):
    """pyproject.toml's text with the testpaths entries the manifest excludes removed."""
    def keep(match):
        paths = re.findall(r'"([^"]*)"', match.group(2))
        kept = [p for p in paths if not is_excluded(p.rstrip('/') + '/', excludes)]
        return match.group(1) + ', '.join('"%s"' % p for p in kept) + ']'
    return re.sub(r'(?m)^(testpaths\s*=\s*\[)([^\]]*)\]', keep, text)


def release_text(path, data, excludes=()):
    """(release bytes, info) of one file; info describes what was stubbed."""
    if path == 'pyproject.toml':
        return shipped_testpaths(data.decode('utf-8'), excludes).encode('utf-8'), {}
    if path.endswith('.py'):
        text = data.decode('utf-8')
        new, regions = R.stub_py(text, path)
        return new.encode('utf-8'), {'regions': regions}
    if path.endswith('.ipynb'):
        new, code, answers = R.stub_notebook(data.decode('utf-8'), path)
        return new.encode('utf-8'), {'regions': [r for k in sorted(code) for r in code[k]],
                                     'answers': answers}
    return data, {}


def build(dest, root=ROOT):
    """Write the release into the existing empty folder `dest`; return a summary."""
    files, warnings = release_files(root)
    replaces = load_replacements(root)
    excludes, _ = load_manifest(root)
    summary = {'files': files, 'warnings': warnings, 'stubbed': {}, 'notebooks': {},
               'replaced': {p: replaces[p] for p in files if p in replaces}}
    for path in files:
        src = os.path.join(root, source_of(path, root, replaces))
        with open(src, 'rb') as f:
            data = f.read()
        new, info = release_text(path, data, excludes)
        out = os.path.join(dest, path)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, 'wb') as f:
            f.write(new)
        # Readable by everyone; executable where the source is (scripts).
        os.chmod(out, 0o755 if os.access(src, os.X_OK) else 0o644)
        if info.get('regions'):
            summary['stubbed'][path] = info['regions']
        if path.endswith('.ipynb'):
            summary['notebooks'][path] = info
    return summary


def _inside(path, folder):
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def release(out_dir, force=False, root=ROOT):
    """Build the release into out_dir atomically; return the summary."""
    out_dir = os.path.abspath(out_dir)
    if _inside(root, out_dir):
        raise ReleaseError('%s holds the solution repository; choose another folder' % out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ReleaseError('%s exists and is not a folder' % out_dir)
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        if not force:
            raise ReleaseError('%s is not empty; pass --force to replace it' % out_dir)
        if os.path.exists(os.path.join(out_dir, '.git')):
            raise ReleaseError('%s is a git repository; not replacing it' % out_dir)
        if _inside(out_dir, root) and tracked_files_under(root, out_dir):
            raise ReleaseError('%s holds files tracked by the solution repository; '
                               'not replacing it' % out_dir)
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix='.%s.tmp-' % os.path.basename(out_dir))
    try:
        summary = build(tmp, root)
        os.chmod(tmp, 0o755)
        old = None
        if os.path.isdir(out_dir):
            old = tempfile.mkdtemp(dir=parent, prefix='.%s.old-' % os.path.basename(out_dir))
            os.rename(out_dir, os.path.join(old, 'release'))
        os.rename(tmp, out_dir)
        if old:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary


def tracked_files_under(root, folder):
    rel = os.path.relpath(os.path.realpath(folder), os.path.realpath(root))
    return [p for p in tracked_files(root) if p == rel or p.startswith(rel + '/')]


def describe(summary):
    lines = []
    n_regions = sum(len(v) for k, v in summary['stubbed'].items() if k.endswith('.py'))
    py = [k for k in summary['stubbed'] if k.endswith('.py')]
    lines.append('%d files; %d code regions stubbed in %s'
                 % (len(summary['files']), n_regions, ', '.join(py)))
    for path, src in sorted(summary.get('replaced', {}).items()):
        lines.append('%s: shipped as %s' % (src, path))
    for path, info in sorted(summary['notebooks'].items()):
        lines.append('%s: %d code region(s) emptied, %d answer(s) blanked, outputs cleared'
                     % (path, len(info.get('regions', [])), len(info.get('answers', []))))
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m staff.release',
        description='Write the student starter (solution regions stubbed, answers blanked, '
                    'notebook outputs cleared) into OUT_DIR.')
    parser.add_argument('out_dir', metavar='OUT_DIR')
    parser.add_argument('--force', action='store_true', help='replace OUT_DIR if it is not empty')
    args = parser.parse_args(argv)
    try:
        summary = release(args.out_dir, force=args.force)
    except (ReleaseError, R.RegionError) as e:
        print('release: %s' % e, file=sys.stderr)
        return 1
    for w in summary['warnings']:
        print('warning: %s' % w, file=sys.stderr)
    print(describe(summary))
    print('Wrote the student release to %s' % os.path.abspath(args.out_dir))
    return 0


def model_bodies(path, root=ROOT):
    """{region key: model-answer body} of a solution file (notebooks: 'region K',
    counted over the notebook's code regions)."""
    with open(os.path.join(root, path), encoding='utf-8') as f:
        text = f.read()
    if path.endswith('.ipynb'):
        nb = R.load_notebook(text)
        code, _ = R.notebook_regions(nb, path)
        numbered = [r for k in sorted(code) for r in code[k]]
        return {'region %d' % (i + 1): r.body for i, r in enumerate(numbered)}
    return {r.key: r.body for r in R.py_regions(text, path)}
