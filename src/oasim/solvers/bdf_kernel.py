# ruff: noqa: F821  (a template: rhs, jac_w, lu_*, extend, model_event, NNZ, DIAG, NONNEGATIVE come from the generated module)
# Variable-order BDF (NDF) population kernel. Not imported directly: its text is appended to the
# model-specific module written by oasim.solvers.codegen (see oasim.solvers.bdf).
#
# The method is SciPy's ``BDF`` (scipy/integrate/_ivp/bdf.py: the NDF/BDF formulas of orders 1-5
# in backward-difference form with quasi-constant step size, Shampine & Reichelt 1997,
# ``shampine1997matlab``), ported line by line to numba on the generated sparse kernels:
# * the Jacobian J is analytic and kept between steps; it is re-evaluated only when the Newton
#   iteration fails to converge with the kept one (as SciPy and CVODE do);
# * the LU of W = I/c − J (c = h / α_k) is kept while h and the order stay the same (SciPy
#   refactors after every change of h or order, so do we);
# * outputs inside a step come from the BDF interpolating polynomial (SciPy's BdfDenseOutput);
#   the integration stops only at events (doses), where it restarts at order 1.
# Differences to SciPy: the system is autonomous between events (no t argument); a step whose
# states leave the non-negative orthant by more than atol is rejected when the model is
# non-negative (as in rosenbrock_kernel.py); status codes instead of exceptions.
from numba import prange

STATUS_OK = 0
STATUS_MAX_STEPS = 1
STATUS_STEP_TOO_SMALL = 2
STATUS_NOT_FINITE = 3

BDF_MAX_ORDER = 5
BDF_NEWTON_MAXITER = 4  # SciPy's NEWTON_MAXITER
BDF_MIN_FACTOR = 0.2
BDF_MAX_FACTOR = 10.0
# CVODE's linear-solver and Newton policy (Hindmarsh et al. 2005, hindmarsh2005sundials; the
# constants of cvode.c, cvode_nls.c and cvode_ls.c): refactor W when c = h/alpha changed by more than DGMAX or MSBP steps passed
# since the last LU; re-evaluate J every MSBJ steps or after a Newton failure with a stale J; the
# contraction-rate estimate decays by CRDOWN; divergence when the rate exceeds RDIV; the Newton
# correction must fall below NLSCOEF of the error-test bound (1 / error constant); h and the order
# change only after a rejection or when the step can grow by THRESH.
BDF_DGMAX = 0.3
BDF_MSBP = 20
BDF_MSBJ = 51
BDF_CRDOWN = 0.3
BDF_RDIV = 2.0
BDF_NLSCOEF = 0.1
BDF_THRESH = 1.5  # CVODE: keep h and the order unless the step can grow by this factor
_KAPPA = np.array([0.0, -0.1850, -1.0 / 9.0, -0.0823, -0.0415, 0.0])
BDF_GAMMA = np.concatenate((np.zeros(1), np.cumsum(1.0 / np.arange(1, BDF_MAX_ORDER + 1))))
BDF_ALPHA = (1.0 - _KAPPA) * BDF_GAMMA
BDF_ERROR_CONST = _KAPPA * BDF_GAMMA + 1.0 / np.arange(1, BDF_MAX_ORDER + 2)


def _compute_r_table(order, factor):
    """SciPy's compute_R (used for the constant U = R(order, 1) tables)."""
    i = np.arange(1, order + 1)[:, None]
    j = np.arange(1, order + 1)
    m = np.zeros((order + 1, order + 1))
    m[1:, 1:] = (i - 1 - factor * j) / i
    m[0] = 1
    return np.cumprod(m, axis=0)


BDF_U = np.zeros((BDF_MAX_ORDER + 1, BDF_MAX_ORDER + 1, BDF_MAX_ORDER + 1))
for _q in range(1, BDF_MAX_ORDER + 1):
    BDF_U[_q, :_q + 1, :_q + 1] = _compute_r_table(_q, 1.0)
BDF_INV = np.concatenate((np.zeros(1), 1.0 / np.arange(1, BDF_MAX_ORDER + 1)))


