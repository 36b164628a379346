"""The multitask network: a MobileNetV2 trunk shared by one adapter and one head per task.

``forward`` returns ``{task: logits}``; nothing is concatenated and picked by index. The
adapter output of each task is a spatial map and is the Grad-CAM target for that task.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

import torch
import torchvision
from torch import Tensor, nn

log = logging.getLogger(__name__)

TASKS = ("gender", "smile")
TRUNK_CHANNELS = 1280
BACKBONES = ("mobilenet_v2",)
OUTPUT_STRIDES = (16, 32)
# Index of the MobileNetV2 block that holds the last stride-2 conv (stride 16 -> 32).
_LAST_STRIDED_BLOCK = 14


@dataclass(frozen=True)
class ArchConfig:
    """Architecture of :class:`FaceAttributeNet`; stored in the model card as ``arch``."""

    backbone: str = "mobilenet_v2"
    output_stride: int = 16
    adapter_channels: int = 128
    dropout: float = 0.2

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "ArchConfig":
        """Validate an ``arch`` object; missing keys take defaults. Raises ValueError."""
        if not isinstance(raw, Mapping):
            raise ValueError(f"arch must be an object; got {raw!r}")
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"arch has unknown keys {unknown}")
        cfg = cls(**raw)
        if cfg.backbone not in BACKBONES:
            raise ValueError(
                f"arch.backbone must be one of {list(BACKBONES)}; got {cfg.backbone!r}"
            )
        stride = cfg.output_stride
        if isinstance(stride, bool) or not isinstance(stride, int) or stride not in OUTPUT_STRIDES:
            raise ValueError(
                f"arch.output_stride must be one of {list(OUTPUT_STRIDES)}; got {stride!r}"
            )
        channels = cfg.adapter_channels
        if not isinstance(channels, int) or isinstance(channels, bool) or not 1 <= channels <= 4096:
            raise ValueError(f"arch.adapter_channels must be an integer 1..4096; got {channels!r}")
        dropout = cfg.dropout
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
            raise ValueError(f"arch.dropout must be a number in [0, 1); got {dropout!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"arch.dropout must be a number in [0, 1); got {dropout!r}")
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TaskHead(nn.Module):
    """Global average pool -> dropout -> Linear(A, 1): ``[N, A, h, w]`` -> logits ``[N]``."""

    def __init__(self, channels: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        pooled = x.mean(dim=(2, 3))
        return self.fc(self.dropout(pooled)).squeeze(1)


class FaceAttributeNet(nn.Module):
    """MobileNetV2 trunk + per-task adapter and head.

    Input: float32 ``[N, 3, S, S]`` normalised by :func:`normalize_images`.
    Output: ``{"gender": [N], "smile": [N]}`` float32 logits; logit > 0 means the positive class
    (male, smiling). The trunk map is ``[N, 1280, S/os, S/os]`` (ceil) for output stride os.
    """

    def __init__(self, arch: Mapping[str, Any] | ArchConfig) -> None:
        super().__init__()
        cfg = arch if isinstance(arch, ArchConfig) else ArchConfig.from_dict(arch)
        self.arch = cfg
        self.trunk = build_trunk(cfg.output_stride)
        channels = cfg.adapter_channels
        self.adapters = nn.ModuleDict({t: build_adapter(TRUNK_CHANNELS, channels) for t in TASKS})
        self.heads = nn.ModuleDict({t: TaskHead(channels, cfg.dropout) for t in TASKS})

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        features = self.trunk(x)
        return {task: self.heads[task](self.adapters[task](features)) for task in TASKS}

    def set_eval_mode(self) -> None:
        """Eval mode. A no-op when already in it: ``eval()`` visits all ~240 modules, about
        3 ms on two cores, a third of a serving forward pass. Modes only change through
        :meth:`set_train_mode` and ``eval()``, which both set the top-level flag."""
        if self.training:
            self.eval()

    def set_train_mode(self, freeze_trunk: bool) -> None:
        """Train mode, except a frozen trunk keeps its BatchNorm statistics (eval mode)."""
        self.train()
        if freeze_trunk:
            self.trunk.eval()


def build_trunk(output_stride: int) -> nn.Sequential:
    """``torchvision.models.mobilenet_v2().features``, optionally dilated to stride 16."""
    features = torchvision.models.mobilenet_v2().features
    if output_stride == 16:
        _dilate_last_stage(features)
    return features


def _dilate_last_stage(features: nn.Sequential) -> None:
    # DeepLab-style: drop the last stride-2 and dilate what follows, so 96 px gives a 6x6 map
    # (not 3x3) with the same weights, which gives Grad-CAM four times the cells.
    strided = [
        m
        for m in features[_LAST_STRIDED_BLOCK].modules()
        if isinstance(m, nn.Conv2d) and m.stride == (2, 2)
    ]
    if len(strided) != 1:
        raise RuntimeError(
            f"unexpected torchvision MobileNetV2 layout: block {_LAST_STRIDED_BLOCK} has "
            f"{len(strided)} stride-2 convs"
        )
    strided[0].stride = (1, 1)
    for block in features[_LAST_STRIDED_BLOCK + 1 :]:
        for m in block.modules():
            if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3):
                m.dilation = (2, 2)
                m.padding = (2, 2)


def build_adapter(in_channels: int, channels: int) -> nn.Sequential:
    """1x1 conv -> BN -> ReLU, 3x3 depthwise -> BN -> ReLU, 1x1 -> BN -> ReLU; keeps h, w."""
    return nn.Sequential(
        nn.Conv2d(in_channels, channels, 1, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(channels, channels, 1, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
    )


def load_pretrained_trunk(model: FaceAttributeNet, path: str | None) -> tuple[bool, list[str]]:
    """Load a torchvision ``mobilenet_v2`` state_dict file into ``model.trunk``.

    Keys ``features.*`` must match the trunk exactly (names and shapes); ``classifier.*`` is
    ignored. An absent file (or ``path=None``) leaves the random init and returns a warning.

    Returns:
        ``(loaded, warnings)``.
    Raises:
        ValueError: the file exists but does not fit the trunk.
        OSError, RuntimeError: the file cannot be read as a torch file.
    """
    if path is None:
        message = "no pretrained weights configured; the trunk starts from random init"
        log.warning(message)
        return False, [message]
    if not os.path.isfile(path):
        message = f"pretrained weights not found at {path}; the trunk starts from random init"
        log.warning(message, extra={"path": path})
        return False, [message]
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, Mapping):
        raise ValueError(f"{path} is not a state_dict (got {type(state).__name__})")
    trunk_state = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
    _check_keys(path, trunk_state, model.trunk.state_dict())
    model.trunk.load_state_dict(trunk_state, strict=True)
    log.info("pretrained trunk loaded", extra={"path": path, "tensors": len(trunk_state)})
    return True, []


def _check_keys(path: str, given: Mapping[str, Tensor], expected: Mapping[str, Tensor]) -> None:
    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    shapes = [
        f"{k}: {tuple(given[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in given and given[k].shape != v.shape
    ]
    if missing or unexpected or shapes:
        raise ValueError(
            f"{path} does not fit a torchvision mobilenet_v2 trunk: missing features.* "
            f"{missing[:5]}, unexpected {unexpected[:5]}, shape mismatches {shapes[:5]}"
        )


def normalize_images(images: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    """The one preprocessing step shared by predict, train and eval.

    Args:
        images: uint8 ``[N, H, W, 3]`` RGB, any device.
        mean, std: per-channel statistics in 0..1 units (from the model card).
    Returns:
        float32 ``[N, 3, H, W]`` contiguous, ``((x / 255) - mean) / std``, same device.
    """
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[-1] != 3:
        raise ValueError(
            f"images must be uint8 [N, H, W, 3]; got {images.dtype} {list(images.shape)}"
        )
    x = images.permute(0, 3, 1, 2).to(torch.float32).div_(255.0)
    mean_t = torch.tensor(mean, dtype=torch.float32, device=images.device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32, device=images.device).view(1, 3, 1, 1)
    return x.sub_(mean_t).div_(std_t).contiguous()
