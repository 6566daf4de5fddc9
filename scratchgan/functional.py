"""Every differentiable op in one namespace, as ``F``:  ``from scratchgan import functional as F``.

The ops themselves live in ``scratchgan/ops/`` by family, each a ``Function`` with its
forward and backward side by side:

    ops/arithmetic.py     add sub mul div neg pow, matmul, linear
    ops/elementwise.py    exp log sqrt abs clip maximum minimum where
    ops/reductions.py     sum mean var max logsumexp
    ops/shape.py          sum_to broadcast_to reshape transpose getitem concatenate stack pad cast
    ops/activations.py    sigmoid tanh relu leaky_relu softplus log_sigmoid log_softmax softmax
    ops/loss_functions.py binary_cross_entropy_with_logits mse_loss l1_loss
    ops/convolution.py    unfold fold conv2d (convolution as patches @ kernel)
    ops/conv_transpose.py conv_transpose2d (conv2d's adjoint: kernel-weighted patches, folded)
    ops/pooling.py        avg_pool2d upsample_nearest2d
    ops/padding.py        reflection_pad2d

This module also gives ``Tensor`` its operators (``a + b``, ``a @ b``, ``x[i]``, ``x.sum()``),
which must wait until the ops exist.
"""
from __future__ import annotations

from .autograd import Tensor, as_tensor
from .ops.activations import (LeakyReLU, LeakyReLUFast, LogSigmoid, LogSoftmax, ReLU,
                              Sigmoid, Softmax, Softplus, Tanh, leaky_relu, log_sigmoid, log_softmax, relu,
                              sigmoid, softmax, softplus, tanh)
from .ops.arithmetic import (Add, Div, Linear, MatMul, Mul, Neg, Pow, Sub, add, div, linear,
                             matmul, mul, neg, pow, sub)
from .ops.convolution import Fold, Unfold, conv2d, fold, unfold
from .ops.conv_transpose import conv_transpose2d
from .ops.elementwise import (Abs, Clip, Exp, Log, Maximum, Minimum, Sqrt, Where, abs, clip,
                              exp, log, maximum, minimum, sqrt, where)
from .ops.loss_functions import binary_cross_entropy_with_logits, l1_loss, mse_loss
from .ops.padding import ReflectionFoldBack, ReflectionPad2d, reflection_pad2d
from .ops.pooling import UpsampleNearest2d, avg_pool2d, upsample_nearest2d
from .ops.reductions import LogSumExp, Max, Sum, logsumexp, max, mean, sum, var
from .ops.shape import (BroadcastTo, Cast, Concatenate, GetItem, Pad, Reshape, ScatterAdd,
                        SumTo, Transpose, broadcast_to, cast, concatenate, getitem, pad,
                        reshape, stack, sum_to, swapaxes, transpose)


def _compare(op_name):
    """Comparisons give boolean tensors and no gradient (they are not differentiable)."""
    def compare(self, other):
        other = as_tensor(other, like=self)
        return Tensor(getattr(self.data, op_name)(other.data))
    compare.__name__ = op_name
    return compare


def _install_tensor_methods() -> None:
    T = Tensor
    T.__add__ = lambda a, b: add(a, b)
    T.__radd__ = lambda a, b: add(b, a)
    T.__sub__ = lambda a, b: sub(a, b)
    T.__rsub__ = lambda a, b: sub(as_tensor(b, like=a), a)
    T.__mul__ = lambda a, b: mul(a, b)
    T.__rmul__ = lambda a, b: mul(b, a)
    T.__truediv__ = lambda a, b: div(a, b)
    T.__rtruediv__ = lambda a, b: div(as_tensor(b, like=a), a)
    T.__neg__ = lambda a: neg(a)
    T.__pow__ = lambda a, b: pow(a, b)
    T.__rpow__ = lambda a, b: pow(as_tensor(b, like=a), a)
    T.__matmul__ = lambda a, b: matmul(a, b)
    T.__rmatmul__ = lambda a, b: matmul(as_tensor(b, like=a), a)
    T.__getitem__ = lambda a, index: getitem(a, index)
    for name in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
        setattr(T, name, _compare(name))
    T.T = property(lambda a: transpose(a))
    T.reshape = lambda a, *shape: reshape(a, *shape)
    T.transpose = lambda a, *axes: transpose(a, axes[0] if len(axes) == 1 and
                                             isinstance(axes[0], (tuple, list)) else axes or None)
    T.sum = lambda a, axis=None, keepdims=False: sum(a, axis, keepdims)
    T.mean = lambda a, axis=None, keepdims=False: mean(a, axis, keepdims)
    T.var = lambda a, axis=None, keepdims=False, ddof=0: var(a, axis, keepdims, ddof)
    T.max = lambda a, axis=None, keepdims=False: max(a, axis, keepdims)
    T.exp = lambda a: exp(a)
    T.log = lambda a: log(a)
    T.sqrt = lambda a: sqrt(a)
    T.abs = lambda a: abs(a)
    T.__abs__ = lambda a: abs(a)
    T.clip = lambda a, low=None, high=None: clip(a, low, high)
    T.sigmoid = lambda a: sigmoid(a)
    T.tanh = lambda a: tanh(a)
    T.relu = lambda a: relu(a)


_install_tensor_methods()
from .ops.normalization import BatchNormTrain, batch_norm_train  # noqa: E402  (ops/normalization.py)
