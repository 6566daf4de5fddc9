"""The class exercises: every solution passes its check, every blank fails it with a report
(so the check can fail), and each classic mistake, planted in a copy of a solution, gets
its hint."""
import sys

import pytest

from scratchgan import backend, exercises
from scratchgan.__main__ import main

NAMES = [e.name for e in exercises.EXERCISES]


def source(name: str, folder: str = "solutions") -> str:
    return (exercises.LESSONS / folder / f"{exercises.find(name).stem}.py").read_text()


def line_of(text: str, words: str) -> int:
    """The 1-based number of the line of `text` that holds `words`."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if words in line)


def planted(tmp_path, name: str, right: str, wrong: str) -> str:
    """The report on a copy of the solution with one mistake planted (right → wrong)."""
    text = source(name)
    assert text.count(right) == 1, f"{right!r} is not (once) in the solution of {name}"
    path = tmp_path / f"{exercises.find(name).stem}.py"
    path.write_text(text.replace(right, wrong))
    result = exercises.check_here(name, path=path)
    assert not result.passed, result.report
    return result.report


def test_the_exercises_each_a_blank_and_a_solution():
    assert [e.stem for e in exercises.EXERCISES] == [
        "01_sigmoid", "02_tanh", "03_softplus", "04_leaky_relu", "05_matmul",
        "06_broadcast_add", "07_mean_axis", "08_log_softmax", "09_linear",
        "10_bce_with_logits", "11_lsgan_loss", "12_cycle_loss", "13_gradient_penalty",
        "14_conv2d", "15_conv_transpose", "16_cyclegan_objective", "17_conditional_input",
        "18_gan_iteration", "19_k_step_loop", "20_wgan_critic", "21_backward_walk"]
    for name in NAMES:
        blank = source(name, "exercises")
        # the walk has two halves to write, each marked
        assert blank.count("# YOUR CODE HERE") == (2 if name == "backward_walk" else 1)
        assert "raise NotImplementedError(" in blank
        assert f"make check EX={name}" in blank and f"python -m scratchgan check {name}" in blank


@pytest.mark.parametrize("name", NAMES)
def test_the_solution_is_the_exercise_filled_in(name):
    blank = source(name, "exercises")
    mark = blank.index("# YOUR CODE HERE")
    assert source(name).startswith(blank[:blank.rindex("\n", 0, mark) + 1])


@pytest.mark.parametrize("name", NAMES)
def test_the_solution_passes(name):
    result = exercises.check_here(name, solution=True)
    assert result.passed, result.report
    assert "FAIL" not in result.report and "skipped" not in result.report
    assert "checks pass" in result.report


@pytest.mark.parametrize("name", NAMES)
def test_the_blank_fails_and_says_what_to_expect(name):
    result = exercises.check_here(name)
    assert not result.passed
    assert "not written yet" in result.report and "it should" in result.report
    if name == "conv_transpose":                  # a forward: the output it should give
        assert "y = " in result.report and "F.conv_transpose2d" in result.report
    elif name in ("gan_iteration", "k_step_loop", "wgan_critic", "backward_walk"):
        # compared step by step instead
        assert "no central differences" in " ".join(result.report.split())
    elif name != "gradient_penalty":              # the gradient, for gy = 1: numbers
        assert "dL/d" in result.report and "central differences" in result.report


CLASSIC_MISTAKES = {   # mistake: (exercise, right code, planted mistake, what the report says)
    "a flipped sign": (
        "tanh", "gy * (1 - y * y)", "-gy * (1 - y * y)", ["its sign is flipped"]),
    "a missing factor of 2": (
        "lsgan_loss", "gy * (real_out - 1) / real_out.size",
        "0.5 * gy * (real_out - 1) / real_out.size", ["missing factor of 2", "real_out"]),
    "a broadcast gradient not summed": (
        "broadcast_add", "F.sum_to(gy, b.shape)", "gy",
        ["shape (3, 4) for b, whose shape is (1, 4)", "F.sum_to(g, b.shape)",
         "shape (2, 3, 4) for b, whose shape is (4,)"]),
    "a missing transpose, square matrices": (
        "matmul", "gy @ b.T", "gy @ b",
        ["a (shape (4, 4), float64)", "dL/dA here is gy @ B, without a transpose",
         "inner dimensions differ"]),          # and, with (3, 4) @ (4, 2), the shape error
    "a transposed gradient": (
        "matmul", "a.T @ gy", "gy.T @ a",
        ["the transpose of the numeric one", "shape (2, 4) for b, whose shape is (4, 2)"]),
    "a missing 1/N": (
        "mean_axis", ") / n", ")", ["3 × the numeric one", "1/N", "4 × the numeric one"]),
    "a backward on raw arrays": (
        "tanh", "gy * (1 - y * y)", "gy * sg.Tensor(1 - y.data * y.data)",
        ["PASS first order", "FAIL second order",
         "write backward with Tensor ops, not .data/raw arrays"]),
    "no create_graph in the penalty": (
        "gradient_penalty", "[x_hat], create_graph=True)   #", "[x_hat])   #",
        ["PASS value", "no gradient reaches the critic's weights",
         "sg.grad(scores.sum(), [x_hat], create_graph=True)"]),
    "the wrong number of gradients": (
        "broadcast_add", "return F.sum_to(gy, a.shape), F.sum_to(gy, b.shape)",
        "return F.sum_to(gy, a.shape)",
        ["returned 1 gradient, but the op has 2 inputs (a, b)", "return g_a, g_b"]),
    "the bias summed over the wrong axis": (
        "linear", "gy.sum(axis=0)", "gy.sum(axis=1)",
        ["shape (4,) for b, whose shape is (2,)", "sums gy over the rows: axis 0"]),
    "a dropped branch": (
        "leaky_relu", "self.slope * gy)", "0 * gy)", ["drop the gradient"]),
    "a NaN gradient": (
        "sigmoid", "gy * y * (1 - y)", "gy * y * (1 - y) * float('nan')",
        ["FAIL first order", "the analytic gradient is nan", "backward returns nan",
         "0 of 4 checks pass"]),
    "a kernel gradient in the patches' order": (
        "conv2d", ".reshape(c_out, kh, kw, c).transpose(0, 3, 1, 2)", ".reshape(c_out, c, kh, kw)",
        ["input 1, W (shape (3, 2, 3, 3)", "reshape to (C_out, kh, kw, C) first"]),
    "gy read without moving its channels last": (
        "conv2d", "g = gy.transpose(0, 2, 3, 1).reshape(", "g = gy.reshape(",
        ["input 0, x (shape (2, 2, 5, 5)", "gy.transpose(0, 2, 3, 1), before the reshape"]),
    "a convolution's backward on raw arrays": (
        "conv2d", "F.fold(g_patches,", "F.fold(sg.Tensor(g_patches.data),",
        ["PASS first order", "FAIL second order", "not .data/raw arrays"]),
    "a transposed convolution without its bias": (
        "conv_transpose", "return y + b.reshape(1, c_out, 1, 1)", "return y",
        ["differ from F.conv_transpose2d", "right but for the bias", "0 of 4 checks pass"]),
    "a transposed convolution's kernel read as conv2d's": (
        "conv_transpose", "K = W.transpose(0, 2, 3, 1)", "K = W.transpose(1, 2, 3, 0)",
        ["its channel axes swapped: W is (C_in, C_out, kh, kw)"]),
    "a transposed convolution's size without the padding": (
        "conv_transpose", "(h - 1) * s - 2 * p + kh, (w - 1) * s - 2 * p + kw",
        "(h - 1) * s + kh, (w - 1) * s + kw",
        ["PASS value", "your code raised ValueError",
         "H_out = (H − 1)·stride − 2·padding + kh"]),
    "CycleGAN's G loss with LSGAN's ½": (
        "cyclegan_objective", '"g_adv": ((dy_of_gx - 1) ** 2).mean()',
        '"g_adv": 0.5 * ((dy_of_gx - 1) ** 2).mean()',
        ["g_adv: yours is", "LSGAN's ½", "not in CycleGAN's G loss"]),
    "the identity term weighted by λ alone": (
        "cyclegan_objective", '"identity": lambda_id * lambda_cyc *', '"identity": lambda_cyc *',
        ["identity: yours is", "its weight is λ_id · λ"]),
    "a term built from raw arrays reaches no mapping": (
        "cyclegan_objective", '"g_adv": ((dy_of_gx - 1) ** 2).mean()',
        '"g_adv": sg.tensor(((dy_of_gx.data - 1) ** 2).mean())',
        ["PASS value", "g_adv: sends gradient to neither; it should reach G",
         "which images does each of your terms use?"]),
    "a penalty without its weight": (
        "gradient_penalty", "return weight * ((norms - 1) ** 2).mean()",
        "return ((norms - 1) ** 2).mean()", ["leave out the weight λ"]),
    "a one-hot as wide as the batch's largest label": (
        "conditional_input", "xp.eye(n_classes,", "xp.eye(int(labels.max()) + 1,",
        ["shape (5, 9); it should be (5, 10)", "labels.max() + 1", "no digit 3",
         "Use n_classes", "2 of 4 checks pass"]),
    "the label joined as one number": (
        "conditional_input", "sg.Tensor(xp.eye(n_classes, dtype=x.data.dtype)[labels])",
        "sg.Tensor(labels.reshape(-1, 1).astype(x.data.dtype))",
        ["shape (5, 7)", "you joined y as one number", "its own weights"]),
    "the label before the image": (
        "conditional_input", "F.concatenate([x, e_y], axis=1)", "F.concatenate([e_y, x], axis=1)",
        ["right shape but not the right values", "you put the label first"]),
    "a conditional input cut off from x": (
        "conditional_input", "F.concatenate([x, e_y]", "F.concatenate([sg.Tensor(x.data), e_y]",
        ["PASS value", "no gradient reaches x", "not x.data"]),
    # Algorithm 1, graded step by step against MLPGAN.train_step
    "a fake not detached in D's step": (
        "gan_iteration", "fake = G(z_d).detach()", "fake = G(z_d)",
        ["FAIL iteration 1: D's step", "L_D was backpropagated into G",
         "the fake was not detached"]),
    "a missing zero_grad in D's step": (
        "gan_iteration", "    opt_d.zero_grad()\n", "",
        ["PASS iteration 1: G's step", "FAIL iteration 2: D's step",
         "the right gradient plus the one left from the step before",
         "a missing opt_d.zero_grad()"]),
    "a missing zero_grad in G's step": (
        "gan_iteration", "        opt_g.zero_grad()\n", "",
        ["FAIL iteration 2: G's step", "a missing opt_g.zero_grad()"]),
    "D's weights updated in G's step": (
        "gan_iteration", "    opt_g.step()\n", "    opt_g.step()\n    opt_d.step()\n",
        ["opt_d.step() opt_g.step() opt_d.step()",
         "D's weights were updated in G's step", "nn.frozen(D)"]),
    "the k-step loop with one z for every D step": (
        "k_step_loop", "        fake = G(sample_z(n)).detach()",
        "        z = sample_z(n) if real is real_batches[0] else z\n"
        "        fake = G(z).detach()",
        ["D's step 2 of 3", "made its fakes from a z an earlier step used",
         "draw a fresh z = sample_z(n) inside the loop"]),
    "the k-step loop on one real batch": (
        "k_step_loop", "    for real in real_batches:", "    for real in [real_batches[0]] * 3:",
        ["D's step 2 of 3", "judged real batch 1, not batch 2", "real_batches[1] for step 2"]),
    # a WGAN critic step with clipping
    "clipping the weights but not the biases": (
        "wgan_critic", "    for p in D.parameters():  ",
        "    for p in [p for p in D.parameters() if p.ndim > 1]:  ",
        ["b1, b2 hold values outside", "clipped the weights but not the biases"]),
    "clipping the biases but not the weights": (
        "wgan_critic", "    for p in D.parameters():  ",
        "    for p in [p for p in D.parameters() if p.ndim == 1]:  ",
        ["W1, W2 hold values outside", "clipped the biases but not the weights"]),
    "a critic loss with its sign flipped": (
        "wgan_critic", "D(fake).mean() - D(real).mean()", "D(real).mean() - D(fake).mean()",
        ["your loss is 0.", "it should be -0.", "sign flipped"]),
    # the engine's backward walk
    "a node visited twice": (
        "backward_walk", "        if id(f) in visited:  ", "        if False:  ",
        ["lists Add more than once", "a node visited twice", "skipped the engine's own tests"]),
    "gradients overwritten, not accumulated": (
        "backward_walk", "grads[id(x)] = grads[id(x)] + gx if id(x) in grads else gx",
        "grads[id(x)] = gx", ["dc/da is [2.0, -4.0, 1.0]", "gradients not accumulated"]),
    "producers before consumers": (
        "backward_walk", "    return order[::-1]  ", "    return order  ",
        ["wrong order", "reverse it"]),
}


@pytest.mark.parametrize("mistake", CLASSIC_MISTAKES)
def test_a_classic_mistake_gets_its_hint(mistake, tmp_path):
    name, right, wrong, said = CLASSIC_MISTAKES[mistake]
    report = planted(tmp_path, name, right, wrong)
    for words in said:
        assert words in " ".join(report.split()), f"{words!r} not in\n{report}"


def test_a_report_says_which_input_and_which_elements(tmp_path):
    report = planted(tmp_path, "sigmoid", "gy * y * (1 - y)", "gy * y * (1 - y) * 0.5")
    assert "gradcheck failed for Sigmoid.backward, input 0, x (shape (3, 4), float64)" in report
    assert "12 of 12 elements are off; worst at [" in report
    assert "analytic" in report and "numeric" in report and "relative error 5.0e-01" in report
    assert "x x x x" in report and "0 of 4 checks pass" in report


def test_an_error_in_the_students_code_shows_their_line(tmp_path):
    report = planted(tmp_path, "softplus", "gy * F.sigmoid(x)", "gy * F.sigmoidd(x)")
    line = line_of(source("softplus"), "gy * F.sigmoid(x)")
    report = " ".join(report.split())             # long temporary paths wrap
    assert "your code raised AttributeError:" in report
    assert f"03_softplus.py, line {line}, in backward" in report
    assert "return gy * F.sigmoidd(x)" in report
    assert "exercises.py" not in report and "autograd.py" not in report


def test_a_file_that_does_not_load_says_where(tmp_path):
    report = planted(tmp_path, "sigmoid", "class Sigmoid(sg.Function):", "class Sigmoid(sg.Function)")
    line = line_of(source("sigmoid"), "class Sigmoid(sg.Function):")
    report = " ".join(report.split())
    assert "your file does not load" in report and f"01_sigmoid.py, line {line}" in report


def test_checking_leaves_no_trace():
    path, modules, rng_state = list(sys.path), set(sys.modules), backend.rng_state()
    exercises.check_here("gradient_penalty", solution=True)
    exercises.check_here("sigmoid")
    assert sys.path == path and set(sys.modules) == modules
    assert backend.rng_state() == rng_state


def test_the_command_line(capsys, monkeypatch):
    assert main(["check", "sigmoid", "--solution"]) == 0      # in a child Python
    assert "all 4 checks pass" in capsys.readouterr().out
    monkeypatch.setattr(exercises, "check", exercises.check_here)   # one child is enough
    for name in ("01", "1", "01_sigmoid", "sigmoid"):
        assert main(["check", name]) == 1
        assert "not written yet: Sigmoid.backward" in capsys.readouterr().out
    other = exercises.LESSONS / "solutions" / "02_tanh.py"
    assert main(["check", "tanh", "--file", str(other)]) == 0
    capsys.readouterr()
    for argv in (["check"], ["check", "--list"]):
        assert main(argv) == 0
        listing = capsys.readouterr().out
        assert all(e.stem in listing for e in exercises.EXERCISES)
    assert main(["check", "no_such_exercise"]) == 2
    assert "no exercise called 'no_such_exercise'" in capsys.readouterr().out


def sigmoid_with(tmp_path, backward: str, top: str = "", bottom: str = "") -> str:
    """A copy of the sigmoid solution whose backward returns ``backward``."""
    path = tmp_path / "01_sigmoid.py"
    path.write_text(top + source("sigmoid").replace("gy * y * (1 - y)", backward) + bottom)
    return str(path)


def test_a_sys_exit_in_the_students_code_is_a_failure_not_a_pass(tmp_path):
    in_backward = sigmoid_with(tmp_path, "sys.exit(0)", top="import sys\n")
    line = line_of(open(in_backward).read(), "sys.exit(0)")
    for result in (exercises.check_here("sigmoid", path=in_backward),
                   exercises.check("sigmoid", path=in_backward)):
        assert not result.passed
        assert result.report.splitlines()[-1] == (
            f"your file stopped the checker with sys.exit(0) on line {line} before the check "
            f"finished — remove it")
    at_the_top = sigmoid_with(tmp_path, "gy * y * (1 - y)", bottom="\nraise SystemExit\n")
    result = exercises.check_here("sigmoid", path=at_the_top)
    assert not result.passed and "stopped the checker with sys.exit()" in result.report


def test_an_os_exit_in_the_students_code_is_a_failure_not_a_pass(tmp_path):
    path = sigmoid_with(tmp_path, "os._exit(0)", top="import os\n")
    result = exercises.check("sigmoid", path=path)
    assert not result.passed
    assert result.report.splitlines()[-1] == ("your file ended the checker (exit code 0: an "
                                              "os._exit?) before the check finished — remove it")


def test_an_endless_loop_in_backward_is_stopped_by_the_time_limit(tmp_path):
    path = sigmoid_with(tmp_path, "forever(gy)",
                        bottom="\n\ndef forever(g):\n    while True:\n        pass\n")
    result = exercises.check("sigmoid", path=path, timeout=1)
    assert not result.passed
    assert result.report.splitlines()[-1].startswith(
        "the check did not finish within 1 s: an infinite loop in your code")


def test_the_checked_child_gives_the_same_report_as_the_check_here(tmp_path):
    for name, path in (("tanh", None), ("sigmoid", sigmoid_with(tmp_path, "gy * y"))):
        here = exercises.check_here(name, path=path, solution=path is None)
        child = exercises.check(name, path=path, solution=path is None)
        assert child == here
        assert child.passed is (path is None)


def test_an_installed_copy_without_the_lessons_asks_for_the_file(tmp_path, monkeypatch):
    path = tmp_path / "01_sigmoid.py"
    path.write_text(source("sigmoid"))
    monkeypatch.setattr(exercises, "LESSONS", tmp_path / "site-packages" / "lessons")
    for check in (exercises.check_here, exercises.check):
        result = check("sigmoid")
        assert not result.passed
        assert result.report.startswith("the lessons are not beside this scratchgan (")
        assert result.report.endswith("python -m scratchgan check sigmoid --file PATH")
    assert exercises.check_here("sigmoid", path=path).passed


# --- hints of their own, and the notes a report owes the student ---------------------------
def planted_all(tmp_path, name: str, replacements: dict) -> str:
    """The report on a copy of the solution with every ``right`` replaced by its ``wrong``."""
    text = source(name)
    for right, wrong in replacements.items():
        assert text.count(right) == 1, f"{right!r} is not (once) in the solution of {name}"
        text = text.replace(right, wrong)
    path = tmp_path / f"{exercises.find(name).stem}.py"
    path.write_text(text)
    result = exercises.check_here(name, path=path)
    assert not result.passed, result.report
    return " ".join(result.report.split())


def test_a_forgotten_lambda_in_the_cycle_loss_gets_its_own_hint(tmp_path):
    report = planted_all(tmp_path, "cycle_loss", {
        "scale_x = self.weight * g_loss": "scale_x = g_loss",
        "scale_y = self.weight * g_loss": "scale_y = g_loss"})
    assert "the right one divided by λ = self.weight (10)" in report
    assert "the right one divided by λ = self.weight (2.5)" in report
    assert "1/N from a mean" not in report         # gradcheck's generic guess gives way


def test_the_lambda_hint_needs_the_lambda_mistake(tmp_path):
    report = planted_all(tmp_path, "cycle_loss", {"scale_x = self.weight * g_loss / x.size":
                                                  "scale_x = self.weight * g_loss"})
    assert "divided by λ" not in report


def test_broadcast_add_summed_over_the_wrong_axis_names_the_broadcast_shape(tmp_path):
    report = planted_all(tmp_path, "broadcast_add", {"F.sum_to(gy, b.shape)": "gy.sum(axis=0)"})
    assert "b (4,) was broadcast to the output's shape (2, 3, 4)" in report
    assert "sum gy over exactly axes (0, 1) of (2, 3, 4)" in report
    assert "your sum left (3, 4)" in report
    assert "b (1, 4) was broadcast to the output's shape (3, 4)" in report
    assert "keepdims=True" in report                 # (4,) for b (1, 4): the right numbers
    assert "it was not broadcast, so its gradient needs no sum" in report   # b (3, 4)
    assert "was broadcast to (3, 4)" not in report   # the old, wrong description
    assert "lost an axis" not in report and "F.broadcast_to" not in report   # Mean's advice


def test_the_mean_exercise_keeps_its_advice(tmp_path):
    report = planted_all(tmp_path, "mean_axis", {
        "F.broadcast_to(gy.reshape(self.kept_shape), x.shape) / n": "gy / n"})
    assert "lost an axis" in report and "F.broadcast_to(g, x.shape)" in report


def test_a_gradcheck_report_says_that_gy_is_random(tmp_path):
    report = planted_all(tmp_path, "sigmoid", {"gy * y * (1 - y)": "y * (1 - y)"})
    assert "numeric -" in report                     # a negative "derivative" of σ …
    note = "note: the check calls backward with a random gy"
    assert report.count(note) == 1                   # … explained, once
    assert "both columns are dL/dx = gy · dy/dx, not dy/dx" in report
    shape_only = planted_all(tmp_path, "broadcast_add", {"F.sum_to(gy, b.shape)": "gy"})
    assert note not in shape_only                    # no gradcheck ran: nothing to explain


def test_a_typo_keeps_pythons_did_you_mean(tmp_path):
    report = planted_all(tmp_path, "sigmoid", {"y = self.output": "y = self.ouput"})
    assert "AttributeError: 'Sigmoid' object has no attribute 'ouput'. " \
           "Did you mean: 'output'?" in report
    report = planted_all(tmp_path, "sigmoid", {"gy * y * (1 - y)": "gyy * y * (1 - y)"})
    assert "NameError: name 'gyy' is not defined. Did you mean: 'gy'?" in report


@pytest.mark.host_only
def test_the_readme_shows_the_reports_the_checker_prints():
    readme = exercises.README.read_text()
    assert readme == exercises.readme_with_samples(readme), (
        "lessons/exercises/README.md's sample reports are stale: "
        "run  python -m scratchgan.exercises")
    generated = readme.split(exercises.SAMPLES_BEGIN)[1].split(exercises.SAMPLES_END)[0]
    assert generated.count("```") == 2 * len(exercises.SAMPLES)
    assert "all 4 checks pass: Sigmoid.backward is right" in generated
    assert "not written yet: Sigmoid.backward" in generated
    assert "its sign is flipped" in generated and "F.sum_to(g," in generated
    stale = readme.replace(generated, generated.replace("its sign is flipped", "well done"))
    assert stale != readme
    assert exercises.readme_with_samples(stale) == readme      # the check can fail


def test_a_recursive_order_hits_the_recursion_limit(tmp_path):
    recursive = (
        "def topological_order(roots):\n"
        "    order, seen = [], set()\n\n"
        "    def visit(f):\n"
        "        if id(f) not in seen:\n"
        "            seen.add(id(f))\n"
        "            for x in f.inputs:\n"
        "                if x.creator is not None:\n"
        "                    visit(x.creator)\n"
        "            order.append(f)\n"
        "    for r in roots:\n"
        "        visit(r.creator)\n"
        "    return order[::-1]\n\n\n")
    text = source("backward_walk")
    start, end = text.index("def topological_order"), text.index("def backward_walk")
    path = tmp_path / "21_backward_walk.py"
    path.write_text(text[:start] + recursive + text[end:])
    report = " ".join(exercises.check_here("backward_walk", path=path).report.split())
    assert "PASS order: every function once" in report
    assert "FAIL order: a chain of 10,000 ops" in report and "recursion limit" in report
    assert "an explicit stack" in report


def test_the_walk_check_runs_the_engines_tests_on_the_students_walk(tmp_path):
    """A walk that passes the check's own small graphs but drops the last function of a long
    one: only the engine's tests can catch it, and the report names the one that does."""
    report = planted_all(tmp_path, "backward_walk", {
        "    for f in order:\n        y = f.output":
            "    for f in (order[:-1] if len(order) > 100 else order):\n        y = f.output"})
    assert "PASS walk: b = a + a" in report
    assert "PASS engine's test node_used_twice_collects_both_gradients" in report
    assert "FAIL engine's test a_long_chain_does_not_hit_the_recursion_limit" in report


