"""The image ops — conv_transpose2d, avg_pool2d, upsample_nearest2d, reflection_pad2d —
checked three ways: against finite differences in float64 (first and second order, over
strides, paddings and odd sizes), against a direct nested-loop reference at small sizes,
and against the adjoint identities that define them (⟨A x, y⟩ = ⟨x, Aᵀ y⟩).
"""
import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan.ops.convolution import _fits_blocks, _fold_by_offsets

OPS = {   # name: (function, input shapes); squares make the second derivative non-zero
    "conv_transpose2d_s2_p1_op1": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
        [(2, 2, 3, 4), (2, 3, 3, 3), (3,)]),
    "conv_transpose2d_s1": (
        lambda x, w, b: F.conv_transpose2d(x, w, b) ** 2,
        [(1, 2, 3, 3), (2, 2, 2, 3), (2,)]),
    "conv_transpose2d_rect": (   # unequal strides, paddings, output paddings and kernel sides
        lambda x, w: F.conv_transpose2d(x, w, stride=(3, 2), padding=(1, 0),
                                        output_padding=(2, 1)) ** 2,
        [(1, 2, 2, 3), (2, 1, 4, 3)]),
    "conv_transpose2d_gap": (    # stride > kernel: output pixels no patch reaches
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=3),
        [(1, 1, 2, 3), (1, 2, 2, 2), (2,)]),
    "avg_pool2d_2": (lambda x: F.avg_pool2d(x, 2) ** 2, [(2, 2, 5, 5)]),   # odd: a row left out
    "avg_pool2d_3_s2_p1": (lambda x: F.avg_pool2d(x, 3, stride=2, padding=1) ** 2,
                           [(1, 2, 5, 6)]),
    "avg_pool2d_rect_s1": (lambda x: F.avg_pool2d(x, (2, 3), stride=1) ** 2, [(1, 1, 4, 5)]),
    "upsample_nearest2d_2": (lambda x: F.upsample_nearest2d(x, 2) ** 2, [(2, 2, 3, 3)]),
    "upsample_nearest2d_rect": (lambda x: F.upsample_nearest2d(x, (2, 3)) ** 2, [(1, 2, 2, 3)]),
    "reflection_pad2d_2": (lambda x: F.reflection_pad2d(x, 2) ** 2, [(2, 2, 5, 5)]),
    "reflection_pad2d_uneven": (lambda x: F.reflection_pad2d(x, (1, 3, 0, 2)) ** 2,
                                [(1, 2, 4, 5)]),
    "reflection_pad2d_widest": (lambda x: F.reflection_pad2d(x, (4, 4, 3, 3)) ** 2,
                                [(1, 1, 4, 5)]),   # pad = size − 1, the most PyTorch allows
    # fold in blocks (the stride divides the kernel): DCGAN's k4 s2 p1, and a rectangle
    "fold_blocks_k4_s2_p1": (lambda p: F.fold(p, (1, 2, 5, 4), 4, stride=2, padding=1) ** 2,
                             [(1, 2 * 2, 4 * 4 * 2)]),
    "fold_blocks_rect": (lambda p: F.fold(p, (1, 2, 5, 7), (2, 6), stride=(2, 3),
                                          padding=(0, 1)) ** 2,
                         [(1, 2 * 2, 2 * 6 * 2)]),
}


def inputs_for(shapes, rng):
    return [B.xp.asarray(rng.standard_normal(s)) for s in shapes]


@pytest.mark.parametrize("name", OPS)
def test_first_order(name, backend, rng):
    fn, shapes = OPS[name]
    assert sg.gradcheck(fn, inputs_for(shapes, rng), name=name)


@pytest.mark.parametrize("name", OPS)
def test_second_order(name, backend, rng):
    fn, shapes = OPS[name]
    assert sg.gradgradcheck(fn, inputs_for(shapes, rng), name=name)


def tensor(a, requires_grad=False):
    return sg.tensor(B.xp.asarray(a), requires_grad=requires_grad)


# --- conv_transpose2d ----------------------------------------------------------------------
def conv_transpose2d_loops(x, w, b, stride, padding, output_padding):
    """Each input pixel paints a copy of the kernel, scaled by its value, onto the output
    at (i·s − p, j·s − p); the parts that fall outside the output are dropped."""
    (sh, sw), (ph, pw), (oh, ow) = stride, padding, output_padding
    n, c_in, h, w_ = x.shape
    _, c_out, kh, kw = w.shape
    h_out, w_out = (h - 1) * sh - 2 * ph + kh + oh, (w_ - 1) * sw - 2 * pw + kw + ow
    y = np.zeros((n, c_out, h_out, w_out))
    for s in range(n):
        for c in range(c_in):
            for i in range(h):
                for j in range(w_):
                    for o in range(c_out):
                        for u in range(kh):
                            for v in range(kw):
                                r, q = i * sh + u - ph, j * sw + v - pw
                                if 0 <= r < h_out and 0 <= q < w_out:
                                    y[s, o, r, q] += x[s, c, i, j] * w[c, o, u, v]
    return y + (0 if b is None else b.reshape(1, -1, 1, 1))


