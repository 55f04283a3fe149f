"""The catalogue: realistic student bugs, and legitimate variants, as edits of
the model answers.

Each entry is Entry(name, kind, edits, note):
- kind: 'bug' (the public self-check should fail) or 'variant' (a correct
  way of writing the code, which nothing may reject);
- edits: [(path, region key, old, new)], the region keyed as in
  staff/alt_solution ('batchnorm_forward part 1', 'FullyConnectedNet.loss
  part 2'); `old` must occur exactly once in the model answer of that region
  and is replaced by `new`, whose further lines get the indentation of the
  line `old` starts on. `old` None replaces the whole body by `new`, written
  at column 0.

Sources: the official assignment's pain points (../shared/reference,
section 6: the missing 0.5 of the L2 term, regularized biases, float32
gradient checks, p as the drop probability, the softmax overflow), the
classic bugs the grading tests plant (ReLU on the scores, dropout without
1/p, a running average never updated, Adam without bias correction, a
dgamma without x_hat), and the ones issue 21 names.
"""
import collections

Entry = collections.namedtuple('Entry', 'name kind edits note')

L = 'cs231n/layers.py'
F = 'cs231n/classifiers/fc_net.py'
O = 'cs231n/optim.py'


def bug(name, path, key, old, new, note=''):
    return Entry(name, 'bug', [(path, key, old, new)], note)


def variant(name, edits, note=''):
    return Entry(name, 'variant', edits, note)


BN1 = 'batchnorm_forward part 1'
BN2 = 'batchnorm_forward part 2'
TL1, TL2 = 'TwoLayerNet.loss part 1', 'TwoLayerNet.loss part 2'
FC1, FC2 = 'FullyConnectedNet.loss part 1', 'FullyConnectedNet.loss part 2'

