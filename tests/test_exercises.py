"""The class exercises: every model answer passes its check, every blank fails it with a
report, and each classic mistake, planted in a copy of an answer, gets its hint."""
from __future__ import annotations

import pytest

from scratchgan import exercises
from scratchgan.__main__ import main

NAMES = list(exercises.EXERCISES)


def test_there_are_at_least_twelve_exercises_each_with_a_solution():
    assert len(NAMES) >= 12
    for exercise in exercises.EXERCISES.values():
        for folder in ("exercises", "solutions"):
            assert (exercises.LESSONS / folder / f"{exercise.stem}.py").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_the_solution_passes(name):
    result = exercises.check(name, solution=True)
    assert result.passed, result.report
    assert "[FAIL]" not in result.report


@pytest.mark.parametrize("name", NAMES)
def test_the_blank_fails_and_says_it_is_not_written(name):
    result = exercises.check(name)
    assert not result.passed
    assert "[FAIL]" in result.report and "not written yet" in result.report


def planted(tmp_path, name: str, old: str, new: str):
    """A copy of the model answer with one mistake planted (old → new), checked."""
    exercise = exercises.find(name)
    source = (exercises.LESSONS / "solutions" / f"{exercise.stem}.py").read_text()
    assert old in source, f"the planted mistake's anchor {old!r} is not in the solution"
    path = tmp_path / f"{exercise.stem}.py"
    path.write_text(source.replace(old, new))
    result = exercises.check(name, path=path)
    assert not result.passed, result.report
    return result.report


CLASSIC_MISTAKES = {
    # name: (exercise, the right code, the planted mistake, words the hint must contain)
    "flipped sign": ("tanh", "gy * (1 - y * y)", "gy * (y * y - 1)", "sign is flipped"),
    "missing factor of 2": ("lsgan_loss", "return gy * (real_out - 1) / real_out.size, gy * fake_out",
                            "return 0.5 * gy * (real_out - 1) / real_out.size, 0.5 * gy * fake_out",
                            "missing factor of 2"),
    "broadcast axis not summed": ("broadcast_add", "return sum_to(gy, a.shape), sum_to(gy, b.shape)",
                                  "return gy, gy", "sum_to"),
    "transpose (square)": ("matmul", "a.T @ gy", "gy.T @ a", "transpose"),
    "missing 1/N of a mean": ("mean_axis", ") / x.shape[axis]", ")",
                              "a scale such as 1/N from a mean"),
    "backward on raw arrays": ("sigmoid", "y = self.output\n        return gy * y * (1 - y)",
                               "y = self.output.data\n        return gy * sg.tensor(y * (1 - y))",
                               "not with .data or raw arrays"),
    "no create_graph in the penalty": ("gradient_penalty", "create_graph=True", "create_graph=False",
                                       "create_graph=True"),
}


@pytest.mark.parametrize("mistake", CLASSIC_MISTAKES)
def test_a_classic_mistake_gets_its_hint(mistake, tmp_path):
    name, old, new, hint = CLASSIC_MISTAKES[mistake]
    report = planted(tmp_path, name, old, new)
    assert "hint:" in report and hint in report, report
    if mistake != "no create_graph in the penalty":   # the report points at the elements
        assert "elements are off" in report or "shape" in report, report


def test_the_transpose_of_a_rectangular_gradient_is_named_by_its_shape(tmp_path):
    report = planted(tmp_path, "matmul", "a.T @ gy", "gy.T @ a")
    assert "shape (2, 4) for input 1 of shape (4, 2)" in report
    assert "missing .T" in report and "sum_to" not in report.split("(4, 2)")[1].split("\n")[0]


def test_a_wrong_penalty_value_is_reported(tmp_path):
    report = planted(tmp_path, "gradient_penalty", "((norms - 1) ** 2).mean()",
                     "((norms - 1) ** 2).sum()")
    assert "scratchgan.losses computes" in report


def test_an_error_in_the_students_code_shows_their_line(tmp_path):
    report = planted(tmp_path, "softplus", "return gy * F.sigmoid(x)",
                     "return gy * F.sigmoidd(x)")
    assert "AttributeError" in report and str(tmp_path) in report and "sigmoidd" in report


def test_the_command_line(capsys, tmp_path):
    assert main(["check", "02", "--solution"]) == 0
    assert "all checks pass" in capsys.readouterr().out
    assert main(["check", "tanh"]) == 1
    assert "not written yet" in capsys.readouterr().out
    assert main(["check"]) == 0
    assert "gradient_penalty" in capsys.readouterr().out
    assert main(["check", "no_such_exercise"]) == 2
    assert "no exercise called" in capsys.readouterr().out