GEOMETRIES = [   # (x shape, weight shape, stride, padding, output_padding)
    ((2, 3, 4, 4), (3, 2, 3, 3), (1, 1), (0, 0), (0, 0)),
    ((1, 2, 3, 5), (2, 3, 3, 3), (2, 2), (1, 1), (1, 1)),     # DCGAN's doubling, odd sizes
    ((1, 2, 4, 4), (2, 1, 4, 4), (2, 2), (1, 1), (0, 0)),     # k4 s2 p1: exactly 2×
    ((2, 1, 3, 2), (1, 2, 2, 3), (3, 2), (0, 1), (2, 1)),
    ((1, 1, 2, 2), (1, 1, 2, 2), (3, 3), (0, 0), (0, 0)),     # stride > kernel
    ((1, 2, 5, 3), (2, 2, 5, 3), (1, 2), (2, 1), (0, 1)),
]


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: "x{}_w{}_s{}_p{}_op{}".format(*g))
def test_conv_transpose2d_matches_the_nested_loops(geometry, backend, rng):
    x_shape, w_shape, stride, padding, output_padding = geometry
    x, w, b = (rng.standard_normal(x_shape), rng.standard_normal(w_shape),
               rng.standard_normal(w_shape[1]))
    y = F.conv_transpose2d(tensor(x), tensor(w), tensor(b), stride, padding, output_padding)
    np.testing.assert_allclose(y.numpy(), conv_transpose2d_loops(x, w, b, stride, padding,
                                                                  output_padding),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: "x{}_w{}_s{}_p{}_op{}".format(*g))
def test_conv_transpose2d_is_the_adjoint_of_conv2d(geometry, backend, rng):
    """⟨conv2d(y, W), x⟩ = ⟨y, conv_transpose2d(x, W)⟩, and conv_transpose2d's gradient
    with respect to x is conv2d with the same W."""
    x_shape, w_shape, stride, padding, output_padding = geometry
    x, w = tensor(rng.standard_normal(x_shape), requires_grad=True), tensor(
        rng.standard_normal(w_shape))
    up = F.conv_transpose2d(x, w, None, stride, padding, output_padding)
    y = tensor(rng.standard_normal(up.shape))
    down = F.conv2d(y, w, None, stride, padding)
    assert down.shape == x.shape                       # conv2d takes it back to x's size
    np.testing.assert_allclose((down * x).sum().item(), (y * up).sum().item(), rtol=1e-12)
    (gx,) = sg.grad((up * y).sum(), [x])
    np.testing.assert_allclose(gx.numpy(), down.numpy(), rtol=1e-12, atol=1e-12)


def test_conv_transpose2d_output_size_and_dtype(backend):
    x = tensor(np.zeros((2, 3, 7, 5), dtype="float32"))
    w = tensor(np.zeros((3, 4, 4, 4), dtype="float32"))
    y = F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)
    assert y.shape == (2, 4, (7 - 1) * 2 - 2 + 4 + 1, (5 - 1) * 2 - 2 + 4 + 1)
    assert y.dtype == np.float32


def test_conv_transpose2d_output_padding_rows_hold_only_the_bias(rng):
    x, w = rng.standard_normal((1, 1, 2, 2)), rng.standard_normal((1, 1, 2, 2))
    y = F.conv_transpose2d(tensor(x), tensor(w), tensor(np.array([0.5])), stride=2,
                           output_padding=1).numpy()
    assert y.shape == (1, 1, 5, 5)
    np.testing.assert_array_equal(y[0, 0, 4, :], 0.5)
    np.testing.assert_array_equal(y[0, 0, :, 4], 0.5)


