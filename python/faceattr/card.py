"""The model card: the JSON written beside every checkpoint (docs/wire-protocol.md).

The sidecar reads ``input_size``, ``mean``, ``std`` and ``arch`` from it; everything else
(thresholds, temperature, metrics, data, train config) belongs to TypeScript and is carried
through unchanged.
"""

from __future__ import annotations

import copy
import math
from datetime import datetime, timezone
from typing import Any, Mapping

import torch

from .model import TASKS, ArchConfig
from .protocol import PROTOCOL_VERSION

# torchvision's ImageNet statistics: what the pretrained MobileNetV2 file expects.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LABELS = {"gender": ["female", "male"], "smile": ["not_smiling", "smiling"]}
MIN_INPUT_SIZE = 32
MAX_INPUT_SIZE = 1024


def new_card(arch: ArchConfig, input_size: int) -> dict[str, Any]:
    """A card for a freshly built model; TypeScript fills in metrics when it saves."""
    return {
        "name": "faceattr-mnv2",
        "version": "1",
        "protocol": PROTOCOL_VERSION,
        "tasks": list(TASKS),
        "labels": copy.deepcopy(LABELS),
        "input_size": input_size,
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "arch": arch.to_dict(),
        "thresholds": {task: 0.5 for task in TASKS},
        "temperature": {task: 1.0 for task in TASKS},
        "torch_version": torch.__version__,
        "created": now_iso(),
    }


def validate_card(card: Any) -> dict[str, Any]:
    """Check the fields the sidecar relies on; returns a copy with ``arch`` normalised.

    Raises:
        ValueError: naming the first bad field.
    """
    if not isinstance(card, Mapping):
        raise ValueError(f"model card must be a JSON object; got {type(card).__name__}")
    out = copy.deepcopy(dict(card))
    tasks = out.get("tasks", list(TASKS))
    if list(tasks) != list(TASKS):
        raise ValueError(f"card.tasks must be {list(TASKS)}; got {tasks!r}")
    out["input_size"] = validate_input_size(out.get("input_size"))
    for key in ("mean", "std"):
        value = out.get(key)
        if not _three_numbers(value) or (key == "std" and min(value) <= 0):
            raise ValueError(f"card.{key} must be 3 finite numbers (std > 0); got {value!r}")
    out["arch"] = ArchConfig.from_dict(out.get("arch", {})).to_dict()
    return out


def validate_input_size(value: Any) -> int:
    """Model input side S in pixels; raises ValueError naming the value."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"input_size must be an integer; got {value!r}")
    if not MIN_INPUT_SIZE <= value <= MAX_INPUT_SIZE:
        raise ValueError(f"input_size must be {MIN_INPUT_SIZE}..{MAX_INPUT_SIZE}; got {value}")
    return value


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _three_numbers(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) == 3
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        and all(math.isfinite(v) for v in value)
    )
