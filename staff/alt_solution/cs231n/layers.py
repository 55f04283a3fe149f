# Alternative solution of cs231n/layers.py: one section per solution region,
# keyed "# @@ <function>" or "# @@ <function> part <k>" (see ../README.md).
# Written the textbook way, deliberately unlike the model answers: dict caches,
# the graph backward with np.ones, running averages updated in place, a
# binomial dropout mask, layer norm through this batchnorm on the transposed
# problem (with ln_param and a flag, gamma and beta reshaped to (D, 1)), and
# the softmax and SVM losses that the official starter gave in 2019/2020.

# @@ affine_forward
N = x.shape[0]
x_rows = np.reshape(x, (N, -1))
out = x_rows.dot(w) + b

# @@ affine_backward
N = x.shape[0]
x_rows = x.reshape(N, int(np.prod(x.shape[1:])))
dx = dout.dot(w.T).reshape(*x.shape)
dw = x_rows.T.dot(dout)
db = np.sum(dout, axis=0)

# @@ relu_forward
out = x.copy()
out[out < 0] = 0

# @@ relu_backward
dx = dout.copy()
dx[x <= 0] = 0

# @@ softmax_loss
# The softmax_loss given in the official starter of 2019 and 2020, as it was.
shifted_logits = x - np.max(x, axis=1, keepdims=True)
Z = np.sum(np.exp(shifted_logits), axis=1, keepdims=True)
log_probs = shifted_logits - np.log(Z)
probs = np.exp(log_probs)
N = x.shape[0]
loss = -np.sum(log_probs[np.arange(N), y]) / N
dx = probs.copy()
dx[np.arange(N), y] -= 1
dx /= N

# @@ svm_loss
# The svm_loss given in the official starter of 2018 to 2020, as it was.
N = x.shape[0]
correct_class_scores = x[np.arange(N), y]
margins = np.maximum(0, x - correct_class_scores[:, np.newaxis] + 1.0)
margins[np.arange(N), y] = 0
loss = np.sum(margins) / N
num_pos = np.sum(margins > 0, axis=1)
dx = np.zeros_like(x)
dx[margins > 0] = 1
dx[np.arange(N), y] -= num_pos
dx /= N

# @@ batchnorm_forward part 1
sample_mean = np.mean(x, axis=0)
xmu = x - sample_mean
sample_var = np.mean(xmu * xmu, axis=0)
sqrtvar = np.sqrt(sample_var + eps)
ivar = 1.0 / sqrtvar
xhat = xmu * ivar
out = gamma * xhat + beta
# The layer norm below runs this code on x.T and sets this flag: its
# "batch" is a data point's features, whose statistics need no average.
if not bn_param.get('layernorm', False):
    running_mean *= momentum
    running_mean += (1 - momentum) * sample_mean
    running_var *= momentum
    running_var += (1 - momentum) * sample_var
cache = {'xhat': xhat, 'xmu': xmu, 'ivar': ivar, 'sqrtvar': sqrtvar, 'var': sample_var,
         'gamma': gamma, 'eps': eps}

# @@ batchnorm_forward part 2
scale = gamma / np.sqrt(running_var + eps)
out = x * scale + (beta - running_mean * scale)

# @@ batchnorm_backward
xhat, xmu, ivar = cache['xhat'], cache['xmu'], cache['ivar']
sqrtvar, var, gamma, eps = cache['sqrtvar'], cache['var'], cache['gamma'], cache['eps']
N, D = dout.shape
dbeta = np.sum(dout, axis=0)
dgamma = np.sum(dout * xhat, axis=0)
dxhat = dout * gamma
divar = np.sum(dxhat * xmu, axis=0)
dxmu1 = dxhat * ivar
dsqrtvar = -1.0 / (sqrtvar ** 2) * divar
dvar = 0.5 * 1.0 / np.sqrt(var + eps) * dsqrtvar
dsq = 1.0 / N * np.ones((N, D)) * dvar
dxmu2 = 2 * xmu * dsq
dx1 = dxmu1 + dxmu2
dmu = -1 * np.sum(dxmu1 + dxmu2, axis=0)
dx2 = 1.0 / N * np.ones((N, D)) * dmu
dx = dx1 + dx2

# @@ batchnorm_backward_alt
xhat, ivar, gamma = cache['xhat'], cache['ivar'], cache['gamma']
N = dout.shape[0]
dbeta = dout.sum(axis=0)
dgamma = np.sum(xhat * dout, axis=0)
g = dout * gamma
dx = (ivar / N) * (N * g - g.sum(axis=0) - xhat * np.sum(g * xhat, axis=0))

# @@ layernorm_forward
# The TODO's hint, as public repositories take it: batch norm of the
# transposed problem through the batchnorm_forward above, called with
# ln_param itself, in train mode and with a flag that skips the running
# averages; gamma and beta reshaped to (D, 1) scale and shift the rows of
# x.T (the features of x). batchnorm_forward's given code leaves running
# statistics of shape (N,) in ln_param, of whatever N the last call had.
ln_param['mode'] = 'train'
ln_param['layernorm'] = True
out_t, bn_cache = batchnorm_forward(x.T, gamma.reshape(-1, 1), beta.reshape(-1, 1), ln_param)
out = out_t.T
cache = {'bn': bn_cache}

# @@ layernorm_backward
# The batchnorm_backward above on the transposed problem gives dx; its dgamma
# and dbeta sum over the wrong axis for layer norm, so they are summed here
# from the batchnorm cache's normalized input.
bn_cache = cache['bn']
dx_t, _, _ = batchnorm_backward(dout.T, bn_cache)
dx = dx_t.T
xhat = bn_cache['xhat'].T
dgamma = np.sum(dout * xhat, axis=0)
dbeta = np.sum(dout, axis=0)

# @@ dropout_forward part 1
# A mask drawn another way than the TODO's example: binomial draws.
mask = np.random.binomial(1, p, size=x.shape) / p
out = x * mask

# @@ dropout_forward part 2
out = x.copy()

# @@ dropout_backward
dx = mask * dout
