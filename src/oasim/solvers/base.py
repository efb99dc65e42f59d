"""The solver interface: integrate every subject, with dose events, onto an output grid."""

from __future__ import annotations

import abc

import numpy as np

from ..model import KneeModel
from ..odemodel import OdeModel
from .solution import Solution


class AbstractSolver(abc.ABC):
    """Integrates ``model`` for a population.

    Parameters of ``solve``
    -----------------------
    y0 : (n_subjects, n_states) initial states at ``t_start_days`` [model units]
    params : (n_subjects, n_params) parameter values in ``model.parameter_names`` order
    t_eval_days : (n_times,) increasing output times, the last one ends the integration
    events : (t_days, state_idx, amount) from :func:`oasim.protocol.dose_events`, or None
    """

    rtol: float
    atol: float

    @abc.abstractmethod
    def solve(self, model: KneeModel, y0: np.ndarray, params: np.ndarray, t_eval_days: np.ndarray,
              events=None, t_start_days: float = 0.0) -> Solution:
        ...


def check_inputs(model: KneeModel, y0, params, t_eval_days, events, t_start_days):
    """Validate shapes and return contiguous float arrays and padded events."""
    from ..errors import FieldError

    y0 = np.ascontiguousarray(np.atleast_2d(y0), dtype=float)
    params = np.ascontiguousarray(np.atleast_2d(params), dtype=float)
    t_eval = np.ascontiguousarray(t_eval_days, dtype=float)
    n_states, n_params = len(model.states), len(model.parameter_names)
    if y0.shape[1] != n_states:
        raise FieldError("y0", y0.shape, f"(n_subjects, {n_states})")
    if params.shape != (y0.shape[0], n_params):
        raise FieldError("params", params.shape, f"({y0.shape[0]}, {n_params})")
    if t_eval.ndim != 1 or t_eval.size == 0 or np.any(np.diff(t_eval) < 0) or t_eval[0] < t_start_days:
        raise FieldError("t_eval_days", t_eval, f"non-empty, increasing, >= t_start ({t_start_days})")
    if events is None:
        events = (np.full((y0.shape[0], 1), np.inf), np.zeros((y0.shape[0], 1), np.int64),
                  np.zeros((y0.shape[0], 1)))
    ev_t, ev_idx, ev_amt = (np.ascontiguousarray(a) for a in events)
    if not (ev_t.ndim == 2 and ev_t.shape[0] == y0.shape[0] and ev_idx.shape == ev_t.shape == ev_amt.shape):
        # the kernel indexes events by subject row without bounds checks
        raise FieldError("events", (ev_t.shape, ev_idx.shape, ev_amt.shape),
                         f"three arrays of shape ({y0.shape[0]}, n_events): one row per subject")
    if np.any(ev_idx >= n_states):
        raise FieldError("events.state_idx", int(ev_idx.max()), f"< {n_states} (a state of the model)")
    return y0, params, t_eval, (ev_t.astype(float), ev_idx.astype(np.int64), ev_amt.astype(float))


def model_event_times(model, params: np.ndarray, t_start_days: float) -> np.ndarray:
    """(n_subjects, n_model_events) firing times the model declares
    (:meth:`oasim.odemodel.OdeModel.event_times`); a bare ``OdeSystem`` declares none."""
    if isinstance(model, OdeModel):
        return np.asarray(model.event_times(params, t_start_days), dtype=float)
    return np.zeros((np.atleast_2d(params).shape[0], 0))


def with_model_events(model, params: np.ndarray, events, t_start_days: float):
    """Append the model's own timed events (e.g. SBML events) to the dose events.

    The model declares them (:meth:`oasim.odemodel.OdeModel.event_times`, ``(n_subjects,
    n_model_events)``, inf = never; none by default); its event k is encoded as state index
    ``-1 - k`` for the numba kernel, which then calls the generated ``model_event(k, z, p)``.
    Within a subject, events are sorted by time; at equal times doses come first, then model
    events in model order.
    """
    times = model_event_times(model, params, t_start_days)
    if times.size == 0:
        return events
    ev_t, ev_idx, ev_amt = events
    n_sub, k = times.shape
    t = np.concatenate([ev_t, times], axis=1)
    idx = np.concatenate([ev_idx, np.broadcast_to(-1 - np.arange(k, dtype=np.int64), (n_sub, k))], axis=1)
    amt = np.concatenate([ev_amt, np.zeros((n_sub, k))], axis=1)
    order = np.argsort(t, axis=1, kind="stable")
    take = lambda a: np.ascontiguousarray(np.take_along_axis(a, order, axis=1))  # noqa: E731
    return take(t), take(idx), take(amt)


def kernel_arrays(kernel, model, y0, params, t_eval_days, events, t_start_days):
    """Validated inputs in the kernel's scaled units, and the arrays it fills.

    Returns ``(t_eval, z0, params, (ev_t, ev_idx, ev_amt), scales, out, status, t_reached)``:
    events include the model's own (state index ``-1 - k``), dose amounts are scaled by their
    state's scale, ``out`` is NaN-filled (a failed subject's unreached outputs stay NaN).
    """
    y0, params, t_eval, (ev_t, ev_idx, ev_amt) = check_inputs(model, y0, params, t_eval_days, events, t_start_days)
    ev_t, ev_idx, ev_amt = with_model_events(model, params, (ev_t, ev_idx, ev_amt), t_start_days)
    scales = np.asarray(kernel.SCALES)
    z0 = np.ascontiguousarray(y0 / scales)
    amt = np.ascontiguousarray(np.where(ev_idx >= 0, ev_amt / scales[np.maximum(ev_idx, 0)], 0.0))
    n_sub = y0.shape[0]
    out = np.full((n_sub, t_eval.size, scales.size), np.nan)
    return (t_eval, z0, params, (ev_t, ev_idx, amt), scales, out, np.zeros(n_sub, dtype=np.int64),
            np.full(n_sub, np.nan))