BUGS = [
    # affine
    bug('affine_forward_no_bias', L, 'affine_forward', '@ w + b', '@ w'),
    bug('affine_forward_scrambled_rows', L, 'affine_forward', 'x.reshape(x.shape[0], -1)',
        'x.reshape(-1, x.shape[0]).T', 'reshapes the batch axis last'),
    bug('affine_backward_dx_not_reshaped', L, 'affine_backward',
        'dx = (dout @ w.T).reshape(x.shape)', 'dx = dout @ w.T'),
    bug('affine_backward_db_mean', L, 'affine_backward', 'db = dout.sum(axis=0)',
        'db = dout.mean(axis=0)'),
    bug('affine_backward_dw_averaged', L, 'affine_backward',
        'dw = x.reshape(x.shape[0], -1).T @ dout', 'dw = x.reshape(x.shape[0], -1).T @ dout / x.shape[0]'),
    # relu
    bug('relu_forward_leaky', L, 'relu_forward', 'np.maximum(0, x)', 'np.maximum(0.01 * x, x)'),
    bug('relu_forward_in_place', L, 'relu_forward', 'np.maximum(0, x)',
        'np.maximum(0, x, out=x)', 'issue 27: the first message blamed relu_backward'),
    bug('relu_backward_no_dout', L, 'relu_backward', 'dout * (x > 0)', '1.0 * (x > 0)'),
    bug('relu_backward_mask_of_dout', L, 'relu_backward', 'dout * (x > 0)', 'dout * (dout > 0)'),
    # losses
    bug('softmax_no_shift', L, 'softmax_loss', 'shifted = x - x.max(axis=1, keepdims=True)',
        'shifted = x', 'issue 21: a bare RuntimeWarning before'),
    bug('softmax_shift_global_max', L, 'softmax_loss',
        'shifted = x - x.max(axis=1, keepdims=True)', 'shifted = x - x.max()'),
    bug('softmax_loss_summed', L, 'softmax_loss', 'loss = -log_probs[np.arange(N), y].mean()',
        'loss = -log_probs[np.arange(N), y].sum()'),
    bug('softmax_dx_not_averaged', L, 'softmax_loss', 'dx /= N', 'dx = dx'),
    bug('softmax_dx_no_onehot', L, 'softmax_loss', 'dx[np.arange(N), y] -= 1',
        'dx[np.arange(N), y] -= 0'),
    bug('svm_no_margin', L, 'svm_loss', 'x - correct_scores + 1', 'x - correct_scores'),
    bug('svm_correct_class_counted', L, 'svm_loss', 'margins[np.arange(N), y] = 0',
        'margins = margins'),
    bug('svm_dx_correct_class', L, 'svm_loss', 'dx[np.arange(N), y] = -dx.sum(axis=1)',
        'dx[np.arange(N), y] = 0'),
    # batchnorm forward
    bug('bn_unbiased_var', L, BN1, 'var = x.var(axis=0)', 'var = x.var(axis=0, ddof=1)'),
    bug('bn_no_eps', L, BN1, 'std = np.sqrt(var + eps)', 'std = np.sqrt(var)',
        'issue 21: failed one test by 1e-8'),
    bug('bn_hardcoded_eps', L, BN1, 'std = np.sqrt(var + eps)', 'std = np.sqrt(var + 1e-5)',
        'issue 21: survived'),
    bug('bn_test_hardcoded_eps', L, BN2, 'np.sqrt(running_var + eps)',
        'np.sqrt(running_var + 1e-5)'),
    bug('bn_mean_over_features', L, BN1, 'mean = x.mean(axis=0)',
        'mean = x.mean(axis=1, keepdims=True)'),
    bug('bn_running_mean_swapped', L, BN1,
        'running_mean = momentum * running_mean + (1 - momentum) * mean',
        'running_mean = (1 - momentum) * running_mean + momentum * mean'),
    bug('bn_running_var_swapped', L, BN1,
        'running_var = momentum * running_var + (1 - momentum) * var',
        'running_var = (1 - momentum) * running_var + momentum * var',
        'issue 21: named only FullyConnectedNet'),
    bug('bn_running_var_never_updated', L, BN1,
        'running_var = momentum * running_var + (1 - momentum) * var', 'running_var = running_var',
        'issue 21: named only FullyConnectedNet'),
    bug('bn_running_var_of_std', L, BN1,
        'running_var = momentum * running_var + (1 - momentum) * var',
        'running_var = momentum * running_var + (1 - momentum) * std'),
    bug('bn_no_gamma', L, BN1, 'out = gamma * x_hat + beta', 'out = x_hat + beta'),
    bug('bn_test_uses_batch_stats', L, BN2,
        'gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta',
        'gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta'),
    bug('bn_test_forgets_beta', L, BN2,
        'gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta',
        'gamma * (x - running_mean) / np.sqrt(running_var + eps)'),
    # batchnorm backward
    bug('bn_backward_dbeta_mean', L, 'batchnorm_backward', 'dbeta = dout.sum(axis=0)',
        'dbeta = dout.mean(axis=0)'),
    bug('bn_backward_dgamma_without_xhat', L, 'batchnorm_backward',
        'dgamma = (dout * x_hat).sum(axis=0)', 'dgamma = dout.sum(axis=0)'),
    bug('bn_backward_no_mean_branch', L, 'batchnorm_backward', 'dx = dx_centered + dmean / N',
        'dx = dx_centered'),
    bug('bn_backward_no_var_branch', L, 'batchnorm_backward',
        'dx_centered += 2 * x_centered * dvar / N', 'dx_centered += 0 * dvar'),
    bug('bn_alt_missing_xhat_term', L, 'batchnorm_backward_alt',
        'dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std',
        'dx = (dx_hat - dx_hat.mean(axis=0)) / std'),
    bug('bn_alt_no_gamma', L, 'batchnorm_backward_alt', 'dx_hat = dout * gamma', 'dx_hat = dout'),
    # layernorm
    bug('ln_ignores_eps', L, 'layernorm_forward', "{'mode': 'train', 'eps': eps}",
        "{'mode': 'train'}", 'issue 21: survived'),
    bug('ln_no_gamma', L, 'layernorm_forward', 'out = gamma * x_hat + beta', 'out = x_hat + beta'),
    bug('ln_backward_dgamma_without_xhat', L, 'layernorm_backward',
        'dgamma = (dout * x_hat).sum(axis=0)', 'dgamma = dout.sum(axis=0)'),
    bug('ln_backward_no_gamma', L, 'layernorm_backward', '(dout * gamma).T', 'dout.T'),
    # dropout
    bug('dropout_p_is_drop_probability', L, 'dropout_forward part 1',
        'np.random.rand(*x.shape) < p', 'np.random.rand(*x.shape) < 1 - p',
        'pain point 14'),
    bug('dropout_not_inverted', L, 'dropout_forward part 1', '.astype(x.dtype) / p',
        '.astype(x.dtype)'),
    bug('dropout_test_mode_scales', L, 'dropout_forward part 2', 'out = x', 'out = x * p'),
    bug('dropout_backward_new_mask', L, 'dropout_backward', 'dx = dout * mask',
        "dx = dout * (np.random.rand(*dout.shape) < dropout_param['p']) / dropout_param['p']"),
    bug('dropout_backward_unscaled', L, 'dropout_backward', 'dx = dout * mask',
        'dx = dout * (mask > 0)'),
    # TwoLayerNet
    bug('two_layer_relu_on_scores', F, TL1,
        "scores, scores_cache = affine_forward(hidden, self.params['W2'], self.params['b2'])",
        "scores, scores_cache = affine_forward(hidden, self.params['W2'], self.params['b2'])\n"
        "scores = np.maximum(0, scores)", 'issue 21: the best-known bug; survived'),
    Entry('two_layer_no_hidden_relu', 'bug', [
        (F, TL1, 'affine_relu_forward(X,', 'affine_forward(X,'),
        (F, TL2, 'affine_relu_backward(dhidden, hidden_cache)',
         'affine_backward(dhidden, hidden_cache)')], 'issue 21: survived'),
    bug('two_layer_reg_without_half', F, TL2, 'loss += 0.5 * self.reg *', 'loss += self.reg *',
        'pain point 13'),
    bug('two_layer_reg_grad_missing', F, TL2, "grads['W1'] = dW1 + self.reg * W1",
        "grads['W1'] = dW1"),
    bug('two_layer_biases_start_at_one', F, 'TwoLayerNet.__init__',
        "self.params['b1'] = np.zeros(hidden_dim)", "self.params['b1'] = np.ones(hidden_dim)"),
    bug('two_layer_weights_unscaled', F, 'TwoLayerNet.__init__',
        "weight_scale * np.random.randn(hidden_dim, num_classes)",
        "np.random.randn(hidden_dim, num_classes)"),
    # FullyConnectedNet
    bug('fc_relu_on_scores', F, FC1,
        "scores, scores_cache = affine_forward(hidden, self.params['W%d' % L],",
        "scores = np.maximum(0, affine_forward(hidden, self.params['W%d' % L],"
        " self.params['b%d' % L])[0])\n_, scores_cache = affine_forward(hidden, self.params['W%d' % L],"),
    bug('fc_reg_without_half', F, FC2, 'loss += 0.5 * self.reg * np.sum(W * W)',
        'loss += self.reg * np.sum(W * W)', 'pain point 13'),
    bug('fc_reg_grad_missing', F, FC2, "grads['W%d' % i] = grads['W%d' % i] + self.reg * W",
        "grads['W%d' % i] = grads['W%d' % i]"),
    bug('fc_gamma_starts_at_zero', F, 'FullyConnectedNet.__init__',
        "self.params['gamma%d' % i] = np.ones(dims[i])",
        "self.params['gamma%d' % i] = np.zeros(dims[i])"),
    bug('fc_normalizes_last_layer', F, 'FullyConnectedNet.__init__',
        'if normalization is not None and i < self.num_layers:', 'if normalization is not None:'),
    bug('fc_shares_one_bn_param', F, FC1, 'norm_param=self.bn_params[i - 1]',
        'norm_param=self.bn_params[0]'),
    bug('fc_dropout_never_applied', F, FC1, 'dropout_param=dropout_param,', 'dropout_param=None,'),
    bug('fc_dropout_in_test_mode', F, FC1,
        'dropout_param = self.dropout_param if self.use_dropout else None',
        "dropout_param = dict(self.dropout_param, mode='train') if self.use_dropout else None",
        'issue 27: a dropout_param of its own, always in train mode; passed the self-check'),
    bug('fc_gamma_grad_dropped', F, FC2,
        "grads['gamma%d' % i], grads['beta%d' % i] = dgamma, dbeta",
        "grads['gamma%d' % i], grads['beta%d' % i] = 0 * dgamma, dbeta"),
    # update rules
    bug('sgd_momentum_sign', O, 'sgd_momentum', "- config['learning_rate'] * dw",
        "+ config['learning_rate'] * dw"),
    bug('rmsprop_no_sqrt', O, 'rmsprop', "np.sqrt(config['cache'])", "config['cache']"),
    bug('rmsprop_decay_swapped', O, 'rmsprop',
        "decay_rate * config['cache'] + (1 - decay_rate) * dw ** 2",
        "(1 - decay_rate) * config['cache'] + decay_rate * dw ** 2"),
    bug('adam_no_bias_correction', O, 'adam', "m_hat = config['m'] / (1 - beta1 ** t)",
        "m_hat = config['m']"),
    bug('adam_t_after_the_step', O, 'adam', "t = config['t']", "t = config['t'] - 1"),
    bug('adam_v_not_squared', O, 'adam', "(1 - beta2) * dw ** 2", "(1 - beta2) * np.abs(dw)"),
]

