"""Gradient checking: compare a backward pass with central finite differences.

For a function f of tensors x₁…xₖ we check the gradient of the scalar  L = Σ f(x) · v,
with v a fixed random tensor (so a non-scalar output is checked in every direction at
once, and no error can hide by cancelling):

    numeric  ∂L/∂x[i] ≈ (L(x + ε eᵢ) − L(x − ε eᵢ)) / 2ε       error O(ε²)
    analytic ∂L/∂x[i]  from backward()

Everything runs in float64: with ε = 1e-6 the rounding error of a float32 difference
(~1e-7 / 1e-6) would swamp the truncation error (~ε² = 1e-12).

``gradgradcheck`` checks second derivatives the same way, by gradchecking the function
x ↦ Σ ∂L/∂x · u, whose backward is the backward of the backward (double backprop, as the
WGAN-GP penalty needs).

On failure a ``GradcheckError`` says which input, which elements, analytic vs numeric,
and, when the pattern is a classic one, a hint (a flipped sign, a missing factor of 2,
a transpose, a gradient that is all zeros).
"""
from __future__ import annotations

from .backend import numpy as np   # reports are computed on the CPU, in float64

from . import autograd, backend
from .autograd import Tensor
from .backend import get_array_module, to_numpy


class GradcheckError(AssertionError):
    """The analytic gradient disagrees with finite differences; the message says where."""


def _as_float64_inputs(inputs):
    tensors = []
    for x in inputs:
        data = x.data if isinstance(x, Tensor) else x
        if not hasattr(data, "dtype"):
            data = np.asarray(data)
        # host data is checked on the active backend, as sg.tensor() would put it: the
        # function's own constants (sg.tensor(...)) live there, and must meet inputs there
        xp = backend.xp if isinstance(data, np.ndarray) else get_array_module(data)
        if data.dtype.kind == "f":
            tensors.append(Tensor(xp.array(data, dtype=xp.float64), requires_grad=True))
        else:
            tensors.append(Tensor(xp.asarray(data)))      # integers, masks: constants
    return tensors


