"""The graph walk and its traps: each test names a mistake popular from-scratch GANs make."""
import gc
import sys
import weakref

import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import functional as F


def leaf(*shape, dtype="float64"):
    return sg.tensor(B.xp.asarray(np.random.randn(*shape).astype(dtype)), requires_grad=True)


def test_backward_matches_hand_derivative(backend):
    x = leaf(3, 4)
    w = leaf(4, 2)
    y = F.sigmoid(x @ w)
    y.sum().backward()
    s = sg.to_numpy(y.data)
    expected_x = (s * (1 - s)) @ sg.to_numpy(w.data).T
    np.testing.assert_allclose(sg.to_numpy(x.grad.data), expected_x, rtol=1e-10)


def test_node_used_twice_collects_both_gradients(backend):
    """b = a + a; c = b * b  →  dc/da = 2b · 2 = 8a."""
    a = leaf(3)
    b = a + a
    c = (b * b).sum()
    c.backward()
    np.testing.assert_allclose(sg.to_numpy(a.grad.data), 8 * sg.to_numpy(a.data))


def test_one_function_object_called_twice_keeps_each_input(backend):
    """D on real, then D on fake: each call's backward must use its own input."""
    w = leaf(4, 1)
    real, fake = leaf(2, 4), leaf(2, 4)
    d_real, d_fake = real @ w, fake @ w
    (d_real.sum() - d_fake.sum()).backward()
    expected = sg.to_numpy(real.data).sum(0) - sg.to_numpy(fake.data).sum(0)
    np.testing.assert_allclose(sg.to_numpy(w.grad.data)[:, 0], expected)


def test_backward_twice_without_retain_graph_raises(backend):
    x = leaf(3)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_accumulates_visibly(backend):
    x = leaf(3)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    first = sg.to_numpy(x.grad.data).copy()
    y.backward()
    np.testing.assert_allclose(sg.to_numpy(x.grad.data), 2 * first)


def test_a_long_chain_does_not_hit_the_recursion_limit():
    x = sg.tensor(np.array([0.5]), requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    assert 10_000 > sys.getrecursionlimit() / 2   # recursion would have failed here
    y.sum().backward()
    np.testing.assert_allclose(sg.to_numpy(x.grad.data), [1.0001 ** 10_000], rtol=1e-9)


def test_parents_are_visited_in_a_fixed_order():
    """Two runs of the same graph produce bit-identical gradients (no set ordering)."""
    results = []
    for _ in range(2):
        sg.seed(3)
        x = sg.tensor(np.random.randn(50), requires_grad=True)
        parts = [F.tanh(x * k) for k in range(1, 30)]
        total = parts[0]
        for p in parts[1:]:
            total = total + p
        total.sum().backward()
        results.append(sg.to_numpy(x.grad.data).copy())
    assert np.array_equal(results[0], results[1])


def test_graph_is_freed_after_backward():
    x = sg.tensor(np.random.randn(100, 100), requires_grad=True)
    hidden = F.tanh(x @ x)
    probe = weakref.ref(hidden)
    loss = (hidden * hidden).sum()
    del hidden
    assert probe() is not None        # the loss's graph still holds it
    loss.backward()
    gc.disable()                      # freed by reference counting alone, no cycles
    try:
        assert probe() is None
    finally:
        gc.enable()


def test_dropping_the_loss_frees_the_graph_without_backward():
    x = sg.tensor(np.random.randn(10), requires_grad=True)
    y = F.exp(x)
    probe = weakref.ref(y.creator)
    loss = y.sum()
    del y, loss
    assert probe() is None


def test_grad_function_has_torch_semantics(backend):
    x, z = leaf(3), leaf(3)
    y = (x ** 3).sum()
    (gx,) = sg.grad(y, [x], create_graph=True)
    np.testing.assert_allclose(sg.to_numpy(gx.data), 3 * sg.to_numpy(x.data) ** 2)
    assert x.grad is None                           # grad() does not touch .grad
    (ggx,) = sg.grad(gx.sum(), [x])
    np.testing.assert_allclose(sg.to_numpy(ggx.data), 6 * sg.to_numpy(x.data))
    with pytest.raises(RuntimeError, match="not used"):
        sg.grad((x * 2).sum(), [x, z])
    gx2, gz = sg.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None and np.allclose(sg.to_numpy(gx2.data), 2)


def test_grad_of_an_intermediate_tensor(backend):
    x = leaf(4)
    h = x * 3
    (gh,) = sg.grad((h * h).sum(), [h])
    np.testing.assert_allclose(sg.to_numpy(gh.data), 2 * sg.to_numpy(h.data))


def test_no_grad_records_nothing():
    x = sg.tensor(np.ones(3), requires_grad=True)
    with sg.no_grad():
        y = x * 2
    assert y.creator is None and not y.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_detach_cuts_the_graph():
    x = sg.tensor(np.ones(3), requires_grad=True)
    y = (x * 2).detach() * x
    y.sum().backward()
    np.testing.assert_allclose(sg.to_numpy(x.grad.data), 2)


def test_detect_anomaly_names_the_op():
    x = sg.tensor(np.array([1.0, -1.0]), requires_grad=True)
    with sg.detect_anomaly():
        with pytest.raises(FloatingPointError, match="Sqrt"):
            with np.errstate(invalid="ignore"):
                F.sqrt(x)
    x = sg.tensor(np.array([0.0, 1.0]), requires_grad=True)
    y = F.sqrt(x).sum()                               # forward fine, d√x/dx = ∞ at 0
    with sg.detect_anomaly():
        with pytest.raises(FloatingPointError, match="Sqrt.backward"):
            with np.errstate(divide="ignore"):
                y.backward()


def test_non_scalar_backward_needs_a_gradient():
    x = sg.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\).*gradient"):
        (x * 2).backward()
    (x * 2).backward(sg.tensor(np.ones((2, 3))))
    np.testing.assert_allclose(sg.to_numpy(x.grad.data), 2)


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        sg.tensor(np.arange(3), requires_grad=True)