@njit(cache=True, fastmath=True, error_model='numpy')
def _change_d(D, order, factor, r, ru, tmp):
    """SciPy's change_D: rescale the differences D[:order+1] to the step h·factor,
    D[:order+1] = (R U)^T D[:order+1] with R = compute_R(order, factor), U = compute_R(order, 1)."""
    for j in range(order + 1):
        r[0, j] = 1.0
    for i in range(1, order + 1):
        r[i, 0] = 0.0
        for j in range(1, order + 1):
            r[i, j] = r[i - 1, j] * (i - 1 - factor * j) * BDF_INV[i]
    for i in range(order + 1):
        for j in range(order + 1):
            acc = 0.0
            for k in range(order + 1):
                acc += r[i, k] * BDF_U[order, k, j]
            ru[i, j] = acc
    n = D.shape[1]
    for j in range(order + 1):
        for m in range(n):
            tmp[j, m] = 0.0
        for i in range(order + 1):
            c = ru[i, j]
            for m in range(n):
                tmp[j, m] += c * D[i, m]
    for j in range(order + 1):
        for m in range(n):
            D[j, m] = tmp[j, m]


_EXP_MASK = 0x7FF0000000000000  # an IEEE double is NaN or infinite iff all its exponent bits are set


@njit(cache=True, fastmath=True, error_model='numpy')
def _finite(v):
    """All components finite, tested on the bits: under fastmath's no-NaN assumption LLVM may
    fold a float comparison such as ``x < inf`` to true, and a NaN step would be accepted."""
    bits = v.view(np.int64)
    for i in range(bits.shape[0]):
        if (bits[i] & _EXP_MASK) == _EXP_MASK:
            return False
    return True


@njit(cache=True, fastmath=True, error_model='numpy')
def _rms(v, inv_scale):
    """Weighted RMS norm; inf when any component is NaN or infinite."""
    if not _finite(v):
        return np.inf
    acc = 0.0
    for i in range(v.shape[0]):
        e = v[i] * inv_scale[i]
        acc += e * e
    return (acc / v.shape[0]) ** 0.5


@njit(cache=True, fastmath=True, error_model='numpy')
def _newton(p, y_predict, c, c_lu, psi, w, inv_scale, tol, crate, y, d, f, b):
    """Simplified Newton for y = y_predict + d with (I − cJ) d = c f(y) − psi, on the LU of
    I/c_lu − J (CVODE's scheme: the stale-c solution is scaled by 2/(1 + c/c_lu); convergence when
    the correction times the contraction rate is below tol; divergence when the rate exceeds 2).

    Returns (converged, iterations, contraction-rate estimate). y, d are outputs."""
    n = y.shape[0]
    for i in range(n):
        y[i] = y_predict[i]
        d[i] = 0.0
    fac = 2.0 / (c_lu + c)
    dy_norm_old = 0.0
    converged = False
    k = 0
    for k in range(BDF_NEWTON_MAXITER):
        rhs(y, p, f)
        if not _finite(f):
            break
        for i in range(n):
            b[i] = (c * f[i] - psi[i] - d[i]) * fac
        lu_solve(w, b)
        dy_norm = _rms(b, inv_scale)
        if dy_norm == np.inf:
            break
        if k > 0:
            rate = dy_norm / dy_norm_old
            crate = max(BDF_CRDOWN * crate, rate)
            if rate > BDF_RDIV:
                break
        for i in range(n):
            y[i] += b[i]
            d[i] += b[i]
        if dy_norm * min(1.0, crate) <= tol:
            converged = True
            break
        dy_norm_old = dy_norm
    return converged, k + 1, crate


