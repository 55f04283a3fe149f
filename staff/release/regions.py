"""Solution regions: find them, stub them out, splice them back.

A region is everything strictly between two marker lines, in a .py file or in
a code cell of a notebook:

    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ...solution...
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

Each marker must be alone on its line (indentation aside), START and END must
pair up at the same indentation, and regions do not nest. Everything outside
the regions, the TODO banners and the bookkeeping lines around them included,
ships to students unchanged.

An inline answer is a markdown cell whose source starts with "## Answer:";
its whole text after the heading is the solution.

Stubs written into the student release:
- a region inside a function or method: an empty line,
  raise NotImplementedError('<func> in <file> (part i of n): <TODO sentence>'),
  an empty line;
- a region at module or class level, or in a notebook cell: an empty line,
  pass, an empty line (the variables the cell needs are set before it);
- an answer cell: "## Answer:\\n\\n[FILL THIS IN]".

Splicing the solution bodies back into the release gives back the solution
files byte for byte (notebooks: with outputs and execution counts cleared,
which is what the release clears).
"""
import ast
import json
import os
import re

START_MARKER = '# *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****'
END_MARKER = '# *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****'
# A line that looks like a marker but is not exactly one is an error: a
# student-facing marker must be left exactly as it is.
_NEAR_MARKER = re.compile(r'\*{3,}\s*(START|END) OF YOUR CODE')

ANSWER_HEADING = '## Answer:'
ANSWER_PLACEHOLDER = '[FILL THIS IN]'
ANSWER_STUB = ANSWER_HEADING + '\n\n' + ANSWER_PLACEHOLDER

# Cell metadata written by Jupyter or nbclient when a cell runs.
_RUN_METADATA = ('execution', 'ExecuteTime', 'collapsed', 'scrolled')


class RegionError(ValueError):
    """A malformed region; the message names the file and line."""

    def __init__(self, where, line, message):
        self.where, self.line = where, line
        super().__init__('%s:%d: %s' % (where, line, message))


class Region:
    """One solution region of a file.

    - where: 'path' for a .py file, 'path cell K' for a notebook cell
    - start, end: 1-based line numbers of the START and END markers (in the
      cell, for notebooks)
    - indent: the indentation of the markers
    - body: the lines strictly between the markers, with their line endings
    - function: qualified name of the enclosing function ('FullyConnectedNet.loss'),
      None at module or class level and in notebooks
    - todo: first sentence of the TODO banner above the region, or ''
    - part, parts: this region's number among the regions of its function
    """

    def __init__(self, where, start, end, indent, body, todo=''):
        self.where, self.start, self.end = where, start, end
        self.indent, self.body, self.todo = indent, body, todo
        self.function, self.part, self.parts = None, 1, 1

    @property
    def key(self):
        """The region's name: its function, with ' part K' when the function has
        several ('batchnorm_forward part 1'), or '<module>' at module level. The
        alternative solution, the bug catalogue and the mistakes name regions so."""
        if self.function is None:
            return '<module>'
        return self.function + (' part %d' % self.part if self.parts > 1 else '')

    def __repr__(self):
        return '<Region %s:%d-%d %s>' % (self.where, self.start, self.end, self.function)


# ---------------------------------------------------------------------------
# Lines and regions

def split_lines(text):
    """Lines with their endings; ''.join(split_lines(t)) == t."""
    return text.splitlines(keepends=True)


def _line_ending(line):
    stripped = line.rstrip('\r\n')
    return line[len(stripped):] or '\n'


def _indent_of(line):
    return line[:len(line) - len(line.lstrip(' \t'))]


def _todo_sentence(lines, start_index):
    """First sentence of the TODO banner right above lines[start_index]."""
    i = start_index - 1
    while i >= 0 and lines[i].strip().startswith('#'):
        i -= 1
    banner = [l.strip() for l in lines[i + 1:start_index]]
    words, inside = [], False
    for line in banner:
        text = line.strip('#').strip()
        if not inside:
            m = re.match(r'TODO\b[^:]*:\s*(.*)', text)
            if m:
                inside, text = True, m.group(1)
            else:
                continue
        elif not text:  # the border, or an empty line of the banner
            break
        words.append(text)
    paragraph = ' '.join(words)
    m = re.match(r'(.+?[.!?])(\s|$)', paragraph)
    return (m.group(1) if m else paragraph).strip()


