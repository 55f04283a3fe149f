"""The Solver: trains a classification model with minibatch gradient descent.

Example:

    data = {'X_train': ..., 'y_train': ..., 'X_val': ..., 'y_val': ...}
    model = MyAwesomeModel(hidden_size=100, reg=10)
    solver = Solver(model, data,
                    update_rule='sgd',
                    optim_config={'learning_rate': 1e-4},
                    lr_decay=0.95,
                    num_epochs=5, batch_size=200,
                    print_every=100)
    solver.train()

After train() returns, model.params holds the parameters that did best on the
validation set, and solver.loss_history, solver.train_acc_history and
solver.val_acc_history record the run.

The model must have:
- model.params: a dict mapping parameter names to numpy arrays.
- model.loss(X, y=None): returns class scores (N, C) when y is None, and
  (loss, grads) otherwise, where grads has the same keys as model.params.
A model whose normalization layers keep running statistics exposes them as
the list of dicts model.bn_params; those are saved and restored together with
the parameters.
"""
import copy
import math
import numbers
import os
import pickle
import tempfile

import numpy as np

from cs231n import optim

_DATA_KEYS = ('X_train', 'y_train', 'X_val', 'y_val')
_RUNNING_STATS = ('running_mean', 'running_var')
_UPDATE_RULES = ('sgd', 'sgd_momentum', 'rmsprop', 'adam')


def random_flip(X):
    """Flip a random half of a batch of images left to right.

    Inputs:
    - X: Images of shape (N, C, H, W)

    Returns:
    - A new array of the same shape and dtype
    """
    X = X.copy()
    flip = np.random.rand(X.shape[0]) < 0.5
    X[flip] = X[flip, :, :, ::-1]
    return X


def cosine_schedule(progress):
    """Learning-rate factor that falls from 1 to 0 along half a cosine.

    Inputs:
    - progress: Fraction of training done, in [0, 1]

    Returns:
    - The factor to multiply the initial learning rate by
    """
    return 0.5 * (1 + math.cos(math.pi * progress))


AUGMENTATIONS = {'flip': random_flip}
LR_SCHEDULES = {'cosine': cosine_schedule}


