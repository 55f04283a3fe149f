"""Fully-connected networks with a modular design.

Both nets keep their learnable parameters in the dict self.params and compute
(loss, grads) in loss(X, y), which is the contract the Solver relies on.
"""
import numpy as np

from .. import _given
from ..layer_utils import *  # noqa: F401,F403  (notebooks get every layer from here)
from ..layers import affine_backward, affine_forward, softmax_loss


class TwoLayerNet(object):
    """A two-layer fully-connected neural network with ReLU nonlinearity and
    softmax loss that uses a modular layer design.

    The architecure is affine - relu - affine - softmax. We assume an input
    dimension of D, a hidden dimension of H, and perform classification over
    C classes. The learnable parameters of the model are stored in the
    dictionary self.params that maps parameter names to numpy arrays.
    """

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, dtype=np.float64):
        """
        Inputs:
        - input_dim: An integer giving the size of the input
        - hidden_dim: An integer giving the size of the hidden layer
        - num_classes: An integer giving the number of classes to classify
        - weight_scale: Scalar giving the standard deviation for random
          initialization of the weights.
        - reg: Scalar giving L2 regularization strength.
        - dtype: np.float64 (the default, for gradient checks) or np.float32,
          which trains about twice as fast. Every parameter is cast to it
          after the initialization below.
        """
        _given.prepare_two_layer_net(input_dim, hidden_dim, num_classes, weight_scale, reg, dtype)
        self.params = {}
        self.reg = reg
        #######################################################################
        # TODO: Initialize the weights and biases of the two-layer net.       #
        # Weights should be initialized from a Gaussian centered at 0.0 with  #
        # standard deviation equal to weight_scale, and biases should be      #
        # initialized to zero. Store all weights and biases in the dictionary #
        # self.params, with the keys 'W1' and 'b1' for the first layer and    #
        # 'W2' and 'b2' for the second layer.                                 #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        self.params['W1'] = weight_scale * np.random.randn(input_dim, hidden_dim)
        self.params['b1'] = np.zeros(hidden_dim)
        self.params['W2'] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params['b2'] = np.zeros(num_classes)

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        #######################################################################
        #                            END OF YOUR CODE                         #
        #######################################################################
        _given.finish_net_init(self, input_dim, dtype)

    def loss(self, X, y=None):
        """Compute loss and gradient for a minibatch of data.

        Inputs:
        - X: Array of input data of shape (N, d_1, ..., d_k)
        - y: Array of labels, of shape (N,). y[i] gives the label for X[i].

        Returns:
        If y is None, then run a test-time forward pass of the model and return:
        - scores: Array of shape (N, C) giving classification scores, where
          scores[i, c] is the classification score for X[i] and class c.

        If y is not None, then run a training-time forward and backward pass and
        return a tuple of:
        - loss: Scalar value giving the loss
        - grads: Dictionary with the same keys as self.params, mapping parameter
          names to gradients of the loss with respect to those parameters.
        """
        X = _given.prepare_net_loss(self, X)
        scores = None
        #######################################################################
        # TODO: Implement the forward pass for the two-layer net, computing   #
        # the class scores for X and storing them in the scores variable.     #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        hidden, hidden_cache = affine_relu_forward(X, self.params['W1'], self.params['b1'])
        scores, scores_cache = affine_forward(hidden, self.params['W2'], self.params['b2'])

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        #######################################################################
        #                             END OF YOUR CODE                        #
        #######################################################################
        scores = _given.finish_scores(self, scores, X)
        # If y is None then we are in test mode so just return scores
        if y is None:
            return scores

        loss, grads = 0, {}
        #######################################################################
        # TODO: Implement the backward pass for the two-layer net. Store the  #
        # loss in the loss variable and gradients in the grads dictionary.    #
        # Compute data loss using softmax, and make sure that grads[k] holds  #
        # the gradients for self.params[k]. Don't forget to add L2            #
        # regularization!                                                     #
        #                                                                     #
        # NOTE: To ensure that your implementation matches ours and you pass  #
        # the automated tests, make sure that your L2 regularization includes #
        # a factor of 0.5 to simplify the expression for the gradient.        #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        W1, W2 = self.params['W1'], self.params['W2']
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dhidden, dW2, grads['b2'] = affine_backward(dscores, scores_cache)
        _, dW1, grads['b1'] = affine_relu_backward(dhidden, hidden_cache)
        grads['W1'] = dW1 + self.reg * W1
        grads['W2'] = dW2 + self.reg * W2

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        #######################################################################
        #                             END OF YOUR CODE                        #
        #######################################################################
        return _given.finish_net_loss(self, loss, grads)


