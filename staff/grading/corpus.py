"""Code similarity against reference corpora: earlier terms' submissions, public solutions.

    corpora = read_corpora(['terms/2024', 'public'], starter)      # {name: text}, unread
    matches = compare(prints, corpora, starter, frequent)         # per student, the closest

`python -m staff.grading.grade ... --compare-with DIR` (repeatable) names the
folders. A folder may hold, at any depth:

- zips of earlier terms' submissions (the zips tools.collect_submission
  writes): each is read with the grader's own safe reader
  (submission.read_submission: nothing is extracted, an unsafe zip is
  refused with the reason), and its document is what the class's are: the
  bodies of its solution regions that differ from the stubs;
- .py files (public solutions, any tree): each file is one document, whole.

The comparison is copydetect's own reference support: a CopyDetector with the
class as its test directory and the corpora as its reference directory (the
documents written to a temporary folder), the starter's files as its
boilerplate directory. Its fingerprints are the report's: the class's
documents as similar_pairs fingerprinted them, the references' alike, and
both without the class-wide boilerplate (passages found in more than
`common` of the class's submissions), so that what the whole class writes
alike never counts, against a reference either. The class is compared in
chunks of CHUNK students (each detector holds a chunk's pairs only).

Each student whose code a reference shares at least `threshold` of (and at
least MIN_SHARED characters of tokenized code) gets the `top` references it
shares most with, with the shared passages marked on both sides.
"""
import os
import tempfile

from . import submission as SUB

TOP = 3                # references shown per student
MAX_STUDENTS = 50      # students listed at most, the closest first
CHUNK = 100            # students per CopyDetector
SKIP_DIRS = ('__pycache__', '__MACOSX', '.git', '.ipynb_checkpoints')


class CorpusError(ValueError):
    """A reference folder that cannot be used (the message names it)."""


def corpus_names(dirs):
    """{folder: its name in the report}: the folder's base name, made unique."""
    names, taken = {}, set()
    for d in dirs:
        base = os.path.basename(os.path.normpath(d)) or 'corpus'
        name, k = base, 2
        while name in taken:
            name, k = '%s-%d' % (base, k), k + 1
        taken.add(name)
        names[d] = name
    return names


def read_corpora(dirs, starter, solution_text):
    """({reference name: text}, [(reference name, why it was not read)]).

    Inputs:
    - dirs: the --compare-with folders
    - starter: {path: text} of the starter's files with regions (report.starter_code)
    - solution_text(files, starter): a zip's document (report.solution_text)
    """
    texts, unread = {}, []
    for folder, name in corpus_names(dirs).items():
        if not os.path.isdir(folder):
            raise CorpusError('--compare-with: %s is not a folder' % folder)
        for here, subdirs, files in os.walk(folder):        # symlinked folders not followed
            subdirs[:] = sorted(d for d in subdirs if d not in SKIP_DIRS
                                and not d.startswith('.'))
            for f in sorted(files):
                path = os.path.join(here, f)
                ref = '%s/%s' % (name, os.path.relpath(path, folder).replace(os.sep, '/'))
                if not f.lower().endswith(('.zip', '.py')):
                    continue
                if os.path.islink(path):
                    unread.append((ref, 'a symbolic link'))
                    continue
                try:
                    if f.lower().endswith('.zip'):
                        files_, _ = SUB.read_submission(path)
                        text = solution_text(files_, starter)
                    else:
                        size = os.path.getsize(path)
                        if size > SUB.MAX_CODE:
                            raise SUB.Refused('%d bytes, over %d' % (size, SUB.MAX_CODE))
                        with open(path, 'rb') as fh:
                            text = fh.read().decode('utf-8', errors='replace')
                except SUB.Refused as e:
                    unread.append((ref, str(e)))
                    continue
                except (OSError, ValueError) as e:
                    unread.append((ref, '%s: %s' % (type(e).__name__, e)))
                    continue
                if text.strip():
                    texts[ref] = text.replace('\r\n', '\n')
    return texts, unread


def strip_boilerplate(fp, frequent):
    """Leave the class-wide boilerplate out of a copydetect fingerprint, in place."""
    from copydetect.utils import get_token_coverage
    gone = fp.hashes & frequent
    if gone:
        fp.hashes -= gone
        for h in gone:
            del fp.hash_idx[h]
        fp.token_coverage = get_token_coverage(fp.hash_idx, fp.k, len(fp.filtered_code))
    return fp


