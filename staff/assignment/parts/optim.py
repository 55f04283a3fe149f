"""Hidden tests of the update rules in cs231n/optim.py.

Each rule runs several steps in a row (next_w and the config it returns go
into the next call, as the Solver does) from a fresh config, from a config
that already holds state (Adam from t = 10), from config=None (the defaults)
and in float32. next_w and every state array are compared after each step with
the rule of the references the judge is given (R, default REF), or one of the
formulations it accepts beside it (R.update_rules). A rule may update w and its state in place or
not: the probe copies what each call returns before the next call.
"""
import numpy as np

from staff.grading.api import Fail, case_part, check_close, copy_arrays, rng

from ..references import REF, UPDATE_DEFAULTS

# The gradients stay away from 0 and epsilon keeps its default size, so that
# the formulations Kingma & Ba allow (bias corrections folded into the step
# size, with or without epsilon rescaled) agree to about 1e-6: they are
# epsilon * (1 / sqrt(1 - beta2**t) - 1) / sqrt(v_hat) apart, up to 1e-6 with
# beta2 = 0.99 in the first steps (staff/tests/test_salts.py draws the inputs
# anew many times); a wrong bias correction, decay or sign is off by 1e-3 or more.
TOL64, TOL32 = 1e-6, 1e-4
TOL64_RULE = {'adam': 1e-5}
STATE = {'sgd_momentum': ('velocity',), 'rmsprop': ('cache',), 'adam': ('m', 'v')}


def optim_cases(rule):
    """(label, w0, [dw per step], config or None)."""
    r = rng({'sgd_momentum': 10, 'rmsprop': 20, 'adam': 30}[rule])
    custom = {'sgd_momentum': {'learning_rate': 0.05, 'momentum': 0.8},
              'rmsprop': {'learning_rate': 0.02, 'decay_rate': 0.95, 'epsilon': 1e-8},
              'adam': {'learning_rate': 0.05, 'beta1': 0.85, 'beta2': 0.99,
                       'epsilon': 1e-8}}[rule]

    def grad(*shape):   # |dw| >= 0.3: the step, not epsilon, decides the result
        g = r.randn(*shape)
        return np.sign(g) * (0.3 + np.abs(g))
    cases = []
    w = r.randn(4, 5)
    cases.append(('float64 w of shape (4, 5), fresh config %s' % custom, w,
                  [grad(4, 5) * s for s in (1, 0.5, 2, 1, 0.2)], dict(custom)))
    w = r.randn(3, 2, 4)
    state = dict(custom)
    for key in STATE[rule]:
        state[key] = r.randn(3, 2, 4) * 0.1 if key in ('velocity', 'm') else r.rand(3, 2, 4) * 0.1
    if rule == 'adam':
        state['t'] = 10
    cases.append(('float64 w of shape (3, 2, 4), config holding state%s'
                  % (' from t = 10' if rule == 'adam' else ''), w,
                  [grad(3, 2, 4) for _ in range(3)], state))
    w = r.randn(50)
    cases.append(('float64 w of shape (50,), config=None (the defaults)', w,
                  [grad(50) for _ in range(3)], None))
    w = r.randn(6, 7).astype(np.float32)
    cases.append(('float32 w of shape (6, 7)', w,
                  [grad(6, 7).astype(np.float32) for _ in range(4)], dict(custom)))
    return cases


def _rule_part(rule):
    def probe(S, optim, case):
        label, w0, dws, config = case
        w, config = w0.copy(), copy_arrays(config)
        steps = []
        for dw in dws:
            result = S.call(rule, getattr(optim, rule), w, dw.copy(), config)
            if result.length != 2:
                raise Fail('%s: returned %s, expected (next_w, config)'
                           % (rule, result.type_name))
            # Fetched copies: a rule that updates w or its state in place later
            # cannot change what this step returned.
            w, config = result
            steps.append({'next_w': S.fetch(w), 'config': S.fetch(config)})
        return steps

    def judge(steps, case, R=REF):
        label, w0, dws, config = case
        if not isinstance(steps, list) or len(steps) != len(dws):
            raise Fail('%s: expected %d steps (%s)' % (rule, len(dws), label))
        official, *variants = R.update_rules(rule)
        try:
            judge_steps(steps, case, official)
        except Fail:
            # A documented formulation of the rule followed at every step passes
            # too; the message is the official rule's.
            for variant in variants:
                try:
                    return judge_steps(steps, case, variant)
                except Fail:
                    pass
            raise

    def judge_steps(steps, case, update):
        label, w0, dws, config = case
        tol = TOL32 if w0.dtype == np.float32 else TOL64_RULE.get(rule, TOL64)
        w = w0.astype(np.float64)
        config = dict(UPDATE_DEFAULTS[rule], **(copy_arrays(config) or {}))
        for step, (dw, result) in enumerate(zip(dws, steps), 1):
            where = 'step %d, %s' % (step, label)
            before = w
            w, config = update(w, dw.astype(np.float64), config)
            # next_w, or else the step it took: where next_w lies near 0 the
            # formulations Kingma & Ba allow (O(epsilon / |g|) apart in the step)
            # differ relatively more than a float64 tolerance that catches bugs,
            # and in float32 the rounding of w swamps small steps. A wrong rule
            # is off by 1e-3 or more in both.
            try:
                check_close(rule, 'next_w', result['next_w'], w, tol, where)
            except Fail:
                check_close(rule, 'next_w', before - result['next_w'], before - w, tol,
                            where + '; also compared as the step w - next_w')
            for key in STATE[rule]:
                check_close(rule, "config['%s']" % key, result['config'].get(key),
                            config[key], tol, where)
            if rule == 'adam' and result['config'].get('t') != config['t']:
                raise Fail("adam: config['t'] is %r after the step, expected %d (%s)"
                           % (result['config'].get('t'), config['t'], where))
    return case_part(rule, lambda: optim_cases(rule), probe, judge, module='cs231n.optim')


sgd_momentum = _rule_part('sgd_momentum')
rmsprop = _rule_part('rmsprop')
adam = _rule_part('adam')
