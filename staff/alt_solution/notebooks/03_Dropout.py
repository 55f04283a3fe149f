# Alternative solution of the code regions of notebooks/03_Dropout.ipynb,
# keyed "# @@ region <k>" (see ../README.md).

# @@ region 1
# Batch norm and dropout without the learning-rate schedule of the model
# answer: Adam with a step decay.
np.random.seed(0)
best_model = FullyConnectedNet([1024, 512, 256], weight_scale=3e-2,
                               normalization='batchnorm', dropout_keep_ratio=0.7, reg=5e-4)
best_solver = Solver(best_model, data,
                     update_rule='adam', optim_config={'learning_rate': 1e-3},
                     lr_decay=0.9, augment='flip',
                     num_epochs=fast_or(20, 1), batch_size=200,
                     print_every=fast_or(1000, 5))
best_solver.train()
