"""The GAN family, each model with its own training step (Algorithm 1 of its paper), behind
the contract in ``base.py``.  ``MODELS`` is the registry the command line reads."""
from __future__ import annotations

from ..errors import ConfigError
from .cgan import ConditionalGAN
from .cyclegan import CycleGAN
from .dcgan import DCGAN
from .mlp_gan import MLPGAN
from .wgan import WGAN, WGANGP

MODELS: dict[str, type] = {cls.name: cls for cls in (MLPGAN, DCGAN, CycleGAN, ConditionalGAN,
                                                    WGAN, WGANGP)}


def model_class(name: str) -> type:
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}: choose one of {', '.join(MODELS)}")
    return MODELS[name]
