# ruff: noqa: F821  (a template: rhs, jac_w, lu_*, extend, NNZ, np, njit come from the generated module)
# Rodas4 population kernel. This file is not imported directly: its text is appended to the
# model-specific module written by oasim.solvers.codegen (which defines rhs, jac_w, lu_factor,
# lu_solve, model_event, N_STATES and NNZ), so numba compiles and caches one self-contained module per model.
#
# Method: Rodas4, a 6-stage, order-4(3), L-stable, stiffly accurate Rosenbrock method
# (Hairer & Wanner 1996, Solving ODEs II, §IV.7; coefficients of rodas.f, RODAS4). The system is
# autonomous between dose events, so the time-derivative terms vanish. Steps are clipped to land
# on every output time and every dose time; doses are state jumps applied after the output at
# the same time has been recorded (a visit on a dose day reports the pre-dose value).
from numba import prange

GAMMA = 0.25
A21 = 1.544
A31 = 0.9466785280815826
A32 = 0.2557011698983284
A41 = 3.314825187068521
A42 = 2.896124015972201
A43 = 0.9986419139977817
A51 = 1.221224509226641
A52 = 6.019134481288629
A53 = 12.53708332932087
A54 = -0.687886036105895
C21 = -5.6688
C31 = -2.430093356833875
C32 = -0.2063599157091915
C41 = -0.1073529058151375
C42 = -9.594562251023355
C43 = -20.47028614809616
C51 = 7.496443313967647
C52 = -10.24680431464352
C53 = -33.99990352819905
C54 = 11.7089089320616
C61 = 8.083246795921522
C62 = -7.981132988064893
C63 = -31.52159432874371
C64 = 16.31930543123136
C65 = -6.058818238834054

STATUS_OK = 0
STATUS_MAX_STEPS = 1
STATUS_STEP_TOO_SMALL = 2
STATUS_NOT_FINITE = 3


@njit(cache=True, fastmath=True, error_model='numpy')
def _integrate_segment(z, p, t, t_stop, h, t_eval, k_out, out_row, rtol, atol, max_steps,
                       steps, work, w):
    """Integrate one subject from t to t_stop in place; returns (t, h, k_out, status)."""
    n = z.shape[0]
    f = work[0]
    k1 = work[1]
    k2 = work[2]
    k3 = work[3]
    k4 = work[4]
    k5 = work[5]
    k6 = work[6]
    u = work[7]
    n_eval = t_eval.shape[0]
    last_finite = True  # whether the last attempted step stayed finite
    while t < t_stop:
        # next stop: an output time inside the segment, else the segment end
        target = t_stop
        if k_out < n_eval and t_eval[k_out] <= t_stop:
            target = t_eval[k_out]
        if target <= t:
            # output exactly at the current time
            for i in range(n):
                out_row[k_out, i] = z[i]
            k_out += 1
            continue
        hh = h
        if t + hh >= target:
            hh = target - t
        if hh < 1e-14 * max(1.0, abs(t)):
            return t, h, k_out, STATUS_STEP_TOO_SMALL if last_finite else STATUS_NOT_FINITE
        if steps[0] >= max_steps:
            return t, h, k_out, STATUS_MAX_STEPS
        steps[0] += 1
        inv_h = 1.0 / hh
        rhs(z, p, f)
        jac_w(z, p, inv_h / GAMMA, w)
        lu_factor(w)
        for i in range(n):
            k1[i] = f[i]
        lu_solve(w, k1)
        for i in range(n):
            u[i] = z[i] + A21 * k1[i]
        rhs(u, p, f)
        for i in range(n):
            k2[i] = f[i] + C21 * k1[i] * inv_h
        lu_solve(w, k2)
        for i in range(n):
            u[i] = z[i] + A31 * k1[i] + A32 * k2[i]
        rhs(u, p, f)
        for i in range(n):
            k3[i] = f[i] + (C31 * k1[i] + C32 * k2[i]) * inv_h
        lu_solve(w, k3)
        for i in range(n):
            u[i] = z[i] + A41 * k1[i] + A42 * k2[i] + A43 * k3[i]
        rhs(u, p, f)
        for i in range(n):
            k4[i] = f[i] + (C41 * k1[i] + C42 * k2[i] + C43 * k3[i]) * inv_h
        lu_solve(w, k4)
        for i in range(n):
            u[i] = z[i] + A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]
        rhs(u, p, f)
        for i in range(n):
            k5[i] = f[i] + (C51 * k1[i] + C52 * k2[i] + C53 * k3[i] + C54 * k4[i]) * inv_h
        lu_solve(w, k5)
        for i in range(n):
            u[i] += k5[i]
        rhs(u, p, f)
        for i in range(n):
            k6[i] = f[i] + (C61 * k1[i] + C62 * k2[i] + C63 * k3[i] + C64 * k4[i] + C65 * k5[i]) * inv_h
        lu_solve(w, k6)
        err = 0.0
        negative = False
        finite = True
        for i in range(n):
            y_new = u[i] + k6[i]
            sc = atol + rtol * max(abs(z[i]), abs(y_new))
            e = k6[i] / sc
            err += e * e
            if NONNEGATIVE and y_new < -atol:
                negative = True
            if not (abs(y_new) < 1e300):
                finite = False
        err = (err / n) ** 0.5
        last_finite = finite
        if not finite:
            err = 1e10
        if negative and err <= 1.0:
            err = 2.0  # reject steps that leave the non-negative orthant by more than atol
        if err <= 1.0:
            t = target if hh == target - t else t + hh
            for i in range(n):
                y_new = u[i] + k6[i]
                z[i] = y_new if (y_new > 0.0 or not NONNEGATIVE) else 0.0
            fac = 0.9 * max(err, 1e-10) ** -0.25
            fac = min(5.0, max(0.2, fac))
            if hh < h and fac < 1.0:
                h = hh * fac
            elif hh >= h:
                h = hh * fac
        else:
            if err >= 1e10:
                h = hh * 0.1
            else:
                h = hh * max(0.2, 0.9 * err ** -0.25)
    return t, h, k_out, STATUS_OK