@njit(cache=True, fastmath=True, error_model='numpy')
def _bdf_segment(z, p, t, t_stop, h_abs, t_eval, k_out, out_row, rtol, atol, max_steps, counts,
                 D, wj, w, y_predict, psi, inv_scale, y, d, f, b, r, u, tmp, ratio):
    """Integrate one subject from t to t_stop (no event inside) in place, starting at order 1.

    counts : [steps (accepted + rejected), RHS evaluations, LU factorisations, Jacobians].
    Returns (t, h_abs, k_out, status)."""
    n = z.shape[0]
    n_eval = t_eval.shape[0]
    rhs(z, p, f)
    counts[1] += 1
    for i in range(n):
        D[0, i] = z[i]
        D[1, i] = f[i] * h_abs
    order = 1
    n_equal_steps = 0
    jac_w(z, p, 0.0, wj)  # wj = −J
    counts[3] += 1
    steps_since_j = 0
    steps_since_lu = 0
    c_lu = 1.0
    crate = 1.0
    lu_valid = False
    while t < t_stop:
        current_jac = steps_since_j == 0
        accepted = False
        t_new = t
        error_norm = 0.0
        safety = 0.0
        while not accepted:
            if h_abs < 1e-14 * max(1.0, abs(t)):
                return t, h_abs, k_out, STATUS_STEP_TOO_SMALL
            if counts[0] >= max_steps:
                return t, h_abs, k_out, STATUS_MAX_STEPS
            counts[0] += 1
            t_new = t + h_abs
            if t_new >= t_stop:
                t_new = t_stop
                _change_d(D, order, (t_new - t) / h_abs, r, u, tmp)
                n_equal_steps = 0
                h_abs = t_new - t
            for i in range(n):
                acc = 0.0
                for j in range(order + 1):
                    acc += D[j, i]
                y_predict[i] = acc
                inv_scale[i] = 1.0 / (atol + rtol * abs(acc))
                acc = 0.0
                for j in range(1, order + 1):
                    acc += BDF_GAMMA[j] * D[j, i]
                psi[i] = acc / BDF_ALPHA[order]
            c = h_abs / BDF_ALPHA[order]
            tol = BDF_NLSCOEF / BDF_ERROR_CONST[order]
            converged = False
            n_iter = 0
            while not converged:
                if not lu_valid or abs(c / c_lu - 1.0) > BDF_DGMAX or steps_since_lu >= BDF_MSBP:
                    if steps_since_j >= BDF_MSBJ:
                        jac_w(y_predict, p, 0.0, wj)
                        counts[3] += 1
                        steps_since_j = 0
                        current_jac = True
                    for k in range(NNZ):
                        w[k] = wj[k]
                    for i in range(n):
                        w[DIAG[i]] += 1.0 / c
                    lu_factor(w)
                    counts[2] += 1
                    c_lu = c
                    crate = 1.0
                    steps_since_lu = 0
                    lu_valid = True
                converged, n_iter, crate = _newton(p, y_predict, c, c_lu, psi, w, inv_scale, tol, crate,
                                                   y, d, f, b)
                counts[1] += n_iter
                if not converged:
                    lu_valid = False
                    if current_jac:
                        break
                    jac_w(y_predict, p, 0.0, wj)
                    counts[3] += 1
                    steps_since_j = 0
                    current_jac = True
            if not converged:
                h_abs *= 0.5
                _change_d(D, order, 0.5, r, u, tmp)
                n_equal_steps = 0
                continue
            safety = 0.9 * (2 * BDF_NEWTON_MAXITER + 1) / (2 * BDF_NEWTON_MAXITER + n_iter)
            negative = False
            for i in range(n):
                inv_scale[i] = 1.0 / (atol + rtol * abs(y[i]))
                b[i] = BDF_ERROR_CONST[order] * d[i]
                if NONNEGATIVE and y[i] < -atol:
                    negative = True
            error_norm = _rms(b, inv_scale)
            if negative and error_norm <= 1.0:
                error_norm = 2.0  # leaves the non-negative orthant by more than atol: reject
            if error_norm > 1.0:
                factor = max(BDF_MIN_FACTOR, safety * error_norm ** (-1.0 / (order + 1)))
                h_abs *= factor
                _change_d(D, order, factor, r, u, tmp)
                n_equal_steps = 0
            else:
                accepted = True
        n_equal_steps += 1
        steps_since_j += 1
        steps_since_lu += 1
        t = t_new
        for i in range(n):
            z[i] = y[i]
            D[order + 2, i] = d[i] - D[order + 1, i]
            D[order + 1, i] = d[i]
        for j in range(order, -1, -1):
            for i in range(n):
                D[j, i] += D[j + 1, i]
        if n_equal_steps >= order + 1:
            err_m = np.inf
            err_p = np.inf
            if order > 1:
                for i in range(n):
                    b[i] = BDF_ERROR_CONST[order - 1] * D[order, i]
                err_m = _rms(b, inv_scale)
            if order < BDF_MAX_ORDER:
                for i in range(n):
                    b[i] = BDF_ERROR_CONST[order + 1] * D[order + 2, i]
                err_p = _rms(b, inv_scale)
            # factors = error_norms ** (-1 / [order, order+1, order+2]); a zero norm -> a large factor
            f_m = max(err_m, 1e-300) ** (-1.0 / order)
            f_0 = max(error_norm, 1e-300) ** (-1.0 / (order + 1))
            f_p = max(err_p, 1e-300) ** (-1.0 / (order + 2))
            best = f_0
            delta = 0
            if f_m > best:
                best = f_m
                delta = -1
            if f_p > best:
                best = f_p
                delta = 1
            factor = min(BDF_MAX_FACTOR, safety * best)
            if factor >= BDF_THRESH:
                order += delta
                h_abs *= factor
                _change_d(D, order, factor, r, u, tmp)
            n_equal_steps = 0
        # outputs in (t_old, t]: the interpolating polynomial (SciPy's BdfDenseOutput) on the
        # current differences, step h_abs and order
        while k_out < n_eval and t_eval[k_out] <= t:
            acc = 1.0
            for j in range(order):
                acc *= (t_eval[k_out] - (t - h_abs * j)) / (h_abs * (1 + j))
                ratio[j] = acc
            for i in range(n):
                v = D[0, i]
                for j in range(order):
                    v += D[j + 1, i] * ratio[j]
                if NONNEGATIVE and v < 0.0:
                    v = 0.0  # within atol of 0 (steps further below are rejected)
                out_row[k_out, i] = v
            k_out += 1
    return t, h_abs, k_out, STATUS_OK


