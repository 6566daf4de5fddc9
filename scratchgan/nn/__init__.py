"""Layers and containers, PyTorch-shaped:  ``from scratchgan import nn``.

    module.py   Module, Parameter (parameters(), train()/eval(), state_dict())
    layers.py   Linear, ReLU, LeakyReLU, Tanh, Sigmoid, Dropout, Sequential
    conv.py     Conv2d, Flatten
    norm.py     BatchNorm1d
    norm2d.py   BatchNorm2d, InstanceNorm2d
    layernorm.py  LayerNorm (per sample, over its trailing axes)
    image.py    ConvTranspose2d, AvgPool2d, Upsample, ReflectionPad2d, Unflatten
    spectral_norm.py  SpectralNormLinear (W / σ(W), Miyato et al. 2018)
    maxout.py   Maxout (the largest of k linear pieces; PacGAN's discriminator)
    init.py     normal_, xavier_*, kaiming_* (as ``nn.init``)
"""
from . import init
from .conv import Conv2d, Flatten
from .layers import Dropout, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh
from .module import Module, Parameter, frozen
from .norm import BatchNorm1d
from .spectral_norm import SpectralNormLinear

__all__ = ["Module", "Parameter", "Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid",
           "Dropout", "Sequential", "Conv2d", "Flatten", "BatchNorm1d", "SpectralNormLinear",
           "init", "frozen"]

from .image import AvgPool2d, ConvTranspose2d, ReflectionPad2d, Unflatten, Upsample  # noqa: E402
from .norm2d import BatchNorm2d, InstanceNorm2d  # noqa: E402

__all__ += ["ConvTranspose2d", "AvgPool2d", "Upsample", "ReflectionPad2d", "Unflatten",
            "BatchNorm2d", "InstanceNorm2d"]
from .layernorm import LayerNorm  # noqa: E402

__all__ += ["LayerNorm"]

from .maxout import Maxout  # noqa: E402

__all__ += ["Maxout"]
