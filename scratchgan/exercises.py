"""Gradient-checking exercises for class: the list of exercises, and the check a student runs.

    python -m scratchgan check sigmoid          (or: make check EX=sigmoid)

Each exercise is a file in lessons/exercises/ with one backward (for the gradient penalty,
one piece of the loss) left blank; lessons/solutions/ holds the same files filled in.
``check`` loads the student's file from its path, runs it on small float64 inputs and
turns whatever goes wrong into a report written for the student: which input, which
elements, by how much, and a hint where the mistake is a classic one.

``check`` runs the student's code in a child Python, under a time limit, and trusts only
the verdict the child writes once every check has run: an endless loop in backward, or a
sys.exit/os._exit in the file, is then a failure with its own line, never a hang or a
pass.  ``check_here`` is the same check in this process (what the tests call).
"""
from __future__ import annotations

import difflib
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import backend, losses
from . import functional as F
from .autograd import Tensor, grad, no_grad
from .backend import numpy as np
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numeric_gradients

LESSONS = Path(__file__).resolve().parent.parent / "lessons"
TIMEOUT_S = 60.0        # the default limit on one check; SCRATCHGAN_CHECK_TIMEOUT overrides it

TENSOR_OPS_HINT = ("first order passes, so your formula is right, but the gradient of your "
                   "gradient is wrong: write backward with Tensor ops, not .data/raw arrays. "
                   "A raw array is a constant to autograd, so a gradient built from one cannot "
                   "be differentiated again (WGAN-GP's gradient penalty needs exactly that).")


GRADCHECK_FAILED = "gradcheck failed for"
# gradcheck compares dL/dx for L = Σ v·y with v a fixed random array (gradcheck.py): a
# student who expects σ'(x) > 0 and reads a negative "numeric" value needs to know why
RANDOM_GY_NOTE = ("  note: the check calls backward with a random gy (fixed normal numbers, "
                  "as if L = Σ gy·y), so both columns are dL/dx = gy · dy/dx, not dy/dx: "
                  "either may be negative where dy/dx > 0. What matters is that they agree.")


@dataclass
class CheckResult:
    passed: bool
    report: str


class _Stop(Exception):
    """The check cannot go on (the code is not written yet, the file does not load); the
    message says why, for the student."""


@dataclass
class Case:
    """One set of inputs to check the student's Function on: named float64 arrays, and the
    keyword arguments its constructor takes (an axis, a slope, a weight)."""
    inputs: dict
    options: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        shapes = ", ".join(f"{name} {tuple(a.shape)}" for name, a in self.inputs.items())
        return shapes + "".join(f", {key}={value}" for key, value in self.options.items())


@dataclass
class Exercise:
    stem: str             # the file name without .py: "01_sigmoid"
    writes: str           # what the student writes: "Sigmoid.backward"
    teaches: str          # one line for --list
    second_order = False  # is the student's gradient differentiated again?

    @property
    def name(self) -> str:
        return self.stem.split("_", 1)[1]


# ---------------------------------------------------------------------------------------
# The inputs
# ---------------------------------------------------------------------------------------
def _away_from_zero(rng, *shape, margin=0.2):
    """Normal samples pushed at least ``margin`` from 0, where |x| and leaky_relu have a kink
    that a finite difference must not straddle."""
    x = rng.standard_normal(shape)
    return np.sign(x) * (np.abs(x) + margin)


def _elementwise(rng):
    return [Case({"x": rng.standard_normal((3, 4))}), Case({"x": rng.standard_normal((2, 3, 2))})]


def _leaky_relu(rng):
    return [Case({"x": _away_from_zero(rng, 3, 4)}, {"slope": 0.2}),
            Case({"x": _away_from_zero(rng, 5)}, {"slope": 0.01})]


def _matmul(rng):   # the square case makes a transposed gradient show as one, not as a crash
    return [Case({"a": rng.standard_normal((3, 4)), "b": rng.standard_normal((4, 2))}),
            Case({"a": rng.standard_normal((4, 4)), "b": rng.standard_normal((4, 4))})]


def _product(p, q):
    """p @ q where the shapes allow it (a wrong formula can only be matched if it computes)."""
    return p @ q if p.shape[-1] == q.shape[0] else None


def _matmul_mistakes(gy, a, b):
    """The transposes students forget, as (input index, hint, the gradient they would get)."""
    return [(0, "dL/dA here is gy @ B, without a transpose. Write one element, dL/dA[i, p] = "
                "Σ_j gy[i, j] · B[p, j]: the sum runs along B's second index, so B enters "
                "transposed.", _product(gy, b)),
            (1, "dL/dB here is A @ gy, without a transpose. Write one element, dL/dB[p, j] = "
                "Σ_i A[i, p] · gy[i, j]: the sum runs along A's first index, so A enters "
                "transposed.", _product(a, gy))]


def _broadcast_add(rng):
    return [Case({"a": rng.standard_normal((3, 4)), "b": rng.standard_normal((3, 4))}),
            Case({"a": rng.standard_normal((3, 1)), "b": rng.standard_normal((1, 4))}),
            Case({"a": rng.standard_normal((2, 3, 4)), "b": rng.standard_normal(4)})]


def _mean_axis(rng):
    return [Case({"x": rng.standard_normal((3, 4))}, {"axis": 0}),
            Case({"x": rng.standard_normal((2, 3, 4))}, {"axis": 1}),
            Case({"x": rng.standard_normal((2, 3, 4))}, {"axis": -1})]


def _log_softmax(rng):
    return [Case({"x": rng.standard_normal((3, 5))}, {"axis": -1}),
            Case({"x": rng.standard_normal((4, 3))}, {"axis": 0})]


def _linear(rng):   # square W: a transposed dL/dW shows as one, not as a shape error
    return [Case({"x": rng.standard_normal((4, 3)), "W": rng.standard_normal((2, 3)),
                  "b": rng.standard_normal(2)}),
            Case({"x": rng.standard_normal((3, 3)), "W": rng.standard_normal((3, 3)),
                  "b": rng.standard_normal(3)})]


def _linear_mistakes(gy, x, W, b):
    return [(0, "dL/dx here is gy @ Wᵀ. The forward multiplies by Wᵀ (y = x Wᵀ + b), so the "
                "backward multiplies by its transpose, W.", _product(gy, W.T)),
            (2, "dL/db here sums gy over axis 1. b is added to every row (every sample) of "
                "y, so its gradient sums gy over the rows: axis 0.", gy.sum(axis=1))]


def _bce(rng):
    return [Case({"logits": 2 * rng.standard_normal(6), "targets": rng.uniform(size=6)}),
            Case({"logits": 2 * rng.standard_normal((3, 4)), "targets": rng.uniform(size=(3, 4))})]


def _lsgan(rng):    # batches of different sizes: each mean has its own N
    return [Case({"real_out": rng.standard_normal(8), "fake_out": rng.standard_normal(8)}),
            Case({"real_out": rng.standard_normal((4, 1)), "fake_out": rng.standard_normal((6, 1))})]


def _cycle(rng):
    def pair(*shape):   # x and F(G(x)) at least 0.2 apart everywhere: away from |u|'s kink
        x = rng.standard_normal(shape)
        return x, x + _away_from_zero(rng, *shape)
    (x, xc), (y, yc) = pair(2, 3), pair(5)
    (x2, xc2), (y2, yc2) = pair(3, 2, 2), pair(3, 2, 2)
    return [Case({"x": x, "x_cycled": xc, "y": y, "y_cycled": yc}, {"weight": 10.0}),
            Case({"x": x2, "x_cycled": xc2, "y": y2, "y_cycled": yc2}, {"weight": 2.5})]


def _cycle_mistakes(g_loss, x, x_cycled, y, y_cycled, weight):
    """The four gradients without λ: the mean's 1/N is there, the loss's weight is not."""
    g_xc = g_loss * np.sign(x_cycled - x) / x.size
    g_yc = g_loss * np.sign(y_cycled - y) / y.size
    hint = (f"this gradient is the right one divided by λ = self.weight ({weight:g}): the "
            f"loss is λ · (mean + mean), so every gradient carries the factor λ too")
    return [(i, hint, wrong) for i, wrong in enumerate((-g_xc, g_xc, -g_yc, g_yc))]


def _conv(rng):     # stride 1, then stride 2 with padding; C ≠ C_out, so a swapped axis shows
    return [Case({"x": rng.standard_normal((2, 2, 5, 5)), "W": rng.standard_normal((3, 2, 3, 3)),
                  "b": rng.standard_normal(3)}),
            Case({"x": rng.standard_normal((2, 3, 6, 6)), "W": rng.standard_normal((2, 3, 4, 4)),
                  "b": rng.standard_normal(2)}, {"stride": 2, "padding": 1})]


def _conv_transpose(rng):   # C_in = C_out first (a swapped W shows as values), then G's step
    return [Case({"x": rng.standard_normal((2, 2, 3, 3)), "W": rng.standard_normal((2, 2, 3, 3)),
                  "b": rng.standard_normal(2)}),
            Case({"x": rng.standard_normal((2, 3, 4, 4)), "W": rng.standard_normal((3, 2, 4, 4)),
                  "b": rng.standard_normal(2)}, {"stride": 2, "padding": 1})]


def _conv_mistakes(gy, x, W, b, stride=1, padding=0):
    """Conv2d's backward with one of the two layouts the forward changed left as it was."""
    c_out, c, kh, kw = W.shape
    gy, x_t, W_t = (Tensor(backend.asarray(a)) for a in (gy, x, W))
    g = gy.transpose(0, 2, 3, 1).reshape(-1, c_out)
    patches = F.unfold(x_t, (kh, kw), stride, padding).reshape(-1, kh * kw * c)
    K = W_t.transpose(0, 2, 3, 1).reshape(c_out, kh * kw * c)
    g_K = g.T @ patches
    n, _, h_out, w_out = gy.shape
    g_unmoved = gy.reshape(-1, c_out)           # gy's numbers read in the wrong order
    g_x_unmoved = F.fold((g_unmoved @ K).reshape(n, h_out * w_out, kh * kw * c), x.shape,
                         (kh, kw), stride, padding)
    return [(1, "dL/dW here is gᵀ·patches reshaped straight to (C_out, C, kh, kw). Its columns "
                "are in the patches' order (u, v, c), as K's are: reshape to (C_out, kh, kw, C) "
                "first, then .transpose(0, 3, 1, 2) back to W's layout.",
             backend.to_numpy(g_K.reshape(c_out, c, kh, kw).data)),
            (0, "dL/dx (and with it dL/dW and dL/db) here comes from gy.reshape(N·L, C_out) "
                "without moving the channels last. The forward computed y as (N, H_out, "
                "W_out, C_out) and transposed it at the end, so gy must be transposed back, "
                "gy.transpose(0, 2, 3, 1), before the reshape.",
             backend.to_numpy(g_x_unmoved.data))]


# ---------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------
def _shown(path: Path) -> str:
    """The path as the student knows it: relative to where they stand, if it is below."""
    try:
        return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
    except ValueError:                       # another drive (Windows)
        return str(path)


def _your_code_raised(exc: BaseException, path: Path) -> str:
    """The exception, its traceback cut down to the lines of the student's file."""
    if isinstance(exc, SyntaxError):         # not raised by a line: it is about one
        return (f"Python cannot read it: {exc.msg}\n  {_shown(path)}, line {exc.lineno}\n"
                f"    {(exc.text or '').strip()}")
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    lines = [f"your code raised {type(exc).__name__}"
             + (":" if frames else " (not on a line of your file):")]
    for frame in frames:
        lines += [f"  {_shown(path)}, line {frame.lineno}, in {frame.name}",
                  f"    {frame.line}"]
    lines.append(f"{type(exc).__name__}: {exc}" + _did_you_mean(exc))
    return "\n".join(lines)


