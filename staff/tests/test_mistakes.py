"""The catalogue of known mistakes (staff/grading/mistakes.py).

Each classic bug is spliced into the model answers by text substitution, as
staff/tests/test_grading.py does (so the bugs follow the model answers when
those are rewritten; each substitution asserts that it applied). The real
probes of the parts then drive the spliced package in a child process,
through an in-process stand-in for the grading session (the executor's own
redirect() patches in the staff's layers for the nets' 'reference' mode), and
the real judges and name_mistakes() get what the probes emitted, in this
process, as the grader gives them. Each bug must fail its parts and be named
there; the model answers and the alternative solution name nothing.

Staff-only: staff/ never ships.
"""
import concurrent.futures
import contextlib
import os
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest

from staff.assignment import mistakes as M
from staff.grading import api

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NET_PARTS = ['two_layer_net', 'fc_net', 'fc_net_batchnorm', 'fc_net_layernorm',
             'fc_net_dropout']
FCN_PARTS = NET_PARTS[1:]


# ---------------------------------------------------------------------------
# Running the real probes in process (in a child process of the test)

class _Result(tuple):
    """A call's tuple result with what a session Remote tells of it."""

    @property
    def length(self):
        return len(self)

    @property
    def type_name(self):
        return 'tuple'


class InProcessSession:
    """The probe's S (staff/grading/session.py) with the student's code in this
    process: values cross through the protocol's encoding, as they would."""

    def __init__(self, data):
        from staff.grading import protocol, session
        self.Error = session.StudentError
        self._protocol = protocol
        self.data = data
        self.records = []
        self.mode = None

    def module(self, name):
        import importlib
        try:
            return importlib.import_module(name)
        except Exception as e:
            raise self.Error('importing %s failed: %s' % (name, e))

    def call(self, function, fn, *args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except Exception as e:
            raise self.Error('%s raised %s: %s' % (function, type(e).__name__, e))
        return _Result(result) if isinstance(result, tuple) else result

    def fetch(self, value):
        return self._protocol.decode_value(self._protocol.encode_value(value))

    def value(self, value):
        return self.fetch(value)

    def emit(self, key, value):
        self.data[key] = self.fetch(value)

    @contextlib.contextmanager
    def layers(self, mode, record=()):
        sys.path.append(os.path.join(ROOT, 'staff', 'grading'))
        import executor  # the sandbox's own redirect(), run as a script there
        import cs231n.layers
        from staff.assignment import references as ref
        undo = []
        for name, target in ref.LAYERS.items():
            fn = getattr(cs231n.layers, name)
            if mode == 'own':
                if name not in record:
                    continue
                target = self._recorder(executor.original(fn))
            undo.append(executor.redirect(fn, target, '%s_%s' % (mode, name)))
        self.mode, self.records = mode, []
        try:
            yield
        finally:
            self.mode = None
            for u in reversed(undo):
                u()

    def _recorder(self, fn):
        def record(x, dropout_param, *args, **kwargs):
            result = fn(x, dropout_param, *args, **kwargs)
            self.records.append({'fn': 'dropout_forward', 'mode': dropout_param.get('mode'),
                                 'x': self.fetch(x), 'out': self.fetch(result[0])})
            return result
        return record


def run_probes(names):
    """{part: what its probe emitted} for the package importable here."""
    from staff.assignment import parts as P
    from staff.grading import session
    parts = P.load_parts()
    out = {}
    for name in names:
        data = {}
        S = InProcessSession(data)
        try:
            parts[name].probe_fn(S)
        except (session.StudentError, api.Fail) as e:
            data['__error__'] = str(e)
        except Exception as e:
            data['__error__'] = 'unexpected result: %s: %s' % (type(e).__name__, e)
        out[name] = data
    return out


_CHILD = ('import pickle, sys\n'
          'workspace, root, out = sys.argv[1:4]\n'
          'sys.path[:0] = [workspace, root]\n'
          'from staff.tests.test_mistakes import run_probes\n'
          'with open(out, "wb") as f:\n'
          '    pickle.dump(run_probes(sys.argv[4:]), f)\n')


def probe_workspace(workspace, names):
    """run_probes(names) in a child process whose cs231n is the workspace's."""
    out = os.path.join(workspace, 'probed.pickle')
    proc = subprocess.run([sys.executable, '-c', _CHILD, workspace, ROOT, out] + list(names),
                          cwd=workspace, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, 'rb') as f:
        return pickle.load(f)     # written by our own child: trusted


def judged(part, data):
    """None if the part's judge accepts data, else its Fail message."""
    from staff.assignment import parts as P
    try:
        P.load_parts()[part].judge_fn(data)
        return None
    except api.Fail as e:
        return str(e)


# ---------------------------------------------------------------------------
# The bugs

def _bugs():
    from staff.tests.test_grading import substitute as sub

    def body(*lines):
        """An edit replacing the whole body (lines at the markers' indentation)."""
        def edit(old):
            from staff.tests.test_grading import _indent
            ind = _indent(old)
            return ['\n'] + [ind + line + '\n' for line in lines] + ['\n']
        return edit

    def append(*lines):
        def edit(old):
            from staff.tests.test_grading import _indent
            ind = _indent(old)
            return old + [ind + line + '\n' for line in lines] + ['\n']
        return edit

    no_relu_helper = {'None': sub((r'out, relu_cache = relu_forward\(out\)', 'relu_cache = None'),
                                  (r'dout = relu_backward\(dout, relu_cache\)', 'pass'))}
    fc_reg = lambda *pairs: {'FullyConnectedNet.loss part 2': sub(*pairs)}  # noqa: E731
    tln_reg = lambda *pairs: {'TwoLayerNet.loss part 2': sub(*pairs)}  # noqa: E731
    ln_no_batch = ['mean = x.mean(axis=0)', 'var = x.var(axis=0)',
                   'x_hat = (x - mean) / np.sqrt(var + eps)', 'out = gamma * x_hat + beta',
                   'cache = None']
    fc_init = lambda *pairs: {'FullyConnectedNet.__init__': sub(*pairs)}  # noqa: E731
    tln_init = lambda *pairs: {'TwoLayerNet.__init__': sub(*pairs)}  # noqa: E731
    NORM_NETS = ['fc_net_batchnorm', 'fc_net_layernorm']
    # key: (edits, the parts that must fail and name it[, other keys also named there])
    return {
        'affine-forward-no-bias': ({'affine_forward': sub((r' @ w \+ b', ' @ w'))},
                                   ['affine_forward']),
        'affine-forward-rows-scrambled': (
            {'affine_forward': sub((r'x\.reshape\(x\.shape\[0\], -1\)',
                                    'x.reshape(-1, x.shape[0]).T'))}, ['affine_forward']),
        'affine-backward-dx-not-reshaped': (
            {'affine_backward': sub((r'\(dout @ w\.T\)\.reshape\(x\.shape\)', 'dout @ w.T'))},
            ['affine_backward']),
        'norm-backward-no-mean-branch': (
            {'batchnorm_backward': sub((r'dx = dx_centered \+ dmean / N', 'dx = dx_centered'))},
            ['batchnorm_backward']),
        'norm-backward-no-var-branch': (
            {'batchnorm_backward_alt': sub((r' - x_hat \* \(dx_hat \* x_hat\)\.mean\(axis=0\)',
                                            ''))},
            ['batchnorm_backward_alt', 'layernorm_backward']),
        'batchnorm-stats-over-features': (
            {'batchnorm_forward part 1': sub((r'mean = x\.mean\(axis=0\)',
                                              'mean = x.mean(axis=1, keepdims=True)'))},
            ['batchnorm_forward_train', 'batchnorm_backward', 'batchnorm_backward_alt',
             'layernorm_forward', 'layernorm_backward']),
        'layernorm-no-gamma': (
            {'layernorm_forward': sub((r'out = gamma \* x_hat \+ beta', 'out = x_hat + beta'))},
            ['layernorm_forward']),
        'dropout-backward-new-mask': (
            {'dropout_backward': sub((r'dout \* mask', "dout * (np.random.rand(*dout.shape) "
                                      "< dropout_param['p']) / dropout_param['p']"))},
            ['dropout_backward']),
        'reg-missing-in-some-gradients': (dict(
            tln_reg((r"grads\['W1'\] = dW1 \+ self\.reg \* W1", "grads['W1'] = dW1")),
            **fc_reg((r'\+ self\.reg \* W\b', '+ (i > 1) * self.reg * W'))), NET_PARTS),
        'norm-grads-dropped': (
            {'FullyConnectedNet.loss part 2': sub((r'= dgamma, dbeta', '= 0 * dgamma, dbeta'))},
            NORM_NETS),
        'dropout-never-applied': (
            {'FullyConnectedNet.loss part 1': sub((r'dropout_param=dropout_param,',
                                                   'dropout_param=None,'))}, ['fc_net_dropout']),
        'fc-shares-one-bn-param': (
            {'FullyConnectedNet.loss part 1': sub((r'norm_param=self\.bn_params\[i - 1\]',
                                                   'norm_param=self.bn_params[0]'))},
            ['fc_net_batchnorm']),
        'init-biases-not-zero': (dict(
            tln_init((r"np\.zeros\(hidden_dim\)", 'np.ones(hidden_dim)')),
            **fc_init((r"(self\.params\['b%d' % i\] = )np\.zeros\(dims\[i\]\)",
                       r'\1np.full(dims[i], 0.1)'))), NET_PARTS),
        'init-weights-unscaled': (dict(
            tln_init((r'weight_scale \* np\.random\.randn\(hidden_dim', 'np.random.randn(hidden_dim')),
            **fc_init((r'weight_scale \* np\.random\.randn', 'np.random.randn'))), NET_PARTS),
        'init-gamma-zero': (fc_init((r'np\.ones\(dims\[i\]\)', 'np.zeros(dims[i])')), NORM_NETS),
        'init-normalizes-output-layer': (fc_init((r' and i < self\.num_layers', '')), NORM_NETS),
        'affine-backward-db-mean': (
            {'affine_backward': sub((r'db = dout\.sum\(axis=0\)', 'db = dout.mean(axis=0)'))},
            ['affine_backward']),
        'affine-backward-dw-averaged': (
            {'affine_backward': sub((r'(dw = x\.reshape\(x\.shape\[0\], -1\)\.T @ dout)',
                                     r'\1 / x.shape[0]'))}, ['affine_backward']),
        'relu-forward-leaky': (
            {'relu_forward': sub((r'np\.maximum\(0, x\)', 'np.maximum(0.01 * x, x)'))},
            ['relu_forward']),
        'relu-backward-no-dout': (
            {'relu_backward': sub((r'dout \* \(x > 0\)', '1.0 * (x > 0)'))}, ['relu_backward']),
        'softmax-dx-no-onehot': (
            {'softmax_loss': sub((r'dx\[np\.arange\(N\), y\] -= 1', 'dx[np.arange(N), y] -= 0'))},
            ['softmax_loss']),
        'svm-no-margin': (
            {'svm_loss': sub((r'x - correct_scores \+ 1', 'x - correct_scores'))}, ['svm_loss']),
        'svm-dx-correct-class': (
            {'svm_loss': sub((r'dx\[np\.arange\(N\), y\] = -dx\.sum\(axis=1\)',
                              'dx[np.arange(N), y] = 0'))}, ['svm_loss']),
        'batchnorm-test-forgets-beta': (
            {'batchnorm_forward part 2': sub((r'(np\.sqrt\(running_var \+ eps\)) \+ beta',
                                              r'\1'))}, ['batchnorm_forward_test']),
        'norm-backward-dbeta-mean': (
            {'batchnorm_backward': sub((r'dbeta = dout\.sum\(axis=0\)',
                                        'dbeta = dout.mean(axis=0)'))}, ['batchnorm_backward']),
        'norm-backward-dgamma-without-xhat': (
            {'batchnorm_backward_alt': sub((r'dgamma = \(dout \* x_hat\)\.sum\(axis=0\)',
                                            'dgamma = dout.sum(axis=0)'))},
            ['batchnorm_backward_alt']),
        'norm-backward-no-gamma': (
            {'batchnorm_backward_alt': sub((r'dx_hat = dout \* gamma', 'dx_hat = dout'))},
            ['batchnorm_backward_alt']),
        'relu-backward-times-output': (
            {'relu_backward': sub((r'\(x > 0\)', 'np.maximum(x, 0)'))}, ['relu_backward']),
        'relu-backward-mask-from-dout': (
            {'relu_backward': sub((r'\(x > 0\)', '(dout > 0)'))}, ['relu_backward']),
        'relu-backward-mask-inverted': (
            {'relu_backward': sub((r'\(x > 0\)', '(x <= 0)'))}, ['relu_backward']),
        'softmax-no-max-shift': (
            {'softmax_loss': sub((r'x - x\.max\(axis=1, keepdims=True\)', 'x'))},
            ['softmax_loss']),
        'softmax-dx-not-divided-by-n': (
            {'softmax_loss': sub((r'\n\s*dx /= N', ''))}, ['softmax_loss']),
        'softmax-loss-not-averaged': (
            {'softmax_loss': sub((r'\]\.mean\(\)', '].sum()'))}, ['softmax_loss']),
        'svm-margin-counts-correct-class': (
            {'svm_loss': sub((r'\n\s*margins\[np\.arange\(N\), y\] = 0', ''))}, ['svm_loss']),
        'svm-dx-not-divided-by-n': ({'svm_loss': sub((r'\n\s*dx /= N', ''))}, ['svm_loss']),
        'svm-loss-not-averaged': (
            {'svm_loss': sub((r'margins\.sum\(\) / N', 'margins.sum()'))}, ['svm_loss']),
        'batchnorm-train-uses-running-stats': (
            {'batchnorm_forward part 1': sub((r'\(x - mean\) / std',
                                              '(x - running_mean) / np.sqrt(running_var + eps)'))},
            ['batchnorm_forward_train']),
        'batchnorm-momentum-swapped': (
            {'batchnorm_forward part 1': sub(
                (r'momentum \* (running_\w+) \+ \(1 - momentum\) \* (\w+)',
                 r'(1 - momentum) * \1 + momentum * \2'))}, ['batchnorm_forward_train']),
        'batchnorm-running-mean-momentum-swapped': (
            {'batchnorm_forward part 1': sub(
                (r'momentum \* running_mean \+ \(1 - momentum\) \* mean',
                 '(1 - momentum) * running_mean + momentum * mean'))},
            ['batchnorm_forward_train']),
        'batchnorm-running-var-momentum-swapped': (
            {'batchnorm_forward part 1': sub(
                (r'momentum \* running_var \+ \(1 - momentum\) \* var',
                 '(1 - momentum) * running_var + momentum * var'))},
            ['batchnorm_forward_train']),
        'batchnorm-running-var-of-std': (
            {'batchnorm_forward part 1': sub(
                (r'\(1 - momentum\) \* var\b', '(1 - momentum) * std'))},
            ['batchnorm_forward_train']),
        'batchnorm-no-gamma': (
            {'batchnorm_forward part 1': sub((r'out = gamma \* x_hat \+ beta',
                                              'out = x_hat + beta'))},
            ['batchnorm_forward_train']),
        'batchnorm-running-var-not-updated': (
            {'batchnorm_forward part 1': sub((r'\n\s*running_var = [^\n]*', ''))},
            ['batchnorm_forward_train']),
        'batchnorm-eps-missing': (
            {'batchnorm_forward part 1': sub((r'np\.sqrt\(var \+ eps\)', 'np.sqrt(var)')),
             'batchnorm_forward part 2': sub((r'np\.sqrt\(running_var \+ eps\)',
                                              'np.sqrt(running_var)'))},
            ['batchnorm_forward_train', 'batchnorm_forward_test']),
        'batchnorm-eps-hard-coded': (
            {'batchnorm_forward part 1': sub((r'var \+ eps', 'var + 1e-5')),
             'batchnorm_forward part 2': sub((r'running_var \+ eps', 'running_var + 1e-5'))},
            ['batchnorm_forward_train', 'batchnorm_forward_test']),
        'batchnorm-unbiased-variance': (
            {'batchnorm_forward part 1': sub((r'x\.var\(axis=0\)', 'x.var(axis=0, ddof=1)'))},
            ['batchnorm_forward_train']),
        'batchnorm-test-uses-batch-stats': (
            {'batchnorm_forward part 2': sub((r'\brunning_mean\b', 'x.mean(axis=0)'),
                                             (r'\brunning_var\b', 'x.var(axis=0)'))},
            ['batchnorm_forward_test']),
        'layernorm-over-batch-axis': ({'layernorm_forward': body(*ln_no_batch)},
                                      ['layernorm_forward']),
        'layernorm-eps-missing': ({'layernorm_forward': body(
            'mean = x.mean(axis=1, keepdims=True)', 'var = x.var(axis=1, keepdims=True)',
            'out = gamma * (x - mean) / np.sqrt(var) + beta', 'cache = None')},
            ['layernorm_forward']),
        'layernorm-eps-hard-coded': (
            {'layernorm_forward': sub((r"\{'mode': 'train', 'eps': eps\}", "{'mode': 'train'}"))},
            ['layernorm_forward']),
        'layernorm-backward-over-batch-axis': ({'layernorm_backward': body(
            'x_hat, gamma, bn_cache = cache', 'std = bn_cache.cache[3][:, None]',
            'dbeta = dout.sum(axis=0)', 'dgamma = (dout * x_hat).sum(axis=0)',
            'dx_hat = dout * gamma',
            'dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std')},
            ['layernorm_backward']),
        'dropout-not-inverted': ({'dropout_forward part 1': sub((r'\s*/\s*p\b', ''))},
                                 ['dropout_forward']),
        'dropout-test-time-scaled': (
            {'dropout_forward part 1': sub((r'\s*/\s*p\b', '')),
             'dropout_forward part 2': sub((r'\bout = x\b', 'out = x * p'))},
            ['dropout_forward'], ['dropout-not-inverted']),
        'dropout-train-scaled-by-p': ({'dropout_forward part 1': sub((r'/ p\b', '* p'))},
                                      ['dropout_forward']),
        'dropout-drop-probability': ({'dropout_forward part 1': sub((r'< p\b', '> p'))},
                                     ['dropout_forward']),
        'dropout-scaled-by-1-minus-p': (
            {'dropout_forward part 1': sub((r'< p\b', '> p'), (r'/ p\b', '/ (1 - p)'))},
            ['dropout_forward'], ['dropout-drop-probability']),
        'dropout-backward-mask-unscaled': (
            {'dropout_backward': sub((r'dout \* mask', 'dout * (mask != 0)'))},
            ['dropout_backward']),
        'dropout-backward-ignores-mask': (
            {'dropout_backward': sub((r'dout \* mask', 'dout'))}, ['dropout_backward']),
        'relu-on-scores': (
            {'TwoLayerNet.loss part 1': append('scores = np.maximum(scores, 0)'),
             'FullyConnectedNet.loss part 1': append('scores = np.maximum(scores, 0)')},
            NET_PARTS),
        'no-hidden-relu': (
            dict(no_relu_helper, **{'TwoLayerNet.loss part 1': sub(
                (r'affine_relu_forward\(', 'affine_forward(')),
                'TwoLayerNet.loss part 2': sub((r'affine_relu_backward\(', 'affine_backward('))}),
            NET_PARTS),
        'reg-missing': (dict(
            tln_reg((r'\n\s*loss \+= [^\n]*', ''), (r' \+ self\.reg \* W\d', '')),
            **fc_reg((r'\n\s*loss \+= [^\n]*', ''), (r' \+ self\.reg \* W', ''))), NET_PARTS),
        'reg-missing-in-gradients': (dict(
            tln_reg((r' \+ self\.reg \* W\d', '')), **fc_reg((r' \+ self\.reg \* W', ''))),
            NET_PARTS),
        'reg-missing-in-loss': (dict(
            tln_reg((r'\n\s*loss \+= [^\n]*', '')), **fc_reg((r'\n\s*loss \+= [^\n]*', ''))),
            NET_PARTS),
        'reg-not-halved': (dict(
            tln_reg((r'0\.5 \* self\.reg', 'self.reg')),
            **fc_reg((r'0\.5 \* self\.reg', 'self.reg'))), NET_PARTS),
        'reg-factor-2': (dict(
            tln_reg((r'0\.5 \* self\.reg', 'self.reg'), (r'\+ self\.reg \*', '+ 2 * self.reg *')),
            **fc_reg((r'0\.5 \* self\.reg', 'self.reg'), (r'\+ self\.reg \*', '+ 2 * self.reg *'))),
            NET_PARTS),
        'reg-gradient-doubled': (dict(
            tln_reg((r'\+ self\.reg \*', '+ 2 * self.reg *')),
            **fc_reg((r'\+ self\.reg \*', '+ 2 * self.reg *'))), NET_PARTS),
        'reg-on-biases': ({'FullyConnectedNet.loss part 2': append(
            'for i in range(1, L + 1):', "    b = self.params['b%d' % i]",
            '    loss += 0.5 * self.reg * np.sum(b * b)',
            "    grads['b%d' % i] = grads['b%d' % i] + self.reg * b")}, FCN_PARTS),
        'adam-bias-correction-beta2-squared': (
            {'adam': sub((r'beta2 \*\* t\b', 'beta2 ** 2'))}, ['adam']),
        'adam-no-bias-correction': (
            {'adam': sub((r' / \(1 - beta\d \*\* t\)', ''))}, ['adam']),
        'adam-m-not-bias-corrected': (
            {'adam': sub((r" / \(1 - beta1 \*\* t\)", ''))}, ['adam']),
        'adam-v-of-abs-dw': (
            {'adam': sub((r'\(1 - beta2\) \* dw \*\* 2', '(1 - beta2) * np.abs(dw)'))},
            ['adam']),
        'adam-t-not-incremented': (
            {'adam': sub((r"config\['t'\] \+= 1\n(\s*)t = config\['t'\]",
                          r"t = config['t'] + 1"))}, ['adam']),
        'adam-t-incremented-after-correction': (
            {'adam': substitute_then_append(
                sub((r"config\['t'\] \+= 1\n\s*", '')), "config['t'] += 1")}, ['adam']),
        'rmsprop-missing-sqrt': (
            {'rmsprop': sub((r"np\.sqrt\(config\['cache'\]\)", "config['cache']"))},
            ['rmsprop']),
        'rmsprop-decay-swapped': (
            {'rmsprop': sub((r"decay_rate \* config\['cache'\] \+ \(1 - decay_rate\)",
                             "(1 - decay_rate) * config['cache'] + decay_rate"))}, ['rmsprop']),
        'rmsprop-eps-in-cache': (
            {'rmsprop': sub((r'dw \*\* 2\n', "dw ** 2 + config['epsilon']\n"))}, ['rmsprop']),
        'sgd-momentum-velocity-sign': (
            {'sgd_momentum': sub((r"v - config\['learning_rate'\]", "v + config['learning_rate']"),
                                 (r'w \+ v', 'w - v'))}, ['sgd_momentum']),
        'sgd-momentum-uphill': (
            {'sgd_momentum': sub((r"v - config\['learning_rate'\]",
                                  "v + config['learning_rate']"))}, ['sgd_momentum']),
        'sgd-momentum-velocity-not-stored': (
            {'sgd_momentum': sub((r'\bv = ', 'new_v = '), (r'w \+ v', 'w + new_v'))},
            ['sgd_momentum']),
        'sgd-momentum-no-momentum': (
            {'sgd_momentum': sub((r'w \+ v', "w - config['learning_rate'] * dw"))},
            ['sgd_momentum']),
        'sgd-momentum-lr-on-velocity': (
            {'sgd_momentum': sub((r" - config\['learning_rate'\] \* dw", ' - dw'),
                                 (r'w \+ v', "w + config['learning_rate'] * v"))},
            ['sgd_momentum']),
    }


def substitute_then_append(edit, line):
    def both(old):
        from staff.tests.test_grading import _indent
        new = edit(old)
        return new + [_indent(old) + line + '\n', '\n']
    return both


# ---------------------------------------------------------------------------
# Fixtures: one package per bug, probed in parallel

def write_package(starter, dest, edits=None):
    """Copy the starter to dest with the model answers in its regions, `edits`
    ({'function' or 'function part K': edit(body) -> body}) applied to them;
    every edit must find its region. Returns dest."""
    from staff.release import regions as R
    from staff.tests import test_grading as TG
    shutil.copytree(starter, dest)
    edits = dict(edits or {})
    for path in TG.code_files(starter):
        text = TG.read(starter, path)
        regions = R.py_regions(text, path)
        answers = TG.solution_bodies(path)

        def body(r):
            key = next((k for k in ('%s part %d' % (r.function, r.part), str(r.function))
                        if k in edits), None)
            answer = answers[(r.function, r.part)]
            return edits.pop(key)(answer) if key else answer
        new = R.replace_bodies(text, regions, [body(r) for r in regions])
        with open(os.path.join(dest, path), 'w', encoding='utf-8') as f:
            f.write(new)
    assert not edits, 'no region for the edit(s) %s' % sorted(edits)
    return dest


def write_alt_package(starter, dest):
    """Copy the starter to dest with the alternative solution spliced in."""
    from staff.alt_solution import run as ALT
    shutil.copytree(starter, dest)
    ALT.splice_release(dest)
    return dest


@pytest.fixture(scope='module')
def starter(tmp_path_factory):
    from staff.release import starter as REL
    out = str(tmp_path_factory.mktemp('mistakes-starter') / 'starter')
    REL.release(out)
    return out


@pytest.fixture(scope='module')
def probed(tmp_path_factory, starter):
    base = tmp_path_factory.mktemp('mistakes')
    everything = sorted(_all_parts())
    jobs = {key: (write_package(starter, str(base / key), spec[0]), spec[1])
            for key, spec in _bugs().items()}
    jobs['solution'] = (write_package(starter, str(base / 'solution')), everything)
    jobs['alt'] = (write_alt_package(starter, str(base / 'alt')), everything)
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {key: pool.submit(probe_workspace, ws, parts)
                   for key, (ws, parts) in jobs.items()}
        return {key: f.result() for key, f in futures.items()}


def _all_parts():
    from staff.assignment import parts as P
    return P.load_parts()


BUG_KEYS = sorted(_bugs())


@pytest.mark.parametrize('bug', BUG_KEYS)
def test_each_bug_fails_its_parts_and_is_named_there(probed, bug):
    spec = _bugs()[bug]
    parts, also = spec[1], (spec[2] if len(spec) > 2 else [])
    # the message names first the function the bug is in, or the part's own
    spliced = {key.split(' part ')[0] for key in spec[0]}
    for part in parts:
        data = probed[bug][part]
        if '__error__' in data:   # the given code refused what the bug computed
            named = dict(M.name_mistakes(part, {'__error__': data['__error__']}))
            assert bug in named, (part, data['__error__'], named)
        else:
            assert judged(part, data) is not None, '%s passes %s: it costs no points' % (bug,
                                                                                           part)
            named = dict(M.name_mistakes(part, data))
            assert bug in named, (part, judged(part, data), named)
        assert set(named) <= {bug} | set(also), (part, named)
        first = named[bug].split(':')[0]
        assert first in spliced | set(_all_parts()[part].functions) | {
            M.FUNCTION_OF.get(part, part)}, named[bug]


def test_every_catalogue_entry_has_a_bug_here():
    """A mistake no test produces is a matcher no test checks."""
    assert {key for _, key, _, _ in M.catalogue()} == set(BUG_KEYS)


@pytest.mark.parametrize('who', ['solution', 'alt'])
def test_correct_solutions_pass_and_name_nothing(probed, who):
    for part, data in probed[who].items():
        assert judged(part, data) is None, (who, part, judged(part, data))
        assert M.name_mistakes(part, data) == [], (who, part)


def test_a_correct_result_with_a_mistakes_inputs_names_nothing(probed):
    """Judged-correct results never match: every part of the model answers,
    and name_mistakes on malformed results returns [] rather than raising."""
    for part in probed['solution']:
        assert M.name_mistakes(part, {}) == []
        assert M.name_mistakes(part, {'__error__': 'x'}) == []
        assert M.name_mistakes(part, None) == []
    assert M.name_mistakes('no such part', {0: np.zeros(3)}) == []


def test_a_matcher_that_raises_counts_as_no_match(probed):
    data = probed['relu-backward-times-output']['relu_backward']
    broken = dict(data)
    broken[0] = 'not an array'
    assert M.name_mistakes('relu_backward', broken) == []
    assert M.name_mistakes('relu_backward', data)


def test_two_mistakes_at_once_name_neither(probed):
    """No guessing: the results match no single mistake's formula."""
    a = probed['adam-bias-correction-beta2-squared']['adam']
    b = probed['adam-no-bias-correction']['adam']
    mixed = {k: (a[k] if k % 2 else b[k]) for k in a}
    assert judged('adam', mixed) is not None
    assert M.name_mistakes('adam', mixed) == []


def test_the_grader_names_mistakes_that_end_a_part_in_an_error(tmp_path, starter):
    """Through the real session and sandbox: a result the given code refused
    (the part ends in its error), a net whose layer modes both ended in an
    error, and a wrong __init__ (the judge stops at the init), in one package."""
    from staff.grading import grader
    from staff.tests.test_grading import SANDBOX
    keys = ['affine-backward-dx-not-reshaped', 'fc-shares-one-bn-param', 'init-biases-not-zero']
    edits = {}
    for key in keys:
        edits.update(_bugs()[key][0])
    workspace = write_package(starter, str(tmp_path / 'three-bugs'), edits)
    rubric = grader.load_rubric()
    rubric.items = [i for i in rubric.items if i.kind == 'part']
    result = grader.grade(workspace, starter, rubric, sandbox=SANDBOX,
                          settings={'part_timeout': 30})
    named = {p.name: [k for k, _ in p.mistakes] for p in result.parts if not p.passed}
    assert named.pop('affine_backward') == ['affine-backward-dx-not-reshaped']
    # two mistakes in separate results (the init, the loss) are both named
    assert named.pop('fc_net_batchnorm') == ['fc-shares-one-bn-param', 'init-biases-not-zero']
    assert set(named) == set(NET_PARTS) - {'fc_net_batchnorm'}, named
    assert all(v == ['init-biases-not-zero'] for v in named.values()), named