@pytest.mark.parametrize("x_shape, w_shape, kwargs, message", [
    ((1, 2, 3, 3), (3, 2, 2, 2), {}, r"conv_transpose2d: input \(1, 2, 3, 3\) does not fit "
                                     r"weight \(3, 2, 2, 2\)"),
    ((2, 3, 3), (2, 2, 2, 2), {}, r"conv_transpose2d: input \(2, 3, 3\)"),
    ((1, 2, 3, 3), (2, 2, 2), {}, r"conv_transpose2d: .*weight \(2, 2, 2\)"),
    ((1, 2, 3, 3), (2, 2, 2, 2), {"stride": 2, "output_padding": 2},
     r"output_padding \(2, 2\) must be smaller than stride \(2, 2\)"),
    ((1, 2, 1, 1), (2, 2, 1, 1), {"padding": 1}, r"empty output \(-1×-1\)"),
    ((1, 2, 3, 3), (2, 2, 2, 2), {"stride": 0}, r"stride \(0, 0\) must be ≥ 1"),
])
def test_conv_transpose2d_errors_name_the_op_and_shapes(x_shape, w_shape, kwargs, message):
    with pytest.raises(ValueError, match=message):
        F.conv_transpose2d(tensor(np.zeros(x_shape)), tensor(np.zeros(w_shape)), **kwargs)


def test_conv_transpose2d_bias_of_the_wrong_size():
    with pytest.raises(ValueError, match=r"conv_transpose2d: bias of shape \(2,\) for 3 output"):
        F.conv_transpose2d(tensor(np.zeros((1, 2, 3, 3))), tensor(np.zeros((2, 3, 2, 2))),
                           tensor(np.zeros(2)))


def test_conv_transpose2d_refuses_two_float_dtypes():
    with pytest.raises(TypeError, match="two float dtypes, float32 and float64"):
        F.conv_transpose2d(tensor(np.zeros((1, 2, 3, 3), dtype="float32")),
                           tensor(np.zeros((2, 1, 2, 2))))


# --- fold in blocks ------------------------------------------------------------------------
FOLD_GEOMETRIES = [   # (image shape, kernel, stride, padding), all with the stride dividing the kernel
    ((2, 3, 14, 14), (4, 4), (2, 2), (1, 1)),     # DCGAN's
    ((1, 2, 7, 7), (4, 4), (2, 2), (1, 1)),       # odd: the padded image is not whole blocks
    ((2, 2, 6, 5), (2, 2), (2, 2), (0, 0)),       # one block per patch, no overlap
    ((1, 3, 8, 9), (6, 3), (3, 3), (2, 0)),
    ((1, 2, 5, 7), (2, 6), (2, 3), (0, 1)),       # unequal strides
    ((1, 2, 6, 6), (4, 3), (2, 1), (1, 1)),       # stride 1 along one axis
    ((1, 2, 4, 4), (4, 4), (2, 2), (0, 0)),       # more kernel offsets than patches
]


def fold_by_offsets(patches, image_shape, kernel, stride, padding):
    """The readable loop: one strided add per kernel offset (u, v), in that order."""
    n, c, h, w = image_shape
    (kh, kw), (ph, pw) = kernel, padding
    h_out, w_out = (h + 2 * ph - kh) // stride[0] + 1, (w + 2 * pw - kw) // stride[1] + 1
    image = B.xp.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=patches.dtype)
    _fold_by_offsets(image, patches.reshape(n, h_out, w_out, kh, kw, c), stride)
    return sg.to_numpy(image[:, ph:ph + h, pw:pw + w].transpose(0, 3, 1, 2))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("geometry", FOLD_GEOMETRIES, ids=lambda g: "x{}_k{}_s{}_p{}".format(*g))
def test_fold_in_blocks_is_the_offsets_loop_bit_for_bit(geometry, dtype, backend, rng):
    """Each pixel receives the same terms in the same order either way, so the sums are
    equal to the last bit, not just to rounding."""
    image_shape, kernel, stride, padding = geometry
    assert _fits_blocks(kernel, stride, image_shape[1])        # the blocks path is the one run
    x = tensor(rng.standard_normal(image_shape).astype(dtype))
    patches = F.unfold(x, kernel, stride, padding)
    p = B.xp.asarray(rng.standard_normal(patches.shape).astype(dtype))
    folded = F.fold(tensor(p), image_shape, kernel, stride, padding)
    assert folded.dtype == dtype
    np.testing.assert_array_equal(folded.numpy(),
                                  fold_by_offsets(p, image_shape, kernel, stride, padding))


@pytest.mark.parametrize("geometry", FOLD_GEOMETRIES, ids=lambda g: "x{}_k{}_s{}_p{}".format(*g))
def test_fold_in_blocks_is_the_adjoint_of_unfold(geometry, backend, rng):
    image_shape, kernel, stride, padding = geometry
    x = tensor(rng.standard_normal(image_shape))
    patches = F.unfold(x, kernel, stride, padding)
    p = tensor(rng.standard_normal(patches.shape))
    back = F.fold(p, image_shape, kernel, stride, padding)
    np.testing.assert_allclose((patches * p).sum().item(), (x * back).sum().item(), rtol=1e-12)


