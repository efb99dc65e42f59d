# ruff: noqa: F821  (a template: rhs, extend, model_event, *_L, LANES, N_STATES, NNZ, NONNEGATIVE, ROS_* and STATUS_* come from the generated module)
# Tableau-driven Rosenbrock population kernel with subjects across SIMD lanes. Not imported
# directly: appended after rosenbrock_kernel.py's text in the module oasim.solvers.rosenbrock
# generates per model, method and lane count (it reuses that kernel's status codes).
#
# Same method and step logic as rosenbrock_kernel.py's _ros_segment / solve_population, but
# LANES subjects advance in lock-step: each lane has its own t, h, output and event position and
# its own accept / reject; the W + LU and the stages (rhs_L, jac_w_L, lu_factor_L, lu_solve_L,
# ros_stages_L: structure of arrays, state i of lane l at i * LANES + l) run on all lanes at
# once, the step-size logic lane by lane. A lane whose subject is done (or failed) takes the
# next subject of its block; lanes without a subject (the end of a block's queue) compute on
# stale values that are never read.

@njit(cache=True, fastmath=True, error_model='numpy')
def _lane_gather(x, l, v):
    for i in range(v.shape[0]):
        v[i] = x[i * LANES + l]


@njit(cache=True, fastmath=True, error_model='numpy')
def _lane_scatter(v, x, l):
    for i in range(v.shape[0]):
        x[i * LANES + l] = v[i]


@njit(cache=True, fastmath=True, error_model='numpy')
def _lane_load(s, l, z0, params, Z, P, F0, zl, fl):
    """Put subject s into lane l: states, extended parameters and f(z)."""
    n = z0.shape[1]
    pe = extend(params[s])
    for j in range(pe.shape[0]):
        P[j * LANES + l] = pe[j]
    for i in range(n):
        Z[i * LANES + l] = z0[s, i]
        zl[i] = z0[s, i]
    rhs(zl, pe, fl)
    _lane_scatter(fl, F0, l)


