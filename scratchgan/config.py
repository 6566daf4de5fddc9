"""What every model's configuration shares: a dataclass that round-trips through JSON,
takes ``--set KEY=VALUE`` for any field, and refuses meaningless values in one line.

A model's config subclasses :class:`Config` and lists its rules in ``validate()``, using
the small checks below, so that ``python -m scratchgan train`` refuses a bad setting
before it loads any data or builds any network.
"""
from __future__ import annotations

import dataclasses
import math

from .errors import ConfigError


def require(ok: bool, name: str, value, allowed: str) -> None:
    """Refuse ``name=value`` unless ``ok``; the message says what is allowed."""
    if not ok:
        raise ConfigError(f"{name}={value!r} is not allowed: {name} must be {allowed}")


def require_int(name: str, value, low: int = 1) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
    require(ok, name, value, f"a whole number ≥ {low}")


def require_float(name: str, value, low: float, high: float, *,
                  low_open: bool = False, high_open: bool = False) -> None:
    """``value`` is a finite number in the interval, each end open or closed as told."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    ok = math.isfinite(x) and (x > low if low_open else x >= low) \
        and (x < high if high_open else x <= high)
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    require(ok, name, value, f"a finite number in {interval}")


def require_adam(cfg) -> None:
    """Every learning rate of ``cfg.LR_FIELDS`` in (0, 1], and Adam's β = (β₁, β₂) in [0, 1)."""
    for name in cfg.LR_FIELDS:
        require_float(name, getattr(cfg, name), 0, 1, low_open=True)
    require(isinstance(cfg.betas, tuple) and len(cfg.betas) == 2, "betas", cfg.betas,
            "two numbers b1,b2")
    for i, beta in enumerate(cfg.betas):
        require_float(f"betas[{i}]", beta, 0, 1, high_open=True)


def require_choice(name: str, value, choices) -> None:
    require(value in choices, name, value, "one of " + ", ".join(map(repr, choices)))


@dataclasses.dataclass
class Config:
    """Base of every model's configuration (a dataclass of plain values)."""
    LR_FIELDS = ()      # the fields --lr sets: every network's learning rate

    def validate(self) -> None:
        """Raise ConfigError naming the first meaningless field; subclasses add rules."""

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, d: dict, strict: bool = False):
        """The config a dict describes.  ``strict`` (a checkpoint's config): every field must
        be there and no other, since a missing key would silently take today's default."""
        known = set(cls.field_names())
        if strict:
            missing, extra = known - set(d), set(d) - known
            if missing or extra:
                parts = ([f"missing {', '.join(sorted(missing))}"] if missing else []) + \
                        ([f"unknown {', '.join(sorted(extra))}"] if extra else [])
                raise ConfigError(f"the stored configuration does not fit {cls.__name__} "
                                  f"({'; '.join(parts)})")
        values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in known}
        return cls(**values)

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self).items()}

    def set_from_text(self, override: str) -> None:
        """``KEY=VALUE`` as typed after ``--set``: VALUE is parsed as the type of the field's
        current value (tuples as comma-separated numbers, booleans as true/false/1/0)."""
        key, sep, text = override.partition("=")
        names = self.field_names()
        if not sep or key not in names:
            raise ConfigError(f"--set {override}: expected KEY=VALUE with KEY one of "
                              f"{', '.join(names)}")
        kind = type(getattr(self, key))
        try:
            if kind is bool:
                if text.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(text)
                value = text.lower() in ("true", "1")
            elif kind is tuple:
                current = getattr(self, key)
                item = type(current[0]) if current else int
                value = tuple(item(v) for v in text.split(",") if v)
            else:
                value = kind(text)
        except ValueError:
            raise ConfigError(f"--set {override}: {text!r} is not a valid {kind.__name__}") from None
        setattr(self, key, value)
