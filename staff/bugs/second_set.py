"""A second, independent set of realistic student bugs.

Written from the student functions, their docstrings and TODOs, the
assignment's known pain points and the mistakes students post about, without
looking at the main catalogue (then staff/bugs/catalogue.py, now the rows of
staff/assignment/mistakes/catalogue.py) or at the grader's
mistake recogniser. It measures how well the grader names mistakes that it
was not written from:

    python -m staff.bugs --set second --jobs 2
    python -m staff.bugs --set second --grader --jobs 2

Every entry is a real bug: its result is wrong for some valid input (some
only for inputs with more than two dimensions, a non-default eps, a keep
probability other than 0.5, a nonzero reg, or at test time), or, for
s2_relu_fwd_clobbers_input, it overwrites the caller's input (which breaks
the notebook's numerical gradient check of the ReLU).

The entry format is the one the runner understands: Entry(name, kind, edits,
note), edits a list of (path, region key, old, new); `old` occurs exactly once
in the model answer of that region and is replaced by `new`, whose further
lines get the indentation of the line `old` starts on; `old` None replaces
the whole body by `new`, written at column 0.
"""
import collections

Entry = collections.namedtuple('Entry', 'name kind edits note')

LAYERS = 'cs231n/layers.py'
FC_NET = 'cs231n/classifiers/fc_net.py'
OPTIM = 'cs231n/optim.py'
UTILS = 'cs231n/layer_utils.py'


def bug(name, path, key, old, new, note=''):
    """A bug with a single edit."""
    return Entry(name, 'bug', [(path, key, old, new)], note)


def multi(name, edits, note=''):
    """A bug with several edits, each (path, key, old, new)."""
    return Entry(name, 'bug', list(edits), note)


