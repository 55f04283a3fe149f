# Alternative solution of cs231n/classifiers/fc_net.py (see ../../README.md):
# weights from np.random.normal (the same draws as weight_scale * randn), no
# sandwich helpers, one dict of caches, the graph batchnorm backward, and
# the L2 gradients added in place.

# @@ TwoLayerNet.__init__
self.params.update(
    W1=np.random.normal(0.0, weight_scale, (input_dim, hidden_dim)),
    b1=np.zeros(hidden_dim),
    W2=np.random.normal(0.0, weight_scale, (hidden_dim, num_classes)),
    b2=np.zeros(num_classes),
)

# @@ TwoLayerNet.loss part 1
h, fc1_cache = affine_forward(X, self.params['W1'], self.params['b1'])
h, relu_cache = relu_forward(h)
scores, fc2_cache = affine_forward(h, self.params['W2'], self.params['b2'])

# @@ TwoLayerNet.loss part 2
data_loss, dscores = softmax_loss(scores, y)
reg_loss = 0.5 * self.reg * sum(np.sum(self.params[k] ** 2) for k in ('W1', 'W2'))
loss = data_loss + reg_loss
dh, grads['W2'], grads['b2'] = affine_backward(dscores, fc2_cache)
dh = relu_backward(dh, relu_cache)
_, grads['W1'], grads['b1'] = affine_backward(dh, fc1_cache)
for k in ('W1', 'W2'):
    grads[k] += self.reg * self.params[k]

# @@ FullyConnectedNet.__init__
layer_dims = [input_dim, *hidden_dims, num_classes]
for layer, (fan_in, fan_out) in enumerate(zip(layer_dims[:-1], layer_dims[1:]), start=1):
    self.params['W%d' % layer] = np.random.normal(0.0, weight_scale, size=(fan_in, fan_out))
    self.params['b%d' % layer] = np.zeros(fan_out)
if normalization in ('batchnorm', 'layernorm'):
    for layer in range(1, self.num_layers):
        self.params['gamma%d' % layer] = np.ones(layer_dims[layer])
        self.params['beta%d' % layer] = np.zeros(layer_dims[layer])

# @@ FullyConnectedNet.loss part 1
caches = {}
out = X
for i in range(1, self.num_layers):
    out, caches['affine', i] = affine_forward(out, self.params['W%d' % i],
                                              self.params['b%d' % i])
    if self.normalization == 'batchnorm':
        out, caches['norm', i] = batchnorm_forward(out, self.params['gamma%d' % i],
                                                   self.params['beta%d' % i],
                                                   self.bn_params[i - 1])
    elif self.normalization == 'layernorm':
        out, caches['norm', i] = layernorm_forward(out, self.params['gamma%d' % i],
                                                   self.params['beta%d' % i],
                                                   self.bn_params[i - 1])
    out, caches['relu', i] = relu_forward(out)
    if self.use_dropout:
        out, caches['dropout', i] = dropout_forward(out, self.dropout_param)
last = self.num_layers
scores, caches['affine', last] = affine_forward(out, self.params['W%d' % last],
                                                self.params['b%d' % last])

# @@ FullyConnectedNet.loss part 2
loss, dout = softmax_loss(scores, y)
last = self.num_layers
dout, grads['W%d' % last], grads['b%d' % last] = affine_backward(dout, caches['affine', last])
for i in reversed(range(1, last)):
    if self.use_dropout:
        dout = dropout_backward(dout, caches['dropout', i])
    dout = relu_backward(dout, caches['relu', i])
    if self.normalization == 'batchnorm':
        dout, grads['gamma%d' % i], grads['beta%d' % i] = batchnorm_backward(
            dout, caches['norm', i])
    elif self.normalization == 'layernorm':
        dout, grads['gamma%d' % i], grads['beta%d' % i] = layernorm_backward(
            dout, caches['norm', i])
    dout, grads['W%d' % i], grads['b%d' % i] = affine_backward(dout, caches['affine', i])
reg_loss = 0.0
for i in range(1, last + 1):
    W = self.params['W%d' % i]
    reg_loss += np.sum(W ** 2)
    grads['W%d' % i] += self.reg * W
loss += 0.5 * self.reg * reg_loss