class FullyConnectedNet(object):
    """Class for a multi-layer fully connected neural network.

    Network contains an arbitrary number of hidden layers, ReLU nonlinearities,
    and a softmax loss function. This will also implement dropout and batch/layer
    normalization as options. For a network with L layers, the architecture will be

    {affine - [batch/layer norm] - relu - [dropout]} x (L - 1) - affine - softmax

    where batch/layer normalization and dropout are optional and the {...} block is
    repeated L - 1 times.

    Learnable parameters are stored in the self.params dictionary and will be learned
    using the Solver class.
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10,
                 dropout_keep_ratio=None, normalization=None, reg=0.0,
                 weight_scale=1e-2, dtype=np.float32, seed=None, *, dropout=None):
        """Initialize a new FullyConnectedNet.

        Inputs:
        - hidden_dims: A list of integers giving the size of each hidden layer.
        - input_dim: An integer giving the size of the input.
        - num_classes: An integer giving the number of classes to classify.
        - dropout_keep_ratio: Scalar between 0 and 1 giving the probability of
          KEEPING a unit in dropout. If dropout_keep_ratio=1 then the network
          should not use dropout at all; None (the default) means 1.
        - normalization: What type of normalization the network should use. Valid values
          are "batchnorm", "layernorm", or None for no normalization (the default).
        - reg: Scalar giving L2 regularization strength.
        - weight_scale: Scalar giving the standard deviation for random
          initialization of the weights.
        - dtype: A numpy datatype object; all computations will be performed using
          this datatype. float32 is faster but less accurate, so you should use
          float64 for numeric gradient checking.
        - seed: If not None, then pass this random seed to the dropout layers.
          This will make the dropout layers deteriminstic so we can gradient check
          the model.
        - dropout: The 2019/2020 name of dropout_keep_ratio (also a KEEP
          probability), so that older notebooks run. Pass one or the other,
          not both; None (the default) means that it was not passed.
        """
        hidden_dims, dropout_keep_ratio, dtype = _given.prepare_fc_net(
            hidden_dims, input_dim, num_classes, dropout_keep_ratio, dropout, normalization,
            reg, weight_scale, dtype)
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}

        #######################################################################
        # TODO: Initialize the parameters of the network, storing all values  #
        # in the self.params dictionary. Store weights and biases for the     #
        # first layer in W1 and b1; for the second layer use W2 and b2, etc.  #
        # Weights should be initialized from a normal distribution centered   #
        # at 0 with standard deviation equal to weight_scale. Biases should   #
        # be initialized to zero.                                             #
        #                                                                     #
        # When using batch or layer normalization, store scale and shift      #
        # parameters for the first layer in gamma1 and beta1; for the second  #
        # layer use gamma2 and beta2, etc. Scale parameters should be         #
        # initialized to ones and shift parameters should be initialized to   #
        # zeros.                                                              #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        dims = [input_dim] + hidden_dims + [num_classes]
        for i in range(1, self.num_layers + 1):
            self.params['W%d' % i] = weight_scale * np.random.randn(dims[i - 1], dims[i])
            self.params['b%d' % i] = np.zeros(dims[i])
            if normalization is not None and i < self.num_layers:
                self.params['gamma%d' % i] = np.ones(dims[i])
                self.params['beta%d' % i] = np.zeros(dims[i])

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        #######################################################################
        #                            END OF YOUR CODE                         #
        #######################################################################

        # When using dropout we need to pass a dropout_param dictionary to each
        # dropout layer so that the layer knows the dropout probability and the mode
        # (train / test). You can pass the same dropout_param to each dropout layer.
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {'mode': 'train', 'p': dropout_keep_ratio}
            if seed is not None:
                self.dropout_param['seed'] = seed

        # With batch normalization we need to keep track of running means and
        # variances, so we need to pass a special bn_param object to each batch
        # normalization layer. You should pass self.bn_params[0] to the forward pass
        # of the first batch normalization layer, self.bn_params[1] to the forward
        # pass of the second batch normalization layer, etc.
        self.bn_params = []
        if self.normalization == 'batchnorm':
            self.bn_params = [{'mode': 'train'} for _ in range(self.num_layers - 1)]
        if self.normalization == 'layernorm':
            self.bn_params = [{} for _ in range(self.num_layers - 1)]

        # Cast all parameters to the correct datatype.
        _given.finish_net_init(self, input_dim, dtype)

    def loss(self, X, y=None):
        """Compute loss and gradient for the fully connected net.

        Inputs:
        - X: Array of input data of shape (N, d_1, ..., d_k)
        - y: Array of labels, of shape (N,). y[i] gives the label for X[i].

        Returns:
        If y is None, then run a test-time forward pass of the model and return:
        - scores: Array of shape (N, C) giving classification scores, where
          scores[i, c] is the classification score for X[i] and class c.

        If y is not None, then run a training-time forward and backward pass and
        return a tuple of:
        - loss: Scalar value giving the loss
        - grads: Dictionary with the same keys as self.params, mapping parameter
          names to gradients of the loss with respect to those parameters.
        """
        X = _given.prepare_net_loss(self, X)
        mode = 'test' if y is None else 'train'

        # Set train/test mode for batchnorm params and dropout param since they
        # behave differently during training and testing.
        if self.use_dropout:
            self.dropout_param['mode'] = mode
        if self.normalization == 'batchnorm':
            for bn_param in self.bn_params:
                bn_param['mode'] = mode
        scores = None
        #######################################################################
        # TODO: Implement the forward pass for the fully connected net,       #
        # computing the class scores for X and storing them in scores.        #
        #                                                                     #
        # When using dropout, you'll need to pass self.dropout_param to each  #
        # dropout forward pass.                                               #
        #                                                                     #
        # When using batch normalization, you'll need to pass                 #
        # self.bn_params[0] to the forward pass for the first batch norm      #
        # layer, pass self.bn_params[1] to the forward pass for the second    #
        # batch normalization layer, etc.                                     #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        L = self.num_layers
        dropout_param = self.dropout_param if self.use_dropout else None
        hidden, caches = X, []
        for i in range(1, L):
            norm_args = {}
            if self.normalization is not None:
                norm_args = dict(gamma=self.params['gamma%d' % i], beta=self.params['beta%d' % i],
                                 norm_param=self.bn_params[i - 1],
                                 normalization=self.normalization)
            hidden, cache = affine_norm_relu_dropout_forward(
                hidden, self.params['W%d' % i], self.params['b%d' % i],
                dropout_param=dropout_param, **norm_args)
            caches.append(cache)
        scores, scores_cache = affine_forward(hidden, self.params['W%d' % L],
                                              self.params['b%d' % L])

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        #######################################################################
        #                             END OF YOUR CODE                        #
        #######################################################################
        scores = _given.finish_scores(self, scores, X)
        # If test mode return early.
        if mode == 'test':
            return scores

        loss, grads = 0.0, {}
        #######################################################################
        # TODO: Implement the backward pass for the fully connected net.      #
        # Store the loss in the loss variable and gradients in the grads      #
        # dictionary. Compute data loss using softmax, and make sure that     #
        # grads[k] holds the gradients for self.params[k]. Don't forget to    #
        # add L2 regularization!                                              #
        #                                                                     #
        # When using batch/layer normalization, you don't need to regularize  #
        # the scale and shift parameters.                                     #
        #                                                                     #
        # NOTE: To ensure that your implementation matches ours and you pass  #
        # the automated tests, make sure that your L2 regularization includes #
        # a factor of 0.5 to simplify the expression for the gradient.        #
        #######################################################################
        # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

        loss, dscores = softmax_loss(scores, y)
        dhidden, grads['W%d' % L], grads['b%d' % L] = affine_backward(dscores, scores_cache)
        for i in range(L - 1, 0, -1):
            dhidden, dw, db, dgamma, dbeta = affine_norm_relu_dropout_backward(
                dhidden, caches[i - 1])
            grads['W%d' % i], grads['b%d' % i] = dw, db
            if self.normalization is not None:
                grads['gamma%d' % i], grads['beta%d' % i] = dgamma, dbeta
        for i in range(1, L + 1):
            W = self.params['W%d' % i]
            loss += 0.5 * self.reg * np.sum(W * W)
            grads['W%d' % i] = grads['W%d' % i] + self.reg * W

        # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
        #######################################################################
        #                             END OF YOUR CODE                        #
        #######################################################################
        return _given.finish_net_loss(self, loss, grads)
