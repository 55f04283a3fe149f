"""Given code per student function: this package's against the official starter's.

    python -m staff.release.given_lines                 # this repository
    python -m staff.release.given_lines --root DIR      # another tree (a starter, an old commit)
    python -m staff.release.given_lines --before DIR    # a column for DIR beside this one

A student function is a function or method that holds at least one solution
region. Its given code is counted as the non-blank lines of the function's
body, from the docstring on, that hold Python code and lie outside the
regions: lines that hold only a comment, the docstring, the region markers
and the TODO banners do not count; a statement that spans several lines
counts each of its lines. The `def` line (or lines) does not count.

OFFICIAL holds the same count for the official starter of 2020 (Stanford
CS231n, assignment 2, assignment2_jupyter.zip of cs231n/cs231n.github.io,
2020-04-24), read from public copies of that starter; for the two losses,
which the 2020 starter gives whole, from the first starters that leave them
to students. The limit per function is OFFICIAL + SLACK: one line of checks
before the student's code and one after (staff/release/check.py runs this as
check 1c).

Exit status 1 if a function of this repository exceeds its limit or has no
official count.
"""
import argparse
import ast
import io
import os
import sys
import tokenize

from . import regions as R

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = ('cs231n/layers.py', 'cs231n/layer_utils.py', 'cs231n/classifiers/fc_net.py',
         'cs231n/optim.py')
SLACK = 2

_A2_2020 = 'A2 2020 (assignment2_jupyter.zip)'
_A2_2021 = 'A2 2021 (softmax_loss: "Copy over your solution from Assignment 1")'
_A1_2021 = 'A1 2021 (cs231n/layers.py, svm_loss)'

# (file, function) -> (given lines of the official starter, which starter).
# What they are, for checking by eye:
#   affine_forward: out = None; cache = (x, w, b); return
#   affine_backward: x, w, b = cache; dx, dw, db = None, ...; return
#   relu_forward: out = None; cache = x; return
#   relu_backward: dx, x = None, cache; return
#   softmax_loss, svm_loss: loss, dx = None, None; return
#   batchnorm_forward: mode, eps, momentum, N, D, running_mean, running_var
#     (6 lines); out, cache = None, None; if / elif / else + raise (4); the two
#     running statistics written back into bn_param (2); return
#   batchnorm_backward(_alt), layernorm_backward: dx, dgamma, dbeta = None, ...; return
#   layernorm_forward: out, cache = None, None; eps = ln_param.get(...); return
#   dropout_forward: p, mode = ...; if "seed" in ... + np.random.seed (2);
#     mask = None; out = None; if / elif (2); cache = ...; out = out.astype(...); return
#   dropout_backward: dropout_param, mask = cache; mode = ...; dx = None;
#     if / elif (2); dx = dout; return
#   TwoLayerNet.__init__: self.params = {}; self.reg = reg
#   TwoLayerNet.loss: scores = None; if y is None + return (2); loss, grads = 0, {}; return
#   FullyConnectedNet.__init__: six attributes (normalization, use_dropout, reg,
#     num_layers, dtype, params); dropout_param (5 lines); bn_params (5 lines);
#     the cast of every parameter to dtype (2 lines)
#   FullyConnectedNet.loss: X = X.astype(...); mode = ...; the modes of
#     dropout_param and bn_params (5 lines); scores = None; if mode == "test"
#     + return (2); loss, grads = 0.0, {}; return
#   sgd_momentum: if config is None + config = {} (2); two setdefault; v = ...;
#     next_w = None; config["velocity"] = v; return
#   rmsprop: if config is None + config = {} (2); four setdefault; next_w = None; return
#   adam: if config is None + config = {} (2); seven setdefault; next_w = None; return
L, F, O = FILES[0], FILES[2], FILES[3]
OFFICIAL = {
    (L, 'affine_forward'): (3, _A2_2020),
    (L, 'affine_backward'): (3, _A2_2020),
    (L, 'relu_forward'): (3, _A2_2020),
    (L, 'relu_backward'): (2, _A2_2020),
    (L, 'softmax_loss'): (2, _A2_2021),
    (L, 'svm_loss'): (2, _A1_2021),
    (L, 'batchnorm_forward'): (14, _A2_2020),
    (L, 'batchnorm_backward'): (2, _A2_2020),
    (L, 'batchnorm_backward_alt'): (2, _A2_2020),
    (L, 'layernorm_forward'): (3, _A2_2020),
    (L, 'layernorm_backward'): (2, _A2_2020),
    (L, 'dropout_forward'): (10, _A2_2020),
    (L, 'dropout_backward'): (7, _A2_2020),
    (F, 'TwoLayerNet.__init__'): (2, _A2_2020),
    (F, 'TwoLayerNet.loss'): (5, _A2_2020),
    (F, 'FullyConnectedNet.__init__'): (18, _A2_2020),
    (F, 'FullyConnectedNet.loss'): (12, _A2_2020),
    (O, 'sgd_momentum'): (8, _A2_2020),
    (O, 'rmsprop'): (8, _A2_2020),
    (O, 'adam'): (11, _A2_2020),
}

