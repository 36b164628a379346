"""Shared fixtures. Tests use tiny inputs (64 px, output stride 32, random init) to stay fast."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

PYTHON_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PYTHON_DIR.parent
# ../shared next to the repository holds weights and data on the development machines only.
SHARED = REPO_ROOT.parent / "shared"
PRETRAINED = (
    SHARED / "weights/mobilenet_v2_imagenet_tflite_qat/mobilenet_v2_imagenet_torchvision.pth"
)
RES10_DIR = SHARED / "weights/opencv-res10-ssd-face"
CELEBA_IMAGES = SHARED / "data/celeba-subset/images"
HAAR_CASCADE = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml"

if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))

# One thread: on shared, busy cores OpenMP's barrier waits make tiny ops 30x slower with two.
torch.set_num_threads(1)

TINY_ARCH = {"backbone": "mobilenet_v2", "output_stride": 32, "adapter_channels": 8, "dropout": 0.0}
TINY_SIZE = 64


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def tiny_images(rng: np.random.Generator) -> np.ndarray:
    """uint8 [4, 64, 64, 3] noise."""
    return rng.integers(0, 256, size=(4, TINY_SIZE, TINY_SIZE, 3), dtype=np.uint8)


@pytest.fixture
def restore_logging():
    """Put root logging back after a test that calls setup_logging (or main)."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.captureWarnings(False)