# --- avg_pool2d ----------------------------------------------------------------------------
def avg_pool2d_loops(x, kernel, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x.shape
    h_out, w_out = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    y = np.zeros((n, c, h_out, w_out))
    for s in range(n):
        for ch in range(c):
            for i in range(h_out):
                for j in range(w_out):
                    total = 0.0
                    for u in range(kh):
                        for v in range(kw):
                            r, q = i * sh + u - ph, j * sw + v - pw
                            if 0 <= r < h and 0 <= q < w:   # the padding adds zeros
                                total += x[s, ch, r, q]
                    y[s, ch, i, j] = total / (kh * kw)
    return y


@pytest.mark.parametrize("shape, kernel, stride, padding", [
    ((2, 2, 4, 4), (2, 2), (2, 2), (0, 0)),
    ((1, 2, 5, 5), (2, 2), (2, 2), (0, 0)),      # odd: the last row and column are left out
    ((1, 1, 5, 6), (3, 3), (2, 2), (1, 1)),
    ((1, 2, 4, 5), (2, 3), (1, 2), (1, 1)),
    ((2, 1, 3, 3), (3, 3), (1, 1), (0, 0)),
])
def test_avg_pool2d_matches_the_nested_loops(shape, kernel, stride, padding, backend, rng):
    x = rng.standard_normal(shape)
    y = F.avg_pool2d(tensor(x), kernel, stride, padding)
    np.testing.assert_allclose(y.numpy(), avg_pool2d_loops(x, kernel, stride, padding),
                               rtol=1e-12, atol=1e-15)


def test_avg_pool2d_stride_defaults_to_the_kernel(rng):
    x = tensor(rng.standard_normal((1, 1, 6, 6)))
    np.testing.assert_array_equal(F.avg_pool2d(x, 3).numpy(), F.avg_pool2d(x, 3, 3).numpy())
    assert F.avg_pool2d(x, 3).shape == (1, 1, 2, 2)


@pytest.mark.parametrize("shape, kwargs, message", [
    ((2, 5, 5), {"kernel_size": 2}, r"avg_pool2d: expected images \(N, C, H, W\), got shape "
                                    r"\(2, 5, 5\)"),
    ((1, 1, 2, 2), {"kernel_size": 3}, r"avg_pool2d: a 3×3 kernel .* does not fit .*"
                                       r"\(1, 1, 2, 2\)"),
    ((1, 1, 5, 5), {"kernel_size": 2, "padding": 2}, r"padding \(2, 2\) must be at most half"),
    ((1, 1, 5, 5), {"kernel_size": 2, "stride": 0}, r"stride \(0, 0\) must be ≥ 1"),
])
def test_avg_pool2d_errors(shape, kwargs, message):
    with pytest.raises(ValueError, match=message):
        F.avg_pool2d(tensor(np.zeros(shape)), **kwargs)


# --- upsample_nearest2d --------------------------------------------------------------------
@pytest.mark.parametrize("shape, scale", [((2, 2, 3, 3), (2, 2)), ((1, 1, 2, 3), (3, 2)),
                                          ((1, 2, 1, 1), (1, 1))])
def test_upsample_nearest2d_matches_the_nested_loops(shape, scale, backend, rng):
    x = rng.standard_normal(shape)
    (sh, sw), (n, c, h, w) = scale, shape
    expected = np.zeros((n, c, h * sh, w * sw))
    for s in range(n):
        for ch in range(c):
            for i in range(h * sh):
                for j in range(w * sw):
                    expected[s, ch, i, j] = x[s, ch, i // sh, j // sw]
    np.testing.assert_array_equal(F.upsample_nearest2d(tensor(x), scale).numpy(), expected)


def test_upsample_backward_sums_each_block_and_pooling_undoes_it(backend, rng):
    """The gradient of copying onto s×s blocks is the sum over each block: avg_pool2d · s²;
    and averaging the copies gives the image back."""
    x = tensor(rng.standard_normal((2, 2, 3, 4)), requires_grad=True)
    up = F.upsample_nearest2d(x, 2)
    gy = tensor(rng.standard_normal(up.shape))
    (gx,) = sg.grad((up * gy).sum(), [x])
    np.testing.assert_allclose(gx.numpy(), 4 * F.avg_pool2d(gy, 2).numpy(), rtol=1e-12)
    np.testing.assert_allclose(F.avg_pool2d(up, 2).numpy(), x.numpy(), rtol=1e-15)


def test_upsample_accepts_a_whole_float_scale_and_keeps_the_dtype():
    x = tensor(np.ones((1, 1, 2, 2), dtype="float32"))
    y = F.upsample_nearest2d(x, 2.0)
    assert y.shape == (1, 1, 4, 4) and y.dtype == np.float32


@pytest.mark.parametrize("scale", [1.5, 0, -2, (2, 2, 2)])
def test_upsample_refuses_a_scale_that_is_not_a_whole_number(scale):
    with pytest.raises(ValueError, match="upsample_nearest2d: scale_factor must be a whole"):
        F.upsample_nearest2d(tensor(np.zeros((1, 1, 2, 2))), scale)


def test_upsample_refuses_a_wrong_rank():
    with pytest.raises(ValueError, match=r"upsample_nearest2d: expected images .* \(3, 4\)"):
        F.upsample_nearest2d(tensor(np.zeros((3, 4))), 2)


# --- reflection_pad2d ----------------------------------------------------------------------
def reflect(k, n):
    """The index a mirrored border position k reads, for an axis of n pixels."""
    if k < 0:
        return -k
    if k >= n:
        return 2 * (n - 1) - k
    return k


def reflection_pad2d_loops(x, left, right, top, bottom):
    n, c, h, w = x.shape
    y = np.zeros((n, c, h + top + bottom, w + left + right))
    for s in range(n):
        for ch in range(c):
            for i in range(y.shape[2]):
                for j in range(y.shape[3]):
                    y[s, ch, i, j] = x[s, ch, reflect(i - top, h), reflect(j - left, w)]
    return y


PADS = [((2, 2, 5, 5), 2), ((1, 2, 4, 5), (1, 3, 0, 2)), ((1, 1, 4, 5), (4, 4, 3, 3)),
        ((2, 1, 2, 3), (0, 2, 1, 0)), ((1, 1, 3, 3), 0)]


@pytest.mark.parametrize("shape, pad", PADS)
def test_reflection_pad2d_matches_the_nested_loops(shape, pad, backend, rng):
    x = rng.standard_normal(shape)
    pad4 = (pad,) * 4 if isinstance(pad, int) else pad
    np.testing.assert_array_equal(F.reflection_pad2d(tensor(x), pad).numpy(),
                                  reflection_pad2d_loops(x, *pad4))


@pytest.mark.parametrize("shape, pad", PADS)
def test_reflection_pad2d_backward_adds_each_border_gradient_to_its_source(shape, pad,
                                                                           backend, rng):
    """dL/dx[i, j] = Σ of gy over every padded position that reads x[i, j] (loops); and
    the fold-back is the adjoint: ⟨pad(x), g⟩ = ⟨x, fold_back(g)⟩."""
    x = tensor(rng.standard_normal(shape), requires_grad=True)
    y = F.reflection_pad2d(x, pad)
    gy = rng.standard_normal(y.shape)
    (gx,) = sg.grad((y * tensor(gy)).sum(), [x])
    left, right, top, bottom = (pad,) * 4 if isinstance(pad, int) else pad
    h, w = shape[2:]
    expected = np.zeros(shape)
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            expected[:, :, reflect(i - top, h), reflect(j - left, w)] += gy[:, :, i, j]
    np.testing.assert_allclose(gx.numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose((y * tensor(gy)).sum().item(), (x * gx).sum().item(),
                               rtol=1e-12)


@pytest.mark.parametrize("shape, pad, message", [
    ((1, 1, 3, 3), 3, r"reflection_pad2d: padding .* = \(3, 3, 3, 3\) must be smaller than "
                      r"the image's width and height, got images of shape \(1, 1, 3, 3\)"),
    ((1, 1, 4, 2), (0, 2, 0, 0), r"\(0, 2, 0, 0\) must be smaller"),
    ((1, 1, 2, 4), (0, 0, 2, 0), r"\(0, 0, 2, 0\) must be smaller"),
    ((1, 3, 3), 1, r"reflection_pad2d: expected images \(N, C, H, W\), got shape \(1, 3, 3\)"),
    ((1, 1, 3, 3), (1, 1), r"reflection_pad2d: pad must be an int ≥ 0 or \(left, right, "
                           r"top, bottom\), got \(1, 1\)"),
    ((1, 1, 3, 3), -1, r"pad must be an int ≥ 0"),
])
def test_reflection_pad2d_errors(shape, pad, message):
    with pytest.raises(ValueError, match=message):
        F.reflection_pad2d(tensor(np.zeros(shape)), pad)
