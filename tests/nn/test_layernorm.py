"""LayerNorm: the fused form against the composite one, and what makes it fit a WGAN-GP
critic: each sample is normalised by its own statistics alone.  Its checks against finite
differences (first and second order, with respect to the input AND γ, β) are rows of the
table in test_image_layers.py."""
import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import nn

from .test_image_layers import away_from_identity

F64 = "float64"


def test_the_fused_form_equals_the_composite_one(rng):
    x = B.xp.asarray(rng.standard_normal((3, 2, 4, 4)))
    fused = away_from_identity(nn.LayerNorm((2, 4, 4), dtype=F64))
    composite = away_from_identity(nn.LayerNorm((2, 4, 4), dtype=F64, fused=False))
    outs, grads = [], []
    for layer in (fused, composite):
        t = sg.tensor(x, requires_grad=True)
        y = layer(t)
        (g,) = sg.grad((y * y * y).sum(), [t])
        outs.append(sg.to_numpy(y.data))
        grads.append(sg.to_numpy(g.data))
    assert np.allclose(*outs, atol=1e-12) and np.allclose(*grads, atol=1e-10)


def test_each_sample_is_normalised_over_its_own_trailing_axes(rng):
    layer = nn.LayerNorm((2, 3, 3), elementwise_affine=False, dtype=F64)
    x = rng.standard_normal((4, 2, 3, 3)) * rng.uniform(0.5, 5, (4, 1, 1, 1)) + 3
    y = sg.to_numpy(layer(sg.tensor(B.xp.asarray(x))).data).reshape(4, -1)
    assert np.allclose(y.mean(axis=1), 0, atol=1e-12)
    assert np.allclose(y.var(axis=1), 1, atol=1e-4)       # σ²/(σ² + ε), ε = 1e-5


def test_a_sample_is_normalised_the_same_alone_as_in_a_batch(rng):
    """What a WGAN-GP critic needs: no statistic is shared across the batch, in train and
    eval mode alike."""
    layer = away_from_identity(nn.LayerNorm((2, 3, 3), dtype=F64))
    x = B.xp.asarray(rng.standard_normal((5, 2, 3, 3)))
    for mode in (layer.train, layer.eval):
        mode()
        together = sg.to_numpy(layer(sg.tensor(x)).data)
        alone = np.concatenate([sg.to_numpy(layer(sg.tensor(x[i:i + 1])).data)
                                for i in range(5)])
        assert np.allclose(together, alone, atol=1e-12)


def test_a_wrong_input_shape_is_refused():
    with pytest.raises(ValueError, match=r"LayerNorm\(2, 3, 3\): expected input"):
        nn.LayerNorm((2, 3, 3))(sg.tensor(np.zeros((4, 3, 3, 2), dtype="float32")))
