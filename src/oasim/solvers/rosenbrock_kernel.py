# ruff: noqa: F821  (a template: rhs, jac_w, lu_*, extend, model_event, NNZ, NONNEGATIVE, ROS_*, ros_stages come from the generated module)
# Tableau-driven Rosenbrock population kernel. Not imported directly: its text is appended to the
# model-specific module written by oasim.solvers.codegen plus a tableau block written by
# oasim.solvers.rosenbrock (ROS_S, ROS_GAMMA, ROS_ELO, the dense-output rows ROS_NH, ROS_H, and
# ros_stages: the stages of one step unrolled from the tableau's A, C, M, E).
#
# Method (KPP formulation, Sandu et al. 1997): with W = I/(h·γ) − J(y0),
#     Y_i = y0 + Σ_j A_ij K_j,   W K_i = f(Y_i) + Σ_j (C_ij / h) K_j,
#     y1 = y0 + Σ_i M_i K_i,      err = Σ_i E_i K_i.
# The system is autonomous between events, so no time-derivative terms.
# Differences to rodas_kernel.py:
# * f(y) at the start of a step is kept from the previous accepted step (it is needed for the
#   first stage and for the interpolant), so a rejected step does not recompute it;
# * with DENSE output the steps are not clipped at output times: outputs inside an accepted step
#   are filled by the method's own interpolant when the tableau has one (ROS_NH = 3 rows of H,
#   Rodas5P: y(θ) = (1−θ) y0 + θ (y1 + (1−θ)(D1 + θ (D2 + θ D3))), D_j = Σ_i H_ji K_i, 4th order),
#   otherwise by cubic Hermite interpolation from (y0, f(y0), y1, f(y1)) (3rd order, matching
#   the order-3 methods; Rodas4 keeps its 4th-order step). Steps are still clipped at events
#   (doses), which are discontinuities.
# * unreached outputs stay NaN and the time reached is returned per subject.
from numba import prange

STATUS_OK = 0
STATUS_MAX_STEPS = 1
STATUS_STEP_TOO_SMALL = 2
STATUS_NOT_FINITE = 3


@njit(cache=True, fastmath=True, error_model='numpy')
def _ros_segment(z, f0, p, t, t_stop, h, t_eval, k_out, out_row, rtol, atol, max_steps, dense,
                 steps, K, u, fs, w, D):
    """Integrate one subject from t to t_stop in place; f0 = f(z) on entry and on exit.

    Returns (t, h, k_out, status)."""
    n = z.shape[0]
    n_eval = t_eval.shape[0]
    expo = 1.0 / ROS_ELO
    while t < t_stop:
        target = t_stop
        if not dense and k_out < n_eval and t_eval[k_out] <= t_stop:
            target = t_eval[k_out]
        if target <= t:
            for i in range(n):
                out_row[k_out, i] = z[i]
            k_out += 1
            continue
        hh = h
        if t + hh >= target:
            hh = target - t
        if hh < 1e-14 * max(1.0, abs(t)):
            return t, h, k_out, STATUS_STEP_TOO_SMALL
        if steps[0] >= max_steps:
            return t, h, k_out, STATUS_MAX_STEPS
        steps[0] += 1
        inv_h = 1.0 / hh
        jac_w(z, p, inv_h / ROS_GAMMA, w)
        lu_factor(w)
        ros_stages(z, f0, p, inv_h, w, K, u, fs)  # y1 -> u, error vector -> fs
        err = 0.0
        negative = False
        finite = True
        for i in range(n):
            y_new = u[i]
            sc = atol + rtol * max(abs(z[i]), abs(y_new))
            e = fs[i] / sc
            err += e * e
            if NONNEGATIVE and y_new < -atol:
                negative = True
            if not (abs(y_new) < 1e300):
                finite = False
        err = (err / n) ** 0.5
        if not finite:
            err = 1e10
        if negative and err <= 1.0:
            err = 2.0  # reject steps that leave the non-negative orthant by more than atol
        if err <= 1.0:
            t_old = t
            t = target if hh == target - t else t + hh
            for i in range(n):
                if NONNEGATIVE and u[i] < 0.0:
                    u[i] = 0.0
            rhs(u, p, fs)
            if dense and ROS_NH > 0 and k_out < n_eval and t_eval[k_out] <= t:
                # outputs inside (t_old, t]: the method's interpolant, D_j = Σ_i H_ji K_i
                for j in range(ROS_NH):
                    for i in range(n):
                        D[j, i] = 0.0
                    for s in range(ROS_S):
                        hjs = ROS_H[j, s]
                        for i in range(n):
                            D[j, i] += hjs * K[s, i]
                while k_out < n_eval and t_eval[k_out] <= t:
                    th = (t_eval[k_out] - t_old) * inv_h
                    th1 = 1.0 - th
                    for i in range(n):
                        acc = D[ROS_NH - 1, i]
                        for j in range(ROS_NH - 2, -1, -1):
                            acc = D[j, i] + th * acc
                        out_row[k_out, i] = th1 * z[i] + th * (u[i] + th1 * acc)
                    k_out += 1
            elif dense:
                # outputs strictly inside (t_old, t]: cubic Hermite on (z, f0) -> (u, f1)
                while k_out < n_eval and t_eval[k_out] <= t:
                    th = (t_eval[k_out] - t_old) * inv_h
                    h00 = (1.0 + 2.0 * th) * (1.0 - th) * (1.0 - th)
                    h10 = th * (1.0 - th) * (1.0 - th)
                    h01 = th * th * (3.0 - 2.0 * th)
                    h11 = th * th * (th - 1.0)
                    for i in range(n):
                        out_row[k_out, i] = h00 * z[i] + h10 * hh * f0[i] + h01 * u[i] + h11 * hh * fs[i]
                    k_out += 1
            for i in range(n):
                z[i] = u[i]
                f0[i] = fs[i]
            fac = 0.9 * max(err, 1e-10) ** -expo
            fac = min(5.0, max(0.2, fac))
            if hh < h and fac < 1.0:
                h = hh * fac
            elif hh >= h:
                h = hh * fac
        else:
            if err >= 1e10:
                h = hh * 0.1
            else:
                h = hh * max(0.2, 0.9 * err ** -expo)
    return t, h, k_out, STATUS_OK