def find_regions(text, where):
    """All regions of `text` (a file, or one notebook cell), in order.

    Raises RegionError, naming `where` and the line, for a START without an
    END, an END without a START, a START inside a region, markers at different
    indentation, or an altered marker line.
    """
    lines = split_lines(text)
    regions, open_at = [], None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped == START_MARKER:
            if open_at is not None:
                raise RegionError(where, i + 1, 'START marker inside the region opened at line '
                                  '%d (regions do not nest; is its END marker missing?)'
                                  % (open_at + 1))
            open_at = i
        elif stripped == END_MARKER:
            if open_at is None:
                raise RegionError(where, i + 1, 'END marker without a START marker before it')
            indent = _indent_of(lines[open_at])
            if _indent_of(line) != indent:
                raise RegionError(where, i + 1, 'END marker indented differently from the START '
                                  'marker at line %d' % (open_at + 1))
            regions.append(Region(where, open_at + 1, i + 1, indent, lines[open_at + 1:i],
                                  _todo_sentence(lines, open_at)))
            open_at = None
        elif _NEAR_MARKER.search(line):
            raise RegionError(where, i + 1, 'altered region marker %r; a marker line must read '
                              'exactly %r or %r' % (stripped, START_MARKER, END_MARKER))
    if open_at is not None:
        raise RegionError(where, open_at + 1, 'START marker without an END marker')
    return regions


def _name_functions(regions, text, where):
    """Set function/part/parts of .py regions from the enclosing def and class."""
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        raise RegionError(where, e.lineno or 1, 'not valid Python: %s' % e.msg)
    scopes = []  # (first line, last line, qualified name) of every function

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                if not isinstance(child, ast.ClassDef):
                    scopes.append((child.lineno, child.end_lineno, name))
                visit(child, name + '.')
            else:
                visit(child, prefix)
    visit(tree, '')
    for r in regions:
        inside = [s for s in scopes if s[0] < r.start and r.end <= s[1]]
        if inside:
            r.function = max(inside, key=lambda s: s[0])[2]  # the innermost
    for r in regions:
        same = [q for q in regions if q.function == r.function]
        r.part, r.parts = same.index(r) + 1, len(same)


def py_regions(text, path):
    """Regions of a .py file, with their enclosing functions named."""
    regions = find_regions(text, path)
    if regions:
        _name_functions(regions, text, path)
    return regions


# ---------------------------------------------------------------------------
# Stubs

def stub_message(region, path):
    part = ' (part %d of %d)' % (region.part, region.parts) if region.parts > 1 else ''
    todo = region.todo or 'write this part'
    return '%s in %s%s: %s' % (region.function, path, part, todo)


def stub_lines(region, path, eol='\n'):
    """The lines that replace a region's body in the release."""
    ind = region.indent
    if region.function is None:
        return [eol, ind + 'pass' + eol, eol]
    message = stub_message(region, path)
    one_line = '%sraise NotImplementedError(%r)' % (ind, message)
    if len(one_line) <= 99:
        return [eol, one_line + eol, eol]
    width = 99 - len(ind) - 4 - 3  # indent, quotes and a closing parenthesis
    pieces = []
    for word in message.split(' '):
        if pieces and len(pieces[-1]) + len(word) <= width:
            pieces[-1] += word + ' '
        else:
            pieces.append(word + ' ')
    pieces[-1] = pieces[-1][:-1]
    out = [eol, ind + 'raise NotImplementedError(' + eol]
    out += ['%s    %r%s' % (ind, p, ')' if k == len(pieces) - 1 else '') + eol
            for k, p in enumerate(pieces)]
    return out + [eol]


def replace_bodies(text, regions, new_bodies):
    """`text` with the body of regions[k] replaced by new_bodies[k]."""
    lines = split_lines(text)
    out, pos = [], 0
    for r, body in zip(regions, new_bodies):
        out += lines[pos:r.start]  # up to and including the START marker
        out += body
        pos = r.end - 1  # the END marker onwards
    out += lines[pos:]
    return ''.join(out)


def stub_py(text, path, only=None):
    """(release text, regions) of a .py file; text unchanged if it has no region.

    With `only` (a set of function names), only the regions of those functions
    are stubbed and the others keep their solution: a starter with just those
    functions left to write.
    """
    regions = py_regions(text, path)
    if not regions:
        return text, regions
    lines = split_lines(text)
    bodies = [stub_lines(r, path, _line_ending(lines[r.start - 1]))
              if only is None or r.function in only else r.body for r in regions]
    return replace_bodies(text, regions, bodies), regions


# ---------------------------------------------------------------------------
# Notebooks

def load_notebook(text):
    return json.loads(text)


def dump_notebook(nb):
    """The layout Jupyter and nbformat write: sorted keys, indent 1, sources as line lists."""
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + '\n'


