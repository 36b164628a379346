"""Face detection with OpenCV: Haar cascade by default, Res10-SSD when configured.

Input is an RGB uint8 ``[H, W, 3]`` image; output boxes are in its pixels, largest first, with
a score in 0..1. Tight crops (the face fills the image) defeat both detectors, so when nothing
is found the image is padded by replicating its border and searched again.
"""

from __future__ import annotations

import logging
import math
import os
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from .config import MAX_SCALE_FACTOR, DetectorConfig

log = logging.getLogger(__name__)

PAD_FRACTION = 0.4  # of the image size, on each side, for the tight-crop retry
# The retry looks for the faces a tight crop holds: at least this fraction of the image's
# shorter side. Smaller faces were the first pass's to find, and searching for them again on
# the padded (2.8 times larger) image was most of the retry's cost.
PAD_MIN_FRACTION = 0.25
HAAR_SCALE_FACTOR = 1.1
HAAR_MIN_NEIGHBORS = 3
# The last resort for an image that is itself a tight face crop: one
# neighbour, finer scale steps, but only faces filling a large part of it.
LOOSE_SCALE_FACTOR = 1.05
LOOSE_MIN_FRACTION = 0.3
LOOSE_SCORE = 0.5
# A window that passed every stage of the cascade scores at least this (see haar_score).
HAAR_PASS_SCORE = 0.5
# The fine search after a coarse one covers the sizes from the smallest coarse hit divided by
# this to the largest multiplied by it: a face the coarse steps caught at one size passes the
# cascade at neighbouring sizes too.
COARSE_SIZE_SPAN = 1.45
# Images no longer than this on either side are searched in one step: there the coarse step
# saves little, and such images are mostly face crops like the training data, whose boxes
# should be the ones the model was trained on.
COARSE_MIN_SIDE = 256
RES10_FILES = ("opencv_face_detector_uint8.pb", "opencv_face_detector.pbtxt")
RES10_INPUT = 300
RES10_MEAN_BGR = (104.0, 177.0, 123.0)  # the statistics the network was trained with


@dataclass(frozen=True)
class Box:
    """A face box in pixels of the searched image; ``score`` in 0..1."""

    x: int
    y: int
    w: int
    h: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Detection:
    """Boxes largest first; ``padded`` is True when they came from the padded retry."""

    boxes: list[Box]
    padded: bool


class FaceDetector(Protocol):
    kind: str

    def find(self, rgb: np.ndarray, min_size: int) -> list[Box]:
        """All faces at least ``min_size`` pixels wide in an RGB uint8 ``[H, W, 3]`` image."""
        ...

    def describe(self) -> dict[str, Any]:
        """What ``hello`` reports about this detector."""
        ...