@njit(cache=True, fastmath=True, error_model='numpy')
def _lanes_block(lo, hi, z0, params, t_start, t_eval, ev_t, ev_idx, ev_amt, rtol, atol, h_init,
                 max_steps, dense, out, status, n_steps, t_reached):
    """Integrate subjects lo .. hi-1 with LANES lanes; writes their rows of the outputs."""
    n = z0.shape[1]
    nl = n * LANES
    n_p = N_PARAMS + N_DERIVED
    n_eval = t_eval.shape[0]
    n_ev = ev_t.shape[1]
    t_end = t_eval[n_eval - 1]
    expo = 1.0 / ROS_ELO
    Z = np.zeros(nl)
    F0 = np.zeros(nl)
    P = np.ones(n_p * LANES)
    K = np.zeros((ROS_S, nl))
    U = np.zeros(nl)
    FS = np.zeros(nl)
    W = np.zeros(NNZ * LANES)
    D = np.empty((max(ROS_NH, 1), n))
    zl = np.empty(n)
    fl = np.empty(n)
    pl = np.empty(n_p)
    subj = np.full(LANES, -1, dtype=np.int64)
    t = np.zeros(LANES)
    h = np.zeros(LANES)
    hh = np.zeros(LANES)
    tgt = np.zeros(LANES)
    inv_h = np.ones(LANES)
    inv_h_states = np.ones(nl)  # inv_h[l] at every state of lane l, for ros_stages_L
    cw = np.ones(LANES)
    k_out = np.zeros(LANES, dtype=np.int64)
    e = np.zeros(LANES, dtype=np.int64)
    steps = np.zeros(LANES, dtype=np.int64)
    ready = np.zeros(LANES, dtype=np.bool_)
    err = np.zeros(LANES)
    negative = np.zeros(LANES, dtype=np.bool_)
    finite = np.ones(LANES, dtype=np.bool_)
    nxt = lo
    for l in range(LANES):
        if nxt < hi:
            subj[l] = nxt
            _lane_load(nxt, l, z0, params, Z, P, F0, zl, fl)
            t[l] = t_start
            h[l] = h_init
            nxt += 1
    while True:
        # --- per lane: finish segments (outputs, events), end or fail subjects, size the step
        n_ready = 0
        for l in range(LANES):
            ready[l] = False
            while subj[l] >= 0:
                s = subj[l]
                tl = t[l]
                t_stop = t_end
                if e[l] < n_ev and ev_t[s, e[l]] < t_stop:
                    t_stop = ev_t[s, e[l]]
                st = STATUS_OK
                done = False
                if tl >= t_stop:
                    # the segment is done: outputs up to t (pre-dose), then the events at t
                    while k_out[l] < n_eval and t_eval[k_out[l]] <= tl:
                        for i in range(n):
                            out[s, k_out[l], i] = Z[i * LANES + l]
                        k_out[l] += 1
                    applied = False
                    while e[l] < n_ev and ev_t[s, e[l]] <= tl:
                        if ev_idx[s, e[l]] >= 0:
                            Z[ev_idx[s, e[l]] * LANES + l] += ev_amt[s, e[l]]
                        else:
                            _lane_gather(Z, l, zl)
                            _lane_gather(P, l, pl)
                            model_event(-1 - ev_idx[s, e[l]], zl, pl)
                            _lane_scatter(zl, Z, l)
                        e[l] += 1
                        applied = True
                    if applied:
                        h[l] = h_init
                        _lane_gather(Z, l, zl)
                        _lane_gather(P, l, pl)
                        rhs(zl, pl, fl)
                        _lane_scatter(fl, F0, l)
                    if tl >= t_end:
                        done = True
                else:
                    target = t_stop
                    if not dense and k_out[l] < n_eval and t_eval[k_out[l]] <= t_stop:
                        target = t_eval[k_out[l]]
                    if target <= tl:
                        for i in range(n):
                            out[s, k_out[l], i] = Z[i * LANES + l]
                        k_out[l] += 1
                        continue
                    step = h[l]
                    if tl + step >= target:
                        step = target - tl
                    if step < 1e-14 * max(1.0, abs(tl)):
                        st = STATUS_STEP_TOO_SMALL
                        done = True
                    elif steps[l] >= max_steps:
                        st = STATUS_MAX_STEPS
                        done = True
                    else:
                        steps[l] += 1
                        hh[l] = step
                        tgt[l] = target
                        ready[l] = True
                        n_ready += 1
                        break
                if done:
                    status[s] = st
                    n_steps[s] = steps[l]
                    t_reached[s] = tl
                    subj[l] = -1
                    if nxt < hi:
                        subj[l] = nxt
                        _lane_load(nxt, l, z0, params, Z, P, F0, zl, fl)
                        t[l] = t_start
                        h[l] = h_init
                        k_out[l] = 0
                        e[l] = 0
                        steps[l] = 0
                        nxt += 1
        if n_ready == 0:
            break
        # --- all lanes: W = I/(hγ) − J, its LU, the stages
        for l in range(LANES):
            if ready[l]:
                inv_h[l] = 1.0 / hh[l]
                cw[l] = inv_h[l] / ROS_GAMMA
        for i in range(n):
            for l in range(LANES):
                inv_h_states[i * LANES + l] = inv_h[l]
        jac_w_L(Z, P, cw, W)
        lu_factor_L(W)
        ros_stages_L(Z, F0, P, inv_h_states, W, K, U, FS)  # y1 -> U, error vector -> FS
        # --- error norms of all lanes in one pass over the states (each lane's sum in state order)
        for l in range(LANES):
            err[l] = 0.0
            negative[l] = False
            finite[l] = True
        for i in range(n):
            for l in range(LANES):
                m = i * LANES + l
                y_new = U[m]
                sc = atol + rtol * max(abs(Z[m]), abs(y_new))
                q = FS[m] / sc
                err[l] += q * q
                negative[l] |= NONNEGATIVE and y_new < -atol
                finite[l] &= abs(y_new) < 1e300
        # --- per lane: accept / reject
        any_accepted = False
        for l in range(LANES):
            if not ready[l]:
                continue
            acc = (err[l] / n) ** 0.5
            if not finite[l]:
                acc = 1e10
            if negative[l] and acc <= 1.0:
                acc = 2.0  # reject steps that leave the non-negative orthant by more than atol
            err[l] = acc
            if acc <= 1.0:
                any_accepted = True
                if NONNEGATIVE:
                    for i in range(n):
                        if U[i * LANES + l] < 0.0:
                            U[i * LANES + l] = 0.0
        if any_accepted:
            rhs_L(U, P, FS)  # f at the accepted points (rejected lanes' values are not used)
        for l in range(LANES):
            if not ready[l]:
                continue
            s = subj[l]
            step = hh[l]
            if err[l] <= 1.0:
                t_old = t[l]
                t[l] = tgt[l] if step == tgt[l] - t_old else t_old + step
                tl = t[l]
                if dense and ROS_NH > 0 and k_out[l] < n_eval and t_eval[k_out[l]] <= tl:
                    for j in range(ROS_NH):
                        for i in range(n):
                            D[j, i] = 0.0
                        for r in range(ROS_S):
                            hjr = ROS_H[j, r]
                            for i in range(n):
                                D[j, i] += hjr * K[r, i * LANES + l]
                    while k_out[l] < n_eval and t_eval[k_out[l]] <= tl:
                        th = (t_eval[k_out[l]] - t_old) * inv_h[l]
                        th1 = 1.0 - th
                        for i in range(n):
                            a = D[ROS_NH - 1, i]
                            for j in range(ROS_NH - 2, -1, -1):
                                a = D[j, i] + th * a
                            m = i * LANES + l
                            out[s, k_out[l], i] = th1 * Z[m] + th * (U[m] + th1 * a)
                        k_out[l] += 1
                elif dense:
                    while k_out[l] < n_eval and t_eval[k_out[l]] <= tl:
                        th = (t_eval[k_out[l]] - t_old) * inv_h[l]
                        h00 = (1.0 + 2.0 * th) * (1.0 - th) * (1.0 - th)
                        h10 = th * (1.0 - th) * (1.0 - th)
                        h01 = th * th * (3.0 - 2.0 * th)
                        h11 = th * th * (th - 1.0)
                        for i in range(n):
                            m = i * LANES + l
                            out[s, k_out[l], i] = (h00 * Z[m] + h10 * step * F0[m] + h01 * U[m]
                                                   + h11 * step * FS[m])
                        k_out[l] += 1
                for i in range(n):
                    m = i * LANES + l
                    Z[m] = U[m]
                    F0[m] = FS[m]
                fac = 0.9 * max(err[l], 1e-10) ** -expo
                fac = min(5.0, max(0.2, fac))
                if step < h[l] and fac < 1.0:
                    h[l] = step * fac
                elif step >= h[l]:
                    h[l] = step * fac
            else:
                if err[l] >= 1e10:
                    h[l] = step * 0.1
                else:
                    h[l] = step * max(0.2, 0.9 * err[l] ** -expo)


@njit(cache=True, fastmath=True, error_model='numpy', parallel=True)
def solve_population_lanes(z0, params, t_start, t_eval, ev_t, ev_idx, ev_amt, rtol, atol, h_init,
                           max_steps, dense, out, status, n_steps, t_reached, n_threads):
    """solve_population (same arguments and outputs, plus numba's thread count) with LANES
    subjects per kernel call.

    Subjects are split into contiguous blocks (about four per thread, at least 8 · LANES
    subjects each: assumed, so a block's last, partly filled lanes are a small share of its
    work); each block fills its lanes from its own queue."""
    n_sub = z0.shape[0]
    n_blocks = max(1, min(4 * n_threads, n_sub // (8 * LANES)))
    for b in prange(n_blocks):
        lo = b * n_sub // n_blocks
        hi = (b + 1) * n_sub // n_blocks
        _lanes_block(lo, hi, z0, params, t_start, t_eval, ev_t, ev_idx, ev_amt, rtol, atol, h_init,
                     max_steps, dense, out, status, n_steps, t_reached)
