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

Data augmentation (cs231n.augmentation), learning-rate schedules
(cs231n.lr_schedules) and checkpoints (cs231n.checkpoint) live in modules of
their own, which the Solver calls.
"""
import math

import numpy as np

from cs231n import checkpoint, optim
from cs231n._checks import (check_array, check_choice, check_dict, check_int, check_labels,
                            check_real)
from cs231n._files import terminate_as_interrupt
from cs231n.augmentation import AUGMENTATIONS
from cs231n.lr_schedules import LR_SCHEDULES

_RUNNING_STATS = ('running_mean', 'running_var')
# train() checks accuracies in batches this large: a matrix product over many
# rows makes better use of the BLAS than over check_accuracy's default 100,
# and the predictions are the same.
ACCURACY_BATCH_SIZE = 1000


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
        - update_rule: The name of an update rule in optim.py ('sgd',
          'sgd_momentum', 'rmsprop' or 'adam'), or a function with the same
          interface. Default is 'sgd'.
        - optim_config: A dictionary containing hyperparameters that will be
          passed to the chosen update rule. Each update rule requires different
          hyperparameters (see optim.py) but all update rules require a
          'learning_rate' parameter so that should always be present.
        - lr_decay: A scalar for learning rate decay; after each epoch the
          learning rate is multiplied by this value.
        - lr_schedule: None, 'cosine', or a function of the fraction of training
          done (0 to 1) giving the factor to multiply the initial learning rate
          by, at every iteration (see lr_schedules.py). Use either lr_decay or
          lr_schedule.
        - augment: None, 'flip' (flip a random half of each minibatch left to
          right; needs images of shape (N, C, H, W)), or a function taking and
          returning a minibatch of training images (see augmentation.py).
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
          epoch, as checkpoint_name + '_epoch_%d.pkl' (see checkpoint.py);
          load_checkpoint resumes a run from one.
        """
        fn = 'Solver'
        if not isinstance(getattr(model, 'params', None), dict) or not callable(
                getattr(model, 'loss', None)):
            raise TypeError('Solver: model must have a params dict and a loss(X, y=None) '
                            'method, got %s' % type(model).__name__)
        check_dict(fn, 'data', data, required=('X_train', 'y_train', 'X_val', 'y_val'))
        for split in ('train', 'val'):
            X = data['X_' + split]
            check_array(fn, 'data["X_%s"]' % split, X)
            check_labels(fn, data['y_' + split], len(X), name='data["y_%s"]' % split)
            if len(X) == 0:
                raise ValueError('Solver: data["X_%s"] is empty' % split)
        self.model = model
        self.X_train = data['X_train']
        self.y_train = data['y_train']
        self.X_val = data['X_val']
        self.y_val = data['y_val']

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

        check_int(fn, 'batch_size', self.batch_size)
        check_int(fn, 'num_epochs', self.num_epochs)
        check_int(fn, 'print_every', self.print_every)
        for name in ('num_train_samples', 'num_val_samples'):
            if getattr(self, name) is not None:
                check_int(fn, name, getattr(self, name))
        check_real(fn, 'lr_decay', self.lr_decay, '(0, 1]')
        check_choice(fn, 'update_rule', self.update_rule, optim.UPDATE_RULES, or_callable=True)
        check_choice(fn, 'lr_schedule', self.lr_schedule, (None,) + tuple(LR_SCHEDULES),
                     or_callable=True)
        check_choice(fn, 'augment', self.augment, (None,) + tuple(AUGMENTATIONS),
                     or_callable=True)
        if self.lr_schedule is not None and self.lr_decay != 1:
            raise ValueError('Solver: pass either lr_decay (got %r) or lr_schedule, not both'
                             % (self.lr_decay,))
        if self.augment == 'flip' and self.X_train.ndim != 4:
            raise ValueError('Solver: augment="flip" needs X_train of shape (N, C, H, W), '
                             'got %s' % (self.X_train.shape,))

        check_dict(fn, 'optim_config', self.optim_config)
        if self.lr_schedule is not None and 'learning_rate' not in self.optim_config:
            raise ValueError('Solver: lr_schedule needs the initial learning rate in '
                             'optim_config["learning_rate"]')

        # Make sure the update rule exists, then replace the string
        # name with the actual function
        if isinstance(self.update_rule, str):
            optim.check_hyperparameters(fn, self.update_rule, dict(self.optim_config),
                                        name='optim_config')
            self.update_rule = getattr(optim, self.update_rule)
        self.lr_schedule = LR_SCHEDULES.get(self.lr_schedule, self.lr_schedule)
        self.augment = AUGMENTATIONS.get(self.augment, self.augment)

        self._reset()

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

    def train(self):
        """Run optimization to train the model.

        When train() returns, and also when it stops early on an exception
        (Ctrl-C, or SIGTERM, which is handled like Ctrl-C), model.params
        holds the best parameters so far: those with the best validation
        accuracy, or the initial ones if no accuracy check has run yet. The
        model is never left half-updated. Calling train() again continues
        the remaining iterations from there; load_checkpoint resumes exactly
        where a checkpoint was written.
        """
        num_train = self.X_train.shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        initial = None if self.best_params else self._snapshot()

        try:
            with terminate_as_interrupt():
                self._train(len(self.loss_history), num_iterations, iterations_per_epoch)
        except BaseException:
            self._restore(*(initial if not self.best_params else
                            (self.best_params, self.best_bn_stats)))
            raise

        # At the end of training swap the best params into the model, together
        # with the normalization statistics they were trained with.
        self._restore(self.best_params, self.best_bn_stats)

    def _train(self, first, num_iterations, iterations_per_epoch):
        for t in range(first, num_iterations):
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
                if self.lr_decay != 1:
                    for k in self.optim_configs:
                        self.optim_configs[k]['learning_rate'] *= self.lr_decay

            # Check train and val accuracy on the first iteration, the last
            # iteration, and at the end of each epoch.
            first_it = t == 0
            last_it = t == num_iterations - 1
            if first_it or last_it or epoch_end:
                train_acc = self.check_accuracy(self.X_train, self.y_train,
                                                num_samples=self.num_train_samples,
                                                batch_size=ACCURACY_BATCH_SIZE)
                val_acc = self.check_accuracy(self.X_val, self.y_val,
                                              num_samples=self.num_val_samples,
                                              batch_size=ACCURACY_BATCH_SIZE)
                self.train_acc_history.append(train_acc)
                self.val_acc_history.append(val_acc)

                if self.verbose:
                    print('(Epoch %d / %d) train acc: %f; val_acc: %f'
                          % (self.epoch, self.num_epochs, train_acc, val_acc))

                # Keep track of the best model; the first check always counts,
                # so best_params is never left empty.
                if val_acc > self.best_val_acc or not self.best_params:
                    self.best_val_acc = val_acc
                    self.best_params, self.best_bn_stats = self._snapshot()
                self._save_checkpoint()

    def _step(self, progress):
        """Make a single gradient update. This is called by train() and should
        not be called manually.

        Inputs:
        - progress: The fraction of training done, for the learning-rate schedule
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
        # A NaN loss, or non-finite gradients, mean that training diverged. An
        # infinite loss with finite gradients is a probability that underflowed
        # to 0 before its log was taken; the gradients still train the model.
        if math.isnan(loss) or (math.isinf(loss) and not all(
                np.isfinite(g).all() for g in grads.values())):
            raise FloatingPointError(
                'Training diverged at iteration %d (epoch %d): the loss is %s. Try a smaller '
                'learning_rate or weight_scale.' % (len(self.loss_history) + 1, self.epoch, loss))

        # Perform a parameter update
        if self.lr_schedule is not None:
            learning_rate = self.optim_config['learning_rate'] * self.lr_schedule(progress)
            for config in self.optim_configs.values():
                config['learning_rate'] = learning_rate
        for p, w in self.model.params.items():
            config = self.optim_configs[p]
            next_w, next_config = self.update_rule(w, grads[p], config)
            self.model.params[p] = next_w
            self.optim_configs[p] = next_config
        # Recorded when the step is complete, so its length counts the updates.
        self.loss_history.append(float(loss))

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
        fn = 'Solver.check_accuracy'
        check_array(fn, 'X', X)
        y = check_labels(fn, y, X.shape[0])
        if num_samples is not None:
            check_int(fn, 'num_samples', num_samples)
        check_int(fn, 'batch_size', batch_size)

        # Maybe subsample the data
        N = X.shape[0]
        if num_samples is not None and N > num_samples:
            mask = np.random.choice(N, num_samples)
            N = num_samples
            X = X[mask]
            y = y[mask]

        # Compute predictions in batches
        y_pred = [np.argmax(self.model.loss(X[start:start + batch_size]), axis=1)
                  for start in range(0, N, batch_size)]
        return float(np.mean(np.concatenate(y_pred) == y))

    def _snapshot(self):
        """Copies of the model's parameters and normalization statistics."""
        stats = [{k: np.copy(p[k]) for k in _RUNNING_STATS if k in p}
                 for p in getattr(self.model, 'bn_params', [])]
        return {k: v.copy() for k, v in self.model.params.items()}, stats

    def _restore(self, params, bn_stats):
        """Put copies of a snapshot's parameters and statistics into the model."""
        self.model.params = {k: v.copy() for k, v in params.items()}
        for bn_param, saved in zip(getattr(self.model, 'bn_params', []), bn_stats):
            bn_param.update({k: np.copy(v) for k, v in saved.items()})

    def _save_checkpoint(self):
        if self.checkpoint_name is None:
            return
        filename = '%s_epoch_%d.pkl' % (self.checkpoint_name, self.epoch)
        if self.verbose:
            print('Saving checkpoint to "%s"' % filename)
        checkpoint.save(self, filename)

    def load_checkpoint(self, filename):
        """Restore the state saved in a checkpoint, so that train() resumes.

        The model's parameters and normalization statistics, the optimizer
        state, the histories, the best model so far and the random state are
        restored; train() then runs the iterations that are left, exactly as
        the uninterrupted run would have (same Solver arguments assumed).

        Inputs:
        - filename: A file written with checkpoint_name set

        Raises ValueError naming the file if it is not a checkpoint or does
        not fit this Solver and its model.
        """
        checkpoint.restore(self, filename)
