"""The gradient-checking exercises of ``lessons/exercises/``, and the check that marks them.

    python -m scratchgan check sigmoid              check your lessons/exercises/01_sigmoid.py
    python -m scratchgan check 06 --solution        check the model answer
    python -m scratchgan check tanh --file my.py    check another file
    python -m scratchgan check                      list the exercises

Each exercise is a ``Function`` (or, for the gradient penalty, a function) whose backward
the student writes.  The check builds it on small float64 inputs and runs ``gradcheck`` —
and ``gradgradcheck`` where the op may sit under a gradient penalty — then prints a report
for a student: which input, which elements, by how much, and a hint when the mistake is a
classic one (a sign, a factor of 2, a missing 1/N, a transpose, a broadcast axis not
summed, a backward on raw arrays, a gradient penalty without create_graph=True).
"""
from __future__ import annotations

import importlib.util
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import backend, losses
from .autograd import Tensor
from .backend import numpy as np
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

LESSONS = Path(__file__).resolve().parent.parent / "lessons"


@dataclass
class Case:
    """One gradcheck: a label, the function of Tensors, its float64 inputs."""
    label: str
    fn: Callable
    inputs: list
    second_order: bool = False


@dataclass
class Exercise:
    number: str
    name: str
    summary: str
    cases: Callable            # module -> list[Case]
    value_check: Callable | None = None   # module -> error message or None

    @property
    def stem(self) -> str:
        return f"{self.number}_{self.name}"


def _rng(seed: int = 0):
    return np.random.default_rng([seed, 2014])


def _away_from_zero(shape, seed=0, low=0.2):
    """Random values with |x| ≥ low: no kink of relu/abs within a finite-difference step."""
    r = _rng(seed)
    return r.uniform(low, 2.0, shape) * r.choice([-1.0, 1.0], shape)


def _unary(cls_name, shapes, second_order=True, make_input=None, **kwargs):
    def cases(module):
        cls = getattr(module, cls_name)
        out = []
        for i, shape in enumerate(shapes):
            x = make_input(shape, i) if make_input else _rng(i).standard_normal(shape)
            out.append(Case(f"{cls_name} on shape {shape}", lambda x, cls=cls: cls(**kwargs)(x),
                            [x], second_order))
        return out
    return cases


def _binary(cls_name, shape_pairs, second_order=True, **kwargs):
    def cases(module):
        cls = getattr(module, cls_name)
        return [Case(f"{cls_name} on shapes {a} and {b}",
                     lambda x, y, cls=cls: cls(**kwargs)(x, y),
                     [_rng(i).standard_normal(a), _rng(i + 10).standard_normal(b)], second_order)
                for i, (a, b) in enumerate(shape_pairs)]
    return cases


def _mean_cases(module):
    return [Case(f"Mean(axis={axis}) on shape {shape}",
                 lambda x, axis=axis: module.Mean(axis)(x),
                 [_rng(i).standard_normal(shape)], True)
            for i, (shape, axis) in enumerate((((3, 4), 1), ((2, 3, 4), 0), ((2, 3, 4), -1)))]


def _linear_cases(module):
    r = _rng(3)
    return [Case("Linear: x (4, 3), W (2, 3), b (2,)", lambda x, W, b: module.Linear()(x, W, b),
                 [r.standard_normal((4, 3)), r.standard_normal((2, 3)), r.standard_normal(2)],
                 True)]


def _bce_cases(module):
    r = _rng(4)
    logits, targets = r.standard_normal((6, 1)) * 3, r.uniform(0.05, 0.95, (6, 1))
    return [Case("BCEWithLogits: logits (6, 1), targets (6, 1)",
                 lambda l, t: module.BCEWithLogits()(l, t), [logits, targets], True)]


def _lsgan_cases(module):
    r = _rng(5)
    return [Case("LSGANDiscriminatorLoss: D(x) (5, 1), D(G(z)) (3, 1)",
                 lambda real, fake: module.LSGANDiscriminatorLoss()(real, fake),
                 [r.standard_normal((5, 1)), r.standard_normal((3, 1))], True)]


def _cycle_cases(module):
    r = _rng(6)
    x, y = r.standard_normal((2, 6)), r.standard_normal((3, 4))
    x_cycled = x + _away_from_zero((2, 6), seed=7, low=0.05)    # |F(G(x)) − x| away from 0
    y_cycled = y + _away_from_zero((3, 4), seed=8, low=0.05)
    return [Case("CycleLoss: x (2, 6), F(G(x)) (2, 6), y (3, 4), G(F(y)) (3, 4)",
                 lambda a, b, c, d: module.CycleLoss(10.0)(a, b, c, d),
                 [x, x_cycled, y, y_cycled])]