def _did_you_mean(exc: BaseException) -> str:
    """Python's own "Did you mean …?" for a misspelt name (``self.ouput``), which printing
    the exception as text leaves out (Python prints it only with a full traceback)."""
    name = getattr(exc, "name", None)
    if not isinstance(exc, (AttributeError, NameError)) or not isinstance(name, str):
        return ""
    said = "".join(traceback.format_exception_only(type(exc), exc))
    if "Did you mean" in said:                 # Python ≥ 3.12 puts it there itself
        return ". Did you mean" + said.rsplit("Did you mean", 1)[1].rstrip()
    if isinstance(exc, AttributeError):
        candidates = dir(getattr(exc, "obj", None)) if hasattr(exc, "obj") else []
    else:                                      # a NameError: the names the failing line saw
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        frame = tb.tb_frame if tb is not None else None
        candidates = ([*frame.f_locals, *frame.f_globals, *dir(frame.f_builtins)]
                      if frame is not None else [])
    close = difflib.get_close_matches(name, [c for c in candidates if c != name], n=1)
    return f". Did you mean: {close[0]!r}?" if close else ""


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" + ("" if n == 1 else "s")


def _first_values(array, count: int = 4) -> str:
    flat = np.asarray(backend.to_numpy(array), dtype=np.float64).reshape(-1)
    text = " ".join(f"{v:9.4g}" for v in flat[:count])
    return text + ("   …" if flat.size > count else "")


def _with_input_names(report: str, names) -> str:
    """gradcheck numbers the inputs; say their names too ("input 1, b (shape …")."""
    return re.sub(r"input (\d+) \(shape",
                  lambda m: f"input {m[1]}, {names[int(m[1])]} (shape", report)


def _indented(text: str, by: str = "      ", width: int = 96) -> str:
    """``text`` indented under its check; long prose lines wrapped (a hint's continuation
    lines under its first word), code and error maps left as they are."""
    lines = []
    for line in text.splitlines():
        lead = len(line) - len(line.lstrip())
        if len(by) + len(line) <= width or lead >= 4:
            lines.append(by + line if line else line)
            continue
        label = next((w for w in ("hint: ", "note: ") if line.lstrip().startswith(w)), "")
        hanging = lead + len(label)
        lines += textwrap.wrap(line, width - len(by), initial_indent=by,
                               subsequent_indent=by + " " * hanging,
                               break_on_hyphens=False)
    return "\n".join(lines)


def _shape_problem(writes: str, grads, names, xs, out_shape) -> str | None:
    """What is wrong with the number, kind or shapes of the gradients backward returned
    (``out_shape``: the forward's output, so gy's shape)."""
    grads = grads if isinstance(grads, tuple) else (grads,)
    out_shape = tuple(out_shape)
    if len(grads) != len(xs):
        return (f"{writes} returned {_count(len(grads), 'gradient')}, but the op has "
                f"{_count(len(xs), 'input')} ({', '.join(names)}): return one gradient per "
                f"input, in that order" + (", as a tuple: return " + ", ".join(
                    f"g_{n}" for n in names) if len(xs) > 1 else ""))
    for name, x, g in zip(names, xs, grads):
        if g is None:
            return f"{writes} returned None for {name}, which needs a gradient"
        if not hasattr(g, "shape"):
            return (f"{writes} returned a {type(g).__name__} for {name}: return a Tensor "
                    f"shaped like {name}, {x.shape}")
        shape = tuple(g.shape)
        if shape == x.shape:
            continue
        problem = (f"{writes} returned a gradient of shape {shape} for {name}, whose shape "
                   f"is {x.shape}: a gradient always has its input's shape.")
        if x.shape != out_shape and _broadcasts(x.shape, out_shape):
            # the input was broadcast up to the output: its gradient is gy summed over
            # exactly the broadcast axes (the extra leading ones, and those where it has 1)
            axes = _broadcast_axes(x.shape, out_shape)
            hint = (f"{name} {x.shape} was broadcast to the output's shape {out_shape} in "
                    f"the forward pass, so each of its elements was used several times and "
                    f"collects the sum of their gradients: sum gy over exactly axes "
                    f"{axes} of {out_shape}")
            if math.prod(shape) == math.prod(x.shape):
                hint += (f" (yours has {name}'s numbers, {shape}, but dropped its size-1 "
                         f"axes: sum with keepdims=True, or reshape to {x.shape})")
            elif shape != out_shape:
                hint += f" (your sum left {shape}: it ran over other axes, or too few)"
            hint += f", or let F.sum_to(g, {name}.shape) find them"
        elif x.shape == out_shape and len(out_shape) > len(shape):
            hint = (f"{name} has the output's shape {out_shape}: it was not broadcast, so "
                    f"its gradient needs no sum; gy already has the shape it needs")
        elif _broadcasts(shape, x.shape):
            hint = (f"the output lost an axis (a sum or a mean): put it back with size 1 "
                    f"and spread the gradient along it with F.broadcast_to(g, {name}.shape)")
        elif shape == x.shape[::-1]:
            hint = "it is the transpose of that shape: a missing or extra .T?"
        else:
            hint = "compare the shapes of gy and of each input, and which product gives which"
        return problem + "\n  hint: " + hint
    return None


def _broadcast_axes(shape, to) -> tuple:
    """The axes of ``to`` that broadcasting ``shape`` up to ``to`` created or stretched."""
    lead = len(to) - len(shape)
    return tuple(range(lead)) + tuple(lead + k for k, n in enumerate(shape)
                                      if n == 1 and to[lead + k] != 1)


def _broadcasts(shape, to) -> bool:
    """Does an array of ``shape`` broadcast to ``to``?"""
    try:
        return np.broadcast_shapes(shape, to) == tuple(to)
    except ValueError:
        return False


def _shapes_line(y, names, xs) -> str:
    shapes = ", ".join(f"{name} {x.shape}" for name, x in zip(names, xs))
    return f"the shapes here: gy {y.shape}, {shapes}"


# ---------------------------------------------------------------------------------------
# Checking a Function: its structure first, then first and second order
# ---------------------------------------------------------------------------------------
@dataclass
class FunctionExercise(Exercise):
    """The student writes backward of a Function subclass named after ``writes``."""
    cases: Callable = None          # rng → list[Case]
    second_order: bool = False      # gradgradcheck too (where the backward must be a graph)
    mistakes: Callable | None = None   # (gy, *inputs) → [(input index, hint, wrong gradient)]

    @property
    def op_name(self) -> str:
        return self.writes.split(".")[0]

    def run(self, module, path: Path) -> list[tuple[str, str | None]]:
        """(title, None when it passes or what went wrong) for every check, in order."""
        op_class = getattr(module, self.op_name, None)
        if op_class is None:
            return [("the file", f"it defines no class {self.op_name}: keep the class's name")]
        checks = []
        for case in self.cases(np.random.default_rng(0)):
            first = self._first_order(op_class, case, path)
            checks.append((f"first order    {case.title}", first))
            if not self.second_order:
                continue
            if first is not None:
                checks.append((f"second order   {case.title}", "skipped: fix first order first"))
                continue
            second = self._gradcheck(gradgradcheck, op_class, case, path)
            if second is not None and not second.startswith("your code raised"):
                second += "\n  hint: " + TENSOR_OPS_HINT
            checks.append((f"second order   {case.title}", second))
        return checks

    def _first_order(self, op_class, case: Case, path: Path) -> str | None:
        names = list(case.inputs)
        xs = [Tensor(backend.asarray(a), requires_grad=True) for a in case.inputs.values()]
        y = None
        try:   # call backward once by hand: a blank, a crash or a wrong shape, said plainly
            y = op_class(**case.options)(*xs)
            gy = np.random.default_rng(1).standard_normal(y.shape)
            with no_grad():
                grads = y.creator.backward(Tensor(backend.asarray(gy)))
        except NotImplementedError as exc:
            raise _Stop(self._not_written_yet(exc, op_class, case)) from None
        except Exception as exc:
            report = _your_code_raised(exc, path)
            if isinstance(exc, ValueError) and y is not None:
                report += "\n" + _shapes_line(y, names, xs)
                if "inner dims differ" in str(exc):
                    report += ("\n  hint: a product whose inner dimensions differ: a missing "
                               "or misplaced .T?  Which product of gy and the other input "
                               "(or its transpose) has this input's shape?")
            return report
        problem = _shape_problem(self.writes, grads, names, xs, y.shape)
        if problem is not None:
            return problem
        problem = self._gradcheck(gradcheck, op_class, case, path)
        if problem is not None and self.mistakes is not None:
            grads = grads if isinstance(grads, tuple) else (grads,)
            hints = []
            for i, hint, wrong in self.mistakes(gy, *case.inputs.values(), **case.options):
                yours = backend.to_numpy(getattr(grads[i], "data", grads[i]))
                if wrong is not None and yours.shape == wrong.shape and \
                        np.allclose(yours, wrong) and hint not in hints:
                    hints.append(hint)
            if hints:   # this exercise's own diagnosis replaces gradcheck's generic guess
                problem = "\n".join(line for line in problem.splitlines()
                                     if not line.lstrip().startswith("hint: "))
                problem += "".join("\n  hint: " + hint for hint in hints)
        return problem

    def _gradcheck(self, check, op_class, case: Case, path: Path) -> str | None:
        try:
            check(lambda *xs: op_class(**case.options)(*xs),
                  [backend.asarray(a) for a in case.inputs.values()], name=self.writes)
        except GradcheckError as exc:
            if exc.__cause__ is not None:          # backward raised inside the check
                return _your_code_raised(exc.__cause__, path)
            return _with_input_names(str(exc), list(case.inputs))
        except Exception as exc:
            return _your_code_raised(exc, path)
        return None

    def _not_written_yet(self, exc, op_class, case: Case) -> str:
        expected = numeric_gradients(lambda *xs: op_class(**case.options)(*xs),
                                     [backend.asarray(a) for a in case.inputs.values()])
        width = max(len(name) for name in case.inputs) + 4
        lines = [f"not written yet: {self.writes} raises NotImplementedError",
                 f"  ({exc})", "",
                 f"Once it is written, for {case.title} and gy = 1 everywhere, it should",
                 "return these values (the first few, by central differences):"]
        for (name, x), g in zip(case.inputs.items(), expected):
            lines += [f"  {name:<{width}} = {_first_values(x)}",
                      f"  {'dL/d' + name:<{width}} = {_first_values(g)}"]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Checking a forward: its values against scratchgan's own op, then its gradient