def _marked(code):
    """copydetect's highlighted (escaped) code with its spans as <mark>."""
    for cls in ('highlight-red', 'highlight-green'):
        code = code.replace("<span class='%s'>" % cls, '<mark>')
    return code.replace('</span>', '</mark>')


def compare(prints, references, starter, boiler, frequent, noise, guarantee, threshold,
            min_shared, top=TOP, max_students=MAX_STUDENTS, chunk=CHUNK):
    """[{'student', 'matches': [{'reference', 'fraction_student', 'fraction_reference',
    'shared', 'html_student', 'html_reference'}]}], the closest student first.

    Inputs:
    - prints: {student: copydetect CodeFingerprint} of the class, as similar_pairs made
      them (the class-wide boilerplate already left out)
    - references: {reference name: text} (read_corpora)
    - starter: {path: text} of the starter (the detector's boilerplate directory)
    - boiler: the starter's hashes (similar_pairs'), left out of the references too
    - frequent: the class-wide boilerplate's hashes
    - noise, guarantee: copydetect's thresholds (the report's)
    """
    from copydetect import CopyDetector
    from copydetect.detector import CodeFingerprint
    students = sorted(s for s, fp in prints.items() if fp.hashes)
    if not students or not references:
        return []
    found = []
    with tempfile.TemporaryDirectory(prefix='cs231n-corpus-') as tmp:
        ref_dir, boiler_dir, class_dir = (os.path.join(tmp, d) for d in
                                          ('references', 'starter', 'class'))
        for d in (ref_dir, boiler_dir, class_dir):
            os.mkdir(d)
        for k, text in enumerate(starter.values()):
            with open(os.path.join(boiler_dir, 'starter%02d.py' % k), 'w', encoding='utf-8') as f:
                f.write(text)
        ref_name, ref_prints = {}, {}
        window = guarantee - noise + 1
        for k, (name, text) in enumerate(sorted(references.items())):
            path = os.path.join(ref_dir, 'r%05d.py' % k)
            with open(path, 'w', encoding='utf-8') as f:
                f.write(text)
            ref_name[path] = name
            ref_prints[path] = strip_boilerplate(CodeFingerprint(path, noise, window, boiler), frequent)
        for start in range(0, len(students), chunk):
            here = os.path.join(class_dir, 'c%04d' % (start // chunk))
            os.mkdir(here)
            student_of = {}
            for k, s in enumerate(students[start:start + chunk]):
                path = os.path.join(here, 's%05d.py' % (start + k))
                with open(path, 'w', encoding='utf-8') as f:
                    f.write(prints[s].raw_code)
                student_of[path] = s
            detector = CopyDetector(test_dirs=[here], ref_dirs=[ref_dir],
                                    boilerplate_dirs=[boiler_dir], extensions=['py'],
                                    noise_t=noise, guarantee_t=guarantee, display_t=threshold,
                                    truncate=True, silent=True, autoopen=False,
                                    out_file=os.path.join(tmp, 'copydetect.html'))
            # The fingerprints it would make, with the class-wide boilerplate left out.
            detector.file_data.update(ref_prints)
            detector.file_data.update({p: prints[s] for p, s in student_of.items()})
            detector.run()
            for (test_sim, ref_sim, test_f, ref_f, hl_test, hl_ref, overlap) in \
                    detector.get_copied_code_list():
                if test_f not in student_of or ref_f not in ref_name or overlap < min_shared:
                    continue
                found.append((student_of[test_f], {
                    'reference': ref_name[ref_f], 'fraction_student': float(test_sim),
                    'fraction_reference': float(ref_sim), 'shared': int(overlap),
                    'html_student': _marked(hl_test), 'html_reference': _marked(hl_ref)}))
    by_student = {}
    for student, match in found:
        by_student.setdefault(student, []).append(match)
    out = []
    for student, matches in by_student.items():
        matches.sort(key=lambda m: (-m['fraction_student'], -m['shared'], m['reference']))
        out.append({'student': student, 'matches': matches[:top]})
    out.sort(key=lambda r: (-r['matches'][0]['fraction_student'], r['student']))
    return out[:max_students]
