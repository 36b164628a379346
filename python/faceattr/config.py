"""The sidecar's slice of the service configuration, validated once at start-up.

TypeScript passes it as ``--config-json``::

    {"threads": 0, "device": "auto", "max_message_bytes": 67108864, "optimize_inference": true,
     "detector": {"kind": "haar", "haar_cascade": "...xml", "scale_factor": 1.15,
                  "coarse_scale_factor": 1.3, "res10_dir": null},
     "model": {"checkpoint": "models/default/model.pt", "pretrained": null}}

Missing keys take the defaults below; unknown keys are reported (and ignored) so that a newer
TypeScript side does not stop an older sidecar from starting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

DEVICES = ("auto", "cpu", "cuda")
DETECTOR_KINDS = ("haar", "res10")
DEFAULT_HAAR_CASCADE = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml"
DEFAULT_SCALE_FACTOR = 1.1
DEFAULT_COARSE_SCALE_FACTOR = 1.3
MAX_SCALE_FACTOR = 2.0
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
# Below this a single 96 px image batch plus header would not fit; smaller is a typo.
MIN_MESSAGE_BYTES = 64 * 1024
_TOP_LEVEL_KEYS = (
    "threads",
    "device",
    "max_message_bytes",
    "optimize_inference",
    "detector",
    "model",
)


@dataclass(frozen=True)
class DetectorConfig:
    """Which face detector to build, and where its files are."""

    kind: str = "haar"
    haar_cascade: str = DEFAULT_HAAR_CASCADE
    res10_dir: str | None = None
    # Step between the Haar cascade's search scales: larger is faster, coarser.
    scale_factor: float = DEFAULT_SCALE_FACTOR
    # Step of a first, cheaper search that only tells the fine one which sizes to look at;
    # None (or not above scale_factor) searches every size at scale_factor at once.
    coarse_scale_factor: float | None = DEFAULT_COARSE_SCALE_FACTOR


@dataclass(frozen=True)
class ModelConfig:
    """Checkpoint served at start-up, and the pretrained trunk used for fresh models."""

    checkpoint: str | None = None
    pretrained: str | None = None


@dataclass(frozen=True)
class SidecarConfig:
    """Everything the sidecar needs from TypeScript; built by :func:`parse_config`."""

    threads: int = 0
    device: str = "auto"
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    # Serve through a compiled (TorchScript, oneDNN) trunk on CPU; see holder.py.
    optimize_inference: bool = True
    unknown_keys: tuple[str, ...] = ()


def parse_config_json(text: str) -> SidecarConfig:
    """Parse ``--config-json``; raises ValueError naming every bad value at once."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"--config-json is not valid JSON: {err}") from None
    return parse_config(raw)


def parse_config(raw: Any) -> SidecarConfig:
    """Validate a decoded config object; raises ValueError listing all problems."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"sidecar config must be a JSON object; got {type(raw).__name__}")
    errors: list[str] = []
    unknown = [k for k in raw if k not in _TOP_LEVEL_KEYS]

    threads = raw.get("threads", 0)
    if not _is_int(threads) or threads < 0:
        errors.append(f"threads must be an integer >= 0 (0 = all cores); got {threads!r}")
    device = raw.get("device", "auto")
    if device not in DEVICES:
        errors.append(f"device must be one of {list(DEVICES)}; got {device!r}")
    max_bytes = raw.get("max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES)
    if not _is_int(max_bytes) or max_bytes < MIN_MESSAGE_BYTES:
        errors.append(
            f"max_message_bytes must be an integer >= {MIN_MESSAGE_BYTES}; got {max_bytes!r}"
        )

    optimize = raw.get("optimize_inference", True)
    if not isinstance(optimize, bool):
        errors.append(f"optimize_inference must be true or false; got {optimize!r}")
    detector = _parse_detector(raw.get("detector", {}), errors, unknown)
    model = _parse_model(raw.get("model", {}), errors, unknown)
    if errors:
        raise ValueError("invalid sidecar config: " + "; ".join(errors))
    return SidecarConfig(
        threads, device, max_bytes, detector, model, optimize is not False, tuple(unknown)
    )


def _parse_detector(raw: Any, errors: list[str], unknown: list[str]) -> DetectorConfig:
    if not isinstance(raw, Mapping):
        errors.append(f"detector must be an object; got {raw!r}")
        return DetectorConfig()
    known = ("kind", "haar_cascade", "res10_dir", "scale_factor", "coarse_scale_factor")
    unknown += [f"detector.{k}" for k in raw if k not in known]
    kind = raw.get("kind", "haar")
    if kind not in DETECTOR_KINDS:
        errors.append(f"detector.kind must be one of {list(DETECTOR_KINDS)}; got {kind!r}")
    cascade = raw.get("haar_cascade", DEFAULT_HAAR_CASCADE)
    if not isinstance(cascade, str) or not cascade:
        errors.append(f"detector.haar_cascade must be a non-empty path; got {cascade!r}")
    res10_dir = raw.get("res10_dir")
    if res10_dir is not None and (not isinstance(res10_dir, str) or not res10_dir):
        errors.append(f"detector.res10_dir must be a path or null; got {res10_dir!r}")
    if kind == "res10" and res10_dir is None:
        errors.append("detector.kind is 'res10' but detector.res10_dir is null")
    scale = _scale_factor(raw, "scale_factor", DEFAULT_SCALE_FACTOR, errors)
    coarse = None
    if raw.get("coarse_scale_factor", DEFAULT_COARSE_SCALE_FACTOR) is not None:
        coarse = _scale_factor(raw, "coarse_scale_factor", DEFAULT_COARSE_SCALE_FACTOR, errors)
    return DetectorConfig(kind, cascade, res10_dir, scale, coarse)


def _scale_factor(raw: Mapping[str, Any], key: str, default: float, errors: list[str]) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        value = None
    if value is None or not 1.0 < value <= MAX_SCALE_FACTOR:
        errors.append(
            f"detector.{key} must be a number in (1, {MAX_SCALE_FACTOR}]; got {raw.get(key)!r}"
        )
        return default
    return float(value)


def _parse_model(raw: Any, errors: list[str], unknown: list[str]) -> ModelConfig:
    if not isinstance(raw, Mapping):
        errors.append(f"model must be an object; got {raw!r}")
        return ModelConfig()
    unknown += [f"model.{k}" for k in raw if k not in ("checkpoint", "pretrained")]
    paths = {}
    for key in ("checkpoint", "pretrained"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            errors.append(f"model.{key} must be a path or null; got {value!r}")
        paths[key] = value
    return ModelConfig(**paths)


def _is_int(value: Any) -> bool:
    # JSON true/false arrive as bool, which is an int subclass in Python.
    return isinstance(value, int) and not isinstance(value, bool)