# ---------------------------------------------------------------------------------------
@dataclass
class ForwardExercise(FunctionExercise):
    """The student writes forward of a Function whose backward is given: the values are
    compared with ``reference`` (scratchgan's op, same inputs and options), then the op is
    gradient-checked, which fails wherever the forward disagrees with the given backward."""
    reference: Callable = None      # (*input Tensors, **options) → the right output Tensor
    says: str = ""                  # the reference, as the report names it
    mistakes: Callable | None = None   # (*inputs, **options) → [(hint, wrong output)]
    shape_hint: str = ""            # what to look at when the output's shape is wrong

    def run(self, module, path: Path) -> list[tuple[str, str | None]]:
        op_class = getattr(module, self.op_name, None)
        if op_class is None:
            return [("the file", f"it defines no class {self.op_name}: keep the class's name")]
        checks = []
        for case in self.cases(np.random.default_rng(0)):
            value = self._value_problem(op_class, case, path)
            checks.append((f"value          {case.title}", value))
            title = f"first order    {case.title}"
            checks.append((title, "skipped: fix the value first" if value is not None
                           else self._gradcheck(gradcheck, op_class, case, path)))
        return checks

    def _value_problem(self, op_class, case: Case, path: Path) -> str | None:
        xs = [Tensor(backend.asarray(a)) for a in case.inputs.values()]
        right = backend.to_numpy(self.reference(*xs, **case.options).data)
        try:
            yours = op_class(**case.options)(*xs)
        except NotImplementedError as exc:
            raise _Stop(f"not written yet: {self.writes} raises NotImplementedError\n"
                        f"  ({exc})\n\nOnce it is written, for {case.title} it should "
                        f"return y of shape {right.shape},\nbeginning (what {self.says} "
                        f"gives):\n  y = {_first_values(right, 6)}") from None
        except Exception as exc:
            report = _your_code_raised(exc, path)
            return report + (f"\n  hint: {self.shape_hint}" if "fold:" in str(exc) else "")
        yours = backend.to_numpy(yours.data)
        if yours.shape != right.shape:
            return (f"{self.writes} returned shape {yours.shape}; it should be {right.shape}\n"
                    f"  hint: {self.shape_hint}")
        if np.allclose(yours, right, rtol=1e-7, atol=1e-9):
            return None
        off = ~np.isclose(yours, right, rtol=1e-7, atol=1e-9)
        worst = np.unravel_index(np.argmax(np.abs(yours - right)), right.shape)
        lines = [f"{int(off.sum())} of {right.size} elements differ from {self.says}; "
                 f"worst at {list(map(int, worst))}:",
                 f"    yours {yours[worst]: .6g}   right {right[worst]: .6g}"]
        for hint, wrong in (self.mistakes(*xs, **case.options) if self.mistakes else []):
            if wrong.shape == yours.shape and np.allclose(yours, wrong, rtol=1e-7, atol=1e-9):
                lines.append("  hint: " + hint)
        return "\n".join(lines)


def _conv_transpose_mistakes(x, W, b, stride=1, padding=0):
    """What a transposed convolution gives without its bias, or with the kernel's two
    channel axes swapped back into conv2d's (C_out, C_in) order."""
    right = F.conv_transpose2d(x, W, b, stride=stride, padding=padding)
    wrong = [("your output is right but for the bias: add b to every pixel of each output "
              "channel, b.reshape(1, C_out, 1, 1)",
              backend.to_numpy((right - b.reshape(1, -1, 1, 1)).data))]
    if W.shape[0] == W.shape[1]:
        swapped = F.conv_transpose2d(x, W.transpose(1, 0, 2, 3), b, stride=stride,
                                     padding=padding)
        wrong.append(("your output is what the kernel gives with its channel axes swapped: "
                      "W is (C_in, C_out, kh, kw) here, the other way round from conv2d's",
                      backend.to_numpy(swapped.data)))
    return wrong


# ---------------------------------------------------------------------------------------
# Checking the gradient penalty: its value, then its gradient w.r.t. a critic's weights
# ---------------------------------------------------------------------------------------
def _tiny_critic(W1, b1, W2, b2):
    """D(x) = W2 tanh(W1 x + b1) + b2 on each flattened sample: smooth everywhere, so the
    finite differences of its gradient's norm are accurate."""
    return lambda x: F.linear(F.tanh(F.linear(x.reshape(x.shape[0], -1), W1, b1)), W2, b2)


def _reference(critic, real, fake, weight):
    """ε drawn as scratchgan.losses.gradient_penalty draws it, and that function's value
    with this same ε (it draws from scratchgan's generator first thing: give it the state
    we drew from)."""
    state = backend.rng_state()
    eps_shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    eps = Tensor(backend.random_uniform(eps_shape, dtype=real.dtype))
    backend.set_rng_state(state)
    return eps, losses.gradient_penalty(critic, real, fake, weight).item()


def _classic_penalty_mistakes(critic, real, fake, eps, weight) -> dict:
    """The value of each classic wrong penalty: what the student did → the value they get."""
    x_hat = eps * real + (1 - eps) * fake
    x_hat.requires_grad = True
    (g,) = grad(critic(x_hat).sum(), [x_hat])
    g = backend.to_numpy(g.data).reshape(len(g), -1)
    norms = np.sqrt((g * g).sum(axis=1))
    return {
        "leave out the weight λ: multiply by weight": np.mean((norms - 1) ** 2),
        "sum over the batch: the penalty is a mean over the samples":
            weight * np.sum((norms - 1) ** 2),
        "use ‖∇‖² where the penalty has ‖∇‖: a missing square root":
            weight * np.mean((norms ** 2 - 1) ** 2),
        "take one norm of the whole batch's gradient: each sample needs its own (reshape "
        "to (N, −1), then sum over axis 1)": weight * (math.sqrt((g * g).sum()) - 1) ** 2,
        "leave out the − 1: the penalty pulls each norm towards 1, not 0":
            weight * np.mean(norms ** 2),
    }


class PenaltyExercise(Exercise):
    """The student completes gradient_penalty(critic, real, fake, eps, weight)."""

    WEIGHT_NAMES = ("W1", "b1", "W2", "b2")
    HIDDEN = 4

    def run(self, module, path: Path) -> list[tuple[str, str | None]]:
        penalty_fn = getattr(module, "gradient_penalty", None)
        if penalty_fn is None:
            return [("the file", "it defines no function gradient_penalty: keep its name")]
        rng = np.random.default_rng(0)
        weight = 10.0
        checks = []
        for sample_shape in ((5, 3), (4, 2, 3)):
            real, fake = (Tensor(backend.asarray(rng.standard_normal(sample_shape)))
                          for _ in range(2))
            features = math.prod(sample_shape[1:])
            weights = [rng.standard_normal((self.HIDDEN, features)) / math.sqrt(features),
                       rng.standard_normal(self.HIDDEN), rng.standard_normal((1, self.HIDDEN)),
                       rng.standard_normal(1)]    # W1 scaled: ‖∇D(x̂)‖ of order 1
            critic = _tiny_critic(*(Tensor(backend.asarray(w)) for w in weights))
            eps, reference = _reference(critic, real, fake, weight)
            title = f"real, fake {sample_shape}, weight={weight}"

            params = [Tensor(backend.asarray(w), requires_grad=True) for w in weights]
            try:
                penalty = penalty_fn(_tiny_critic(*params), real, fake, eps, weight)
            except NotImplementedError as exc:
                raise _Stop(
                    f"not written yet: gradient_penalty raises NotImplementedError\n"
                    f"  ({exc})\n\n"
                    f"Once it is written, for {title} it should return\n"
                    f"{reference:.6g} (what scratchgan.losses.gradient_penalty gives with the "
                    f"same ε).") from None
            except Exception as exc:
                checks.append((f"value          {title}", _your_code_raised(exc, path)))
                continue
            value_problem = self._value_problem(penalty, reference, critic, real, fake, eps,
                                                weight)
            checks.append((f"value          {title}", value_problem))
            gradient_title = f"gradient       w.r.t. the critic's weights, {sample_shape}"
            if value_problem is not None:
                checks.append((gradient_title, "skipped: fix the value first"))
                continue
            checks.append((gradient_title, self._gradient_problem(
                penalty_fn, penalty, weights, real, fake, eps, weight, path)))
        return checks

    @staticmethod
    def _value_problem(penalty, reference, critic, real, fake, eps, weight) -> str | None:
        if not isinstance(penalty, Tensor) or penalty.size != 1:
            return (f"gradient_penalty returned {type(penalty).__name__} "
                    f"{getattr(penalty, 'shape', '')}: return a Tensor with one element")
        value = penalty.item()
        if math.isclose(value, reference, rel_tol=1e-6, abs_tol=1e-9):
            return None
        lines = [f"your penalty is {value:.6g}; it should be {reference:.6g}",
                 "(scratchgan.losses.gradient_penalty with the same ε)"]
        for mistake, wrong in _classic_penalty_mistakes(critic, real, fake, eps,
                                                        weight).items():
            if math.isclose(value, wrong, rel_tol=1e-6):
                lines.append(f"  hint: your value is what you get if you {mistake}")
        return "\n".join(lines)

    def _gradient_problem(self, penalty_fn, penalty, weights, real, fake, eps, weight,
                          path) -> str | None:
        of_weights = lambda *ws: penalty_fn(_tiny_critic(*ws), real, fake, eps, weight)  # noqa: E731
        if not penalty.requires_grad:    # nothing to gradcheck: no graph reaches the weights
            numeric = numeric_gradients(of_weights, [backend.asarray(w) for w in weights])
            return ("your penalty has the right value, but no gradient reaches the critic's "
                    "weights from it:\n"
                    "its gradient w.r.t. W1 is 0 everywhere; central differences give\n"
                    f"    {_first_values(numeric[0])}\n"
                    "  hint: take the gradient with sg.grad(scores.sum(), [x_hat], "
                    "create_graph=True). Without create_graph=True, ∇D(x̂) comes back as "
                    "plain numbers, not as a graph, so the penalty's own gradient w.r.t. the "
                    "weights (a gradient of a gradient) is lost. Build the norms from it with "
                    "Tensor ops too, no .data.")
        try:
            gradcheck(of_weights, [backend.asarray(w) for w in weights],
                      name="gradient_penalty (w.r.t. the critic's weights)")
        except GradcheckError as exc:
            if exc.__cause__ is not None:
                return _your_code_raised(exc.__cause__, path)
            return _with_input_names(str(exc), self.WEIGHT_NAMES)
        except Exception as exc:
            return _your_code_raised(exc, path)
        return None


# ---------------------------------------------------------------------------------------
# Checking CycleGAN's generator objective: each term's value, which mapping it reaches,
# and the gradient of the sum w.r.t. both mappings' weights
# ---------------------------------------------------------------------------------------
_OBJECTIVE_TERMS = ("g_adv", "f_adv", "cycle", "identity")


def _tiny_mlp(W1, b1, W2, b2):
    """(N, 2) → (N, out): W2 tanh(W1 x + b1) + b2, smooth, so finite differences are exact
    to their order everywhere but where an L1 term's |u| has its kink (kept away from)."""
    return lambda x: F.linear(F.tanh(F.linear(x, W1, b1)), W2, b2)


def _tiny_weights(rng, out: int, hidden: int = 3) -> list:
    return [rng.standard_normal((hidden, 2)), rng.standard_normal(hidden),
            rng.standard_normal((out, hidden)), rng.standard_normal(out)]


