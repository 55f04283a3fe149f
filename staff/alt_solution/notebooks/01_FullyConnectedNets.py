# Alternative solution of the code regions of notebooks/01_FullyConnectedNets.ipynb,
# keyed "# @@ region <k>": the k-th region of the notebook, counted from 1 in
# cell order (see ../README.md). fast_or(full, fast) keeps CI's fast mode short.

# @@ region 1
# TwoLayerNet with RMSProp and a step decay of the learning rate (about 52%
# validation accuracy after 6 epochs on the full data).
solver = Solver(model, data,
                update_rule='rmsprop',
                optim_config={'learning_rate': 1e-4},
                lr_decay=0.9,
                num_epochs=fast_or(10, 2), batch_size=100,
                print_every=fast_or(1000, 20))
solver.train()

# @@ region 2
# No search: one wider net, RMSProp, weight decay and a step decay.
np.random.seed(0)
best_model = FullyConnectedNet([512, 256], weight_scale=1e-2, reg=1e-3)
settings = {'update_rule': 'rmsprop', 'optim_config': {'learning_rate': 1e-4},
            'lr_decay': 0.9, 'batch_size': 200}
best_solver = Solver(best_model, data, num_epochs=fast_or(12, 1),
                     print_every=fast_or(1000, 5), **settings)
best_solver.train()