_NOT_CODE = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
             tokenize.DEDENT, tokenize.ENDMARKER, tokenize.ENCODING)


def _code_lines(text):
    """Line numbers (1-based) that hold a Python token other than a comment."""
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type not in _NOT_CODE:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return lines


def _functions(tree):
    """[(qualified name, node)] of every function and method."""
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((prefix + child.name, child))
                visit(child, prefix + child.name + '.')
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + '.')
            else:
                visit(child, prefix)
    visit(tree, '')
    return found


def given_lines(text, path):
    """{qualified function name: given lines} for the student functions of a
    .py file (see the module docstring), in the order of the file."""
    tree = ast.parse(text)
    regions = R.py_regions(text, path)
    code = _code_lines(text)
    inside = set()
    for r in regions:
        inside.update(range(r.start, r.end + 1))
    counts = {}
    for name, node in _functions(tree):
        if not any(r.function == name for r in regions):
            continue
        body = node.body
        skip = set()
        if body and isinstance(body[0], ast.Expr) and isinstance(
                getattr(body[0], 'value', None), ast.Constant) and isinstance(
                body[0].value.value, str):
            skip.update(range(body[0].lineno, body[0].end_lineno + 1))
        lines = set(range(body[0].lineno, node.end_lineno + 1)) - skip - inside
        counts[name] = len(lines & code)
    return counts


def count_tree(root):
    """{(file, function): given lines} of a tree (files that are missing are skipped)."""
    out = {}
    for path in FILES:
        full = os.path.join(root, path)
        if not os.path.isfile(full):
            continue
        with open(full, encoding='utf-8') as f:
            text = f.read()
        for name, n in given_lines(text, path).items():
            out[(path, name)] = n
    return out


def module_regions(root):
    """[(file, line)] of the regions outside any function (the optional sandwich)."""
    out = []
    for path in FILES:
        full = os.path.join(root, path)
        if os.path.isfile(full):
            with open(full, encoding='utf-8') as f:
                out += [(path, r.start) for r in R.py_regions(f.read(), path)
                        if r.function is None]
    return out


def problems(counts):
    """One line per function above OFFICIAL + SLACK or without an official count."""
    out = []
    for (path, name), n in counts.items():
        if (path, name) not in OFFICIAL:
            out.append('%s %s: %d given lines, and no official count to compare with'
                       % (path, name, n))
        elif n > OFFICIAL[path, name][0] + SLACK:
            out.append('%s %s: %d given lines, the official starter has %d (limit %d)'
                       % (path, name, n, OFFICIAL[path, name][0],
                          OFFICIAL[path, name][0] + SLACK))
    return out


def table(counts, before=None):
    """The table as text: official / before / this tree, per function."""
    head = ['file', 'function', 'official']
    if before is not None:
        head.append('before')
    head += ['now', 'limit']
    rows = []
    for key, n in counts.items():
        official = OFFICIAL.get(key, (None, ''))[0]
        row = [key[0].split('/')[-1], key[1], '?' if official is None else str(official)]
        if before is not None:
            row.append(str(before.get(key, '-')))
        row += [str(n), '?' if official is None else str(official + SLACK)]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    fmt = '  '.join('%-*s' if i < 2 else '%*s' for i in range(len(head)))
    lines = [fmt % tuple(x for pair in zip(widths, head) for x in pair)]
    for r in rows:
        lines.append(fmt % tuple(x for pair in zip(widths, r) for x in pair))
    total = ['', 'total', str(sum(OFFICIAL.get(k, (0,))[0] for k in counts))]
    if before is not None:
        total.append(str(sum(before.get(k, 0) for k in counts)))
    total += [str(sum(counts.values())), '']
    lines.append(fmt % tuple(x for pair in zip(widths, total) for x in pair))
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m staff.release.given_lines',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--root', default=ROOT, help='the tree to count (default: this one)')
    parser.add_argument('--before', metavar='DIR', help='also count DIR, in a column "before"')
    args = parser.parse_args(argv)
    counts = count_tree(args.root)
    before = count_tree(args.before) if args.before else None
    print(table(counts, before))
    for path, line in module_regions(args.root):
        print('%s:%d: a region outside any function (no given code around it)' % (path, line))
    found = problems(counts)
    for p in found:
        print('PROBLEM %s' % p)
    print('%s: %d student functions, %d above the official count + %d'
          % ('FAILED' if found else 'OK', len(counts), len(found), SLACK))
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