LAYERNORM_VIA_BATCHNORM_FORWARD = """\
# The hint: batch norm of the transposed problem, with gamma and beta
# reshaped to (D, 1) so that they scale and shift the rows of x.T.
ln_param['mode'] = 'train'
xt = x.T
out_t, bn_cache = batchnorm_forward(xt, gamma.reshape(-1, 1), beta.reshape(-1, 1),
                                    {'mode': 'train', 'eps': eps})
out = out_t.T
cache = (bn_cache, gamma)
"""

LAYERNORM_VIA_BATCHNORM_BACKWARD = """\
bn_cache, gamma = cache
dx_t, _, _ = batchnorm_backward(dout.T, bn_cache)
dx = dx_t.T
x_hat = bn_cache[1].T
dgamma = np.sum(dout * x_hat, axis=0)
dbeta = np.sum(dout, axis=0)
"""

SOFTMAX_2017 = """\
probs = np.exp(x - np.max(x, axis=1, keepdims=True))
probs /= np.sum(probs, axis=1, keepdims=True)
N = x.shape[0]
loss = -np.sum(np.log(probs[np.arange(N), y])) / N
dx = probs.copy()
dx[np.arange(N), y] -= 1
dx /= N
"""

# The softmax and SVM losses of the official 2019/2020 starter are the
# alternative solution's (staff/alt_solution), which CI runs whole.
VARIANTS = [
    variant('relu_backward_ge_mask', [(L, 'relu_backward', 'dout * (x > 0)', 'dout * (x >= 0)')]),
    variant('relu_forward_where', [(L, 'relu_forward', 'np.maximum(0, x)', 'np.where(x > 0, x, 0)')]),
    variant('relu_forward_in_place_copy', [(L, 'relu_forward', 'out = np.maximum(0, x)',
                                             'out = x.copy()\nout[out < 0] = 0')]),
    variant('affine_forward_einsum', [(L, 'affine_forward', 'x.reshape(x.shape[0], -1) @ w',
                                       "np.einsum('nd,dm->nm', x.reshape(x.shape[0], -1), w)")]),
    variant('bn_running_stats_in_place', [
        (L, BN1, 'running_mean = momentum * running_mean + (1 - momentum) * mean',
         'running_mean *= momentum\nrunning_mean += (1 - momentum) * mean'),
        (L, BN1, 'running_var = momentum * running_var + (1 - momentum) * var',
         'running_var *= momentum\nrunning_var += (1 - momentum) * var')]),
    variant('bn_stats_keepdims', [
        (L, BN1, 'mean = x.mean(axis=0)', 'mean = x.mean(axis=0, keepdims=True)'),
        (L, BN1, 'var = x.var(axis=0)', 'var = x.var(axis=0, keepdims=True)')],
        'running statistics kept as (1, D)'),
    variant('bn_power_instead_of_sqrt', [(L, BN1, 'std = np.sqrt(var + eps)',
                                          'std = (var + eps) ** 0.5')]),
    variant('bn_test_mode_scale_first', [
        (L, BN2, 'out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta',
         'scale = gamma / np.sqrt(running_var + eps)\nout = x * scale + (beta - running_mean * scale)')]),
    variant('layernorm_via_own_batchnorm_transposed', [
        (L, 'layernorm_forward', None, LAYERNORM_VIA_BATCHNORM_FORWARD),
        (L, 'layernorm_backward', None, LAYERNORM_VIA_BATCHNORM_BACKWARD)],
        'issue 21: refused by the given checks before'),
    variant('dropout_binomial_mask', [
        (L, 'dropout_forward part 1', 'mask = (np.random.rand(*x.shape) < p).astype(x.dtype) / p',
         'mask = np.random.binomial(1, p, size=x.shape) / p')],
        'issue 21: refused before'),
    variant('dropout_uniform_bool_mask', [
        (L, 'dropout_forward part 1', 'mask = (np.random.rand(*x.shape) < p).astype(x.dtype) / p\n',
         'mask = np.random.uniform(size=x.shape) < p\n'),
        (L, 'dropout_forward part 1', 'out = x * mask', 'out = x * mask / p'),
        (L, 'dropout_backward', 'dx = dout * mask', "dx = dout * mask / dropout_param['p']")]),
    variant('softmax_official_2017', [(L, 'softmax_loss', None, SOFTMAX_2017)]),
    variant('rmsprop_eps_inside_sqrt', [
        (O, 'rmsprop', "(np.sqrt(config['cache']) + config['epsilon'])",
         "np.sqrt(config['cache'] + config['epsilon'])")],
        "TensorFlow 1's RMSPropOptimizer; the grader accepted it for some draws only before"),
    variant('sgd_momentum_in_place', [
        (O, 'sgd_momentum', "v = config['momentum'] * v - config['learning_rate'] * dw\n",
         "v *= config['momentum']\nv -= config['learning_rate'] * dw\n"),
        (O, 'sgd_momentum', 'next_w = w + v', 'w += v\nnext_w = w')]),
]

ENTRIES = BUGS + VARIANTS