ENTRIES = [
    # ----------------------------------------------------------------- affine
    bug('s2_affine_fwd_bias_forgotten', LAYERS, 'affine_forward',
        '@ w + b', '@ w',
        'the bias is never added'),
    bug('s2_affine_fwd_flatten_fortran_order', LAYERS, 'affine_forward',
        'x.reshape(x.shape[0], -1)', "x.reshape(x.shape[0], -1, order='F')",
        'MATLAB habit: column-major flattening; right for 2-d x, features '
        'permuted for (N, d1, ..., dk)'),
    bug('s2_affine_bwd_db_mean', LAYERS, 'affine_backward',
        'db = dout.sum(axis=0)', 'db = dout.mean(axis=0)',
        'db averaged over the batch instead of summed'),
    bug('s2_affine_bwd_dw_transpose_before_flatten', LAYERS, 'affine_backward',
        'dw = x.reshape(x.shape[0], -1).T @ dout', 'dw = x.T.reshape(-1, x.shape[0]) @ dout',
        'x.T then reshape: right for 2-d x, rows of dw scrambled for 4-d x'),

    # ------------------------------------------------------------------- relu
    bug('s2_relu_fwd_clobbers_input', LAYERS, 'relu_forward',
        'out = np.maximum(0, x)', 'x[x < 0] = 0\nout = x',
        "in place: zeroes the caller's x (out aliases x)"),
    bug('s2_relu_bwd_mask_from_dout', LAYERS, 'relu_backward',
        '(x > 0)', '(dout > 0)',
        'gates the gradient by the sign of dout instead of x'),
    bug('s2_relu_bwd_mask_without_dout', LAYERS, 'relu_backward',
        'dx = dout * (x > 0)', 'dx = (x > 0).astype(x.dtype)',
        'returns the local derivative, forgets the upstream dout'),

    # ---------------------------------------------------------------- softmax
    bug('s2_softmax_shift_by_column_max', LAYERS, 'softmax_loss',
        'x.max(axis=1, keepdims=True)', 'x.max(axis=0)',
        'wrong axis: each class shifted by its own max over the batch'),
    bug('s2_softmax_normalizer_without_keepdims', LAYERS, 'softmax_loss',
        'np.exp(shifted).sum(axis=1, keepdims=True)', 'np.exp(shifted).sum(axis=1)',
        '(N, C) - (N,) broadcasts along the rows (silently when N == C)'),
    bug('s2_softmax_dx_not_averaged', LAYERS, 'softmax_loss',
        'dx /= N', '',
        'loss is a mean but dx is the gradient of the sum'),
    bug('s2_softmax_dx_unnormalized_exp', LAYERS, 'softmax_loss',
        'dx = np.exp(log_probs)', 'dx = np.exp(shifted)',
        'gradient uses exp(scores) instead of the probabilities'),

    # -------------------------------------------------------------------- svm
    bug('s2_svm_correct_class_margin_kept', LAYERS, 'svm_loss',
        'margins[np.arange(N), y] = 0', '',
        'the correct class adds its own margin of 1 to every loss'),
    bug('s2_svm_correct_scores_flat', LAYERS, 'svm_loss',
        'x[np.arange(N), y][:, None]', 'x[np.arange(N), y]',
        '(N, C) - (N,) subtracts along the wrong axis (silently when N == C)'),
    bug('s2_svm_margin_reversed', LAYERS, 'svm_loss',
        'x - correct_scores + 1', 'correct_scores - x + 1',
        'margin written s_y - s_j + 1'),
    bug('s2_svm_dx_counts_zero_margins', LAYERS, 'svm_loss',
        '(margins > 0)', '(margins >= 0)',
        'classes whose hinge is inactive (margin clipped to 0) are counted'),

    # ------------------------------------------------- batchnorm, train mode
    bug('s2_bn_unbiased_variance', LAYERS, 'batchnorm_forward part 1',
        'var = x.var(axis=0)', 'var = x.var(axis=0, ddof=1)',
        'unbiased (N - 1) variance; the layer uses the biased one'),
    bug('s2_bn_eps_hardcoded', LAYERS, 'batchnorm_forward part 1',
        'np.sqrt(var + eps)', 'np.sqrt(var + 1e-6)',
        'ignores bn_param["eps"]'),
    multi('s2_bn_momentum_weights_swapped', [
        (LAYERS, 'batchnorm_forward part 1',
         'momentum * running_mean + (1 - momentum) * mean',
         '(1 - momentum) * running_mean + momentum * mean'),
        (LAYERS, 'batchnorm_forward part 1',
         'momentum * running_var + (1 - momentum) * var',
         '(1 - momentum) * running_var + momentum * var')],
        'momentum weights the new batch statistics, not the running ones'),
    multi('s2_bn_running_stats_written_to_dict', [
        (LAYERS, 'batchnorm_forward part 1',
         'running_mean = momentum * running_mean',
         "bn_param['running_mean'] = momentum * running_mean"),
        (LAYERS, 'batchnorm_forward part 1',
         'running_var = momentum * running_var',
         "bn_param['running_var'] = momentum * running_var")],
        'writes bn_param directly; the code after the region stores the '
        'unchanged locals over it, so the running averages never move'),
    bug('s2_bn_xhat_precedence', LAYERS, 'batchnorm_forward part 1',
        'x_hat = (x - mean) / std', 'x_hat = x - mean / std',
        'missing parentheses: only the mean is divided by std'),
    bug('s2_bn_centers_x_in_place', LAYERS, 'batchnorm_forward part 1',
        'x_hat = (x - mean) / std', 'x -= mean\nx_hat = x / std',
        "centres the caller's x in place; the cached x is then the centred "
        "one, so the graph backward subtracts the mean twice"),

    # -------------------------------------------------- batchnorm, test mode
    bug('s2_bn_test_uses_batch_statistics', LAYERS, 'batchnorm_forward part 2',
        'gamma * (x - running_mean) / np.sqrt(running_var + eps)',
        'gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)',
        'mode confusion: test mode normalizes with the batch statistics'),
    bug('s2_bn_test_divides_by_variance', LAYERS, 'batchnorm_forward part 2',
        'np.sqrt(running_var + eps)', '(running_var + eps)',
        'divides by the running variance, not the standard deviation'),

    # -------------------------------------------- batchnorm backward (graph)
    bug('s2_bnb_dgamma_from_raw_x', LAYERS, 'batchnorm_backward',
        'dgamma = (dout * x_hat).sum(axis=0)', 'dgamma = (dout * x).sum(axis=0)',
        'dgamma multiplies dout by x instead of x_hat'),
    bug('s2_bnb_dvar_exponent_of_var', LAYERS, 'batchnorm_backward',
        '-0.5 * inv_std ** 3', '-0.5 * inv_std ** 1.5',
        '(var + eps) ** -1.5 written with the std: inv_std ** 1.5'),
    bug('s2_bnb_var_path_missing_1_over_N', LAYERS, 'batchnorm_backward',
        'dx_centered += 2 * x_centered * dvar / N', 'dx_centered += 2 * x_centered * dvar',
        'd var / d x taken as 2 (x - mean), without the 1/N of the mean'),
    bug('s2_bnb_dinv_std_not_summed', LAYERS, 'batchnorm_backward',
        'dinv_std = (dx_hat * x_centered).sum(axis=0)', 'dinv_std = dx_hat * x_centered',
        'forgets to sum over the batch; (N, D) broadcasts silently'),

    # ------------------------------------------- batchnorm backward (closed)
    bug('s2_bna_gamma_forgotten', LAYERS, 'batchnorm_backward_alt',
        'dx_hat = dout * gamma', 'dx_hat = dout',
        'dx misses the factor gamma'),
    bug('s2_bna_sum_for_mean', LAYERS, 'batchnorm_backward_alt',
        'dx_hat - dx_hat.mean(axis=0)', 'dx_hat - dx_hat.sum(axis=0)',
        'one term of the simplified formula lost its 1/N'),
    bug('s2_bna_projection_over_features', LAYERS, 'batchnorm_backward_alt',
        '(dx_hat * x_hat).mean(axis=0)', '(dx_hat * x_hat).mean(axis=1, keepdims=True)',
        'wrong axis: the x_hat term averages over the features of each row'),

    # -------------------------------------------------------------- layernorm
    bug('s2_ln_eps_not_passed_on', LAYERS, 'layernorm_forward',
        "{'mode': 'train', 'eps': eps}", "{'mode': 'train'}",
        'the batchnorm it reuses falls back to eps=1e-5, ignoring ln_param["eps"]'),
    bug('s2_ln_cache_holds_output', LAYERS, 'layernorm_forward',
        'cache = (x_hat, gamma, bn_cache)', 'cache = (out, gamma, bn_cache)',
        'caches the scaled and shifted output where x_hat is needed (dgamma)'),
    multi('s2_ln_normalizes_over_batch', [
        (LAYERS, 'layernorm_forward',
         'batchnorm_forward(x.T, np.ones(N, x.dtype), np.zeros(N, x.dtype),',
         'batchnorm_forward(x, np.ones(D, x.dtype), np.zeros(D, x.dtype),'),
        (LAYERS, 'layernorm_forward', 'x_hat = x_hat_t.T', 'x_hat = x_hat_t'),
        (LAYERS, 'layernorm_backward', '(dout * gamma).T', 'dout * gamma'),
        (LAYERS, 'layernorm_backward', 'dx = dx_hat_t.T', 'dx = dx_hat_t')],
        'reuses batchnorm without the transposes: normalizes each feature over '
        'the batch (consistently in both passes)'),
    multi('s2_lnb_gamma_applied_after', [
        (LAYERS, 'layernorm_backward', '(dout * gamma).T', 'dout.T'),
        (LAYERS, 'layernorm_backward', 'dx = dx_hat_t.T', 'dx = dx_hat_t.T * gamma')],
        'multiplies by gamma after the normalization backward, not before'),
    bug('s2_lnb_param_grads_of_transposed_bn', LAYERS, 'layernorm_backward',
        'dx_hat_t, _, _ = batchnorm_backward_alt(', 'dx_hat_t, dgamma, dbeta = batchnorm_backward_alt(',
        "returns the reused batchnorm's dgamma/dbeta (of the transposed problem)"),
    bug('s2_lnb_reshape_for_transpose', LAYERS, 'layernorm_backward',
        'dx = dx_hat_t.T', 'dx = dx_hat_t.reshape(dout.shape)',
        'reshape where a transpose is needed'),

    # ---------------------------------------------------------------- dropout
    bug('s2_dropout_p_as_drop_probability', LAYERS, 'dropout_forward part 1',
        '(np.random.rand(*x.shape) < p).astype(x.dtype) / p',
        '(np.random.rand(*x.shape) > p).astype(x.dtype) / (1 - p)',
        'p read as the probability of dropping a unit'),
    bug('s2_dropout_not_inverted', LAYERS, 'dropout_forward part 1',
        '.astype(x.dtype) / p', '.astype(x.dtype)',
        'vanilla dropout: kept units not scaled by 1/p'),
    multi('s2_dropout_mask_cached_unscaled', [
        (LAYERS, 'dropout_forward part 1', '.astype(x.dtype) / p', '.astype(x.dtype)'),
        (LAYERS, 'dropout_forward part 1', 'out = x * mask', 'out = x * mask / p')],
        'forward scales by 1/p but the cached 0/1 mask does not, so backward misses 1/p'),
    bug('s2_dropout_test_scaled_by_p', LAYERS, 'dropout_forward part 2',
        'out = x', 'out = x * p',
        'test mode scales by p as in non-inverted dropout'),
    bug('s2_dropout_bwd_rescaled_twice', LAYERS, 'dropout_backward',
        'dx = dout * mask', "dx = dout * mask / dropout_param['p']",
        'the mask already holds 1/p; divides by p a second time'),

    # ---------------------------------------------------------------- TwoLayerNet
    bug('s2_tln_init_uniform_weights', FC_NET, 'TwoLayerNet.__init__',
        'np.random.randn(input_dim, hidden_dim)', 'np.random.rand(input_dim, hidden_dim)',
        'rand (uniform on [0, 1)) for randn'),
    bug('s2_tln_init_scale_as_variance', FC_NET, 'TwoLayerNet.__init__',
        'weight_scale * np.random.randn(hidden_dim, num_classes)',
        'np.random.normal(0, weight_scale ** 2, (hidden_dim, num_classes))',
        'W2 std weight_scale ** 2 (weight_scale read as a variance)'),
    multi('s2_tln_relu_on_scores', [
        (FC_NET, 'TwoLayerNet.loss part 1',
         'scores, scores_cache = affine_forward(hidden,',
         'scores, scores_cache = affine_relu_forward(hidden,'),
        (FC_NET, 'TwoLayerNet.loss part 2',
         'affine_backward(dscores, scores_cache)',
         'affine_relu_backward(dscores, scores_cache)')],
        'a ReLU after the last affine layer (consistently in both passes)'),
    bug('s2_tln_reg_loss_without_half', FC_NET, 'TwoLayerNet.loss part 2',
        'loss += 0.5 * self.reg *', 'loss += self.reg *',
        'L2 term without the 0.5 (the gradient keeps reg * W)'),
    multi('s2_tln_biases_regularized', [
        (FC_NET, 'TwoLayerNet.loss part 2',
         'loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))',
         'loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2)\n'
         "                         + np.sum(self.params['b1'] ** 2)\n"
         "                         + np.sum(self.params['b2'] ** 2))"),
        (FC_NET, 'TwoLayerNet.loss part 2',
         "grads['W2'] = dW2 + self.reg * W2",
         "grads['W2'] = dW2 + self.reg * W2\n"
         "grads['b1'] += self.reg * self.params['b1']\n"
         "grads['b2'] += self.reg * self.params['b2']")],
        'biases regularized too, in the loss and the gradients'),

    # ---------------------------------------------------------- FullyConnectedNet
    bug('s2_fcn_init_gamma_on_output_layer', FC_NET, 'FullyConnectedNet.__init__',
        'i < self.num_layers', 'i <= self.num_layers',
        'gamma/beta also created for the last (scores) layer'),
    bug('s2_fcn_init_he_instead_of_weight_scale', FC_NET, 'FullyConnectedNet.__init__',
        'weight_scale * np.random.randn(dims[i - 1], dims[i])',
        'np.random.randn(dims[i - 1], dims[i]) * np.sqrt(2.0 / dims[i - 1])',
        'He initialization, ignoring weight_scale'),
    bug('s2_fcn_one_bn_param_for_all_layers', FC_NET, 'FullyConnectedNet.loss part 1',
        'norm_param=self.bn_params[i - 1]', 'norm_param=self.bn_params[0]',
        'every layer updates the running statistics of the first'),
    bug('s2_fcn_beta_is_gamma', FC_NET, 'FullyConnectedNet.loss part 1',
        "beta=self.params['beta%d' % i]", "beta=self.params['gamma%d' % i]",
        'copy-paste: the layer is shifted by gamma'),
    bug('s2_fcn_bn_forced_to_train', FC_NET, 'FullyConnectedNet.loss part 1',
        'hidden, cache = affine_norm_relu_dropout_forward(',
        "if self.normalization == 'batchnorm':\n"
        "    self.bn_params[i - 1]['mode'] = 'train'\n"
        'hidden, cache = affine_norm_relu_dropout_forward(',
        'mode confusion: sets every bn_param to train, so test time uses batch statistics'),
    bug('s2_fcn_dropout_keep_ratio_flipped', FC_NET, 'FullyConnectedNet.loss part 1',
        'dropout_param = self.dropout_param if self.use_dropout else None',
        "dropout_param = (dict(self.dropout_param, p=1 - self.dropout_param['p'])\n"
        '                 if self.use_dropout else None)',
        'turns the keep ratio into a drop probability before the dropout layer'),
    multi('s2_fcn_gamma_regularized', [
        (FC_NET, 'FullyConnectedNet.loss part 2',
         "grads['gamma%d' % i], grads['beta%d' % i] = dgamma, dbeta",
         "gamma = self.params['gamma%d' % i]\n"
         'loss += 0.5 * self.reg * np.sum(gamma * gamma)\n'
         "grads['gamma%d' % i] = dgamma + self.reg * gamma\n"
         "grads['beta%d' % i] = dbeta")],
        'L2 on gamma as well as on the weights'),
    bug('s2_fcn_last_layer_unregularized', FC_NET, 'FullyConnectedNet.loss part 2',
        'for i in range(1, L + 1):', 'for i in range(1, L):',
        'off by one: the output layer weights get no L2'),
    bug('s2_fcn_dgamma_dbeta_unpacked_swapped', FC_NET, 'FullyConnectedNet.loss part 2',
        'dhidden, dw, db, dgamma, dbeta =', 'dhidden, dw, db, dbeta, dgamma =',
        'unpacks the sandwich gradients in the wrong order'),
    bug('s2_fcn_dscores_averaged_twice', FC_NET, 'FullyConnectedNet.loss part 2',
        'loss, dscores = softmax_loss(scores, y)',
        'loss, dscores = softmax_loss(scores, y)\ndscores /= X.shape[0]',
        'divides the already averaged dscores by N again'),

    # -------------------------------------------------------------- layer_utils
    multi('s2_utils_relu_before_norm', [
        (UTILS, '<module>', 'out, relu_cache = relu_forward(out)\n    dropout_cache = None',
         'dropout_cache = None'),
        (UTILS, '<module>', 'out, fc_cache = affine_forward(x, w, b)',
         'out, fc_cache = affine_forward(x, w, b)\nout, relu_cache = relu_forward(out)'),
        (UTILS, '<module>', 'dout = relu_backward(dout, relu_cache)\n    dgamma = dbeta = None',
         'dgamma = dbeta = None'),
        (UTILS, '<module>', 'dx, dw, db = affine_backward(dout, fc_cache)',
         'dout = relu_backward(dout, relu_cache)\ndx, dw, db = affine_backward(dout, fc_cache)')],
        'affine - relu - norm instead of affine - norm - relu (both passes)'),
    bug('s2_utils_norm_backward_result_dropped', UTILS, '<module>',
        'dout, dgamma, dbeta = norm_backward(dout, norm_cache)',
        'dnorm, dgamma, dbeta = norm_backward(dout, norm_cache)',
        'new name for the normalization dx, then passes the old dout to affine_backward'),

    # ------------------------------------------------------------------ optim
    bug('s2_momentum_steps_with_old_velocity', OPTIM, 'sgd_momentum', None,
        'next_w = w + v\n'
        "v = config['momentum'] * v - config['learning_rate'] * dw\n",
        'updates w before the velocity: the first step does not move'),
    bug('s2_momentum_ema_of_gradients', OPTIM, 'sgd_momentum', None,
        "v = config['momentum'] * v + (1 - config['momentum']) * dw\n"
        "next_w = w - config['learning_rate'] * v\n",
        "velocity as Adam's moving average (1 - momentum) * dw"),
    bug('s2_momentum_hardcoded', OPTIM, 'sgd_momentum',
        "config['momentum'] * v", '0.95 * v',
        'ignores config["momentum"]'),
    bug('s2_rmsprop_no_sqrt', OPTIM, 'rmsprop',
        "np.sqrt(config['cache'])", "config['cache']",
        'divides by the mean square, not its root'),
    multi('s2_rmsprop_cache_not_saved', [
        (OPTIM, 'rmsprop', "config['cache'] = decay_rate * config['cache']",
         "cache = decay_rate * config['cache']"),
        (OPTIM, 'rmsprop', "np.sqrt(config['cache'])", 'np.sqrt(cache)')],
        'the new cache goes to a local; config["cache"] stays zero'),
    bug('s2_adam_t_incremented_after', OPTIM, 'adam', None,
        "beta1, beta2 = config['beta1'], config['beta2']\n"
        "t = config['t']\n"
        "config['m'] = beta1 * config['m'] + (1 - beta1) * dw\n"
        "config['v'] = beta2 * config['v'] + (1 - beta2) * dw ** 2\n"
        'm_hat = config[\'m\'] / (1 - beta1 ** t)\n'
        'v_hat = config[\'v\'] / (1 - beta2 ** t)\n'
        "next_w = w - config['learning_rate'] * m_hat / (np.sqrt(v_hat) + config['epsilon'])\n"
        "config['t'] += 1\n",
        'off by one: t incremented after use (the first step divides by 0)'),
    bug('s2_adam_t_not_stored', OPTIM, 'adam',
        "config['t'] += 1\n    t = config['t']", "t = config['t'] + 1",
        "uses t + 1 but never stores it: every step is corrected as step 1"),
    bug('s2_adam_v_corrected_with_beta1', OPTIM, 'adam',
        '(1 - beta2 ** t)', '(1 - beta1 ** t)',
        'copy-paste: v bias-corrected with beta1'),
    bug('s2_adam_corrected_m_stored', OPTIM, 'adam',
        "m_hat = config['m'] / (1 - beta1 ** t)",
        "config['m'] = config['m'] / (1 - beta1 ** t)\nm_hat = config['m']",
        'stores the bias-corrected first moment back into config["m"]'),
]
