"""The model holder: a model, its card and its Grad-CAM explainer, replaced as one.

Serving on CPU goes through a compiled copy of the trunk (TorchScript trace -> freeze ->
``optimize_for_inference``): BatchNorm folded into the convolutions and every convolution run
by oneDNN. Debian's torch otherwise sends batch-1 pointwise convolutions to a reference-BLAS
path; on two cores the compiled trunk is several times faster (see the README's figures). The
adapters and heads stay eager so Grad-CAM's hooks on the adapters work unchanged. Training
changes the weights, so the compiled copy is rebuilt from the eager model when stale.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import Tensor

from .gradcam import GradCAM
from .model import TASKS, FaceAttributeNet, normalize_images
from .protocol import IO_ERROR, ProtocolError

log = logging.getLogger(__name__)


class LoadedModel:
    """A model with its card and its long-lived Grad-CAM explainer.

    Replaced as a whole by ``load_model``; :meth:`close` releases the explainer's hooks.
    """

    def __init__(
        self,
        model: FaceAttributeNet,
        card: dict[str, Any],
        device: torch.device,
        optimize: bool = False,
    ):
        self.model = model.to(device).eval()
        self.card = card
        self.device = device
        self.explainer = GradCAM(model, {task: model.adapters[task] for task in TASKS})
        # Compilation only pays on CPU (cuDNN is already fast) and needs the JIT passes.
        self._optimize = optimize and device.type == "cpu"
        self._compiled: Callable[[Tensor], Tensor] | None = None
        self._version = 0
        self._compiled_version = -1

    def weights_changed(self) -> None:
        """Mark the compiled trunk stale (after a train step or a weight load)."""
        self._version += 1

    @property
    def compiled(self) -> bool:
        """True when serving runs through an up-to-date compiled trunk."""
        return self._compiled is not None and self._compiled_version == self._version

    def serving_forward(self, x: Tensor) -> dict[str, Tensor]:
        """The model's forward for serving (eval mode): compiled trunk when enabled, eager
        adapters and heads. Same outputs as ``model(x)`` to float rounding."""
        trunk = self._trunk()
        if trunk is None:
            return self.model(x)
        with torch.no_grad():
            features = trunk(x)
        model = self.model
        return {task: model.heads[task](model.adapters[task](features)) for task in TASKS}

    def warm_up(self) -> None:
        """Compile now (when enabled) so the first request does not pay for it."""
        self._trunk()

    def _trunk(self) -> Callable[[Tensor], Tensor] | None:
        if not self._optimize:
            return None
        if self._compiled_version != self._version:
            self._compiled = None
            self._compiled = self._compile()
            self._compiled_version = self._version
        return self._compiled

    def _compile(self) -> Callable[[Tensor], Tensor] | None:
        size = self.input_size
        example = torch.zeros(1, 3, size, size, device=self.device)
        started = time.perf_counter()
        trunk = self.model.trunk
        was_training = trunk.training
        trunk.eval()
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                traced = torch.jit.trace(trunk, example)
                compiled = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
                # The JIT specialises during its first runs; do them here, not on a request.
                for batch in (1, 2, 1):
                    compiled(example.expand(batch, -1, -1, -1).contiguous())
        except Exception as err:  # any JIT failure leaves the eager model serving
            self._optimize = False
            log.warning(
                "compiling the trunk failed; serving the eager model",
                extra={"reason": f"{type(err).__name__}: {err}"},
            )
            return None
        finally:
            trunk.train(was_training)
        log.info(
            "trunk compiled for CPU inference",
            extra={"seconds": round(time.perf_counter() - started, 2)},
        )
        return compiled

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
        self._compiled = None


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