@njit(cache=True, fastmath=True, error_model='numpy', parallel=True)
def solve_population(z0, params, t_start, t_eval, ev_t, ev_idx, ev_amt, rtol, atol, h_init,
                     max_steps, dense, out, status, n_steps, t_reached):
    """Integrate every subject (rows of z0 / params) and write outputs at t_eval.

    z0 : (n_subjects, n_states) scaled initial states at t_start.
    ev_t, ev_idx, ev_amt : (n_subjects, n_events) events: time [day], state index and amount
        [scaled state units]; pad with ev_t = inf. ``ev_idx = -1 - k`` applies model event k.
    out : (n_subjects, n_eval, n_states) scaled states at t_eval (pre-dose at dose times); rows
        of outputs not reached are left untouched (the caller fills them with NaN).
    t_reached : (n_subjects,) time each subject reached (t_eval[-1] when status is 0).
    """
    n_sub = z0.shape[0]
    n = z0.shape[1]
    n_ev = ev_t.shape[1]
    t_end = t_eval[t_eval.shape[0] - 1]
    for s in prange(n_sub):
        z = z0[s].copy()
        p = extend(params[s])
        K = np.empty((ROS_S, n))
        u = np.empty(n)
        f0 = np.empty(n)
        fs = np.empty(n)
        w = np.empty(NNZ)
        D = np.empty((max(ROS_NH, 1), n))
        steps = np.zeros(1, dtype=np.int64)
        t = t_start
        h = h_init
        k_out = 0
        st = STATUS_OK
        e = 0
        rhs(z, p, f0)
        while True:
            t_stop = t_end
            if e < n_ev and ev_t[s, e] < t_stop:
                t_stop = ev_t[s, e]
            t, h, k_out, st = _ros_segment(z, f0, p, t, t_stop, h, t_eval, k_out, out[s],
                                           rtol, atol, max_steps, dense, steps, K, u, fs, w, D)
            if st != STATUS_OK:
                break
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
                rhs(z, p, f0)
            if t >= t_end:
                break
        status[s] = st
        n_steps[s] = steps[0]
        t_reached[s] = t