class ObjectiveExercise(Exercise):
    """The student writes cyclegan_objective(...) → {"g_adv", "f_adv", "cycle", "identity"}
    from the images and D's outputs; the check builds tiny G, F (2-D points, fixed D_X,
    D_Y), compares each term with scratchgan.models.cyclegan.generator_objective, checks
    which of G's and F's weights each term reaches, then gradient-checks the sum."""

    def run(self, module, path: Path) -> list[tuple[str, str | None]]:
        objective = getattr(module, "cyclegan_objective", None)
        if objective is None:
            return [("the file", "it defines no function cyclegan_objective: keep its name")]
        rng = np.random.default_rng(0)
        checks = []
        for lambda_cyc, lambda_id in ((10.0, 0.5), (2.5, 0.25)):
            x, y = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
            d_x, d_y = (_tiny_mlp(*(Tensor(backend.asarray(w)) for w in _tiny_weights(rng, 1)))
                        for _ in range(2))
            g_weights, f_weights = _tiny_weights(rng, 2), _tiny_weights(rng, 2)
            options = dict(lambda_cyc=lambda_cyc, lambda_id=lambda_id)
            title = f"λ={lambda_cyc:g}, λ_id={lambda_id:g}"

            def terms_of(fn, gw, fw):
                G, F_ = _tiny_mlp(*gw), _tiny_mlp(*fw)
                xt, yt = Tensor(backend.asarray(x)), Tensor(backend.asarray(y))
                g_of_x, f_of_y = G(xt), F_(yt)
                return fn(d_y(g_of_x), d_x(f_of_y), xt, F_(g_of_x), yt, G(f_of_y), F_(xt),
                          G(yt), **options)

            def reference(*args, **kw):
                from .models.cyclegan import generator_objective
                return generator_objective(*args, gan_loss="lsgan", **kw)

            as_tensors = lambda ws: [Tensor(backend.asarray(w), requires_grad=True)  # noqa: E731
                                     for w in ws]
            gw, fw = as_tensors(g_weights), as_tensors(f_weights)
            right = terms_of(reference, gw, fw)
            try:
                yours = terms_of(objective, gw, fw)
            except NotImplementedError as exc:
                raise _Stop(self._not_written_yet(exc, title, right, gw)) from None
            except Exception as exc:
                checks.append((f"value          {title}", _your_code_raised(exc, path)))
                continue
            value = self._value_problem(yours, right, lambda_cyc, lambda_id)
            checks.append((f"value          {title}", value))
            if value is not None:
                checks.append((f"reach          {title}", "skipped: fix the values first"))
                checks.append((f"first order    {title}", "skipped: fix the values first"))
                continue
            checks.append((f"reach          {title}", self._reach_problem(yours, right, gw, fw)))

            def total_of(*weights):
                terms = terms_of(objective, weights[:4], weights[4:])
                out = terms["g_adv"]
                for name in _OBJECTIVE_TERMS[1:]:
                    out = out + terms[name]
                return out

            try:
                gradcheck(total_of, [backend.asarray(w) for w in g_weights + f_weights],
                          name="the sum of your terms (w.r.t. G's and F's weights)")
                problem = None
            except GradcheckError as exc:
                problem = (_your_code_raised(exc.__cause__, path) if exc.__cause__ is not None
                           else _with_input_names(str(exc), self.WEIGHT_NAMES))
            except Exception as exc:
                problem = _your_code_raised(exc, path)
            checks.append((f"first order    {title}", problem))
        return checks

    WEIGHT_NAMES = ("G.W1", "G.b1", "G.W2", "G.b2", "F.W1", "F.b1", "F.W2", "F.b2")

    @staticmethod
    def _not_written_yet(exc, title, right, gw) -> str:
        total = right["g_adv"] + right["f_adv"] + right["cycle"] + right["identity"]
        g = grad(total, [gw[0]])[0]
        lines = [f"not written yet: cyclegan_objective raises NotImplementedError",
                 f"  ({exc})", "",
                 f"Once it is written, for the check's tiny G and F at {title}, it should return"]
        lines += [f"  {name:<9} = {right[name].item():.6g}" for name in _OBJECTIVE_TERMS]
        lines += ["and the gradient of their sum w.r.t. G's first weights, dL/dG.W1, should",
                  "begin (by autograd; the check confirms it by central differences)",
                  f"  {_first_values(g.data)}"]
        return "\n".join(lines)

    @staticmethod
    def _value_problem(yours, right, lambda_cyc, lambda_id) -> str | None:
        if not isinstance(yours, dict) or sorted(yours) != sorted(_OBJECTIVE_TERMS):
            keys = sorted(yours) if isinstance(yours, dict) else type(yours).__name__
            return (f"cyclegan_objective returned {keys}: return a dict with the four keys "
                    f"{', '.join(_OBJECTIVE_TERMS)}")
        lines = []
        for name in _OBJECTIVE_TERMS:
            term = yours[name]
            if not isinstance(term, Tensor) or term.size != 1:
                lines.append(f"{name}: returned {type(term).__name__} "
                             f"{getattr(term, 'shape', '')}: return a Tensor with one element")
                continue
            got, want = term.item(), right[name].item()
            if math.isclose(got, want, rel_tol=1e-7, abs_tol=1e-10):
                continue
            lines.append(f"{name}: yours is {got:.6g}; it should be {want:.6g}")
            hints = {
                "g_adv": [(0.5, "this is half the right value: LSGAN's ½ (as in "
                                "losses.g_loss_least_squares) is not in CycleGAN's G loss, "
                                "E[(D_Y(G(x)) − 1)²]")],
                "f_adv": [(0.5, "this is half the right value: LSGAN's ½ is not in "
                                "CycleGAN's F loss, E[(D_X(F(y)) − 1)²]")],
                "cycle": [(1 / lambda_cyc, "this is the cycle term without its weight: "
                                           "multiply by λ = lambda_cyc")],
                "identity": [(1 / lambda_id, "this is the identity term weighted by λ: its "
                                             "weight is λ_id · λ"),
                             (1 / (lambda_id * lambda_cyc), "this is the identity term "
                                                            "without its weight λ_id · λ")],
            }[name]
            other = {"g_adv": "f_adv", "f_adv": "g_adv"}.get(name)
            if other and math.isclose(got, right[other].item(), rel_tol=1e-7):
                lines.append(f"  hint: this is {other}'s value: g_adv is D_Y's verdict on G(x) "
                             f"(dy_of_gx), f_adv D_X's verdict on F(y) (dx_of_fy)")
            for factor, hint in hints:
                if math.isclose(got, factor * want, rel_tol=1e-6):
                    lines.append("  hint: " + hint)
        return "\n".join(lines) or None

    @staticmethod
    def _reach_problem(yours, right, gw, fw) -> str | None:
        def reaches(term):
            if not term.requires_grad:        # built from raw arrays: no graph at all
                return "neither"
            found = []
            for net, weights in (("G", gw), ("F", fw)):
                grads = grad(term, weights, retain_graph=True, allow_unused=True)
                if any(g is not None and bool(np.any(backend.to_numpy(g.data) != 0))
                       for g in grads):
                    found.append(net)
            return " and ".join(found) or "neither"
        lines = []
        for name in _OBJECTIVE_TERMS:
            got, want = reaches(yours[name]), reaches(right[name])
            if got != want:
                lines.append(f"{name}: sends gradient to {got}; it should reach {want}")
        if lines:
            lines.append("  hint: a term reaches a mapping's weights only through the images "
                         "that mapping made: which images does each of your terms use?")
        return "\n".join(lines) or None


# ---------------------------------------------------------------------------------------
# Checking the conditional discriminator's input: its shape and values, then its gradient
# ---------------------------------------------------------------------------------------
class ConditionalInputExercise(Exercise):
    """The student writes conditional_input(x, labels, n_classes) → [x ; e_y] (flat x) or x
    with one-hot planes (images); compared with scratchgan.models.cgan.conditional_input,
    then gradient-checked w.r.t. x to first and second order."""
    second_order = True
    CASES = (((5, 6), (0, 2, 1, 2, 0), 4),          # flat, and class 3 is not in the batch
             ((3, 2, 4, 4), (2, 0, 1), 3))          # images: one-hot planes

    def run(self, module, path: Path) -> list[tuple[str, str | None]]:
        from .models.cgan import conditional_input as reference
        yours_fn = getattr(module, "conditional_input", None)
        if yours_fn is None:
            return [("the file", "it defines no function conditional_input: keep its name")]
        rng = np.random.default_rng(0)
        checks = []
        for shape, labels, n_classes in self.CASES:
            x = rng.standard_normal(shape)
            labels = backend.asarray(np.asarray(labels, dtype=np.int64))
            title = f"x {shape}, labels {backend.to_numpy(labels).tolist()}, n_classes={n_classes}"
            right = reference(Tensor(backend.asarray(x)), labels, n_classes)
            try:
                yours = yours_fn(Tensor(backend.asarray(x), requires_grad=True), labels,
                                 n_classes)
            except NotImplementedError as exc:
                raise _Stop(self._not_written_yet(exc, title, x, right)) from None
            except Exception as exc:
                checks.append((f"value          {title}", _your_code_raised(exc, path)))
                checks.append((f"gradient       {title}", "skipped: fix the value first"))
                continue
            problem = self._value_problem(yours, right, x, labels, n_classes)
            checks.append((f"value          {title}", problem))
            if problem is not None:
                checks.append((f"gradient       {title}", "skipped: fix the value first"))
                continue
            checks.append((f"gradient       w.r.t. x, 1st and 2nd order, x {shape}",
                           self._gradient_problem(yours_fn, yours, x, labels, n_classes, path)))
        return checks

    @staticmethod
    def _not_written_yet(exc, title, x, right) -> str:
        return "\n".join([
            "not written yet: conditional_input raises NotImplementedError", f"  ({exc})", "",
            f"Once it is written, for {title},",
            f"it should return shape {tuple(right.shape)}, its first row (sample 0, label 0)",
            f"  {_first_values(right.data[0], 12)}",
            "and for L = the sum of its elements, dL/dx should be 1 for every element of x",
            "(the check confirms yours by central differences):",
            f"  dL/dx = {_first_values(np.ones(x.shape))}"])

    @staticmethod
    def _value_problem(yours, right, x, labels, n_classes) -> str | None:
        if not isinstance(yours, Tensor):
            return (f"conditional_input returned {type(yours).__name__}: return a Tensor "
                    f"(built with F.concatenate), so that gradients flow through it")
        got, want = tuple(yours.shape), tuple(right.shape)
        present = int(backend.to_numpy(labels).max()) + 1
        if got != want:
            lines = [f"your input has shape {got}; it should be {want}"]
            width = got[1] - x.shape[1] if len(got) == len(want) and got[0] == want[0] else None
            if width == present and present < n_classes:
                lines.append(f"  hint: your one-hot has {present} columns, labels.max() + 1: "
                             f"this batch has no digit {n_classes - 1}, so the width would "
                             f"change from batch to batch and D's first layer would not fit. "
                             f"Use n_classes.")
            elif width == 1:
                lines.append("  hint: you joined y as one number. Then digit 9 is 'nearer' to "
                             "8 than to 1 for D, and a weight times y is a line through the "
                             "classes; the one-hot e_y gives each class its own weights.")
            elif len(got) != len(want):
                lines.append("  hint: for images, e_y becomes n_classes planes: reshape to "
                             "(N, n_classes, 1, 1), then F.broadcast_to (N, n_classes, H, W)")
            return "\n".join(lines)
        a, b = backend.to_numpy(yours.data), backend.to_numpy(right.data)
        if np.allclose(a, b, rtol=1e-12, atol=1e-12):
            return None
        lines = ["your input has the right shape but not the right values "
                 "(scratchgan.models.cgan.conditional_input's)"]
        c = x.shape[1]
        swapped = np.concatenate([b[:, c:], b[:, :c]], axis=1)
        if np.allclose(a, swapped):
            lines.append("  hint: you put the label first: join x first, then e_y "
                         "(F.concatenate([x, e_y], axis=1)), the order D's first layer reads")
        elif np.allclose(a[:, :c], b[:, :c]):
            lines.append("  hint: x is right; the label part is not: row i must hold a 1 in "
                         "column (or plane) labels[i] of the n_classes, 0 in the others")
        else:
            lines.append("  hint: x's part differs too: x must come through unchanged")
        return "\n".join(lines)

    @staticmethod
    def _gradient_problem(fn, yours, x, labels, n_classes, path) -> str | None:
        if not yours.requires_grad:
            return ("your input has the right values, but no gradient reaches x from it: D's "
                    "verdict could not teach G anything.\n"
                    "  hint: build it with Tensor ops (F.concatenate of x itself, not x.data "
                    "or a new sg.Tensor made from x's numbers)")
        of_x = lambda x_: fn(x_, labels, n_classes)            # noqa: E731
        for check, order in ((gradcheck, "first"), (gradgradcheck, "second")):
            try:
                check(of_x, [backend.asarray(x)], name=f"conditional_input ({order} order)")
            except GradcheckError as exc:
                if exc.__cause__ is not None:
                    return _your_code_raised(exc.__cause__, path)
                return _with_input_names(str(exc), ["x"]) + (
                    "\n  hint: " + TENSOR_OPS_HINT if order == "second" else "")
            except Exception as exc:
                return _your_code_raised(exc, path)
        return None