# --- the gradient penalty: a function, checked against the library and to second order --
def _tiny_critic(W1, b1, w2):
    """A two-layer critic whose weights are the inputs of the check."""
    from . import functional as F
    return lambda x: F.tanh(x @ W1.T + b1) @ w2


def _penalty_inputs():
    r = _rng(9)
    return dict(real=r.standard_normal((4, 3)), fake=r.standard_normal((4, 3)),
                eps=r.uniform(0, 1, (4, 1)),
                weights=[r.standard_normal((5, 3)), r.standard_normal(5), r.standard_normal((5, 1))])


def _penalty_cases(module):
    d = _penalty_inputs()

    def penalty_of_weights(W1, b1, w2):
        return module.gradient_penalty(_tiny_critic(W1, b1, w2), Tensor(d["real"]),
                                       Tensor(d["fake"]), Tensor(d["eps"]), weight=10.0)
    return [Case("gradient_penalty, with respect to the critic's weights W1 (5, 3), b1 (5,), "
                 "w2 (5, 1)", penalty_of_weights, d["weights"])]


def _penalty_value(module):
    """The student's value against scratchgan.losses.gradient_penalty with the same ε."""
    d = _penalty_inputs()
    critic = _tiny_critic(*[Tensor(w) for w in d["weights"]])
    state = backend.rng_state()
    try:
        backend.seed(1234)
        eps = backend.random_uniform((4, 1), dtype="float64")
        backend.seed(1234)       # the library draws the same ε
        expected = losses.gradient_penalty(critic, Tensor(d["real"]), Tensor(d["fake"]), 10.0)
    finally:
        backend.set_rng_state(state)
    got = module.gradient_penalty(critic, Tensor(d["real"]), Tensor(d["fake"]), Tensor(eps), 10.0)
    if not isinstance(got, Tensor):
        return f"gradient_penalty returned {type(got).__name__}, not a Tensor"
    if got.size != 1:
        return f"gradient_penalty returned shape {got.shape}; the penalty is one number (a mean)"
    if not np.isclose(got.item(), expected.item(), rtol=1e-6, atol=1e-9):
        return (f"gradient_penalty's value is {got.item():.6g}; scratchgan.losses computes "
                f"{expected.item():.6g} for the same inputs and ε (the norm per row, then "
                f"λ·mean((‖∇‖ − 1)²)?)")
    return None


EXERCISES = {e.name: e for e in [
    Exercise("01", "sigmoid", "Sigmoid.backward: dσ/dx from the output",
             _unary("Sigmoid", [(3, 4), (5,)])),
    Exercise("02", "tanh", "Tanh.backward: 1 − y²", _unary("Tanh", [(3, 4), (2, 3, 2)])),
    Exercise("03", "softplus", "Softplus.backward: log(1 + eˣ)'s derivative",
             _unary("Softplus", [(3, 4)])),
    Exercise("04", "leaky_relu", "LeakyReLU.backward: 1 or the slope",
             _unary("LeakyReLU", [(3, 4)], make_input=lambda s, i: _away_from_zero(s, i),
                    slope=0.2)),
    Exercise("05", "matmul", "MatMul.backward: gY Bᵀ and Aᵀ gY",
             _binary("MatMul", [((3, 4), (4, 2)), ((3, 3), (3, 3))])),
    Exercise("06", "broadcast_add", "Add.backward with broadcasting: sum_to",
             _binary("Add", [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,))])),
    Exercise("07", "mean_axis", "Mean(axis).backward: gy / n, copied back", _mean_cases),
    Exercise("08", "log_softmax", "LogSoftmax.backward: gy − softmax · Σgy",
             _unary("LogSoftmax", [(3, 5), (2, 2, 4)])),
    Exercise("09", "linear", "Linear.backward: three gradients", _linear_cases),
    Exercise("10", "bce_with_logits", "BCEWithLogits.backward: (σ(l) − t)/N", _bce_cases),
    Exercise("11", "lsgan_loss", "LSGAN discriminator loss, backward", _lsgan_cases),
    Exercise("12", "cycle_loss", "CycleGAN's cycle loss, backward", _cycle_cases),
    Exercise("13", "gradient_penalty", "WGAN-GP's penalty: double backprop (second order)",
             _penalty_cases, value_check=_penalty_value),
]}


def find(name: str) -> Exercise:
    """An exercise by name ('sigmoid'), number ('01', '1') or stem ('01_sigmoid')."""
    key = name.strip().removesuffix(".py")
    for exercise in EXERCISES.values():
        if key in (exercise.name, exercise.number, exercise.stem, exercise.number.lstrip("0")):
            return exercise
    raise KeyError(f"no exercise called {name!r}; the exercises are: "
                   + ", ".join(e.name for e in EXERCISES.values()))