class Solver(object):
    """Trains a model with one of the update rules in cs231n.optim."""

    def __init__(self, model, data, **kwargs):
        """Construct a new Solver instance.

        Required arguments:
        - model: A model object conforming to the API described above
        - data: A dictionary of training and validation data containing:
          'X_train': Array, shape (N_train, d_1, ..., d_k) of training images
          'X_val': Array, shape (N_val, d_1, ..., d_k) of validation images
          'y_train': Array, shape (N_train,) of labels for training images
          'y_val': Array, shape (N_val,) of labels for validation images
          Other keys (such as X_test) are ignored.

        Optional arguments:
        - update_rule: A string giving the name of an update rule in optim.py.
          Default is 'sgd'.
        - optim_config: A dictionary containing hyperparameters that will be
          passed to the chosen update rule. Each update rule requires different
          hyperparameters (see optim.py) but all update rules require a
          'learning_rate' parameter so that should always be present.
        - lr_decay: A scalar for learning rate decay; after each epoch the
          learning rate is multiplied by this value.
        - lr_schedule: None, 'cosine', or a function of the fraction of training
          done (0 to 1) giving the factor to multiply the initial learning rate
          by; applied at every iteration. Use either lr_decay or lr_schedule.
        - augment: None, 'flip' (flip a random half of each minibatch left to
          right; needs images of shape (N, C, H, W)), or a function taking
          and returning a minibatch of training images.
        - batch_size: Size of minibatches used to compute loss and gradient
          during training.
        - num_epochs: The number of epochs to run for during training.
        - print_every: Integer; training losses will be printed every
          print_every iterations.
        - verbose: Boolean; if set to false then no output will be printed
          during training.
        - num_train_samples: Number of training samples used to check training
          accuracy; default is 1000; set to None to use entire training set.
        - num_val_samples: Number of validation samples to use to check val
          accuracy; default is None, which uses the entire validation set.
        - checkpoint_name: If not None, then save model checkpoints here every
          epoch, as checkpoint_name + '_epoch_%d.pkl'. Each file is written
          atomically, and load_checkpoint resumes a run from one.
        """
        if not hasattr(model, 'params') or not callable(getattr(model, 'loss', None)):
            raise TypeError('Solver: model must have a params dict and a loss(X, y=None) method, '
                            'got %s' % type(model).__name__)
        if not isinstance(data, dict):
            raise TypeError('Solver: data must be a dict, got %s' % type(data).__name__)
        missing = [k for k in _DATA_KEYS if k not in data]
        if missing:
            raise ValueError('Solver: data is missing key(s) %s; it needs %s'
                             % (missing, list(_DATA_KEYS)))
        for split in ('train', 'val'):
            X, y = data['X_' + split], data['y_' + split]
            if len(X) != len(y):
                raise ValueError('Solver: X_%s has %d rows but y_%s has %d labels'
                                 % (split, len(X), split, len(y)))
            if len(X) == 0:
                raise ValueError('Solver: X_%s is empty' % split)
        self.model = model
        self.X_train, self.y_train = data['X_train'], data['y_train']
        self.X_val, self.y_val = data['X_val'], data['y_val']

        # Unpack keyword arguments
        self.update_rule = kwargs.pop('update_rule', 'sgd')
        self.optim_config = kwargs.pop('optim_config', {})
        self.lr_decay = kwargs.pop('lr_decay', 1.0)
        self.lr_schedule = kwargs.pop('lr_schedule', None)
        self.augment = kwargs.pop('augment', None)
        self.batch_size = kwargs.pop('batch_size', 100)
        self.num_epochs = kwargs.pop('num_epochs', 10)
        self.num_train_samples = kwargs.pop('num_train_samples', 1000)
        self.num_val_samples = kwargs.pop('num_val_samples', None)

        self.checkpoint_name = kwargs.pop('checkpoint_name', None)
        self.print_every = kwargs.pop('print_every', 10)
        self.verbose = kwargs.pop('verbose', True)

        # Throw an error if there are extra keyword arguments
        if len(kwargs) > 0:
            extra = ', '.join('"%s"' % k for k in list(kwargs.keys()))
            raise ValueError('Unrecognized arguments %s' % extra)
        self._check_options()

        # Make sure the update rule exists, then replace the string
        # name with the actual function
        if isinstance(self.update_rule, str):
            if self.update_rule not in _UPDATE_RULES:
                raise ValueError('Invalid update_rule "%s"; expected one of %s'
                                 % (self.update_rule, ', '.join(_UPDATE_RULES)))
            rule = self.update_rule
            unknown = set(self.optim_config) - set(optim.DEFAULTS[rule]) - set(optim.STATE_KEYS[rule])
            if unknown:
                raise ValueError('Solver: optim_config has key(s) %s that update_rule "%s" does '
                                 'not use; it takes %s' % (sorted(unknown), rule,
                                                           sorted(optim.DEFAULTS[rule])))
            self.update_rule = getattr(optim, rule)
        elif not callable(self.update_rule):
            raise ValueError('Invalid update_rule %r; expected one of %s or a function'
                             % (self.update_rule, ', '.join(_UPDATE_RULES)))
        if isinstance(self.augment, str):
            self.augment = AUGMENTATIONS[self.augment]
        if isinstance(self.lr_schedule, str):
            self.lr_schedule = LR_SCHEDULES[self.lr_schedule]

        self._reset()

    def _check_options(self):
        for name in ('batch_size', 'num_epochs', 'print_every'):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
                raise ValueError('Solver: %s must be a positive integer, got %r' % (name, value))
        for name in ('num_train_samples', 'num_val_samples'):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(
                    value, numbers.Integral) or value <= 0):
                raise ValueError('Solver: %s must be a positive integer or None, got %r'
                                 % (name, value))
        if not isinstance(self.optim_config, dict):
            raise TypeError('Solver: optim_config must be a dict, got %r' % (self.optim_config,))
        if isinstance(self.lr_decay, bool) or not isinstance(self.lr_decay, numbers.Real) \
                or not 0 < self.lr_decay <= 1:
            raise ValueError('Solver: lr_decay must be a number in (0, 1], got %r' % (self.lr_decay,))
        if isinstance(self.lr_schedule, str) and self.lr_schedule not in LR_SCHEDULES:
            raise ValueError('Solver: unknown lr_schedule %r; expected one of %s or a function'
                             % (self.lr_schedule, sorted(LR_SCHEDULES)))
        if self.lr_schedule is not None and self.lr_decay != 1:
            raise ValueError('Solver: pass either lr_decay (got %r) or lr_schedule, not both'
                             % (self.lr_decay,))
        if isinstance(self.augment, str):
            if self.augment not in AUGMENTATIONS:
                raise ValueError('Solver: unknown augment %r; expected one of %s or a function'
                                 % (self.augment, sorted(AUGMENTATIONS)))
            if np.ndim(self.X_train) != 4:
                raise ValueError('Solver: augment=%r needs X_train of shape (N, C, H, W), got %s'
                                 % (self.augment, np.shape(self.X_train)))
        if 'learning_rate' in self.optim_config and not self.optim_config['learning_rate'] > 0:
            raise ValueError('Solver: optim_config["learning_rate"] must be positive, got %r'
                             % (self.optim_config['learning_rate'],))

    def _reset(self):
        """Set up some book-keeping variables for optimization. Don't call this
        manually.
        """
        # Set up some variables for book-keeping
        self.epoch = 0
        self.best_val_acc = 0
        self.best_params = {}
        self.best_bn_stats = []
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []

        # Make a deep copy of the optim_config for each parameter
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}
        self._base_lrs = {p: d.get('learning_rate') for p, d in self.optim_configs.items()}

    def _step(self, progress):
        """Make a single gradient update. This is called by train() and should
        not be called manually.
        """
        # Make a minibatch of training data
        num_train = self.X_train.shape[0]
        batch_mask = np.random.choice(num_train, self.batch_size)
        X_batch = self.X_train[batch_mask]
        y_batch = self.y_train[batch_mask]
        if self.augment is not None:
            X_batch = self.augment(X_batch)

        # Compute loss and gradient
        loss, grads = self.model.loss(X_batch, y_batch)
        loss = float(loss)
        if not math.isfinite(loss):
            lr = self.optim_configs[next(iter(self.optim_configs))].get('learning_rate')
            raise FloatingPointError(
                'Training diverged at iteration %d (epoch %d): the loss is %s. Try a smaller '
                'learning_rate (now %r) or weight_scale.'
                % (len(self.loss_history) + 1, self.epoch, loss, lr))
        self.loss_history.append(loss)
        if grads.keys() != self.model.params.keys():
            raise KeyError('Solver: model.loss returned gradients for %s but the model has '
                           'parameters %s' % (sorted(grads), sorted(self.model.params)))

        # Perform a parameter update
        if self.lr_schedule is not None:
            factor = self.lr_schedule(progress)
            for p, config in self.optim_configs.items():
                config['learning_rate'] = self._base_lrs[p] * factor
        for p, w in self.model.params.items():
            dw = grads[p]
            config = self.optim_configs[p]
            next_w, next_config = self.update_rule(w, dw, config)
            self.model.params[p] = next_w
            self.optim_configs[p] = next_config

    def _bn_stats(self):
        """Copies of the running statistics of the model's normalization layers."""
        return [{k: np.copy(p[k]) for k in _RUNNING_STATS if k in p}
                for p in getattr(self.model, 'bn_params', [])]

    def _set_bn_stats(self, stats):
        for bn_param, saved in zip(getattr(self.model, 'bn_params', []), stats):
            bn_param.update({k: np.copy(v) for k, v in saved.items()})

    def _save_checkpoint(self):
        if self.checkpoint_name is None:
            return
        checkpoint = {
            'model': self.model,
            'update_rule': self.update_rule,
            'lr_decay': self.lr_decay,
            'optim_config': self.optim_config,
            'batch_size': self.batch_size,
            'num_train_samples': self.num_train_samples,
            'num_val_samples': self.num_val_samples,
            'epoch': self.epoch,
            'loss_history': self.loss_history,
            'train_acc_history': self.train_acc_history,
            'val_acc_history': self.val_acc_history,
            # What a resumed run needs beyond the official keys
            'optim_configs': self.optim_configs,
            'best_val_acc': self.best_val_acc,
            'best_params': self.best_params,
            'best_bn_stats': self.best_bn_stats,
            'rng_state': np.random.get_state(),
        }
        filename = '%s_epoch_%d.pkl' % (self.checkpoint_name, self.epoch)
        if self.verbose:
            print('Saving checkpoint to "%s"' % filename)
        # Write to a temporary file beside the target, then rename it into
        # place: an interrupted save never leaves a truncated checkpoint.
        folder = os.path.dirname(os.path.abspath(filename))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-', suffix='.pkl')
        try:
            with os.fdopen(fd, 'wb') as f:
                pickle.dump(checkpoint, f, protocol=pickle.HIGHEST_PROTOCOL)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, filename)
        except BaseException:
            os.unlink(tmp)
            raise

    def load_checkpoint(self, filename):
        """Restore the state saved by a checkpoint, so that train() resumes.

        The model's parameters and normalization statistics, the optimizer
        state, the histories, the best model so far and the random state are
        restored; train() then runs the epochs that are left.

        Inputs:
        - filename: A file written with checkpoint_name set
        """
        with open(filename, 'rb') as f:
            checkpoint = pickle.load(f)
        if 'optim_configs' not in checkpoint:
            raise ValueError('Solver.load_checkpoint: %s has no optimizer state to resume from'
                             % filename)
        saved = checkpoint['model']
        if saved.params.keys() != self.model.params.keys():
            raise ValueError('Solver.load_checkpoint: %s holds parameters %s, but the model has %s'
                             % (filename, sorted(saved.params), sorted(self.model.params)))
        self.model.params = saved.params
        if hasattr(saved, 'bn_params'):
            self.model.bn_params = saved.bn_params
        self.optim_configs = checkpoint['optim_configs']
        self.epoch = checkpoint['epoch']
        self.loss_history = checkpoint['loss_history']
        self.train_acc_history = checkpoint['train_acc_history']
        self.val_acc_history = checkpoint['val_acc_history']
        self.best_val_acc = checkpoint['best_val_acc']
        self.best_params = checkpoint['best_params']
        self.best_bn_stats = checkpoint['best_bn_stats']
        np.random.set_state(checkpoint['rng_state'])

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Check accuracy of the model on the provided data.

        Inputs:
        - X: Array of data, of shape (N, d_1, ..., d_k)
        - y: Array of labels, of shape (N,)
        - num_samples: If not None, subsample the data and only test the model
          on num_samples datapoints.
        - batch_size: Split X and y into batches of this size to avoid using
          too much memory.

        Returns:
        - acc: Scalar giving the fraction of instances that were correctly
          classified by the model.
        """

        # Maybe subsample the data
        N = X.shape[0]
        if num_samples is not None and N > num_samples:
            mask = np.random.choice(N, num_samples)
            N = num_samples
            X = X[mask]
            y = y[mask]

        # Compute predictions in batches
        y_pred = np.concatenate([np.argmax(self.model.loss(X[start:start + batch_size]), axis=1)
                                 for start in range(0, N, batch_size)])
        return float(np.mean(y_pred == y))

    def train(self):
        """Run optimization to train the model."""
        num_train = self.X_train.shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch

        for t in range(self.epoch * iterations_per_epoch, num_iterations):
            self._step(t / num_iterations)

            # Maybe print training loss
            if self.verbose and t % self.print_every == 0:
                print('(Iteration %d / %d) loss: %f'
                      % (t + 1, num_iterations, self.loss_history[-1]))

            # At the end of every epoch, increment the epoch counter and decay
            # the learning rate.
            epoch_end = (t + 1) % iterations_per_epoch == 0
            if epoch_end:
                self.epoch += 1
                for k in self.optim_configs:
                    if self.lr_decay != 1:
                        self.optim_configs[k]['learning_rate'] *= self.lr_decay

            # Check train and val accuracy on the first iteration, the last
            # iteration, and at the end of each epoch.
            first_it = t == 0
            last_it = t == num_iterations - 1
            if first_it or last_it or epoch_end:
                train_acc = self.check_accuracy(self.X_train, self.y_train,
                                                num_samples=self.num_train_samples)
                val_acc = self.check_accuracy(self.X_val, self.y_val,
                                              num_samples=self.num_val_samples)
                self.train_acc_history.append(train_acc)
                self.val_acc_history.append(val_acc)

                if self.verbose:
                    print('(Epoch %d / %d) train acc: %f; val_acc: %f'
                          % (self.epoch, self.num_epochs, train_acc, val_acc))

                # Keep track of the best model; the first check always counts,
                # so best_params is never left empty.
                if val_acc > self.best_val_acc or not self.best_params:
                    self.best_val_acc = val_acc
                    self.best_params = {k: v.copy() for k, v in self.model.params.items()}
                    self.best_bn_stats = self._bn_stats()
                self._save_checkpoint()

        # At the end of training swap the best params into the model, together
        # with the normalization statistics they were trained with.
        if self.best_params:
            self.model.params = {k: v.copy() for k, v in self.best_params.items()}
            self._set_bn_stats(self.best_bn_stats)
