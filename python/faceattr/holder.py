"""The model holder: a model, its card and its Grad-CAM explainer, replaced as one."""

from __future__ import annotations

import warnings
from typing import Any, Mapping

import numpy as np
import torch
from torch import Tensor

from .gradcam import GradCAM
from .model import TASKS, FaceAttributeNet, normalize_images
from .protocol import IO_ERROR, ProtocolError


class LoadedModel:
    """A model with its card and its long-lived Grad-CAM explainer.

    Replaced as a whole by ``load_model``; :meth:`close` releases the explainer's hooks.
    """

    def __init__(self, model: FaceAttributeNet, card: dict[str, Any], device: torch.device):
        self.model = model.to(device).eval()
        self.card = card
        self.device = device
        self.explainer = GradCAM(model, {task: model.adapters[task] for task in TASKS})

    @property
    def input_size(self) -> int:
        return int(self.card["input_size"])

    def prepare(self, images: np.ndarray) -> Tensor:
        """uint8 ``[N, S, S, 3]`` (numpy, possibly a read-only frame view) -> normalised
        float32 ``[N, 3, S, S]`` on the model's device."""
        with warnings.catch_warnings():
            # A view of a received frame may be read-only; we only ever read it.
            warnings.simplefilter("ignore", UserWarning)
            tensor = torch.from_numpy(images)
        return normalize_images(tensor.to(self.device), self.card["mean"], self.card["std"])

    def close(self) -> None:
        self.explainer.close()


def check_state(path: str, model: torch.nn.Module, state: Mapping[str, Tensor]) -> None:
    """Raise IO_ERROR unless ``state`` has exactly the model's keys and shapes.

    Checked before ``load_state_dict``, which copies matching tensors even when it then
    raises, and so would leave the serving model half-replaced.
    """
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))[:5]
    unexpected = sorted(set(state) - set(expected))[:5]
    shapes = [k for k, v in expected.items() if k in state and state[k].shape != v.shape][:5]
    if missing or unexpected or shapes:
        raise ProtocolError(
            IO_ERROR,
            f"{path} does not fit the model: missing {missing}, unexpected {unexpected}, "
            f"shape mismatch {shapes}",
        )
