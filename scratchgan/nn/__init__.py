"""Layers and containers, PyTorch-shaped:  ``from scratchgan import nn``.

    module.py   Module, Parameter (parameters(), train()/eval(), state_dict())
    layers.py   Linear, ReLU, LeakyReLU, Tanh, Sigmoid, Dropout, Sequential
    norm.py     BatchNorm1d
    init.py     normal_, xavier_*, kaiming_* (as ``nn.init``)
"""
from . import init
from .layers import Dropout, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh
from .module import Module, Parameter, frozen
from .norm import BatchNorm1d

__all__ = ["Module", "Parameter", "Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid",
           "Dropout", "Sequential", "BatchNorm1d", "init", "frozen"]