class HaarDetector:
    """OpenCV Haar cascade on the greyscale, histogram-equalised image (then, if that finds
    nothing, on the plain greyscale image).

    With a ``coarse_scale_factor`` above ``scale_factor``, a search runs in two steps: a cheap
    one at the coarse scale step (one neighbour suffices) finds which face sizes are present,
    then the usual fine search looks only at those sizes. Most of a full search's cost lies in
    the small sizes, which a photo with one large face never needs. When the coarse step finds
    nothing, or the fine step confirms nothing, the fine search runs over every size, so a
    face the coarse steps skip is still found. Images up to ``COARSE_MIN_SIDE`` are searched
    in one step.
    """

    kind = "haar"

    def __init__(
        self,
        cascade_path: str,
        scale_factor: float = HAAR_SCALE_FACTOR,
        coarse_scale_factor: float | None = None,
    ) -> None:
        for name, value in (
            ("scale_factor", scale_factor),
            ("coarse_scale_factor", coarse_scale_factor),
        ):
            if value is not None and not 1.0 < value <= MAX_SCALE_FACTOR:
                raise ValueError(f"{name} must be in (1, {MAX_SCALE_FACTOR}]; got {value}")
        if not os.path.isfile(cascade_path):
            raise FileNotFoundError(f"Haar cascade not found: {cascade_path}")
        self._cascade = cv2.CascadeClassifier(cascade_path)
        if self._cascade.empty():
            raise ValueError(f"cannot read Haar cascade {cascade_path}")
        self._path = cascade_path
        self._scale_factor = scale_factor
        coarse = coarse_scale_factor
        self._coarse_scale_factor = coarse if coarse is not None and coarse > scale_factor else None
        self._stages, self._last_threshold = _cascade_stages(cascade_path)

    def find_loose(self, rgb: np.ndarray, min_size: int) -> list[Box]:
        """A permissive pass (one neighbour) for faces of at least ``min_size``.

        Scored ``LOOSE_SCORE``: a hit the strict pass missed is a low-confidence one.
        """
        grey = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        rects = self._cascade.detectMultiScale(
            grey,
            scaleFactor=LOOSE_SCALE_FACTOR,
            minNeighbors=1,
            minSize=(min_size, min_size),
        )
        return [Box(int(x), int(y), int(w), int(h), LOOSE_SCORE) for (x, y, w, h) in rects]

    def find(self, rgb: np.ndarray, min_size: int) -> list[Box]:
        """Faces on the equalised image; when none passes the cascade, on the plain grey one.

        Equalising helps dim and low-contrast photos, but on a face over a large plain
        backdrop the backdrop owns the histogram and equalising wrecks the face's contrast.
        Images where the equalised search finds a face get exactly its boxes.
        """
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        boxes = self._search(cv2.equalizeHist(grey), min_size)
        if any(b.score >= HAAR_PASS_SCORE for b in boxes):
            return boxes
        plain = self._search(grey, min_size)
        return plain if any(b.score >= HAAR_PASS_SCORE for b in plain) else boxes

    def _search(self, grey: np.ndarray, min_size: int) -> list[Box]:
        """The one- or two-step search (see the class) on one greyscale image."""
        if self._coarse_scale_factor is not None and max(grey.shape) > COARSE_MIN_SIDE:
            hits = self._cascade.detectMultiScale(
                grey,
                scaleFactor=self._coarse_scale_factor,
                minNeighbors=1,
                minSize=(min_size, min_size),
            )
            if len(hits) > 0:
                sides = [int(w) for (_, _, w, _) in hits]
                smallest = max(min_size, int(min(sides) / COARSE_SIZE_SPAN))
                largest = int(math.ceil(max(sides) * COARSE_SIZE_SPAN))
                boxes = self._fine(grey, smallest, largest)
                if boxes:
                    return boxes
        return self._fine(grey, min_size, None)

    def _fine(self, grey: np.ndarray, min_size: int, max_size: int | None) -> list[Box]:
        """Faces ``min_size``..``max_size`` (None: any) wide, at the fine scale step, scored."""
        rects, levels, weights = self._cascade.detectMultiScale3(
            grey,
            scaleFactor=self._scale_factor,
            minNeighbors=HAAR_MIN_NEIGHBORS,
            minSize=(min_size, min_size),
            maxSize=(max_size, max_size) if max_size else (0, 0),
            outputRejectLevels=True,
        )
        boxes = []
        for (x, y, w, h), level, weight in zip(rects, np.ravel(levels), np.ravel(weights)):
            score = haar_score(int(level), float(weight), self._stages, self._last_threshold)
            boxes.append(Box(int(x), int(y), int(w), int(h), score))
        return boxes

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": self._path,
            "stages": self._stages,
            "scale_factor": self._scale_factor,
            "coarse_scale_factor": self._coarse_scale_factor,
            "plain_grey_retry": True,
        }


class Res10Detector:
    """OpenCV DNN Res10-SSD (TensorFlow uint8 model): its confidence is the score."""

    kind = "res10"

    def __init__(self, model_dir: str, min_confidence: float = 0.1) -> None:
        pb, pbtxt = (os.path.join(model_dir, name) for name in RES10_FILES)
        missing = [p for p in (pb, pbtxt) if not os.path.isfile(p)]
        if missing:
            raise FileNotFoundError(f"Res10-SSD files missing: {missing}")
        self._net = cv2.dnn.readNetFromTensorflow(pb, pbtxt)
        self._dir = model_dir
        self._min_confidence = min_confidence

    def find(self, rgb: np.ndarray, min_size: int) -> list[Box]:
        height, width = rgb.shape[:2]
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        size = (RES10_INPUT, RES10_INPUT)
        blob = cv2.dnn.blobFromImage(bgr, 1.0, size, RES10_MEAN_BGR, swapRB=False, crop=False)
        self._net.setInput(blob)
        rows = self._net.forward().reshape(-1, 7)  # [image, class, conf, x1, y1, x2, y2]
        boxes = []
        for conf, x1, y1, x2, y2 in rows[:, 2:7]:
            if not conf >= self._min_confidence:
                continue
            box = _clip_box(x1 * width, y1 * height, x2 * width, y2 * height, width, height)
            if box and min(box[2], box[3]) >= min_size:
                boxes.append(Box(*box, float(min(max(conf, 0.0), 1.0))))
        return boxes

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self._dir}


