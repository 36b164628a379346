"""Checks for request options and tensors; each failure is a ProtocolError naming the value."""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np

from .protocol import BAD_OPTIONS, BAD_TENSOR, ProtocolError

_REQUIRED = object()


def only(options: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Reject option names the op does not know: a typo must not be ignored silently."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ProtocolError(BAD_OPTIONS, f"unknown options {unknown}; allowed: {sorted(allowed)}")


def boolean(options: Mapping[str, Any], key: str, default: Any = _REQUIRED) -> bool:
    value = _get(options, key, default)
    if not isinstance(value, bool):
        raise ProtocolError(BAD_OPTIONS, f"options.{key} must be true or false; got {value!r}")
    return value


def number(
    options: Mapping[str, Any],
    key: str,
    default: Any = _REQUIRED,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
) -> float:
    """A finite number in ``[low, high]`` (``(low, high]`` when ``low_open``)."""
    value = _get(options, key, default)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and value <= high
    if not ok:
        bracket = "(" if low_open else "["
        raise ProtocolError(
            BAD_OPTIONS, f"options.{key} must be a number in {bracket}{low}, {high}]; got {value!r}"
        )
    return float(value)


def seed(options: Mapping[str, Any], key: str = "seed") -> int | None:
    """An optional torch seed: an integer in ``[0, 2**63)``, or None when absent."""
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise ProtocolError(BAD_OPTIONS, f"{key} must be an integer >= 0; got {value!r}")
    return value


def path(options: Mapping[str, Any], key: str, default: Any = _REQUIRED) -> str | None:
    value = _get(options, key, default)
    # An optional path may be null: explicitly ("no file") or by default.
    if value is None and default is not _REQUIRED:
        return None
    if not isinstance(value, str) or not value:
        raise ProtocolError(BAD_OPTIONS, f"options.{key} must be a non-empty path; got {value!r}")
    return value


def tensor(
    tensors: Mapping[str, np.ndarray], name: str, dtype: str, shape: tuple[int | None, ...]
) -> np.ndarray:
    """The tensor ``name`` with the given dtype and shape (None = any size, >= 1)."""
    if name not in tensors:
        raise ProtocolError(BAD_TENSOR, f"tensor {name!r} is required; got {sorted(tensors)}")
    array = tensors[name]
    wanted = [("N" if d is None else d) for d in shape]
    fits = array.dtype == np.dtype(dtype) and array.ndim == len(shape)
    fits = fits and all(
        (size >= 1 if want is None else size == want) for size, want in zip(array.shape, shape)
    )
    if not fits:
        raise ProtocolError(
            BAD_TENSOR,
            f"tensor {name!r} must be {dtype} {wanted}; got {array.dtype} {list(array.shape)}",
        )
    return array


def no_extra_tensors(tensors: Mapping[str, np.ndarray], allowed: Iterable[str]) -> None:
    extra = sorted(set(tensors) - set(allowed))
    if extra:
        raise ProtocolError(
            BAD_TENSOR, f"unexpected tensors {extra}; this op takes {sorted(allowed)}"
        )


def _get(options: Mapping[str, Any], key: str, default: Any) -> Any:
    if key in options:
        return options[key]
    if default is _REQUIRED:
        raise ProtocolError(BAD_OPTIONS, f"options.{key} is required")
    return default