# ---------------------------------------------------------------------------------------
# Checking a training iteration (Algorithm 1) against MLPGAN.train_step, optimizer step by
# optimizer step: the gradients each optimizer saw when it stepped, the weights it left
# ---------------------------------------------------------------------------------------
ITERATIONS = 3          # a missing zero_grad shows only from the second iteration on


def _tiny_gan(k: int):
    """A tiny MLPGAN as Algorithm 1 has it (k D steps, no packing, no EMA, fresh fakes for
    G, no dropout), in float64 so that two sums of the same numbers in another order differ
    by rounding only: seeded, so two calls give the same weights."""
    from .models.mlp_gan import MLPGAN, MLPGANConfig
    cfg = MLPGANConfig(z_dim=4, g_hidden=(8,), d_hidden=(8,), batch_size=4, k=k, pack=1,
                       ema_decay=0.0, reuse_fakes=False, d_dropout=0.0, epochs=1)
    with backend.fork_rng(18):
        model = MLPGAN(cfg)
    for net in (model.G, model.D):
        for p in net.parameters():
            p.data = p.data.astype("float64")
    return model


def _arrays(net, what: str) -> list:
    """Copies of each parameter's data or gradient (None where there is none), on the host."""
    out = []
    for p in net.parameters():
        a = p.data if what == "data" else (None if p.grad is None else p.grad.data)
        out.append(None if a is None else backend.to_numpy(a).copy())
    return out


@dataclass
class _Step:
    """One call of an optimizer's step(): whose, the gradients both nets held at that
    moment, the weights after it, and what G and D were fed since the step before."""
    net: str
    grads: dict
    weights: dict
    g_inputs: list
    d_inputs: list


def _recording(model, steps: list) -> None:
    """Make ``model``'s optimizers log each step() into ``steps``, and G and D log what they
    are fed (instance attributes: the model's class is untouched)."""
    fed = {"G": [], "D": []}
    for name, net in (("G", model.G), ("D", model.D)):
        def forward(x, _forward=net.forward, _name=name):
            fed[_name].append(backend.to_numpy(x.data).copy())
            return _forward(x)
        net.forward = forward
    for name, opt in (("D", model.opt_d), ("G", model.opt_g)):
        def step(_step=opt.step, _name=name):
            grads = {"G": _arrays(model.G, "grad"), "D": _arrays(model.D, "grad")}
            _step()
            steps.append(_Step(_name, grads, {"G": _arrays(model.G, "data"),
                                              "D": _arrays(model.D, "data")},
                               fed["G"][:], fed["D"][:]))
            fed["G"].clear()
            fed["D"].clear()
        opt.step = step


def _agree(yours: list, right: list) -> str | None:
    """"bit" where every array is identical, "rounding" where they agree to float64
    rounding, None where they differ (or one has a gradient where the other has none)."""
    if len(yours) != len(right):
        return None
    exact = True
    for a, b in zip(yours, right):
        if (a is None) != (b is None):
            return None
        if a is None:
            continue
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-9, atol=1e-12):
            return None
        exact = exact and np.array_equal(a, b)
    return "bit" if exact else "rounding"


def _plus(a: list, b: list) -> list:
    return [x if y is None else (y if x is None else x + y) for x, y in zip(a, b)]


def _largest_difference(yours: list, right: list) -> float:
    return max((float(np.max(np.abs(a - b))) for a, b in zip(yours, right)
                if a is not None and b is not None and a.shape == b.shape), default=math.inf)


def _rows(arrays: list) -> set:
    return {row.tobytes() for a in arrays for row in a.reshape(len(a), -1)}


def _sees(arrays: list, batch) -> bool:
    """Is every row of ``batch`` among the rows of ``arrays``?"""
    return _rows([batch]) <= _rows(arrays)


@dataclass
class IterationExercise(Exercise):
    """The student writes one iteration of Algorithm 1 for the G, D and optimizers the check
    gives; the same iteration runs in MLPGAN.train_step from the same weights on the same
    data and noise, and every optimizer step of the two is compared."""
    k: int = 1
    function: str = ""

    def _call(self, fn, model, reals, sample_z):
        if self.k == 1:           # the noise drawn in train_step's order: D's, then G's
            z_d = sample_z(reals[0].shape[0])
            z_g = sample_z(model.cfg.batch_size)
            return fn(model.G, model.D, model.opt_g, model.opt_d, reals[0], z_d, z_g)
        return fn(model.G, model.D, model.opt_g, model.opt_d, list(reals), sample_z)

    def run(self, module, path: Path) -> list[tuple[str, str | None]]:
        fn = getattr(module, self.function, None)
        if fn is None:
            return [("the file", f"it defines no function {self.function}: keep its name")]
        reference, yours = _tiny_gan(self.k), _tiny_gan(self.k)
        right_steps, your_steps = [], []
        _recording(reference, right_steps)
        _recording(yours, your_steps)
        data = np.random.default_rng(1)

        def sampler(seed):     # the same noise, in the same order, for both
            rng = np.random.default_rng(seed)
            return lambda n: Tensor(backend.asarray(rng.standard_normal(
                (int(n), reference.cfg.z_dim))))

        checks, verdicts = [], []
        b = reference.cfg.batch_size
        for t in range(1, ITERATIONS + 1):
            reals = [Tensor(backend.asarray(data.uniform(-1, 1, (b, 784))))
                     for _ in range(self.k)]
            reference.sample_z = sampler(t)
            reference.train_step(reals)
            start = {"G": _arrays(yours.G, "grad"), "D": _arrays(yours.D, "grad")}
            before = len(your_steps)
            try:
                self._call(fn, yours, reals, sampler(t))
            except NotImplementedError as exc:
                raise _Stop(self._not_written_yet(exc, right_steps)) from None
            except Exception as exc:
                checks.append((f"iteration {t}", _your_code_raised(exc, path)))
                break
            right = right_steps[-(self.k + 1):]
            mine = your_steps[before:]
            problem = self._sequence_problem(mine, t)
            if problem is not None:
                checks.append((f"iteration {t}: the optimizer steps, in order", problem))
                break
            problem, verdict = self._d_problem(mine[:self.k], right[:self.k], start, reals)
            verdicts.append(verdict)
            checks.append((f"iteration {t}: D's step" + ("s" if self.k > 1 else ""), problem))
            if problem is not None:
                checks.append((f"iteration {t}: G's step", "skipped: fix D's step first"))
                break
            last_d = mine[self.k - 1]
            problem, verdict = self._g_problem(mine[self.k], right[self.k], last_d)
            verdicts.append(verdict)
            checks.append((f"iteration {t}: G's step", problem))
            if problem is not None:
                break
        else:
            how = ("bit for bit" if all(v == "bit" for v in verdicts) else
                   "to rounding (D's two passes sum in another order than train_step's one)")
            checks.append((f"after {ITERATIONS} iterations: G, D as train_step's, {how}", None))
        return checks

    def _not_written_yet(self, exc, right_steps) -> str:
        d_step, g_step = right_steps[self.k - 1], right_steps[self.k]
        return "\n".join([
            f"not written yet: {self.function} raises NotImplementedError", f"  ({exc})", "",
            "Once it is written, after iteration 1 it should leave the check's tiny D and G as",
            "MLPGAN.train_step leaves them (the first few numbers of each net's first weight; no",
            "central differences here: the check compares every optimizer step):",
            f"  D.W1 after D's step{'s' if self.k > 1 else ''} = "
            f"{_first_values(d_step.weights['D'][0])}",
            f"  dL_D/dD.W1 at opt_d.step()  = {_first_values(d_step.grads['D'][0])}",
            f"  G.W1 after G's step  = {_first_values(g_step.weights['G'][0])}",
            f"  dL_G/dG.W1 at opt_g.step()  = {_first_values(g_step.grads['G'][0])}"])

    def _sequence_problem(self, mine: list, t: int) -> str | None:
        """The order of the optimizer steps: k of D's, then one of G's."""
        names = [s.net for s in mine]
        want = ["D"] * self.k + ["G"]
        if names == want:
            return None
        said = " ".join(f"opt_{n.lower()}.step()" for n in names) or "no step at all"
        lines = [f"iteration {t} called {said}; Algorithm 1 with k = {self.k} calls "
                 + " ".join(f"opt_{n.lower()}.step()" for n in want)]
        n_d, n_g = names.count("D"), names.count("G")
        first_g = names.index("G") if n_g else len(names)
        if n_g > 1 and first_g < self.k:
            lines.append("  hint: G stepped inside D's loop: G's step comes once per "
                         "iteration, after all k D steps (outside the for loop)")
        elif "D" in names[first_g:] or (n_d == self.k + 1 and n_g == 1):
            lines.append("  hint: D's weights were updated in G's step: G's step calls "
                         "opt_g.step() only, with D frozen (with nn.frozen(D): …), so that D "
                         "stays the judge it was while G learns from it")
        elif n_g == 0:
            lines.append("  hint: G never stepped: after D's step, descend L_G with "
                         "opt_g.zero_grad(), g_loss.backward(), opt_g.step()")
        elif n_d != self.k:
            lines.append(f"  hint: D stepped {n_d} times: loop over the k = {self.k} real "
                         f"batches given, one D step each (for real in real_batches)")
        return "\n".join(lines)

    def _d_problem(self, mine, right, start, reals):
        """D's k steps: the gradient D's optimizer saw, G left alone, the weights after."""
        verdict = "bit"
        before = start
        for j, (s, r) in enumerate(zip(mine, right), 1):
            which = f"D's step {j} of {self.k}" if self.k > 1 else "D's step"
            g_touched = [g for g, g0 in zip(s.grads["G"], before["G"])
                         if g is not None and (g0 is None or not np.array_equal(g, g0))]
            if g_touched:
                return (f"{which}: G's weights have gradients from D's loss: L_D was "
                        f"backpropagated into G\n"
                        f"  hint: the fake was not detached. D's step treats G(z) as data: make "
                        f"it with G(z_d).detach() (or under sg.no_grad()), so that D's loss "
                        f"cannot reach G, whose gradients would then carry D's loss into G's "
                        f"step (and cost a backward through G for nothing)"), None
            agree = _agree(s.grads["D"], r.grads["D"])
            if agree is None:
                lines = [f"{which}: the gradient opt_d.step() found in D's weights differs "
                         f"from train_step's (largest difference "
                         f"{_largest_difference(s.grads['D'], r.grads['D']):.3g})"]
                if any(g is None for g in s.grads["D"]):
                    lines.append("  hint: some of D's weights had no gradient when opt_d.step() "
                                 "ran: call d_loss.backward() before opt_d.step()")
                elif any(g is not None for g in before["D"]) and _agree(
                        s.grads["D"], _plus(r.grads["D"], before["D"])):
                    lines.append("  hint: it is the right gradient plus the one left from the "
                                 "step before: a missing opt_d.zero_grad(). backward() adds to "
                                 ".grad, so gradients accumulate across steps until zeroed")
                elif _agree(s.grads["D"], [None if g is None else -g for g in r.grads["D"]]):
                    lines.append("  hint: it is the right gradient with its sign flipped: "
                                 "descend L_D = −[log D(x) + log(1 − D(G(z)))], "
                                 "losses.d_loss_minimax(real_logits, fake_logits)")
                elif self.k > 1:
                    lines += self._fresh_hints(s, j, reals, [z for e in mine[:j - 1]
                                                             for z in e.g_inputs])
                return "\n".join(lines), None
            if agree == "rounding":
                verdict = "rounding"
            if _agree(s.weights["D"], r.weights["D"]) is None:
                return (f"{which}: the gradient was right but D's weights after opt_d.step() "
                        f"are not: did something change them after the step?"), None
            before = s.grads
        return None, verdict

    @staticmethod
    def _fresh_hints(s, j, reals, earlier_z) -> list:
        lines = []
        if not _sees(s.d_inputs, backend.to_numpy(reals[j - 1].data)):
            used = [i for i, real in enumerate(reals, 1)
                    if _sees(s.d_inputs, backend.to_numpy(real.data))]
            lines.append(f"  hint: D's step {j} judged "
                         + (f"real batch {used[0]}" if used else "no batch given")
                         + f", not batch {j}: each D step takes its own fresh real batch, "
                           f"real_batches[{j - 1}] for step {j}")
        if s.g_inputs and earlier_z and any(_sees(earlier_z, z) for z in s.g_inputs):
            lines.append(f"  hint: D's step {j} made its fakes from a z an earlier step used: "
                         f"draw a fresh z = sample_z(n) inside the loop, once per D step")
        return lines or ["  hint: L_D = losses.d_loss_minimax(D(real), D(G(z).detach())) with "
                         "this step's own real batch and its own z"]

    def _g_problem(self, s, r, last_d):
        """G's step: D's weights as D's step left them, G's gradient, G's weights after."""
        if _agree(s.weights["D"], last_d.weights["D"]) is None:
            return ("D's weights moved during G's step\n"
                    "  hint: G's step updates G alone: opt_g.step(), never opt_d.step(), and "
                    "D frozen (with nn.frozen(D): …) while G's loss is backpropagated"), None
        agree = _agree(s.grads["G"], r.grads["G"])
        if agree is None:
            lines = [f"the gradient opt_g.step() found in G's weights differs from "
                     f"train_step's (largest difference "
                     f"{_largest_difference(s.grads['G'], r.grads['G']):.3g})"]
            left = last_d.grads["G"]
            if any(g is None for g in s.grads["G"]):
                lines.append("  hint: some of G's weights had no gradient when opt_g.step() "
                             "ran: call g_loss.backward() before opt_g.step()")
            elif any(g is not None for g in left) and _agree(s.grads["G"],
                                                              _plus(r.grads["G"], left)):
                lines.append("  hint: it is the right gradient plus what G's weights held "
                             "before: a missing opt_g.zero_grad() (gradients accumulate across "
                             "steps until zeroed)")
            else:
                lines.append("  hint: L_G = losses.g_loss_nonsaturating(D(G(z_g))), with G's "
                             "own fresh z, zero_grad before backward")
            return "\n".join(lines), None
        if _agree(s.weights["G"], r.weights["G"]) is None:
            return ("the gradient was right but G's weights after opt_g.step() are not: did "
                    "something change them after the step?"), None
        return None, agree