def build_detector(config: DetectorConfig) -> FaceDetector:
    """The configured detector; Res10 falls back to Haar (with a warning) when its files fail.

    Raises:
        FileNotFoundError, ValueError: the Haar cascade cannot be loaded.
    """
    if config.kind == "res10" and config.res10_dir is not None:
        try:
            return Res10Detector(config.res10_dir)
        except (OSError, cv2.error) as err:
            log.warning(
                "Res10-SSD unavailable; falling back to the Haar cascade",
                extra={"res10_dir": config.res10_dir, "reason": str(err)},
            )
    return HaarDetector(config.haar_cascade, config.scale_factor, config.coarse_scale_factor)


def detect_faces(
    detector: FaceDetector,
    image: np.ndarray,
    min_size_frac: float = 0.1,
    pad_retry: bool = True,
    min_score: float = 0.5,
) -> Detection:
    """Find faces in RGB uint8 ``[H, W, 3]``; boxes in its pixels, largest area first.

    Args:
        min_size_frac: smallest face side as a fraction of ``min(H, W)``.
        pad_retry: when nothing is found, pad by 40 % per side (replicated border) and retry
            for faces of at least 25 % of the shorter side; then, with Haar, a permissive pass
            for faces filling 30 % of the image or more.
        min_score: boxes scoring below this are dropped.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be uint8 [H, W, 3]; got {image.dtype} {list(image.shape)}")
    height, width = image.shape[:2]
    min_size = max(1, int(round(min_size_frac * min(height, width))))
    image = np.ascontiguousarray(image)
    boxes = [b for b in detector.find(image, min_size) if b.score >= min_score]
    padded = False
    if not boxes and pad_retry:
        pad_x, pad_y = int(round(PAD_FRACTION * width)), int(round(PAD_FRACTION * height))
        bigger = cv2.copyMakeBorder(image, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_REPLICATE)
        tight = max(min_size, int(round(PAD_MIN_FRACTION * min(height, width))))
        found = [b for b in detector.find(bigger, tight) if b.score >= min_score]
        loose = getattr(detector, "find_loose", None)
        if not found and loose is not None:
            # Aligned face crops (the training data's framing) are often too
            # tight for the strict pass even after padding.
            big = max(min_size, int(round(LOOSE_MIN_FRACTION * min(height, width))))
            found = [b for b in loose(bigger, big) if b.score >= min_score]
        boxes = unpad_boxes(found, pad_x, pad_y, width, height)
        padded = bool(boxes)
    boxes.sort(key=lambda b: b.w * b.h, reverse=True)
    return Detection(boxes, padded)


def unpad_boxes(boxes: list[Box], pad_x: int, pad_y: int, width: int, height: int) -> list[Box]:
    """Map boxes found on a padded image back to the original, clipped; empty ones dropped."""
    out = []
    for b in boxes:
        x1, y1 = b.x - pad_x, b.y - pad_y
        clipped = _clip_box(x1, y1, x1 + b.w, y1 + b.h, width, height)
        if clipped:
            out.append(Box(*clipped, b.score))
    return out


def haar_score(level: int, weight: float, stages: int, last_threshold: float) -> float:
    """Map a Haar detection's (reject level, level weight) to 0..1, monotonically.

    A window that passed every stage scores ``sigmoid(weight - last stage threshold)``, at
    least 0.5 (passing means weight >= threshold); one rejected earlier scores below 0.5 in
    proportion to how far it got. So 0.5 is the cascade's own decision boundary.
    """
    if level >= stages:
        margin = min(max(weight - last_threshold, 0.0), 50.0)
        return 1.0 / (1.0 + math.exp(-margin))
    return 0.5 * max(level, 0) / max(stages, 1)


def _cascade_stages(path: str) -> tuple[int, float]:
    # OpenCV does not expose stage thresholds; read them from the cascade XML (new format
    # "stageThreshold", old format "stage_threshold").
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise ValueError(f"cannot parse Haar cascade {path}: {err}") from None
    thresholds = [float(e.text or "nan") for e in root.iter("stageThreshold")]
    thresholds = thresholds or [float(e.text or "nan") for e in root.iter("stage_threshold")]
    if not thresholds or not math.isfinite(thresholds[-1]):
        raise ValueError(f"no stage thresholds in Haar cascade {path}")
    return len(thresholds), thresholds[-1]


def _clip_box(
    x1: float, y1: float, x2: float, y2: float, width: int, height: int
) -> tuple[int, int, int, int] | None:
    left, top = max(0, int(round(x1))), max(0, int(round(y1)))
    right, bottom = min(width, int(round(x2))), min(height, int(round(y2)))
    if right <= left or bottom <= top:
        return None
    return left, top, right - left, bottom - top