def cell_source(cell):
    src = cell.get('source', '')
    return ''.join(src) if isinstance(src, list) else src


def set_cell_source(cell, text):
    cell['source'] = split_lines(text) if isinstance(cell.get('source', []), list) else text


def is_answer_cell(cell):
    return cell.get('cell_type') == 'markdown' and cell_source(cell).lstrip().startswith(
        ANSWER_HEADING)


def notebook_regions(nb, path):
    """{cell index: [Region]} for the code cells with regions, and the answer cell indices."""
    code, answers = {}, []
    for k, cell in enumerate(nb.get('cells', [])):
        if cell.get('cell_type') == 'code':
            found = find_regions(cell_source(cell), '%s cell %d' % (path, k))
            if found:
                code[k] = found
        elif is_answer_cell(cell):
            answers.append(k)
    return code, answers


def clear_outputs(nb):
    """Remove outputs, execution counts and run metadata, in place."""
    nb.get('metadata', {}).pop('cs231n_run', None)    # the run's wall time (tools/run_notebooks)
    for cell in nb.get('cells', []):
        if cell.get('cell_type') == 'code':
            cell['outputs'] = []
            cell['execution_count'] = None
        md = cell.get('metadata', {})
        for key in _RUN_METADATA:
            md.pop(key, None)
    return nb


def stub_notebook(text, path):
    """(release text, code regions {cell: [Region]}, answer cells) of a notebook."""
    nb = load_notebook(text)
    code, answers = notebook_regions(nb, path)
    for k, regions in code.items():
        cell = nb['cells'][k]
        src = cell_source(cell)
        lines = split_lines(src)
        bodies = [stub_lines(r, path, _line_ending(lines[r.start - 1])) for r in regions]
        set_cell_source(cell, replace_bodies(src, regions, bodies))
    for k in answers:
        set_cell_source(nb['cells'][k], ANSWER_STUB)
    clear_outputs(nb)
    return dump_notebook(nb), code, answers


# ---------------------------------------------------------------------------
# Splicing back

def solution_parts(path, text):
    """What the release removes from one file, in order: the region bodies of a
    .py file, or {'code': {cell: [bodies]}, 'answers': {cell: source}} of a notebook."""
    if path.endswith('.ipynb'):
        nb = load_notebook(text)
        code, answers = notebook_regions(nb, path)
        return {'code': {k: [r.body for r in rs] for k, rs in code.items()},
                'answers': {k: cell_source(nb['cells'][k]) for k in answers}}
    return [r.body for r in find_regions(text, path)]


def splice(path, release_text, parts):
    """Put the solution parts back into a release file. Raises ValueError if the
    release's regions do not line up with the solution's."""
    if path.endswith('.ipynb'):
        nb = load_notebook(release_text)
        code, answers = notebook_regions(nb, path)
        if sorted(code) != sorted(parts['code']):
            raise ValueError('%s: regions in cells %s, the solution has them in cells %s'
                             % (path, sorted(code), sorted(parts['code'])))
        if sorted(answers) != sorted(parts['answers']):
            raise ValueError('%s: answer cells %s, the solution has %s'
                             % (path, sorted(answers), sorted(parts['answers'])))
        for k, regions in code.items():
            if len(regions) != len(parts['code'][k]):
                raise ValueError('%s cell %d: %d regions, the solution has %d'
                                 % (path, k, len(regions), len(parts['code'][k])))
            cell = nb['cells'][k]
            set_cell_source(cell, replace_bodies(cell_source(cell), regions, parts['code'][k]))
        for k, source in parts['answers'].items():
            set_cell_source(nb['cells'][k], source)
        return dump_notebook(nb)
    regions = find_regions(release_text, path)
    if len(regions) != len(parts):
        raise ValueError('%s: %d regions, the solution has %d' % (path, len(regions), len(parts)))
    return replace_bodies(release_text, regions, parts)


def cleared_notebook_text(text):
    """A notebook as the release would hold it before stubbing: outputs cleared."""
    return dump_notebook(clear_outputs(load_notebook(text)))


def files_with_regions(folder):
    """Relative paths of the .py and .ipynb files under folder that hold regions."""
    found = []
    for base, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith('.') and d != '__pycache__']
        for name in files:
            if not name.endswith(('.py', '.ipynb')):
                continue
            rel = os.path.relpath(os.path.join(base, name), folder).replace(os.sep, '/')
            with open(os.path.join(base, name), encoding='utf-8') as f:
                text = f.read()
            if START_MARKER in text:
                found.append(rel)
    return sorted(found)