def test_shape_mismatch_names_op_and_shapes():
    a = sg.tensor(np.ones((64, 100)))
    b = sg.tensor(np.ones((128, 256)))
    with pytest.raises(ValueError, match=r"matmul: \(64, 100\) @ \(128, 256\) — inner dims"):
        a @ b
    with pytest.raises(ValueError, match=r"add: shapes \(3, 4\) and \(5,\)"):
        sg.tensor(np.ones((3, 4))) + sg.tensor(np.ones(5))
    with pytest.raises(ValueError, match=r"concatenate"):
        F.concatenate([sg.tensor(np.ones((2, 3))), sg.tensor(np.ones((3, 3)))], axis=1)


def test_a_backward_returning_the_wrong_shape_is_named():
    class ForgetsToSum(sg.Function):
        def forward(self, a, b):
            return a + b

        def backward(self, gy):
            return gy, gy               # b was broadcast: its gradient must be summed

    a = sg.tensor(np.ones((3, 4)), requires_grad=True)
    b = sg.tensor(np.ones((1, 4)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"ForgetsToSum.backward .* shape \(3, 4\) for "
                                           r"input 1 of shape \(1, 4\)"):
        ForgetsToSum()(a, b).sum().backward()


def test_python_scalars_do_not_upcast_float32(backend):
    x = sg.tensor(B.xp.ones((2, 2), dtype="float32"), requires_grad=True)
    y = (2.0 * x + 1) / 3.0 - 0.5
    y = y ** 2 * np.float64(1.5)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    assert sg.tensor([1.0, 2.0]).dtype == np.float32            # lists default to float32


def test_gradients_accumulate_across_graphs_until_zeroed():
    x = sg.tensor(np.ones(2), requires_grad=True)
    (x * 3).sum().backward()
    (x * 4).sum().backward()
    np.testing.assert_allclose(sg.to_numpy(x.grad.data), 7)
    x.zero_grad()
    assert x.grad is None


def test_comparisons_give_booleans_without_gradient():
    x = sg.tensor(np.array([1.0, -2.0]), requires_grad=True)
    mask = x > 0
    assert mask.dtype == bool and not mask.requires_grad
    assert list(mask.data) == [True, False]


# --- the import graph: lower layers never import higher ones -----------------------------
_PACKAGE_DIR = __import__("pathlib").Path(sg.__file__).parent
_CORE = ["backend.py", "autograd.py", "functional.py", "optim.py", "ops", "nn"]


def _core_files():
    for name in _CORE:
        path = _PACKAGE_DIR / name
        yield from (sorted(path.glob("*.py")) if path.is_dir() else [path])


def _module_name(path):
    parts = path.relative_to(_PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _our_imports(path):
    """(module imported, imported inside a function?) for each scratchgan import in path."""
    import ast
    tree = ast.parse(path.read_text())
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    nested = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.Lambda))
              for n in ast.walk(f)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = ".".join(package[:len(package) - node.level + 1] +
                            ([node.module] if node.module else []))
            targets = [base] if node.module else [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                yield target, id(node) in nested


def test_the_core_imports_nothing_late():
    """A deferred ``from .x import y`` inside a function is how an import circle hides."""
    late = [f"{_module_name(p)} imports {m}" for p in _core_files()
            for m, inside_function in _our_imports(p) if inside_function]
    assert not late, late


def test_the_core_borrows_no_private_names():
    """A helper two files share is public, in one place (``broadcast_shape``, ``as_pair``)."""
    import ast
    borrowed = [f"{_module_name(p)}: {a.name}" for p in _core_files()
                for node in ast.walk(ast.parse(p.read_text()))
                if isinstance(node, ast.ImportFrom) and node.level
                for a in node.names if a.name.startswith("_")]
    assert not borrowed, borrowed


def test_the_core_import_graph_has_no_circles():
    modules = {_module_name(p): p for p in _core_files()}
    edges = {m: {t for t, _ in _our_imports(p) if t in modules and t != m}
             for m, p in modules.items()}
    done, on_path = set(), []

    def visit(m):
        if m in on_path:
            raise AssertionError("import circle: " + " → ".join(on_path[on_path.index(m):] + [m]))
        if m in done:
            return
        on_path.append(m)
        for t in sorted(edges[m]):
            visit(t)
        on_path.pop()
        done.add(m)

    for m in sorted(modules):
        visit(m)


def test_autograd_alone_loads_no_ops_and_astype_works():
    """Load scratchgan.autograd without the package's __init__ (which loads everything):
    it must bring in only the backend, and Tensor.astype must work without the ops."""
    import subprocess
    code = (
        "import sys, types\n"
        f"package = types.ModuleType('scratchgan'); package.__path__ = [{str(_PACKAGE_DIR)!r}]\n"
        "sys.modules['scratchgan'] = package\n"
        "import scratchgan.autograd as ag\n"
        "y = ag.tensor([1.0, 2.0]).astype('float64')\n"
        "print(y.dtype, sorted(m for m in sys.modules if m.startswith('scratchgan')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr.strip().splitlines()[-1:]
    assert out.stdout.split(" ", 1) == [
        "float64", "['scratchgan', 'scratchgan.autograd', 'scratchgan.backend']\n"]