# ---------------------------------------------------------------------------------------
# Checking a WGAN critic step with weight clipping against a reference, step by step
# ---------------------------------------------------------------------------------------
CRITIC_STEPS = 3


def _clip_all(D, c: float, which=lambda p: True) -> None:
    """w ← clip(w, −c, c) for the parameters ``which`` picks (the reference: all of them)."""
    for p in D.parameters():
        if which(p):
            p.data[...] = backend.get_array_module(p.data).clip(p.data, -c, c)


def _wgan_critic_step(D, opt_d, real, fake, c, sign=1.0, clip_first=False,
                      which=lambda p: True):
    """The reference critic step (sign=1, clip after the step, every parameter: weights and
    biases, as Arjovsky et al.'s code and lesson 07 clip), and, with the other arguments,
    the classic wrong ones."""
    loss = sign * losses.d_loss_wasserstein(D(real), D(fake))   # E[D(G(z))] − E[D(x)]
    opt_d.zero_grad()
    loss.backward()
    if clip_first:
        _clip_all(D, c, which)
    opt_d.step()
    if not clip_first:
        _clip_all(D, c, which)
    return loss


_IS_WEIGHT = lambda p: p.ndim > 1                                        # noqa: E731
_CRITIC_MISTAKES = (      # (hint, the keyword arguments of _wgan_critic_step that make it)
    ("you clipped before opt_d.step(): the step then moves the weights out of [−c, c] "
     "again. Clip after the step, so that the critic the next step starts from obeys the "
     "constraint", dict(clip_first=True)),
    ("you clipped the weights but not the biases. This check's reference clips every "
     "parameter, weights and biases, as Arjovsky et al.'s code does (for p in "
     "D.parameters())", dict(which=_IS_WEIGHT)),
    ("you clipped the biases but not the weights: the weights are what bound the critic's "
     "slope (its Lipschitz constant); clip every parameter, for p in D.parameters()",
     dict(which=lambda p: p.ndim == 1)),
    ("you did not clip at all: after opt_d.step(), clip every parameter to [−c, c]",
     dict(which=lambda p: False)),
    ("the critic's loss has its sign flipped: the critic maximises E[D(x)] − E[D(G(z))], so "
     "it descends L = E[D(G(z))] − E[D(x)] (losses.d_loss_wasserstein(D(real), D(fake)))",
     dict(sign=-1.0)),
)


def _tiny_critic_setup(c_seed: int = 20):
    """A tiny critic on 2-D points, in float64, with RMSprop as WGAN trains it; seeded."""
    from . import nn, optim
    with backend.fork_rng(c_seed):
        D = nn.Sequential(nn.Linear(2, 8, dtype="float64"), nn.LeakyReLU(0.2),
                          nn.Linear(8, 1, dtype="float64"))
    return D, optim.RMSprop(D.parameters(), lr=1e-3)


class CriticExercise(Exercise):
    """The student writes critic_step(D, opt_d, real, fake, c); compared, step by step, with
    the reference step above on a tiny critic: the loss, then every parameter after the
    step and the clip."""
    CLIP = 0.1            # most of the initial weights (U(±0.35) and U(±0.71)) lie outside

    def run(self, module, path: Path) -> list[tuple[str, str | None]]:
        fn = getattr(module, "critic_step", None)
        if fn is None:
            return [("the file", "it defines no function critic_step: keep its name")]
        c = self.CLIP
        rng = np.random.default_rng(2)
        batches = [(Tensor(backend.asarray(rng.standard_normal((6, 2)) + 2.0)),
                    Tensor(backend.asarray(rng.standard_normal((6, 2)))))
                   for _ in range(CRITIC_STEPS)]

        def run_reference(steps, **mistake):
            D, opt = _tiny_critic_setup()
            out = []
            for real, fake in batches[:steps]:
                loss = _wgan_critic_step(D, opt, real, fake, c, **mistake)
                out.append((loss.item(), _arrays(D, "data")))
            return out

        right = run_reference(CRITIC_STEPS)
        D, opt = _tiny_critic_setup()
        checks = []
        for t, (real, fake) in enumerate(batches, 1):
            try:
                loss = fn(D, opt, real, fake, c)
            except NotImplementedError as exc:
                raise _Stop(self._not_written_yet(exc, right, c)) from None
            except Exception as exc:
                checks.append((f"step {t}", _your_code_raised(exc, path)))
                break
            right_loss, right_weights = right[t - 1]
            problem = self._problem(loss, right_loss, _arrays(D, "data"), right_weights, c,
                                    t, run_reference)
            checks.append((f"step {t}: the loss, then every parameter after the step and "
                           f"the clip", problem))
            if problem is not None:
                break
        return checks

    @staticmethod
    def _not_written_yet(exc, right, c) -> str:
        loss, weights = right[0]
        return "\n".join([
            "not written yet: critic_step raises NotImplementedError", f"  ({exc})", "",
            f"Once it is written, on its first step with the check's tiny critic (c = {c:g}) "
            f"it should return",
            f"  L = E[D(G(z))] − E[D(x)] = {loss:.6g}   (before the step)",
            "and leave these parameters (the first few of each; no central differences",
            "here: the check compares each step with the reference's):",
            *(f"  {name:<3}= {_first_values(w, 6)}"
              for name, w in zip(("W1", "b1", "W2", "b2"), weights))])

    @staticmethod
    def _problem(loss, right_loss, weights, right_weights, c, t, run_reference):
        lines = []
        value = loss.item() if isinstance(loss, Tensor) and loss.size == 1 else None
        if value is None:
            lines.append(f"critic_step returned {type(loss).__name__}: return the loss, a "
                         f"Tensor with one element")
        elif not math.isclose(value, right_loss, rel_tol=1e-9, abs_tol=1e-12):
            lines.append(f"your loss is {value:.6g}; it should be {right_loss:.6g}")
        if _agree(weights, right_weights) is None:
            names = ("W1", "b1", "W2", "b2")
            off = [n for n, a, b in zip(names, weights, right_weights)
                   if not np.allclose(a, b, rtol=1e-9, atol=1e-12)]
            outside = [n for n, a in zip(names, weights) if np.max(np.abs(a)) > c * (1 + 1e-12)]
            lines.append(f"after your step {', '.join(off)} differ from the reference's"
                         + (f"; {', '.join(outside)} hold values outside [−c, c] = "
                            f"[−{c:g}, {c:g}]" if outside else ""))
        if not lines:
            return None
        for hint, mistake in _CRITIC_MISTAKES:
            loss_w, weights_w = run_reference(t, **mistake)[-1]
            if _agree(weights, weights_w) is not None and (
                    value is None or math.isclose(value, loss_w, rel_tol=1e-9, abs_tol=1e-12)):
                lines.append("  hint: " + hint)
                break
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Checking the engine's backward walk: the order, the accumulation, then the engine's own
# tests with the student's walk plugged in (autograd.walk_replaced)
# ---------------------------------------------------------------------------------------
# the tests of tests/test_autograd.py that are about the walk, each with what it catches
ENGINE_TESTS = {
    "test_backward_matches_hand_derivative": "the chain rule through a small graph",
    "test_node_used_twice_collects_both_gradients":
        "a node used twice: its gradient is the sum over its uses",
    "test_one_function_object_called_twice_keeps_each_input":
        "D on real, then on fake: each call's backward uses its own input",
    "test_retain_graph_accumulates_visibly": "backward twice on a kept graph adds up in .grad",
    "test_a_long_chain_does_not_hit_the_recursion_limit":
        "a chain of 10,000 ops: no recursion",
    "test_parents_are_visited_in_a_fixed_order": "the same graph gives bit-identical gradients",
    "test_graph_is_freed_after_backward": "the graph is freed after backward",
    "test_grad_function_has_torch_semantics": "sg.grad, create_graph=True, allow_unused",
    "test_grad_of_an_intermediate_tensor": "sg.grad with respect to a tensor inside the graph",
    "test_detach_cuts_the_graph": "detach: no gradient through a detached branch",
    "test_gradients_accumulate_across_graphs_until_zeroed":
        "two graphs' backward add up in .grad",
}
TESTS = LESSONS.parent / "tests"


def _order_names(order) -> str:
    return ", ".join(type(f).__name__ for f in order)


def _small_graph():
    """a → b = a + a → c = b · b → s = Σc, and h = tanh(a) used by both d = h·2 and
    e = h·3 (a diamond), all summed: every trap of the order in a handful of ops."""
    import scratchgan as sg
    a = sg.tensor(backend.asarray(np.linspace(-1, 1, 3)), requires_grad=True)
    b = a + a
    h = F.tanh(a)
    loss = (b * b).sum() + (h * 2.0 + h * 3.0).sum()
    return a, loss


def _reachable(root) -> list:
    found, stack, seen = [], [root.creator], set()
    while stack:
        f = stack.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        found.append(f)
        stack.extend(x.creator for x in f.inputs if x.creator is not None)
    return found