@njit(cache=True, fastmath=True, error_model='numpy', parallel=True)
def solve_population(z0, params, t_start, t_eval, ev_t, ev_idx, ev_amt, rtol, atol, h_init,
                     max_steps, out, status, counts, t_reached):
    """Integrate every subject (rows of z0 / params) and write outputs at t_eval.

    Same contract as rosenbrock_kernel.solve_population: scaled states, events padded with
    ev_t = inf (``ev_idx = -1 - k`` applies model event k), outputs at a dose time are pre-dose,
    outputs not reached are left untouched, t_reached per subject.
    counts : (n_subjects, 4) steps (accepted + rejected), RHS evaluations, LU factorisations and
        Jacobian evaluations of each subject.
    """
    n_sub = z0.shape[0]
    n = z0.shape[1]
    n_ev = ev_t.shape[1]
    t_end = t_eval[t_eval.shape[0] - 1]
    for s in prange(n_sub):
        z = z0[s].copy()
        p = extend(params[s])
        D = np.zeros((BDF_MAX_ORDER + 3, n))
        wj = np.empty(NNZ)
        w = np.empty(NNZ)
        y_predict = np.empty(n)
        psi = np.empty(n)
        inv_scale = np.empty(n)
        y = np.empty(n)
        d = np.empty(n)
        f = np.empty(n)
        b = np.empty(n)
        r = np.empty((BDF_MAX_ORDER + 1, BDF_MAX_ORDER + 1))
        u = np.empty((BDF_MAX_ORDER + 1, BDF_MAX_ORDER + 1))
        tmp = np.empty((BDF_MAX_ORDER + 1, n))
        ratio = np.empty(BDF_MAX_ORDER)
        t = t_start
        k_out = 0
        st = STATUS_OK
        e = 0
        while True:
            t_stop = t_end
            if e < n_ev and ev_t[s, e] < t_stop:
                t_stop = ev_t[s, e]
            if t_stop > t:
                t, _h, k_out, st = _bdf_segment(z, p, t, t_stop, min(h_init, t_stop - t), t_eval, k_out, out[s],
                                                rtol, atol, max_steps, counts[s], D, wj, w, y_predict, psi,
                                                inv_scale, y, d, f, b, r, u, tmp, ratio)
            if st != STATUS_OK:
                break
            while k_out < t_eval.shape[0] and t_eval[k_out] <= t:
                for i in range(n):
                    out[s, k_out, i] = z[i]
                k_out += 1
            while e < n_ev and ev_t[s, e] <= t:
                if ev_idx[s, e] >= 0:
                    z[ev_idx[s, e]] += ev_amt[s, e]
                else:
                    model_event(-1 - ev_idx[s, e], z, p)
                e += 1
            if t >= t_end:
                break
        status[s] = st
        t_reached[s] = t