def _scalar_objective(fn, xs, direction_seed):
    """L = Σ fn(xs) · v with v fixed by the seed; returns (L, v)."""
    out = fn(*xs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: the function must return a Tensor, got {type(out).__name__}")
    xp = get_array_module(out.data)
    rng = np.random.default_rng([direction_seed, 0x6AD])   # not the default_rng(seed) of the inputs
    v = xp.asarray(rng.standard_normal(out.shape) if out.shape else np.float64(1.0))
    return (out * Tensor(v.astype(out.dtype))).sum(), out


def _analytic(fn, xs, seed):
    L, _ = _scalar_objective(fn, xs, seed)
    wanted = [x for x in xs if x.requires_grad]
    grads = {}
    if L.requires_grad:
        found = autograd.grad(L, wanted, allow_unused=True)
        grads = {id(x): g for x, g in zip(wanted, found)}
    result = []
    for x in xs:
        g = grads.get(id(x))
        result.append(np.zeros(x.shape) if g is None else to_numpy(g.data).astype(np.float64))
    return result


def _sides(fn, xs, i, eps, seed):
    """L(x + ε eₖ) and L(x − ε eₖ) for every element k of input i, as float64 arrays."""
    x = xs[i]
    flat = x.data.reshape(-1)      # a view: perturbing it perturbs x
    plus, minus = np.zeros(x.size), np.zeros(x.size)
    for k in range(x.size):
        original = flat[k].item()
        flat[k] = original + eps
        plus[k] = _scalar_objective(fn, xs, seed)[0].item()
        flat[k] = original - eps
        minus[k] = _scalar_objective(fn, xs, seed)[0].item()
        flat[k] = original
    return plus.reshape(x.shape), minus.reshape(x.shape)


def _central(plus, minus, eps):
    with np.errstate(invalid="ignore", over="ignore"):     # inf − inf: reported, not warned
        return (plus - minus) / (2 * eps)


def _numeric(fn, xs, i, eps, seed):
    return _central(*_sides(fn, xs, i, eps, seed), eps)


def numeric_gradients(fn, inputs, eps: float = 1e-6) -> list:
    """d(Σ fn(inputs))/d(each input) by central differences, as float64 NumPy arrays: what a
    correct backward returns for gy = 1 everywhere (None for integer inputs)."""
    xs = _as_float64_inputs(inputs)
    total = lambda *ts: fn(*ts).sum()                  # noqa: E731 (a scalar: v = 1)
    return [_numeric(total, xs, i, eps, 0) if x.requires_grad else None
            for i, x in enumerate(xs)]


def _error_map(off: np.ndarray) -> str:
    """A small picture of where the wrong elements are: x = off, . = right."""
    if off.size > 400 or off.ndim == 0:
        return ""
    grid = off.reshape(-1, off.shape[-1]) if off.ndim > 1 else off.reshape(1, -1)
    rows = ["    " + " ".join("x" if o else "." for o in row) for row in grid]
    label = " (rows are the leading axes flattened)" if off.ndim > 2 else ""
    return "  where the errors are (x = off, . = right)" + label + "\n" + "\n".join(rows)


def diagnose(analytic: np.ndarray, numeric: np.ndarray, off: np.ndarray) -> str | None:
    """A hint for the classic backward mistakes, or None when no pattern fits."""
    a, n = analytic[off], numeric[off]
    if np.allclose(analytic, 0) and not np.allclose(numeric, 0):
        return ("the analytic gradient is zero everywhere: does backward return zeros, or is "
                "this input not connected to the output (a detach, a raw array, .data)?")
    if np.allclose(numeric, 0, atol=1e-7) and not np.allclose(analytic, 0):
        return ("the numeric gradient is zero: the output does not depend on this input, "
                "but backward sends it a gradient")
    if analytic.ndim == 2 and analytic.shape[0] == analytic.shape[1] and \
            np.allclose(analytic.T, numeric, rtol=1e-3, atol=1e-6):
        return "the analytic gradient is the transpose of the numeric one: a missing .T?"
    if np.allclose(a, 0) and not np.allclose(n, 0):
        return ("the analytic gradient is zero exactly where it is off: does a branch of "
                "backward (a mask, a where, one side of a max) drop the gradient?")
    mask = np.abs(n) > 1e-8
    if mask.any():
        ratio = a[mask] / n[mask]
        r = float(np.median(ratio))
        if np.allclose(ratio, r, rtol=1e-2, atol=1e-3):
            for value, text in ((-1.0, "its sign is flipped: a missing minus sign?"),
                                (0.5, "it is half the numeric one: a missing factor of 2?"),
                                (2.0, "it is twice the numeric one: an extra factor of 2?")):
                if abs(r - value) < 1e-2:
                    return f"where the analytic gradient is off, {text}"
            return (f"the analytic gradient is {r:.4g} × the numeric one wherever it is off: "
                    f"a constant factor is wrong (a scale such as 1/N from a mean?)")
    return None


def _at(index) -> str:
    return "[" + ", ".join(str(int(k)) for k in index) + "]"


def _kinks(off, plus, minus, centre, eps):
    """Where an off element sits on a kink: its one-sided slopes
        right = (L(x + ε) − L(x)) / ε,    left = (L(x) − L(x − ε)) / ε
    differ.  On a smooth function they differ by ε·L″ (curvature, O(ε)); across a kink, by
    the jump in the slope (O(1)).  √ε is halfway between the two, on a log scale.
    Returns (mask, right, left)."""
    with np.errstate(invalid="ignore", over="ignore"):
        right, left = (plus - centre) / eps, (centre - minus) / eps
        gap = np.abs(right - left)
        kink = off & (gap > np.sqrt(eps) * (1 + np.maximum(np.abs(right), np.abs(left))))
    return kink, right, left


def _not_finite_lines(i, analytic, numeric, plus, minus, centre):
    """What is NaN or inf, and whose fault that is: backward's, or the function's."""
    lines = []
    bad_numeric = ~np.isfinite(numeric)
    bad_analytic = ~np.isfinite(analytic) & ~bad_numeric
    if bad_analytic.any():
        k = tuple(np.argwhere(bad_analytic)[0])
        lines.append(f"  the analytic gradient is {analytic[k]} at {int(bad_analytic.sum())} of "
                     f"them (first at {_at(k)}) where the numeric one is finite: backward "
                     f"returns {analytic[k]} there (a 0·∞, a log of 0, a division by 0?)")
    if bad_numeric.any():
        k = tuple(np.argwhere(bad_numeric)[0])
        where = (f"at this point (L(x) = {centre})" if not np.isfinite(centre) else
                 f"near this point (L(x + ε) = {plus[k]:.6g}, L(x − ε) = {minus[k]:.6g})")
        lines.append(f"  the numeric gradient is not finite at {int(bad_numeric.sum())} of them "
                     f"(first at {_at(k)}): the function itself is not finite {where}, so the "
                     f"check cannot judge backward there; move input {i} away from it")
    return lines


def _report(name, i, x, analytic, numeric, sides, atol, rtol):
    plus, minus, centre, eps = sides
    finite = np.isfinite(analytic) & np.isfinite(numeric)
    with np.errstate(invalid="ignore", over="ignore"):
        # NaN compares False with everything: a NaN gradient must count as off explicitly
        off = ~finite | (np.abs(analytic - numeric) > atol + rtol * np.abs(numeric))
        if not off.any():
            return None
        kink, right, left = _kinks(off & finite, plus, minus, centre, eps)
        rel = np.abs(analytic - numeric) / np.maximum(np.abs(numeric), 1e-12)
        worst = np.where(~finite, np.inf, np.where(off, np.abs(analytic - numeric), -1))
    worst = np.unravel_index(int(np.argmax(worst)), off.shape) if off.ndim else ()
    lines = [
        f"gradcheck failed for {name}, input {i} (shape {tuple(x.shape)}, float64)",
        f"  {int(off.sum())} of {off.size} elements are off; worst at {_at(worst)}:",
        f"    analytic {analytic[worst]: .6g}   numeric {numeric[worst]: .6g}   "
        f"relative error {rel[worst]:.1e}",
    ]
    picture = _error_map(off)
    if picture:
        lines.append(picture)
    lines += _not_finite_lines(i, analytic, numeric, plus, minus, centre)
    kinks = [tuple(k) for k in np.argwhere(kink)]
    for k in kinks[:3]:
        lines.append(f"  input {i} element {_at(k)} sits on a kink (one-sided slopes "
                     f"{right[k]:.4g} and {left[k]:.4g} differ): the function is not "
                     f"differentiable there; move the input away from it")
    if len(kinks) > 3:
        lines.append(f"  … and {len(kinks) - 3} more elements on kinks")
    judged = off & finite & ~kink     # a hint only from the elements the check can judge
    if judged.any():
        unjudged = off & ~judged      # made to agree, so that they cannot shape the hint
        safe = np.where(np.isfinite(numeric), numeric, 0.0)
        hint = diagnose(np.where(unjudged, safe, analytic), np.where(unjudged, safe, numeric),
                        judged)
        if hint:
            lines.append("  hint: " + hint)
    return "\n".join(lines)


def _name_of(fn, name):
    return name or getattr(fn, "__qualname__", None) or type(fn).__name__


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              name: str | None = None, seed: int = 0, raise_exception: bool = True) -> bool:
    """Check ``fn``'s backward against central differences, in float64.

    Parameters
    ----------
    fn : callable taking Tensors (one per input) and returning a Tensor of any shape
    inputs : arrays or Tensors; floating ones are checked (as float64 copies), integer
        ones are passed through as constants
    Returns True, or raises GradcheckError with a report (False if raise_exception=False).
    """
    name = _name_of(fn, name)
    xs = _as_float64_inputs(inputs)
    try:
        analytic = _analytic(fn, xs, seed)
    except (RuntimeError, ValueError) as exc:
        message = f"gradcheck failed for {name}: backward raised {type(exc).__name__}: {exc}"
        if raise_exception:
            raise GradcheckError(message) from exc
        return False
    centre = _scalar_objective(fn, xs, seed)[0].item()    # L(x): one-sided slopes at kinks
    reports = []
    for i, x in enumerate(xs):
        if not x.requires_grad:
            continue
        plus, minus = _sides(fn, xs, i, eps, seed)
        numeric = _central(plus, minus, eps)
        report = _report(name, i, x, analytic[i], numeric, (plus, minus, centre, eps),
                         atol, rtol)
        if report:
            reports.append(report)
    if reports:
        if raise_exception:
            raise GradcheckError("\n".join(reports))
        return False
    return True


def gradgradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  name: str | None = None, seed: int = 0, raise_exception: bool = True) -> bool:
    """Check second derivatives: gradcheck of x ↦ Σᵢ ⟨∂L/∂xᵢ, uᵢ⟩, built with create_graph=True."""
    name = _name_of(fn, name)

    def first_derivative(*xs):
        L, _ = _scalar_objective(fn, xs, seed)
        wanted = [x for x in xs if x.requires_grad]
        total = Tensor(get_array_module(L.data).zeros((), dtype=L.dtype))
        if not L.requires_grad:
            return total
        grads = autograd.grad(L, wanted, create_graph=True, allow_unused=True)
        rng = np.random.default_rng([seed, 0x6AD6AD])
        for x, g in zip(wanted, grads):
            u = get_array_module(x.data).asarray(rng.standard_normal(x.shape))
            if g is not None:
                total = total + (g * Tensor(u)).sum()
        return total

    # a NaN first derivative makes every numeric second derivative NaN too, which the report
    # would blame on the function: say it is backward's, before anything is perturbed
    xs = _as_float64_inputs(inputs)
    try:
        backward_is_finite = np.isfinite(first_derivative(*xs).item())
    except (RuntimeError, ValueError):   # gradcheck below reports it, with its cause
        backward_is_finite = True
    if not backward_is_finite and np.isfinite(_scalar_objective(fn, xs, seed)[0].item()):
        message = (f"gradcheck failed for the gradient of {name} (second order): the function "
                   f"is finite here but its backward returns nan or inf, so the gradient of "
                   f"the gradient cannot be checked; gradcheck (first order) shows where")
        if raise_exception:
            raise GradcheckError(message)
        return False
    return gradcheck(first_derivative, inputs, eps=eps, atol=atol, rtol=rtol,
                     name=f"the gradient of {name} (second order)", seed=seed,
                     raise_exception=raise_exception)