class WalkExercise(Exercise):
    """The student writes topological_order(roots) and backward_walk(order, grads,
    backward_of), the two halves of autograd's backward; the check tests the order on a
    small graph and a long chain, the walk with the engine's order, then runs the engine's
    own tests (ENGINE_TESTS) with both plugged in."""

    writes_order = "topological_order"
    writes_walk = "backward_walk"

    def run(self, module, path: Path) -> list[tuple[str, str | None]]:
        from . import autograd
        order_fn = getattr(module, self.writes_order, None)
        walk_fn = getattr(module, self.writes_walk, None)
        missing = [n for n, f in ((self.writes_order, order_fn), (self.writes_walk, walk_fn))
                   if f is None]
        if missing:
            return [("the file", f"it defines no function {' or '.join(missing)}: keep the "
                                 f"names")]
        checks = [("order: every function once, each before the ones that made its inputs",
                   self._order_problem(order_fn, path)),
                  ("order: a chain of 10,000 ops (an explicit stack, no recursion)",
                   self._chain_problem(order_fn, path)),
                  ("walk: b = a + a, c = b·b (the engine's order, your walk)",
                   self._walk_problem(walk_fn, path))]
        if any(problem is not None for _, problem in checks):
            return checks + [("the engine's own tests", "skipped: fix the checks above first")]
        tests = self._engine_tests(path)
        if isinstance(tests, str):
            return checks + [("the engine's own tests", tests)]
        import scratchgan as sg
        for name, what in ENGINE_TESTS.items():
            sg.seed(0)                       # as the tests' autouse fixture does
            state = np.random.get_state()
            try:
                with autograd.walk_replaced(order_fn, walk_fn):
                    test = getattr(tests, name)
                    test(backend.name) if "backend" in test.__code__.co_varnames[
                        :test.__code__.co_argcount] else test()
                problem = None
            except Exception as exc:
                problem = self._test_failed(exc, path, name)
            finally:
                np.random.set_state(state)
            if problem is not None:
                problem = f"({what})\n" + problem
            checks.append((f"engine's test {name.removeprefix('test_')}", problem))
        return checks

    @staticmethod
    def _not_written_yet(exc, a, loss) -> str:
        from . import autograd
        order = autograd._topological_order([loss])
        a_ = backend.to_numpy(a.data)           # dloss/da = 8a + 5(1 − tanh²a)
        return "\n".join([
            "not written yet: topological_order raises NotImplementedError", f"  ({exc})", "",
            "Once it is written, for the check's small graph",
            "    b = a + a;  h = tanh(a);  loss = Σ(b·b) + Σ(h·2 + h·3)",
            "it should return, for topological_order([loss]), these functions (or the same "
            "ones in an order",
            "that still lists each before the ones that made its inputs):",
            f"    {_order_names(order)}",
            "and with backward_walk, loss.backward() should give (no central differences",
            "here: the check runs the engine's own tests)",
            f"    a.grad = {_first_values(8 * a_ + 5 * (1 - np.tanh(a_) ** 2))}"])

    def _order_problem(self, order_fn, path) -> str | None:
        a, loss = _small_graph()
        try:
            order = list(order_fn([loss]))
        except NotImplementedError as exc:
            raise _Stop(self._not_written_yet(exc, a, loss)) from None
        except Exception as exc:
            return _your_code_raised(exc, path)
        reachable = _reachable(loss)
        ids = [id(f) for f in order]
        twice = sorted({type(f).__name__ for f in order if ids.count(id(f)) > 1})
        if twice:
            return (f"your order lists {', '.join(twice)} more than once: {_order_names(order)}"
                    f"\n  hint: a node visited twice (b = a + a reaches a's function by two "
                    f"edges): mark a function visited when you first take it off the stack, "
                    f"and skip it when you meet it again; its backward would otherwise run "
                    f"twice and pass its gradient on twice")
        lost = [type(f).__name__ for f in reachable if id(f) not in ids]
        if lost:
            return (f"your order leaves out {', '.join(lost)}: {_order_names(order)}\n"
                    f"  hint: push the creator of every input (x.creator, where it is not None) "
                    f"of each function you visit")
        position = {id(f): i for i, f in enumerate(order)}
        for f in order:
            for x in f.inputs:
                if x.creator is not None and position[id(x.creator)] < position[id(f)]:
                    return (f"your order puts {type(x.creator).__name__} before "
                            f"{type(f).__name__}, which uses its output: "
                            f"{_order_names(order)}\n"
                            f"  hint: wrong order. A function may pass its output's gradient on "
                            f"only when every function using that output has added its share. "
                            f"A post-order (a function appended after all of its inputs' "
                            f"creators) lists producers first: reverse it")
        return None

    @staticmethod
    def _chain_problem(order_fn, path) -> str | None:
        import scratchgan as sg
        x = sg.tensor(backend.asarray(np.array([0.5])), requires_grad=True)
        y = x
        for _ in range(10_000):
            y = y * 1.0001
        try:
            order = list(order_fn([y]))
        except RecursionError:
            return ("your order hit Python's recursion limit "
                    f"({sys.getrecursionlimit()} calls) on a chain of 10,000 ops\n"
                    "  hint: recursion nests one call per op; keep the functions still to "
                    "visit on an explicit stack (a list: append, pop) instead")
        except Exception as exc:
            return _your_code_raised(exc, path)
        if len(order) != 10_000 or len({id(f) for f in order}) != 10_000:
            return f"your order has {len(order)} entries; the chain has 10,000 functions"
        return None

    @staticmethod
    def _walk_problem(walk_fn, path) -> str | None:
        import scratchgan as sg
        from . import autograd
        a = sg.tensor(backend.asarray(np.array([1.0, -2.0, 0.5])), requires_grad=True)
        b = a + a
        c = (b * b).sum()
        try:
            with autograd.walk_replaced(backward_walk=walk_fn):
                c.backward()
        except NotImplementedError as exc:
            raise _Stop(f"not written yet: {WalkExercise.writes_walk} raises "
                        f"NotImplementedError\n  ({exc})\n\nOnce it is written, for a = "
                        f"[1, −2, 0.5], b = a + a, c = Σ b·b, c.backward() should give\n"
                        f"  dc/da = 8a = [8, −16, 4]   (the check runs the engine's own tests "
                        f"with it: no central differences here)") from None
        except Exception as exc:
            return _your_code_raised(exc, path)
        got = None if a.grad is None else backend.to_numpy(a.grad.data)
        want = 8 * backend.to_numpy(a.data)
        if got is not None and np.allclose(got, want):
            return None
        lines = [f"dc/da is {None if got is None else got.tolist()}; it should be 8a = "
                 f"{want.tolist()}"]
        ratio = got / want if got is not None else None
        if ratio is not None and np.allclose(ratio, ratio[0]) and 0 < ratio[0] < 1:
            lines.append(f"  hint: {ratio[0]:g} × the right gradient: gradients not accumulated. "
                         "a is used twice by b = a + a (and b twice by b·b), and each use adds "
                         "its share: add to "
                         "grads[id(x)] when it is there (grads[id(x)] + gx), do not overwrite "
                         "it")
        elif got is None or not np.any(got):
            lines.append("  hint: nothing reached a: for each function, read its output's "
                         "gradient from grads (grads[id(f.output)]), call backward_of(f, gy), "
                         "and put each input's gradient in grads[id(x)]")
        return "\n".join(lines)

    @staticmethod
    def _engine_tests(path):
        """tests/test_autograd.py as a module (not added to sys.modules), or why not."""
        file = TESTS / "test_autograd.py"
        if not file.is_file():
            return (f"{_shown(file)} is not beside this scratchgan: this check runs the "
                    f"engine's own tests from a clone of the repository")
        spec = importlib.util.spec_from_file_location("scratchgan_engine_tests", file)
        tests = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(tests)
        except ImportError as exc:
            return (f"the engine's tests need {exc.name}: install the test tools "
                    f"(make test does)")
        return tests

    @staticmethod
    def _test_failed(exc, path, name) -> str:
        mine = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
        if mine or isinstance(exc, RecursionError):
            report = _your_code_raised(exc, path)
        else:
            said = str(exc).strip().splitlines()
            report = f"{type(exc).__name__}" + (": " + "\n".join(said[:6]) if said else "")
        hints = {
            "test_node_used_twice_collects_both_gradients":
                "a node used twice: is each input's share added to grads[id(x)]?",
            "test_parents_are_visited_in_a_fixed_order":
                "does your order depend on a set's iteration order? Keep the visited ids "
                "in a set if you like, but walk inputs in the order f.inputs lists them",
            "test_a_long_chain_does_not_hit_the_recursion_limit":
                "an explicit stack, not recursion",
            "test_graph_is_freed_after_backward":
                "does your walk or order keep references (in a global, a default argument) "
                "after it returns?",
        }
        return report + (f"\n  hint: {hints[name]}" if name in hints else "")


# ---------------------------------------------------------------------------------------
# The exercises, in class order
# ---------------------------------------------------------------------------------------
EXERCISES = [
    FunctionExercise("01_sigmoid", "Sigmoid.backward", "the chain rule; dy/dx from the output y",
                     _elementwise, second_order=True),
    FunctionExercise("02_tanh", "Tanh.backward", "a polynomial in y; the factor that slips",
                     _elementwise, second_order=True),
    FunctionExercise("03_softplus", "Softplus.backward", "a derivative that is another op (σ)",
                     _elementwise, second_order=True),
    FunctionExercise("04_leaky_relu", "LeakyReLU.backward", "a piecewise derivative, F.where",
                     _leaky_relu, second_order=True),
    FunctionExercise("05_matmul", "MatMul.backward", "two inputs; transposes found from shapes",
                     _matmul, second_order=True, mistakes=_matmul_mistakes),
    FunctionExercise("06_broadcast_add", "Add.backward", "broadcasting undone with sum_to",
                     _broadcast_add, second_order=True),
    FunctionExercise("07_mean_axis", "Mean.backward", "a reduction: gy spread back, and 1/N",
                     _mean_axis),
    FunctionExercise("08_log_softmax", "LogSoftmax.backward",
                     "a Jacobian that couples a row", _log_softmax, second_order=True),
    FunctionExercise("09_linear", "Linear.backward", "05 and 06 together: an MLP's layer",
                     _linear, second_order=True, mistakes=_linear_mistakes),
    FunctionExercise("10_bce_with_logits", "BCEWithLogits.backward",
                     "the minimax GAN's loss: σ(l) − t, 1/N", _bce, second_order=True),
    FunctionExercise("11_lsgan_loss", "LSGANDiscriminatorLoss.backward",
                     "LSGAN's D loss: the square's 2, two means", _lsgan, second_order=True),
    FunctionExercise("12_cycle_loss", "CycleLoss.backward",
                     "CycleGAN's L1 loss: signs, λ, four inputs", _cycle,
                     mistakes=_cycle_mistakes),
    PenaltyExercise("13_gradient_penalty", "gradient_penalty",
                    "WGAN-GP: a gradient of a gradient"),
    FunctionExercise("14_conv2d", "Conv2d.backward", "a convolution's backward: fold, unfold's "
                     "adjoint", _conv, second_order=True, mistakes=_conv_mistakes),
    ForwardExercise("15_conv_transpose", "ConvTranspose2d.forward",
                    "the generator's layer: a convolution run backwards", _conv_transpose,
                    reference=lambda x, W, b, **options: F.conv_transpose2d(x, W, b, **options),
                    says="F.conv_transpose2d", mistakes=_conv_transpose_mistakes,
                    shape_hint="H_out = (H − 1)·stride − 2·padding + kh (and W_out alike): "
                               "fold's image shape is (N, C_out, H_out, W_out), and the "
                               "patches it takes are (N, H·W, kh·kw·C_out)"),
    ObjectiveExercise("16_cyclegan_objective", "cyclegan_objective",
                      "CycleGAN's G/F objective: which term reaches which mapping"),
    ConditionalInputExercise("17_conditional_input", "conditional_input",
                             "the cGAN's D input: one-hot width, planes, x's gradient"),
    IterationExercise("18_gan_iteration", "train_iteration",
                      "Algorithm 1: D's step, then G's, bit for bit", k=1,
                      function="train_iteration"),
    IterationExercise("19_k_step_loop", "train_iteration",
                      "k D steps per G step, each with fresh data and z", k=3,
                      function="train_iteration"),
    CriticExercise("20_wgan_critic", "critic_step",
                   "WGAN's critic: its loss, RMSprop, clip after the step"),
    WalkExercise("21_backward_walk", "the backward walk",
                 "the engine's walk: an explicit stack, gradients summed"),
]


