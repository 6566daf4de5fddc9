"""Layers and containers, PyTorch-shaped:  ``from scratchgan import nn``.

    module.py   Module, Parameter (parameters(), train()/eval(), state_dict())
    layers.py   Linear, ReLU, LeakyReLU, Tanh, Sigmoid, Dropout, Sequential
    conv.py     Conv2d, Flatten
    norm.py     BatchNorm1d
    spectral_norm.py  SpectralNormLinear (W / σ(W), Miyato et al. 2018)
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
