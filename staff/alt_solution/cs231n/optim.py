# Alternative solution of cs231n/optim.py (see ../README.md): updates in
# place (w, the velocity, the caches), dw * dw, and Adam with its bias
# corrections folded into the step size and epsilon (Kingma & Ba, section 2).

# @@ sgd_momentum
mu, lr = config['momentum'], config['learning_rate']
v *= mu
v -= lr * dw
w += v
next_w = w

# @@ rmsprop
cache = config['cache']
decay = config['decay_rate']
cache *= decay
cache += (1 - decay) * dw * dw
w -= config['learning_rate'] * dw / (np.sqrt(cache) + config['epsilon'])
next_w = w

# @@ adam
config['t'] += 1
t = config['t']
b1, b2 = config['beta1'], config['beta2']
m, v = config['m'], config['v']
m *= b1
m += (1 - b1) * dw
v *= b2
v += (1 - b2) * (dw * dw)
bias1, bias2 = 1 - b1 ** t, 1 - b2 ** t
step = config['learning_rate'] * np.sqrt(bias2) / bias1
w -= step * m / (np.sqrt(v) + config['epsilon'] * np.sqrt(bias2))
next_w = w