def load_module(path: Path):
    """Import a student's file by its path (under a private name: nothing left on sys.path)."""
    spec = importlib.util.spec_from_file_location(f"scratchgan_exercise_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class CheckResult:
    exercise: Exercise
    path: Path
    passed: bool
    lines: list = field(default_factory=list)

    @property
    def report(self) -> str:
        return "\n".join(self.lines)


def _student_traceback(exc: BaseException, path: Path) -> str:
    """The frames of the traceback that are in the student's file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    return "".join(traceback.format_list(frames[-2:])).rstrip()


def _numeric_preview(case: Case) -> str:
    """What the first input's gradient should start with (from finite differences)."""
    from .gradcheck import _as_float64_inputs, _numeric
    xs = _as_float64_inputs(case.inputs)
    try:
        numeric = _numeric(case.fn, xs, 0, 1e-6, 0)
    except Exception:           # the forward itself fails: nothing to preview
        return ""
    values = ", ".join(f"{v:.4g}" for v in numeric.reshape(-1)[:4])
    return (f"    (for this check, the gradient of input 0, shape {numeric.shape}, should start "
            f"{values}{', …' if numeric.size > 4 else ''})")


def _extra_hints(exercise: Exercise, message: str, second_order: bool) -> list[str]:
    hints = []
    if second_order and "second order" in message:
        hints.append("your backward is right to first order but is not differentiable itself: "
                     "write it with Tensor operations (gy * y, F.sigmoid(x), x.T …), not with "
                     ".data or raw arrays, so that create_graph=True can see through it")
    if exercise.name == "gradient_penalty" and "zero everywhere" in message:
        hints.append("the penalty does not change with the critic's weights: was ∇D(x̂) taken "
                     "with create_graph=True? Without it the gradient is a constant, cut from "
                     "the graph, and no gradient reaches the weights")
    return hints


def _run_case(exercise: Exercise, case: Case, path: Path) -> list[str]:
    """The report lines of one case: empty when it passes."""
    try:
        gradcheck(case.fn, case.inputs, name=case.label)
        if case.second_order:
            gradgradcheck(case.fn, case.inputs, name=case.label)
        return []
    except GradcheckError as exc:
        if isinstance(exc.__cause__, NotImplementedError):
            return [f"  not written yet: {exc.__cause__}", _numeric_preview(case)]
        message = str(exc)
        lines = ["  " + line for line in message.splitlines()]
        if "shape" in message and "sum_to" in message:
            lines.append("  hint: the gradient of an input that was broadcast in forward must "
                         "be summed back to that input's shape: return sum_to(g, x.shape)")
        lines += ["  hint: " + h for h in _extra_hints(exercise, message, case.second_order)]
        return lines
    except Exception as exc:      # an error in the student's code: show their line
        where = _student_traceback(exc, path)
        return [f"  your code raised {type(exc).__name__}: {exc}"] + \
               (["  here:", "  " + where.replace("\n", "\n  ")] if where else [])


def check(name: str, path: str | Path | None = None, solution: bool = False) -> CheckResult:
    """Check an exercise file (the student's, or with ``solution=True`` the model answer)."""
    exercise = find(name)
    folder = "solutions" if solution else "exercises"
    path = Path(path) if path else LESSONS / folder / f"{exercise.stem}.py"
    path = path.resolve()
    result = CheckResult(exercise, path, passed=True,
                         lines=[f"exercise {exercise.number}: {exercise.summary}",
                                f"file: {path}"])
    if not path.is_file():
        result.passed = False
        result.lines.append(f"  there is no file {path}")
        return result
    try:
        module = load_module(path)
        cases = exercise.cases(module)
    except Exception as exc:
        result.passed = False
        result.lines.append(f"  your file does not load: {type(exc).__name__}: {exc}")
        where = _student_traceback(exc, path)
        if where:
            result.lines.append("  " + where.replace("\n", "\n  "))
        return result
    for case in cases:
        lines = _run_case(exercise, case, path)
        status = "PASS" if not lines else "FAIL"
        order = " (first and second order)" if case.second_order else ""
        result.lines.append(f"[{status}] {case.label}{order}")
        result.lines += [line for line in lines if line]
        result.passed &= not lines
    if result.passed and exercise.value_check is not None:
        problem = exercise.value_check(module)
        result.lines.append(f"[{'PASS' if problem is None else 'FAIL'}] the value, against "
                            f"scratchgan's own implementation")
        if problem:
            result.lines.append("  " + problem)
            result.passed = False
    result.lines.append("all checks pass: well done." if result.passed else
                        "not yet: read the report above, fix your backward, and check again.")
    return result


def listing() -> str:
    rows = [f"  {e.number}  {e.name:18} {e.summary}" for e in EXERCISES.values()]
    return ("the exercises (lessons/exercises/; model answers in lessons/solutions/):\n"
            + "\n".join(rows)
            + "\n\ncheck one with:  python -m scratchgan check NAME   (or: make check EX=NAME)")
