"""Checkpoints: a torch ``state_dict`` file plus its model card, each written atomically.

``<name>.pt`` holds ``{"model": state_dict, "optimizer"?: ..., "scheduler_state"?: ...}`` and
``<name>.json`` the card. Both are written to a temp file in the same directory and renamed,
so a process killed mid-save leaves the old pair intact.

Loading uses ``torch.load(weights_only=True)``: a pickle from an untrusted file is code
execution. torch 1.13's weights-only unpickler rejects Python floats, and optimizer
``param_groups`` are full of them (lr, betas, eps), so those are stored as a JSON string;
``scheduler_state`` likewise. Tensors and ints travel as they are.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Mapping

import torch

from .card import now_iso
from .protocol import PROTOCOL_VERSION

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SavedCheckpoint:
    path: str
    card_path: str
    sha256: str
    bytes: int
    card: dict[str, Any]


@dataclass(frozen=True)
class LoadedCheckpoint:
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any] | None
    scheduler_state: Any
    card: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def card_path_for(path: str) -> str:
    """``models/x/model.pt`` -> ``models/x/model.json``; raises ValueError without ``.pt``."""
    if not path.endswith(".pt"):
        raise ValueError(f"checkpoint path must end with .pt; got {path!r}")
    return path[: -len(".pt")] + ".json"


def save_checkpoint(
    path: str,
    model_state: Mapping[str, torch.Tensor],
    card: Mapping[str, Any],
    optimizer_state: Mapping[str, Any] | None = None,
    scheduler_state: Any = None,
) -> SavedCheckpoint:
    """Write ``path`` and its card atomically; the card gets ``sha256`` and ``torch_version``.

    Raises:
        ValueError: bad path; OSError: the files cannot be written.
    """
    card_path = card_path_for(path)
    # The state_dict itself, not a dict copy: it carries BatchNorm version _metadata.
    payload: dict[str, Any] = {"model": model_state}
    if optimizer_state is not None:
        payload["optimizer"] = pack_optimizer_state(optimizer_state)
    if scheduler_state is not None:
        payload["scheduler_state"] = json.dumps(scheduler_state, allow_nan=False)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temp_pt = _write_temp(path, lambda f: torch.save(payload, f))
    try:
        digest, size = sha256_file(temp_pt), os.path.getsize(temp_pt)
        full_card = dict(card) | {
            "protocol": PROTOCOL_VERSION,
            "torch_version": torch.__version__,
            "sha256": digest,
        }
        full_card.setdefault("created", now_iso())
        text = json.dumps(full_card, indent=2, allow_nan=False) + "\n"
        temp_card = _write_temp(card_path, lambda f: f.write(text.encode("utf-8")))
    except BaseException:
        os.unlink(temp_pt)
        raise
    # Weights first: a crash between the two renames leaves a card whose sha256 no longer
    # matches, which load reports, rather than a card describing weights that are not there.
    os.replace(temp_pt, path)
    os.replace(temp_card, card_path)
    log.info("checkpoint saved", extra={"path": path, "bytes": size, "sha256": digest})
    return SavedCheckpoint(path, card_path, digest, size, full_card)


def load_checkpoint(path: str, device: torch.device | str) -> LoadedCheckpoint:
    """Read ``path`` (weights-only, mapped to ``device``) and the card beside it.

    Raises:
        OSError: a file is missing or unreadable.
        ValueError: the content is not a checkpoint of this layout.
    """
    card_path = card_path_for(path)
    with open(card_path, "r", encoding="utf-8") as f:
        try:
            card = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f"model card {card_path} is not JSON: {err}") from None
    if not isinstance(card, dict):
        raise ValueError(f"model card {card_path} is not a JSON object")
    warnings = []
    digest = sha256_file(path)
    if card.get("sha256") not in (None, digest):
        warnings.append(f"sha256 of {path} ({digest}) differs from its card ({card['sha256']})")
        log.warning(warnings[-1], extra={"path": path})
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except OSError:
        raise
    except Exception as err:
        # A corrupt or foreign file surfaces as UnpicklingError, RuntimeError (zip reader),
        # EOFError...; to the caller they all mean "not a checkpoint we can read".
        raise ValueError(f"cannot read checkpoint {path}: {err}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("model"), Mapping):
        raise ValueError(f"{path} is not a faceattr checkpoint (no 'model' state_dict)")
    optimizer = payload.get("optimizer")
    scheduler = payload.get("scheduler_state")
    return LoadedCheckpoint(
        payload["model"],
        unpack_optimizer_state(optimizer) if optimizer is not None else None,
        json.loads(scheduler) if isinstance(scheduler, str) else None,
        card,
        warnings,
    )


def pack_optimizer_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """An optimizer ``state_dict`` in a form the weights-only unpickler of torch 1.13 reads."""
    per_param = {}
    for index, values in state["state"].items():
        bad = [k for k, v in values.items() if not isinstance(v, torch.Tensor)]
        if bad:
            raise ValueError(f"optimizer state {index} has non-tensor entries {bad}")
        per_param[int(index)] = dict(values)
    return {"state": per_param, "param_groups_json": json.dumps(state["param_groups"])}


def unpack_optimizer_state(packed: Any) -> dict[str, Any]:
    """Inverse of :func:`pack_optimizer_state`; raises ValueError on another layout."""
    if not isinstance(packed, Mapping) or not isinstance(packed.get("param_groups_json"), str):
        raise ValueError("optimizer state in the checkpoint has an unknown layout")
    return {"state": dict(packed["state"]), "param_groups": json.loads(packed["param_groups_json"])}


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_temp(final_path: str, write: Callable[[BinaryIO], Any]) -> str:
    directory, name = os.path.split(os.path.abspath(final_path))
    fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        os.unlink(temp)
        raise
    return temp