def test_the_iteration_check_says_bit_for_bit_or_rounding(tmp_path):
    assert "bit for bit" in exercises.check_here("gan_iteration", solution=True).report
    text = source("gan_iteration").replace("logits = D(F.concatenate([real, fake]))",
                                           "logits = F.concatenate([D(real), D(fake)])")
    path = tmp_path / "18_gan_iteration.py"
    path.write_text(text)
    result = exercises.check_here("gan_iteration", path=path)
    assert result.passed, result.report
    assert "bit for bit" not in result.report and "to rounding" in result.report


def test_clipping_before_the_critics_step_gets_its_hint(tmp_path):
    report = planted_all(tmp_path, "wgan_critic", {
        "    opt_d.step()\n": "",
        "    return loss": "    opt_d.step()\n    return loss"})
    assert "hold values outside [−c, c]" in report
    assert "you clipped before opt_d.step()" in report


def test_gs_step_inside_the_k_step_loop_gets_its_hint(tmp_path):
    report = planted_all(tmp_path, "k_step_loop", {
        "    with nn.frozen(D):": "        with nn.frozen(D):",
        "        g_loss = losses": "            g_loss = losses",
        "        opt_g.zero_grad()": "            opt_g.zero_grad()",
        "        g_loss.backward()": "            g_loss.backward()",
        "    opt_g.step()\n": "        opt_g.step()\n"})
    assert "opt_d.step() opt_g.step() opt_d.step() opt_g.step()" in report
    assert "G stepped inside D's loop" in report
