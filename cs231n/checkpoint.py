"""Solver checkpoints: everything a training run needs to resume exactly.

A checkpoint is a pickled dict. It holds the keys of CS231n's classic
Solver checkpoints (model, update_rule, lr_decay, optim_config,
batch_size, num_train_samples, num_val_samples, epoch and the three
histories), and what an exact resume needs beyond them: the optimizer state
of every parameter, the number of updates done, the best model so far and
numpy's random state. The update rule is stored by name, so any rule,
a lambda included, can be checkpointed.

Files are written atomically (a temporary file renamed into place), and
loading checks that the file is a checkpoint that fits the model, with an
error that names the file and what does not match.
"""
import pickle

import numpy as np

from ._files import atomic_write

KEYS = ('model', 'update_rule', 'lr_decay', 'optim_config', 'batch_size', 'num_train_samples',
        'num_val_samples', 'epoch', 'loss_history', 'train_acc_history', 'val_acc_history',
        'optim_configs', 'best_val_acc', 'best_params', 'best_bn_stats', 'rng_state')


def rule_name(update_rule):
    """The name a checkpoint records for an update rule (a function)."""
    return getattr(update_rule, '__name__', repr(update_rule))


def save(solver, filename):
    """Write the state of `solver` to `filename`, atomically."""
    checkpoint = {
        'model': solver.model,
        'update_rule': rule_name(solver.update_rule),
        'lr_decay': solver.lr_decay,
        'optim_config': solver.optim_config,
        'batch_size': solver.batch_size,
        'num_train_samples': solver.num_train_samples,
        'num_val_samples': solver.num_val_samples,
        'epoch': solver.epoch,
        'loss_history': solver.loss_history,
        'train_acc_history': solver.train_acc_history,
        'val_acc_history': solver.val_acc_history,
        'optim_configs': solver.optim_configs,
        'best_val_acc': solver.best_val_acc,
        'best_params': solver.best_params,
        'best_bn_stats': solver.best_bn_stats,
        'rng_state': np.random.get_state(),
    }
    with atomic_write(filename) as f:
        pickle.dump(checkpoint, f, protocol=pickle.HIGHEST_PROTOCOL)


def load(filename):
    """The checkpoint dict stored in `filename`.

    Raises FileNotFoundError if there is no such file, and ValueError naming
    the file if it is empty, truncated, corrupt or not a Solver checkpoint.
    """
    try:
        with open(filename, 'rb') as f:
            checkpoint = pickle.load(f)
    except OSError:
        raise
    except Exception as e:  # unpickling garbage can raise almost anything
        raise ValueError('%s: not a readable checkpoint (empty, truncated or corrupt?): %s: %s'
                         % (filename, type(e).__name__, e)) from None
    if not isinstance(checkpoint, dict) or not set(KEYS) <= set(checkpoint):
        found = sorted(checkpoint) if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise ValueError('%s: not a Solver checkpoint: expected a dict with the keys %s, got %s'
                         % (filename, ', '.join(KEYS), found))
    return checkpoint


def _mismatches(saved, model):
    """What differs between the saved model and `model`, as lines of text."""
    problems = []
    params = getattr(saved, 'params', None)
    if not isinstance(params, dict):
        return ['the saved model has no params dict']
    if params.keys() != model.params.keys():
        return ['the parameters are %s, the model has %s' % (sorted(params), sorted(model.params))]
    for k, v in params.items():
        w = model.params[k]
        if np.shape(v) != w.shape or getattr(v, 'dtype', None) != w.dtype:
            problems.append('%s is %s %s, the model has %s %s'
                            % (k, getattr(v, 'dtype', type(v).__name__), np.shape(v),
                               w.dtype, w.shape))
    saved_bn, bn = getattr(saved, 'bn_params', []), getattr(model, 'bn_params', [])
    if len(saved_bn) != len(bn):
        problems.append('%d normalization layers, the model has %d' % (len(saved_bn), len(bn)))
    return problems


def restore(solver, filename):
    """Load `filename` into `solver` and its model, so that train() resumes.

    Raises ValueError naming the file if the checkpoint does not fit: other
    parameters, shapes or dtypes than the model's, another update rule or
    another batch size.
    """
    checkpoint = load(filename)
    problems = _mismatches(checkpoint['model'], solver.model)
    if checkpoint['update_rule'] != rule_name(solver.update_rule):
        problems.append('update_rule %r, the Solver has %r'
                        % (checkpoint['update_rule'], rule_name(solver.update_rule)))
    if checkpoint['batch_size'] != solver.batch_size:
        problems.append('batch_size %r, the Solver has %r'
                        % (checkpoint['batch_size'], solver.batch_size))
    if problems:
        raise ValueError('%s does not fit this Solver: %s' % (filename, '; '.join(problems)))
    saved = checkpoint['model']
    solver.model.params = saved.params
    if hasattr(saved, 'bn_params'):
        solver.model.bn_params = saved.bn_params
    for key in ('epoch', 'loss_history', 'train_acc_history', 'val_acc_history',
                'optim_configs', 'best_val_acc', 'best_params', 'best_bn_stats'):
        setattr(solver, key, checkpoint[key])
    np.random.set_state(checkpoint['rng_state'])
