"""The operations of the wire contract, on top of the model holder; no sockets here.

``Engine.handle(op, options, tensors)`` returns ``(result, tensors)`` or raises
:class:`~faceattr.protocol.ProtocolError`. Anything else that escapes is a bug and the server
answers it as INTERNAL.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import Tensor

from . import options as opt
from .card import new_card, validate_card, validate_input_size
from .checkpoint import card_path_for, load_checkpoint, save_checkpoint
from .config import SidecarConfig
from .detect import FaceDetector, detect_faces
from .gradcam import decision_logit, predicted_class_score
from .model import TASKS, ArchConfig, FaceAttributeNet, load_pretrained_trunk
from .holder import LoadedModel, check_state
from .protocol import (
    BAD_OPTIONS,
    BAD_TENSOR,
    INTERNAL,
    IO_ERROR,
    NO_MODEL,
    NOT_TRAINING,
    PROTOCOL_VERSION,
    UNKNOWN_OP,
    ProtocolError,
)
from .runtime import cuda_info, rss_bytes, versions
from .train import TrainState, apply_hyperparameters, configure_training, eval_step, train_step

log = logging.getLogger(__name__)

Result = tuple[dict[str, Any], dict[str, np.ndarray]]
# The card fields that must agree with the weights; everything else is TypeScript's.
_MODEL_FIELDS = ("input_size", "mean", "std", "arch")
MAX_SLEEP_MS = 60_000


class Engine:
    """Holds the current model, the training state and the detector; runs the ops."""

    def __init__(
        self,
        config: SidecarConfig,
        device: torch.device,
        threads: int,
        detector: FaceDetector | None,
        detector_error: str | None = None,
    ) -> None:
        self._config = config
        self._device = device
        self._threads = threads
        self._detector = detector
        self._detector_error = detector_error
        self._loaded: LoadedModel | None = None
        self._training: TrainState | None = None
        self._served = 0
        self._ops: dict[str, Callable[[dict[str, Any], dict[str, np.ndarray]], Result]] = {
            "hello": self.hello,
            "load_model": self.load_model,
            "detect": self.detect,
            "predict": self.predict,
            "configure_training": self.configure_training,
            "train_step": self.train_step,
            "eval_step": self.eval_step,
            "save": self.save,
            "load": self.load,
            "stats": self.stats,
        }

    @property
    def ops(self) -> tuple[str, ...]:
        return tuple(self._ops)

    def handle(self, op: str, options: dict[str, Any], tensors: dict[str, np.ndarray]) -> Result:
        """Run one op; raises ProtocolError for anything the caller got wrong."""
        handler = self._ops.get(op)
        if handler is None:
            raise ProtocolError(UNKNOWN_OP, f"unknown op {op!r}; known: {sorted(self._ops)}")
        try:
            result = handler(options, tensors)
        except ProtocolError:
            raise
        except Exception:
            if self._device.type == "cuda":
                # After an out-of-memory error the cached blocks would keep the next call failing.
                torch.cuda.empty_cache()
            raise
        self._served += 1
        return result

    def close(self) -> None:
        if self._loaded is not None:
            self._loaded.close()
            self._loaded = None

    # --- start-up --------------------------------------------------------------------------

    def load_startup_model(self) -> None:
        """Serve ``config.model.checkpoint`` when it exists; otherwise start without a model."""
        path = self._config.model.checkpoint
        if path is None:
            log.info("no default checkpoint configured; waiting for load_model")
            return
        if not os.path.isfile(path):
            log.warning(
                "default checkpoint not found; running without a model", extra={"path": path}
            )
            return
        try:
            self._replace(self._model_from_checkpoint(path)[0])
            assert self._loaded is not None
            self._loaded.warm_up()
        except ProtocolError as err:
            log.error(
                "default checkpoint failed to load", extra={"path": path, "reason": err.message}
            )

    # --- ops -----------------------------------------------------------------------------

    def hello(self, options: dict[str, Any], tensors: dict[str, np.ndarray]) -> Result:
        opt.no_extra_tensors(tensors, ())
        opt.only(options, ("sleep_ms",))
        # Test hook: a slow reply, so the client's deadlines can be tested against the real
        # sidecar. It blocks the loop, like any long op would.
        sleep_ms = opt.number(options, "sleep_ms", 0, low=0, high=MAX_SLEEP_MS)
        if sleep_ms:
            time.sleep(sleep_ms / 1000)
        detector: dict[str, Any]
        if self._detector is not None:
            detector = self._detector.describe() | {"available": True}
        else:
            kind = self._config.detector.kind
            detector = {"kind": kind, "available": False, "error": self._detector_error}
        result = {
            "protocol": PROTOCOL_VERSION,
            "pid": os.getpid(),
            **versions(),
            "device": str(self._device),
            "threads": self._threads,
            "cuda": cuda_info(),
            "model": self._loaded.card if self._loaded is not None else None,
            "detector": detector,
        }
        return result, {}

    def load_model(self, options: dict[str, Any], tensors: dict[str, np.ndarray]) -> Result:
        opt.no_extra_tensors(tensors, ())
        if "checkpoint" in options and "arch" in options:
            raise ProtocolError(BAD_OPTIONS, "give either checkpoint or arch, not both")
        if "checkpoint" in options:
            opt.only(options, ("checkpoint",))
            loaded, warnings_ = self._model_from_checkpoint(opt.path(options, "checkpoint"))
            loaded.warm_up()  # a checkpoint is loaded to be served
            pretrained_loaded = False
        elif "arch" in options:
            opt.only(options, ("arch", "input_size", "pretrained", "seed"))
            loaded, pretrained_loaded, warnings_ = self._fresh_model(options)
        else:
            raise ProtocolError(BAD_OPTIONS, "load_model needs options.checkpoint or options.arch")
        self._replace(loaded)
        result = {
            "card": loaded.card,
            "pretrained_loaded": pretrained_loaded,
            "warnings": warnings_,
        }
        return result, {}

    def detect(self, options: dict[str, Any], tensors: dict[str, np.ndarray]) -> Result:
        opt.only(options, ("min_size_frac", "pad_retry", "min_score"))
        opt.no_extra_tensors(tensors, ("image",))
        image = opt.tensor(tensors, "image", "uint8", (None, None, 3))
        frac = opt.number(options, "min_size_frac", 0.1, low=0.0, high=1.0, low_open=True)
        pad_retry = opt.boolean(options, "pad_retry", True)
        min_score = opt.number(options, "min_score", 0.5, low=0.0, high=1.0)
        if self._detector is None:
            raise ProtocolError(INTERNAL, f"no face detector available: {self._detector_error}")
        found = detect_faces(self._detector, image, frac, pad_retry, min_score)
        return {"boxes": [b.to_dict() for b in found.boxes], "padded": found.padded}, {}

    def predict(self, options: dict[str, Any], tensors: dict[str, np.ndarray]) -> Result:
        loaded = self._require_model()
        opt.only(options, ("explain",))
        explain = _task_list(options.get("explain", []))
        x = loaded.prepare(self._images(tensors, loaded, ("images",)))
        # Serving is always in eval mode, whatever training did before.
        loaded.model.set_eval_mode()
        if not explain:
            with torch.no_grad():
                logits = loaded.serving_forward(x)
            return {"logits": _to_lists(logits), "explained": {}}, {}
        # Explain the class the card's calibration rule shows (the threshold may not be 0.5).
        cut = {task: _decision_of(loaded.card, task) for task in explain}
        select = {task: _predicted_score_of(task, cut[task]) for task in explain}
        result = loaded.explainer.explain(x, select, forward=loaded.serving_forward)
        explained = {
            task: {
                "positive": (result.output[task] >= cut[task]).tolist(),
                "flat": result.flat[task].tolist(),
            }
            for task in explain
        }
        maps = {f"cam.{task}": result.maps[task].cpu().numpy() for task in explain}
        return {"logits": _to_lists(result.output), "explained": explained}, maps

    def configure_training(self, options: dict[str, Any], tensors: dict[str, np.ndarray]) -> Result:
        loaded = self._require_model()
        opt.no_extra_tensors(tensors, ())
        try:
            self._training = configure_training(loaded.model, options, self._training)
        except ValueError as err:
            raise ProtocolError(BAD_OPTIONS, str(err)) from None
        return {"trainable_params": self._training.trainable_params}, {}

    def train_step(self, options: dict[str, Any], tensors: dict[str, np.ndarray]) -> Result:
        loaded = self._require_model()
        state = self._require_training()
        opt.only(options, ("lr", "measure_conflict", "seed"))
        lr = opt.number(options, "lr", None, low=0.0) if options.get("lr") is not None else None
        measure = opt.boolean(options, "measure_conflict", False)
        seed = opt.seed(options)
        if seed is not None:
            # Dropout draws from torch's generator: seeding each step makes a
            # resumed run repeat an uninterrupted one.
            torch.manual_seed(seed)
        images = self._images(tensors, loaded, ("images", "labels"))
        labels = opt.tensor(tensors, "labels", "float32", (images.shape[0], len(TASKS)))
        if images.shape[0] < 2:
            raise ProtocolError(
                BAD_OPTIONS,
                f"train_step needs a batch of at least 2 (BatchNorm in train mode); got "
                f"{images.shape[0]}: drop or merge the last batch",
            )
        _check_labels(labels)
        x = loaded.prepare(images)
        y = torch.from_numpy(np.array(labels, dtype=np.float32)).to(loaded.device)
        loaded.weights_changed()
        step = train_step(loaded.model, state, x, y, lr=lr, measure_conflict=measure)
        return step.to_dict(), {}

    def eval_step(self, options: dict[str, Any], tensors: dict[str, np.ndarray]) -> Result:
        loaded = self._require_model()
        opt.only(options, ())
        x = loaded.prepare(self._images(tensors, loaded, ("images",)))
        return {"logits": _to_lists(eval_step(loaded.model, x))}, {}

    def save(self, options: dict[str, Any], tensors: dict[str, np.ndarray]) -> Result:
        loaded = self._require_model()
        opt.no_extra_tensors(tensors, ())
        opt.only(options, ("path", "card", "include_optimizer", "scheduler_state"))
        path = self._checkpoint_path(options)
        include_optimizer = opt.boolean(options, "include_optimizer", False)
        card = self._card_for_save(loaded, options.get("card", {}))
        optimizer_state = None
        if include_optimizer:
            optimizer_state = self._require_training().optimizer.state_dict()
        try:
            saved = save_checkpoint(
                path,
                loaded.model.state_dict(),
                card,
                optimizer_state,
                options.get("scheduler_state"),
            )
        except (OSError, ValueError) as err:
            raise ProtocolError(IO_ERROR, f"cannot save {path}: {err}") from None
        result = {"path": saved.path, "card_path": saved.card_path, "sha256": saved.sha256}
        return result | {"bytes": saved.bytes}, {}

    def load(self, options: dict[str, Any], tensors: dict[str, np.ndarray]) -> Result:
        """Weights (and optimizer state) into the current model, keeping its explainer."""
        loaded = self._require_model()
        opt.no_extra_tensors(tensors, ())
        opt.only(options, ("path", "include_optimizer"))
        path = self._checkpoint_path(options)
        include_optimizer = opt.boolean(options, "include_optimizer", False)
        state = self._require_training() if include_optimizer else None
        ckpt, card = self._read_checkpoint(path)
        different = [k for k in _MODEL_FIELDS if card[k] != loaded.card[k]]
        if different:
            raise ProtocolError(
                IO_ERROR, f"{path} differs from the loaded model in {different}; use load_model"
            )
        check_state(path, loaded.model, ckpt.model_state)
        if state is not None:
            if ckpt.optimizer_state is None:
                raise ProtocolError(IO_ERROR, f"{path} has no optimizer state")
            try:
                state.optimizer.load_state_dict(ckpt.optimizer_state)
            except (ValueError, KeyError) as err:
                raise ProtocolError(IO_ERROR, f"optimizer state in {path} does not fit: {err}")
            # The configured hyperparameters win over the ones saved with the moments.
            apply_hyperparameters(state.optimizer, state.config.lr, state.config.weight_decay)
        loaded.model.load_state_dict(ckpt.model_state, strict=True)
        loaded.weights_changed()
        loaded.card = card
        result: dict[str, Any] = {"card": card}
        if ckpt.scheduler_state is not None:
            result["scheduler_state"] = ckpt.scheduler_state
        return result, {}

    def stats(self, options: dict[str, Any], tensors: dict[str, np.ndarray]) -> Result:
        opt.no_extra_tensors(tensors, ())
        loaded = self._loaded
        hooks = loaded.explainer.hook_count() if loaded is not None else {}
        compiled = loaded.compiled if loaded is not None else False
        return {
            "rss_bytes": rss_bytes(),
            # User + system time of every thread of this process since it started.
            "cpu_seconds": time.process_time(),
            "hooks": hooks,
            "served": self._served,
            "compiled": compiled,
        }, {}

    # --- helpers -------------------------------------------------------------------------

    def _require_model(self) -> LoadedModel:
        if self._loaded is None:
            raise ProtocolError(NO_MODEL, "no model is loaded; send load_model first")
        return self._loaded

    def _require_training(self) -> TrainState:
        if self._training is None:
            raise ProtocolError(NOT_TRAINING, "training is not configured; send configure_training")
        return self._training

    def _replace(self, loaded: LoadedModel) -> None:
        old, self._loaded = self._loaded, loaded
        # The optimiser holds the old parameters; a new model starts untrained-for.
        self._training = None
        if old is not None:
            old.close()
        log.info(
            "model ready",
            extra={
                "model": loaded.card.get("name"),
                "arch": loaded.card["arch"],
                "device": str(self._device),
            },
        )

    def _model_from_checkpoint(self, path: str | None) -> tuple[LoadedModel, list[str]]:
        assert path is not None
        ckpt, card = self._read_checkpoint(path)
        model = FaceAttributeNet(card["arch"])
        check_state(path, model, ckpt.model_state)
        model.load_state_dict(ckpt.model_state, strict=True)
        return self._holder(model, card), ckpt.warnings

    def _fresh_model(self, options: dict[str, Any]) -> tuple[LoadedModel, bool, list[str]]:
        try:
            arch = ArchConfig.from_dict(options["arch"])
            input_size = validate_input_size(options.get("input_size"))
        except (TypeError, ValueError) as err:
            raise ProtocolError(BAD_OPTIONS, str(err)) from None
        pretrained = opt.path(options, "pretrained", self._config.model.pretrained)
        seed = opt.seed(options)
        if seed is not None:
            # The same seed gives the same initial weights, whatever ran before.
            torch.manual_seed(seed)
        model = FaceAttributeNet(arch)
        try:
            pretrained_loaded, warnings_ = load_pretrained_trunk(model, pretrained)
        except (OSError, ValueError, RuntimeError) as err:
            raise ProtocolError(IO_ERROR, f"pretrained weights {pretrained}: {err}") from None
        return (
            self._holder(model, new_card(arch, input_size)),
            pretrained_loaded,
            warnings_,
        )

    def _holder(self, model: FaceAttributeNet, card: dict[str, Any]) -> LoadedModel:
        return LoadedModel(model, card, self._device, optimize=self._config.optimize_inference)

    def _read_checkpoint(self, path: str) -> tuple[Any, dict[str, Any]]:
        try:
            ckpt = load_checkpoint(path, self._device)
            card = validate_card(ckpt.card)
        except (OSError, ValueError) as err:
            raise ProtocolError(IO_ERROR, f"cannot load {path}: {err}") from None
        return ckpt, card

    @staticmethod
    def _checkpoint_path(options: Mapping[str, Any]) -> str:
        path = opt.path(options, "path")
        assert path is not None
        try:
            card_path_for(path)
        except ValueError as err:
            raise ProtocolError(BAD_OPTIONS, str(err)) from None
        return path

    @staticmethod
    def _card_for_save(loaded: LoadedModel, given: Any) -> dict[str, Any]:
        if not isinstance(given, dict):
            raise ProtocolError(BAD_OPTIONS, f"options.card must be an object; got {given!r}")
        try:
            card = validate_card(loaded.card | given)
        except ValueError as err:
            raise ProtocolError(BAD_OPTIONS, f"options.card: {err}") from None
        different = [k for k in _MODEL_FIELDS if card[k] != loaded.card[k]]
        if different:
            raise ProtocolError(
                BAD_OPTIONS, f"options.card disagrees with the loaded model in {different}"
            )
        return card

    @staticmethod
    def _images(
        tensors: dict[str, np.ndarray], loaded: LoadedModel, allowed: tuple[str, ...]
    ) -> np.ndarray:
        opt.no_extra_tensors(tensors, allowed)
        size = loaded.input_size
        return opt.tensor(tensors, "images", "uint8", (None, size, size, 3))


def _predicted_score_of(task: str, cut: float) -> Callable[[Mapping[str, Tensor]], Tensor]:
    return lambda output: predicted_class_score(output[task], cut)


def _decision_of(card: Mapping[str, Any], task: str) -> float:
    """The logit where the card's rule ``sigmoid(logit / T) >= threshold`` turns positive."""
    threshold = float(card.get("thresholds", {}).get(task, 0.5))
    temperature = float(card.get("temperature", {}).get(task, 1.0))
    return decision_logit(threshold, temperature)


def _task_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ProtocolError(
            BAD_OPTIONS, f"options.explain must be a list of task names; got {value!r}"
        )
    unknown = [t for t in value if t not in TASKS]
    if unknown or len(set(value)) != len(value):
        raise ProtocolError(
            BAD_OPTIONS,
            f"options.explain must list distinct tasks from {list(TASKS)}; got {value!r}",
        )
    return [t for t in TASKS if t in value]


def _check_labels(labels: np.ndarray) -> None:
    known = labels[~np.isnan(labels)]
    if known.size == 0:
        raise ProtocolError(BAD_TENSOR, "labels: no known label in the batch (all NaN)")
    if not np.all((known >= 0.0) & (known <= 1.0)):
        raise ProtocolError(BAD_TENSOR, "labels must be 0, 1 (or in between) or NaN for unknown")


def _to_lists(logits: Mapping[str, Tensor]) -> dict[str, list[float]]:
    return {task: logits[task].detach().float().cpu().tolist() for task in TASKS}
