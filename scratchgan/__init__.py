"""scratchgan: GANs from scratch — a small reverse-mode autodiff engine on NumPy/CuPy, the
layers and optimizers built on it, and the GAN family written by hand on top.

    import scratchgan as sg
    from scratchgan import functional as F
"""
from . import backend, errors
from .autograd import (Function, Tensor, as_tensor, detect_anomaly, enable_grad, grad,
                       is_grad_enabled, no_grad, tensor)
from .backend import get_array_module, to_numpy, use_backend
from . import functional
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__version__ = "0.1.0"


def seed(n: int) -> None:
    """Seed every random generator scratchgan uses: same seed, same run."""
    backend.seed(n)


__all__ = ["Function", "Tensor", "tensor", "as_tensor", "grad", "no_grad", "enable_grad",
           "is_grad_enabled", "detect_anomaly", "use_backend", "get_array_module", "to_numpy",
           "functional", "gradcheck", "gradgradcheck", "GradcheckError", "seed", "backend"]
