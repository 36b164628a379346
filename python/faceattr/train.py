"""Optimisation steps, one call each; the epoch loop, schedule and early stop are TypeScript's.

Labels are float32 ``[N, 2]`` (columns in :data:`TASKS` order), 1 / 0 / NaN = unknown. Unknown
labels are masked out of the loss; a task with no known label in a batch adds nothing.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .model import TASKS, FaceAttributeNet

log = logging.getLogger(__name__)

CONFLICT_MODES = ("none", "pcgrad")
_FIELDS = ("lr", "weight_decay", "freeze_trunk", "seed", "conflict", "task_weights")


@dataclass(frozen=True)
class TrainConfig:
    """What ``configure_training`` sets; see docs/wire-protocol.md."""

    lr: float
    weight_decay: float
    freeze_trunk: bool
    seed: int
    conflict: str
    task_weights: Mapping[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS} | {
            "task_weights": dict(self.task_weights)
        }


@dataclass
class TrainState:
    """The optimiser and its configuration, for the model it was built on."""

    config: TrainConfig
    optimizer: torch.optim.Optimizer
    steps: int = 0
    trainable_params: int = 0


@dataclass(frozen=True)
class StepResult:
    """``loss`` is the weighted total; ``losses[task]`` is None when the batch had no label."""

    loss: float
    losses: dict[str, float | None]
    counts: dict[str, int]
    grad_cosine: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "loss": self.loss,
            "losses": self.losses,
            "counts": self.counts,
            "grad_cosine": self.grad_cosine,
        }


def parse_train_config(options: Mapping[str, Any], previous: TrainConfig | None) -> TrainConfig:
    """Validate options; the first call needs every field, later calls any subset.

    Raises:
        ValueError: naming every missing or bad field.
    """
    unknown = sorted(set(options) - set(_FIELDS))
    missing = [] if previous is not None else [k for k in _FIELDS if k not in options]
    errors = [f"unknown options {unknown}"] if unknown else []
    if missing:
        errors.append(f"the first configure_training needs {missing}")
    merged = dict(previous.to_dict()) if previous is not None else {}
    merged.update({k: v for k, v in options.items() if k in _FIELDS})
    if missing:
        raise ValueError("; ".join(errors))
    errors += _check_fields(merged)
    if errors:
        raise ValueError("; ".join(errors))
    weights = {task: float(merged["task_weights"][task]) for task in TASKS}
    return TrainConfig(
        float(merged["lr"]),
        float(merged["weight_decay"]),
        merged["freeze_trunk"],
        merged["seed"],
        merged["conflict"],
        weights,
    )


def _check_fields(values: Mapping[str, Any]) -> list[str]:
    errors = []
    for key in ("lr", "weight_decay"):
        if not _is_number(values[key]) or values[key] < 0:
            errors.append(f"{key} must be a finite number >= 0; got {values[key]!r}")
    if not isinstance(values["freeze_trunk"], bool):
        errors.append(f"freeze_trunk must be true or false; got {values['freeze_trunk']!r}")
    seed = values["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        errors.append(f"seed must be an integer >= 0; got {seed!r}")
    if values["conflict"] not in CONFLICT_MODES:
        errors.append(f"conflict must be one of {list(CONFLICT_MODES)}; got {values['conflict']!r}")
    weights = values["task_weights"]
    if not isinstance(weights, Mapping) or sorted(weights) != sorted(TASKS):
        errors.append(f"task_weights must have exactly {list(TASKS)}; got {weights!r}")
    elif not all(_is_number(w) and w >= 0 for w in weights.values()):
        errors.append(f"task_weights must be finite numbers >= 0; got {weights!r}")
    return errors


def configure_training(
    model: FaceAttributeNet, options: Mapping[str, Any], state: TrainState | None = None
) -> TrainState:
    """Build (first call) or update (later calls) the AdamW optimiser for ``model``.

    The optimiser always holds two groups, trunk and task layers, so freezing or unfreezing
    the trunk later keeps the Adam moments of the rest. A frozen trunk has
    ``requires_grad=False`` and its BatchNorm stays in eval mode during train steps.
    """
    config = parse_train_config(options, state.config if state else None)
    if state is None or "seed" in options:
        torch.manual_seed(config.seed)
    for p in model.trunk.parameters():
        p.requires_grad_(not config.freeze_trunk)
    if state is None:
        trunk = list(model.trunk.parameters())
        trunk_ids = {id(p) for p in trunk}
        task_layers = [p for p in model.parameters() if id(p) not in trunk_ids]
        groups = [{"params": trunk, "name": "trunk"}, {"params": task_layers, "name": "tasks"}]
        optimizer: torch.optim.Optimizer = torch.optim.AdamW(groups, lr=config.lr)
        state = TrainState(config, optimizer)
    state.config = config
    apply_hyperparameters(state.optimizer, config.lr, config.weight_decay)
    state.trainable_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("training configured", extra={"train_config": config.to_dict()})
    return state


def apply_hyperparameters(optimizer: torch.optim.Optimizer, lr: float, weight_decay: float) -> None:
    """Set lr and weight decay on every parameter group."""
    for group in optimizer.param_groups:
        group["lr"] = lr
        group["weight_decay"] = weight_decay


def masked_losses(
    logits: Mapping[str, Tensor], labels: Tensor
) -> tuple[dict[str, Tensor | None], dict[str, int]]:
    """Mean BCE-with-logits per task over the known labels only.

    Args:
        logits: ``{task: float [N]}``.
        labels: float32 ``[N, len(TASKS)]``, NaN = unknown.
    Returns:
        ``({task: scalar loss or None when no label is known}, {task: known label count})``.
    """
    losses: dict[str, Tensor | None] = {}
    counts: dict[str, int] = {}
    for column, task in enumerate(TASKS):
        target = labels[:, column]
        known = ~torch.isnan(target)
        counts[task] = int(known.sum())
        if counts[task] == 0:
            losses[task] = None
            continue
        losses[task] = F.binary_cross_entropy_with_logits(logits[task][known], target[known])
    return losses, counts


def train_step(
    model: FaceAttributeNet,
    state: TrainState,
    x: Tensor,
    labels: Tensor,
    lr: float | None = None,
    measure_conflict: bool = False,
) -> StepResult:
    """One optimiser step on a batch.

    Args:
        x: float32 ``[N, 3, S, S]`` from :func:`faceattr.model.normalize_images`; N >= 2.
        labels: float32 ``[N, 2]``, NaN = unknown.
        lr: when given, set on every parameter group before the step (TypeScript's schedule).
        measure_conflict: also report the cosine between the tasks' trunk gradients.
    Raises:
        ValueError: fewer than 2 images, mismatched labels, or no known label at all.
    """
    _check_batch(x, labels)
    if lr is not None:
        state.config = replace(state.config, lr=lr)
        apply_hyperparameters(state.optimizer, lr, state.config.weight_decay)
    model.set_train_mode(state.config.freeze_trunk)
    state.optimizer.zero_grad(set_to_none=True)
    losses, counts = masked_losses(model(x), labels)
    weighted = {
        t: state.config.task_weights[t] * loss for t, loss in losses.items() if loss is not None
    }
    total = sum(weighted.values())
    cosine = None
    trunk = [p for p in model.trunk.parameters() if p.requires_grad]
    wants_task_grads = measure_conflict or state.config.conflict == "pcgrad"
    if wants_task_grads and trunk and len(weighted) > 1:
        cosine = _backward_per_task(model, weighted, trunk, state.config.conflict == "pcgrad")
    else:
        total.backward()
    state.optimizer.step()
    state.steps += 1
    loss_value = float(total.detach())
    if not math.isfinite(loss_value):
        log.warning("non-finite training loss", extra={"step": state.steps, "loss": loss_value})
    return StepResult(
        loss_value,
        {t: None if loss is None else float(loss.detach()) for t, loss in losses.items()},
        counts,
        cosine,
    )


def _check_batch(x: Tensor, labels: Tensor) -> None:
    if x.shape[0] < 2:
        # BatchNorm in train mode cannot normalise a batch of one (and would be noise).
        raise ValueError(f"train_step needs at least 2 images (BatchNorm); got {x.shape[0]}")
    if tuple(labels.shape) != (x.shape[0], len(TASKS)):
        raise ValueError(
            f"labels must be [{x.shape[0]}, {len(TASKS)}] float32; got {list(labels.shape)}"
        )
    if bool(torch.isnan(labels).all()):
        raise ValueError("labels: no known label in the batch (all NaN)")


def _backward_per_task(
    model: nn.Module, weighted: dict[str, Tensor], trunk: list[Tensor], pcgrad: bool
) -> float | None:
    """Fill ``.grad``: task layers from the summed loss, the trunk from per-task gradients.

    Returns the cosine between the two tasks' trunk gradients (None when one is zero).
    """
    per_task = []
    for loss in weighted.values():
        grads = torch.autograd.grad(loss, trunk, retain_graph=True, allow_unused=True)
        per_task.append(
            torch.cat(
                [
                    (torch.zeros_like(p) if g is None else g).reshape(-1)
                    for g, p in zip(grads, trunk)
                ]
            )
        )
    cosine = gradient_cosine(per_task[0], per_task[1])
    combined = pcgrad_combine(per_task) if pcgrad else torch.stack(per_task).sum(0)
    trunk_ids = {id(p) for p in trunk}
    task_layers = [p for p in model.parameters() if p.requires_grad and id(p) not in trunk_ids]
    sum(weighted.values()).backward(inputs=task_layers)
    offset = 0
    for p in trunk:
        p.grad = combined[offset : offset + p.numel()].view_as(p).clone()
        offset += p.numel()
    return cosine


def gradient_cosine(a: Tensor, b: Tensor, eps: float = 1e-12) -> float | None:
    """Cosine between two flat gradients; None when either is (numerically) zero."""
    norm_a, norm_b = float(a.norm()), float(b.norm())
    if norm_a < eps or norm_b < eps:
        return None
    return float(torch.dot(a, b)) / (norm_a * norm_b)


def pcgrad_combine(grads: list[Tensor]) -> Tensor:
    """PCGrad (Yu et al. 2020, https://arxiv.org/abs/2001.06782) over flat task gradients.

    Each task gradient that conflicts (negative dot) with another task's original gradient is
    projected onto that gradient's normal plane; the projected gradients are summed. With two
    tasks the fixed order the paper randomises makes no difference.
    """
    projected = []
    for i, g in enumerate(grads):
        g = g.clone()
        for j, other in enumerate(grads):
            if i == j:
                continue
            dot = torch.dot(g, other)
            norm_sq = torch.dot(other, other)
            if dot < 0 and norm_sq > 0:
                g = g - (dot / norm_sq) * other
        projected.append(g)
    return torch.stack(projected).sum(0)


def eval_step(model: nn.Module, x: Tensor) -> dict[str, Tensor]:
    """Logits ``{task: float [N]}`` in eval mode without autograd; x as in :func:`train_step`."""
    model.eval()
    with torch.no_grad():
        return model(x)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
