"""Grad-CAM as a long-lived explainer: hooks registered once per target, released on close.

Generic: it knows nothing about our model, only "these modules output spatial maps
``[N, C, h, w]``; explain the scores a caller computes from the model output". Reference:
Selvaraju et al., Grad-CAM, https://arxiv.org/abs/1610.02391.

Why the hooks look like this: a module *backward* hook breaks on in-place ops such as
MobileNet's ``ReLU6(inplace=True)``; instead a forward hook swaps each target's output for a
detached leaf that requires grad and puts a tensor hook on it. The backward pass then runs
from the scores to those leaves only: never through the trunk, never into parameter ``.grad``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

log = logging.getLogger(__name__)

ScoreFn = Callable[[Any], Tensor]


@dataclass(frozen=True)
class Explanation:
    """Result of one :meth:`GradCAM.explain` call.

    ``output`` is the model output, detached. ``maps[name]`` is float32 ``[N, H, W]`` in 0..1
    at the input's spatial size; ``flat[name]`` is bool ``[N]``, True where the map carried no
    signal and was returned as zeros.
    """

    output: Any
    maps: dict[str, Tensor]
    flat: dict[str, Tensor]


@dataclass
class _Capture:
    requested: frozenset[str]
    acts: dict[str, Tensor] = field(default_factory=dict)
    grads: dict[str, Tensor] = field(default_factory=dict)


def predicted_class_score(logit: Tensor, threshold: float = 0.0) -> Tensor:
    """Score of the predicted class for a binary logit ``[N]``: +logit where the positive
    class is predicted (``logit >= threshold``), else -logit.

    The negative class of a sigmoid classifier has logit ``-z``, so this explains what the
    model actually decided rather than always the positive class. ``threshold`` is the
    decision point in logit space (0 for p >= 0.5; see :func:`decision_logit`).
    """
    return torch.where(logit >= threshold, logit, -logit)


def decision_logit(threshold: float, temperature: float) -> float:
    """The raw logit at which ``sigmoid(logit / temperature) >= threshold`` starts to hold.

    A threshold of 0 or less makes every logit positive (-inf), 1 or more none (+inf).
    """
    if threshold <= 0.0:
        return -math.inf
    if threshold >= 1.0:
        return math.inf
    scale = temperature if temperature > 0 else 1.0
    return scale * math.log(threshold / (1.0 - threshold))


class GradCAM:
    """Grad-CAM over named target modules of ``model``.

    Hooks are added here, once, and removed by :meth:`close` (or the ``with`` block). Outside
    :meth:`explain` the hooks pass outputs through untouched, so the model serves normally.
    The caller chooses the mode; use eval mode so each image's map is independent of the batch.
    """

    def __init__(self, model: nn.Module, targets: Mapping[str, nn.Module], eps: float = 1e-7):
        if not targets:
            raise ValueError("GradCAM needs at least one target module")
        self._model = model
        self._targets = dict(targets)
        self._eps = eps
        self._capture: _Capture | None = None
        self._handles = {
            name: module.register_forward_hook(self._make_hook(name))
            for name, module in self._targets.items()
        }

    def __enter__(self) -> "GradCAM":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return not self._handles

    def close(self) -> None:
        """Remove the hooks; idempotent."""
        for handle in self._handles.values():
            handle.remove()
        self._handles = {}

    def hook_count(self) -> dict[str, int]:
        """Forward hooks now on each target module, ours and anyone else's.

        Counting the module's own hook table (not our handles) makes a leak anywhere visible.
        """
        return {name: len(module._forward_hooks) for name, module in self._targets.items()}

    def explain(
        self,
        x: Tensor,
        select: Mapping[str, ScoreFn],
        forward: Callable[[Tensor], Any] | None = None,
    ) -> Explanation:
        """One forward, one backward over the sum of all selected scores, one map per target.

        Args:
            x: model input ``[N, C, H, W]``; maps are upsampled to ``H, W``.
            select: target name -> function of the model output giving a score per image
                ``[N]`` (e.g. ``lambda out: predicted_class_score(out["smile"])``).
            forward: runs the model on ``x`` (default: the model itself), for a caller that
                computes part of the model another way; the target modules must still run
                in it, as modules, for their hooks to fire.
        """
        if self.closed:
            raise RuntimeError("GradCAM is closed")
        if torch.is_inference_mode_enabled():
            raise RuntimeError("GradCAM.explain needs autograd; do not call it in inference_mode")
        unknown = sorted(set(select) - set(self._targets))
        if unknown:
            raise ValueError(f"unknown Grad-CAM targets {unknown}; known: {sorted(self._targets)}")
        capture = _Capture(frozenset(select))
        grad_was_enabled = torch.is_grad_enabled()
        self._capture = capture
        try:
            # No graph for the layers before the targets: the hook turns grad on at the first
            # target, so only target -> score is recorded (less memory, no trunk backward).
            torch.set_grad_enabled(False)
            output = (forward or self._model)(x)
            torch.set_grad_enabled(True)
            missing = sorted(capture.requested - set(capture.acts))
            if missing:
                raise RuntimeError(f"targets {missing} did not run in the forward pass")
            total = sum(
                self._score(name, fn, output, x.shape[0]).sum() for name, fn in select.items()
            )
            leaves = [capture.acts[name] for name in select]
            # inputs=: accumulate only into our leaves; parameter .grad stays untouched.
            torch.autograd.backward(total, inputs=leaves)
            size = (x.shape[-2], x.shape[-1])
            maps, flat = {}, {}
            for name in select:
                act = capture.acts[name].detach()
                maps[name], flat[name] = self._cam(act, capture.grads.get(name), size)
        finally:
            self._capture = None
            torch.set_grad_enabled(grad_was_enabled)
            # Each leaf's tensor hook refers to the capture: emptying it breaks the cycle, so
            # activations are freed now rather than at the next garbage collection.
            capture.acts.clear()
            capture.grads.clear()
        return Explanation(_detach(output), maps, flat)

    def _make_hook(self, name: str) -> Callable[[nn.Module, Any, Any], Any]:
        def hook(module: nn.Module, inputs: Any, output: Any) -> Any:
            capture = self._capture
            if capture is None or name not in capture.requested:
                return None
            if not isinstance(output, Tensor) or output.dim() != 4:
                raise TypeError(f"Grad-CAM target {name!r} must output [N, C, h, w]")
            if name in capture.acts:
                raise RuntimeError(f"Grad-CAM target {name!r} ran twice in one forward pass")
            torch.set_grad_enabled(True)
            leaf = output.detach().requires_grad_(True)
            leaf.register_hook(lambda grad: capture.grads.__setitem__(name, grad))
            capture.acts[name] = leaf
            return leaf

        return hook

    @staticmethod
    def _score(name: str, fn: ScoreFn, output: Any, batch: int) -> Tensor:
        score = fn(output)
        if not isinstance(score, Tensor) or tuple(score.shape) != (batch,):
            shape = list(score.shape) if isinstance(score, Tensor) else type(score).__name__
            raise ValueError(f"score for {name!r} must be a tensor [{batch}]; got {shape}")
        return score

    def _cam(
        self, act: Tensor, grad: Tensor | None, size: tuple[int, int]
    ) -> tuple[Tensor, Tensor]:
        """``act``, ``grad``: ``[N, C, h, w]`` -> maps float32 ``[N, H, W]``, flat bool ``[N]``."""
        if grad is None:
            # The score did not depend on this target: nothing to show.
            grad = torch.zeros_like(act)
        weights = grad.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * act).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=size, mode="bilinear", align_corners=False)[:, 0]
        peak = cam.amax(dim=(1, 2))
        # "not >=" is also True for NaN peaks, so a NaN map becomes a flagged zero map.
        flat = ~(peak >= self._eps)
        scaled = cam / peak.clamp_min(self._eps).view(-1, 1, 1)
        maps = torch.where(flat.view(-1, 1, 1), torch.zeros_like(cam), scaled).clamp_(0.0, 1.0)
        return maps.float(), flat


def _detach(output: Any) -> Any:
    if isinstance(output, Tensor):
        return output.detach()
    if isinstance(output, Mapping):
        return {key: _detach(value) for key, value in output.items()}
    if isinstance(output, (list, tuple)):
        return type(output)(_detach(value) for value in output)
    return output
