# Alternative solution of cs231n/layers.py: one section per solution region,
# keyed "# @@ <function>" or "# @@ <function> part <k>" (see ../README.md).
# Written the textbook way, deliberately unlike the model answers: dict caches,
# the graph backward with np.ones, the official dropout mask, a layer norm
# of its own.

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
# The loss from the log of the sum of exps (finite even where a probability
# underflows to 0 in float32), the gradient from the probabilities.
N = x.shape[0]
shifted = x - np.max(x, axis=1, keepdims=True)
exp_scores = np.exp(shifted)
sums = np.sum(exp_scores, axis=1, keepdims=True)
loss = np.sum(np.log(sums[:, 0]) - shifted[np.arange(N), y]) / N
dx = exp_scores / sums
dx[np.arange(N), y] -= 1
dx /= N

# @@ svm_loss
N = x.shape[0]
correct = x[np.arange(N), y]
margins = np.maximum(0, x - correct[:, np.newaxis] + 1.0)
margins[np.arange(N), y] = 0
loss = np.sum(margins) / N
positive = margins > 0
dx = np.zeros_like(x)
dx[positive] = 1
dx[np.arange(N), y] -= np.sum(positive, axis=1)
dx /= N

# @@ batchnorm_forward part 1
sample_mean = np.mean(x, axis=0)
xmu = x - sample_mean
sample_var = np.mean(xmu * xmu, axis=0)
sqrtvar = np.sqrt(sample_var + eps)
ivar = 1.0 / sqrtvar
xhat = xmu * ivar
out = gamma * xhat + beta
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
mu = x.mean(axis=1, keepdims=True)
xc = x - mu
row_var = (xc ** 2).mean(axis=1, keepdims=True)
inv_std = 1 / np.sqrt(row_var + eps)
xn = xc * inv_std
out = gamma[np.newaxis, :] * xn + beta[np.newaxis, :]
cache = {'xn': xn, 'inv_std': inv_std, 'gamma': gamma}

# @@ layernorm_backward
xn, inv_std, gamma = cache['xn'], cache['inv_std'], cache['gamma']
D = dout.shape[1]
dgamma = (dout * xn).sum(axis=0)
dbeta = dout.sum(axis=0)
g = dout * gamma
dx = inv_std / D * (D * g - g.sum(axis=1, keepdims=True)
                    - xn * (g * xn).sum(axis=1, keepdims=True))

# @@ dropout_forward part 1
mask = (np.random.rand(*x.shape) < p) / p
out = x * mask

# @@ dropout_forward part 2
out = x.copy()

# @@ dropout_backward
dx = mask * dout
