"""The bugs that produce each known mistake, as edits of the model answers (staff tests only).

known_bugs(): {mistake key: (edits, the parts that must fail and name it[, other
keys also named there])}, spliced with staff/tests/submissions.py.
"""
from staff.tests.submissions import append, indent_of, replace_body, substitute as sub

NET_PARTS = ['two_layer_net', 'fc_net', 'fc_net_batchnorm', 'fc_net_layernorm',
             'fc_net_dropout']
FCN_PARTS = NET_PARTS[1:]


def known_bugs():

    body = replace_body
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
        new = edit(old)
        return new + [indent_of(old) + line + '\n', '\n']
    return both