def find(name: str) -> Exercise:
    """The exercise called ``name``: "sigmoid", "01_sigmoid", "01" or "1"."""
    key = name.strip().lower().removesuffix(".py").replace("-", "_")
    for exercise in EXERCISES:
        number = exercise.stem.split("_", 1)[0]
        if key in (exercise.stem, exercise.name) or (key.isdigit() and int(key) == int(number)):
            return exercise
    raise KeyError(f"no exercise called {name!r}.\n\n{listing()}")


def listing() -> str:
    lines = ["The exercises, in lessons/exercises/; check one with  make check EX=NAME",
             "(or: python -m scratchgan check NAME).", ""]
    for e in EXERCISES:
        lines.append(f"  {e.stem:<19} {e.writes:<31}  {e.teaches}")
    return "\n".join(lines)


def _file_of(exercise: Exercise, path, solution: bool) -> Path:
    folder = "solutions" if solution else "exercises"
    return Path(path if path is not None else LESSONS / folder / f"{exercise.stem}.py").resolve()


def _header(exercise: Exercise, path: Path) -> list[str]:
    return [f"exercise {exercise.stem}: write {exercise.writes}", f"file: {_shown(path)}", ""]


def _stopped_by_exit(stop: SystemExit, path: Path) -> str:
    """One line for a sys.exit in the student's code (it would end the check as a pass)."""
    code = "" if stop.code is None else repr(stop.code)
    lines = [f.lineno for f in traceback.extract_tb(stop.__traceback__)
             if f.filename == str(path)]
    where = f" on line {lines[-1]}" if lines else ""
    return (f"your file stopped the checker with sys.exit({code}){where} before the check "
            f"finished — remove it")


def check(name: str, path=None, solution: bool = False,
          timeout: float | None = None) -> CheckResult:
    """Check the student's file for exercise ``name`` (the solution's with solution=True,
    or the file at ``path``) in a child Python, and return the report a student reads.

    The child writes its verdict to a file once every check has run; no verdict within
    ``timeout`` seconds (default SCRATCHGAN_CHECK_TIMEOUT, else 60) is a failure: the
    student's code looped, or ended the process before the check finished.
    """
    exercise = find(name)
    if not _file_of(exercise, path, solution).is_file():   # nothing to run: say so from here
        return check_here(name, path, solution)
    path = _file_of(exercise, path, solution)
    if timeout is None:
        timeout = float(os.environ.get("SCRATCHGAN_CHECK_TIMEOUT", TIMEOUT_S))
    package_parent = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, SCRATCHGAN_BACKEND=backend.name,
               PYTHONPATH=os.pathsep.join(p for p in (package_parent,
                                                      os.environ.get("PYTHONPATH")) if p))
    with tempfile.TemporaryDirectory(prefix="scratchgan-check-") as folder:
        verdict = Path(folder) / "verdict.json"
        command = [sys.executable, "-c", "from scratchgan.exercises import _child; _child()",
                   exercise.stem, str(path), "solution" if solution else "exercise",
                   str(verdict)]
        try:
            ended = subprocess.run(command, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            return CheckResult(False, "\n".join(_header(exercise, path) + [
                f"the check did not finish within {timeout:g} s: an infinite loop in your "
                f"code (a while loop in backward?); if it is only slow, allow more with "
                f"SCRATCHGAN_CHECK_TIMEOUT=SECONDS"]))
        try:
            answer = json.loads(verdict.read_text())
        except (OSError, ValueError):        # no verdict, or half of one: the child was cut
            answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("report"), str):
        code = ended.returncode
        why = (f"the checker was killed by signal {-code} before the check finished (a crash "
               f"in your code, or out of memory?)" if code < 0 else
               f"your file ended the checker (exit code {code}: an os._exit?) before the check "
               f"finished — remove it")
        return CheckResult(False, "\n".join(_header(exercise, path) + [why]))
    return CheckResult(answer.get("passed") is True, answer["report"])


def _child() -> None:
    """The child of ``check``: check one file here, write the verdict as JSON, and only then
    exit (python -c '…' STEM PATH solution|exercise VERDICT_FILE)."""
    stem, path, kind, verdict = sys.argv[1:5]
    try:
        result = check_here(stem, path, solution=kind == "solution")
    except Exception as exc:       # the checker's own failure: say so, do not blame the file
        result = CheckResult(False, f"the checker itself failed: {type(exc).__name__}: {exc}")
    Path(verdict).write_text(json.dumps({"passed": result.passed, "report": result.report}))


def check_here(name: str, path=None, solution: bool = False) -> CheckResult:
    """``check`` in this process, with no time limit: what the tests call (a sys.exit in
    the student's code is caught here too; an os._exit or an endless loop is not)."""
    exercise = find(name)
    if path is None and not LESSONS.is_dir():    # an installed scratchgan: no lessons beside it
        return CheckResult(False, (
            f"the lessons are not beside this scratchgan ({LESSONS} does not exist: an "
            f"installed copy?): check your file with  python -m scratchgan check "
            f"{exercise.name} --file PATH"))
    path = _file_of(exercise, path, solution)
    lines = _header(exercise, path)
    if not path.is_file():
        return CheckResult(False, "\n".join(lines + ["there is no such file"]))
    state = backend.rng_state()     # the penalty's ε comes from scratchgan's generator:
    backend.set_rng_state(np.random.default_rng(0).bit_generator.state)   # the same each run
    try:
        checks = exercise.run(_load(path, exercise.stem), path)
    except _Stop as stop:
        return CheckResult(False, "\n".join(lines + [str(stop)]))
    except SystemExit as stop:      # not an Exception: it would end the check as if it passed
        return CheckResult(False, "\n".join(lines + [_stopped_by_exit(stop, path)]))
    finally:
        backend.set_rng_state(state)
    random_gy_said = False
    for k, (title, problem) in enumerate(checks, 1):
        verdict = "PASS" if problem is None else ("skipped" if problem.startswith("skipped")
                                                 else "FAIL")
        lines.append(f"{k:>2}. {verdict:<7} {title}")
        if verdict == "FAIL":
            if GRADCHECK_FAILED in problem and not random_gy_said:
                problem += "\n" + RANDOM_GY_NOTE      # once, under the first such report
                random_gy_said = True
            lines += [_indented(problem), ""]
    passed = sum(problem is None for _, problem in checks)
    lines.append("")
    if passed == len(checks):
        lines.append(f"all {len(checks)} checks pass: {exercise.writes} is right"
                     + (", to second order." if exercise.second_order else "."))
        later = EXERCISES[EXERCISES.index(exercise) + 1:]
        if later and not solution:
            lines.append(f"next: lessons/exercises/{later[0].stem}.py  "
                         f"(make check EX={later[0].name})")
    else:
        lines.append(f"{passed} of {len(checks)} checks pass. Fix the first FAIL above, then "
                     f"run  make check EX={exercise.name}  again.")
    return CheckResult(passed == len(checks), "\n".join(lines))


def _load(path: Path, stem: str):
    """The student's file as a module, loaded from its path: nothing is added to sys.path or
    sys.modules, so a second check loads the file afresh."""
    spec = importlib.util.spec_from_file_location(f"scratchgan_exercise_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:        # a syntax error, a typo at the top level, …
        raise _Stop("your file does not load:\n" + _your_code_raised(exc, path)) from None
    return module


# ---------------------------------------------------------------------------------------
# The sample reports on the teacher's page (lessons/exercises/README.md), generated here so
# that they are always what the checker prints:  python -m scratchgan.exercises
# ---------------------------------------------------------------------------------------
README = LESSONS / "exercises" / "README.md"
SAMPLES_BEGIN = ("<!-- sample reports: generated by `python -m scratchgan.exercises` from the "
                 "checker itself; do not edit by hand (tests/test_exercises.py compares) -->")
SAMPLES_END = "<!-- end of the generated sample reports -->"
# (the sentence above the report, the exercise, the file: "solution", "blank", or the
# solution with one piece of code (right) replaced by a mistake (wrong))
SAMPLES = [
    ("A file that is right (here the solution of exercise 01, checked as a student's file):",
     "sigmoid", "solution", None),
    ("A blank, not written yet: the report shows the first values the gradient should have.",
     "sigmoid", "blank", None),
    ("A flipped sign in tanh's backward (`-gy * (1 - y * y)`):",
     "tanh", "gy * (1 - y * y)", "-gy * (1 - y * y)"),
    ("A broadcast gradient not summed back (`return gy, gy` in the broadcast add):",
     "broadcast_add", "return F.sum_to(gy, a.shape), F.sum_to(gy, b.shape)", "return gy, gy"),
    ("A training step checked optimizer step by optimizer step: exercise 18 with the fake not "
     "detached in D's step (`fake = G(z_d)`):",
     "gan_iteration", "fake = G(z_d).detach()", "fake = G(z_d)"),
]


def sample_report(name: str, right: str, wrong: str | None) -> str:
    """The report a student gets for exercise ``name``'s file at lessons/exercises/, where
    the file is the blank, the solution, or the solution with ``right`` replaced by
    ``wrong``; printed as if the student stood in the repository's root."""
    exercise = find(name)
    folder = "exercises" if right == "blank" else "solutions"
    text = (LESSONS / folder / f"{exercise.stem}.py").read_text()
    if wrong is not None:
        if text.count(right) != 1:
            raise ValueError(f"{right!r} is not (once) in the solution of {exercise.stem}")
        text = text.replace(right, wrong)
    with tempfile.TemporaryDirectory(prefix="scratchgan-sample-") as folder:
        path = Path(folder).resolve() / f"{exercise.stem}.py"
        path.write_text(text)
        report = check_here(name, path=path).report
        shown = f"lessons/exercises/{exercise.stem}.py"
        return report.replace(str(path), shown).replace(_shown(path), shown)


def sample_reports_markdown() -> str:
    """The generated part of the README: each sample's sentence and its report."""
    parts = [SAMPLES_BEGIN, ""]
    for sentence, name, right, wrong in SAMPLES:
        parts += [sentence, "", "```", sample_report(name, right, wrong), "```", ""]
    return "\n".join(parts + [SAMPLES_END])


def readme_with_samples(readme: str) -> str:
    """``readme`` with the text between the markers replaced by freshly generated reports."""
    if readme.count(SAMPLES_BEGIN) != 1 or readme.count(SAMPLES_END) != 1:
        raise ValueError(f"the README needs the two markers once each:\n{SAMPLES_BEGIN}\n"
                         f"{SAMPLES_END}")
    before, rest = readme.split(SAMPLES_BEGIN)
    after = rest.split(SAMPLES_END)[1]
    return before + sample_reports_markdown() + after


def _write_readme_samples() -> int:
    old = README.read_text()
    new = readme_with_samples(old)
    if new == old:
        print(f"{_shown(README)}: the sample reports are up to date")
    else:
        README.write_text(new)
        print(f"{_shown(README)}: the sample reports regenerated from the checker")
    return 0


if __name__ == "__main__":
    sys.exit(_write_readme_samples())