@njit(cache=True, fastmath=True, error_model='numpy', parallel=True)
def solve_population(z0, params, t_start, t_eval, ev_t, ev_idx, ev_amt, rtol, atol, h_init,
                     max_steps, out, status, n_steps, t_reached):
    """Integrate every subject (rows of z0 / params) and write outputs at t_eval.

    z0 : (n_subjects, n_states) scaled initial states at t_start.
    ev_t, ev_idx, ev_amt : (n_subjects, n_events) dose events: time [day], state index and
        amount [scaled state units]; pad unused slots with ev_t = inf. ``ev_idx = -1 - k`` applies
        the model's own event k (``model_event``) instead of adding an amount.
    out : (n_subjects, n_eval, n_states) scaled states at t_eval (pre-dose at dose times);
        the caller fills it with NaN, so outputs a failed subject did not reach stay NaN.
    status, n_steps, t_reached : (n_subjects,) outputs: status code, steps taken and the time
        reached [day] (where a failed subject stopped).
    """
    n_sub = z0.shape[0]
    n = z0.shape[1]
    n_ev = ev_t.shape[1]
    t_end = t_eval[t_eval.shape[0] - 1]
    for s in prange(n_sub):
        z = z0[s].copy()
        p = extend(params[s])  # parameters + parameter-only terms, once per subject
        work = np.empty((8, n))
        w = np.empty(NNZ)
        steps = np.zeros(1, dtype=np.int64)
        t = t_start
        h = h_init
        k_out = 0
        st = STATUS_OK
        e = 0
        while True:
            t_stop = t_end
            if e < n_ev and ev_t[s, e] < t_stop:
                t_stop = ev_t[s, e]
            t, h, k_out, st = _integrate_segment(z, p, t, t_stop, h, t_eval, k_out, out[s],
                                                 rtol, atol, max_steps, steps, work, w)
            if st != STATUS_OK:
                break
            # record outputs at exactly t_stop before applying the dose
            while k_out < t_eval.shape[0] and t_eval[k_out] <= t:
                for i in range(n):
                    out[s, k_out, i] = z[i]
                k_out += 1
            applied = False
            while e < n_ev and ev_t[s, e] <= t:
                if ev_idx[s, e] >= 0:
                    z[ev_idx[s, e]] += ev_amt[s, e]
                else:
                    model_event(-1 - ev_idx[s, e], z, p)
                e += 1
                applied = True
            if applied:
                h = h_init
            if t >= t_end:
                break
        status[s] = st
        n_steps[s] = steps[0]
        t_reached[s] = t
