"""Process-level facts: device choice, thread count, memory, library versions."""

from __future__ import annotations

import logging
import os
import platform
from typing import Any

import cv2
import numpy as np
import torch
import torchvision

log = logging.getLogger(__name__)


def choose_device(preference: str) -> torch.device:
    """``auto``: CUDA when available, else CPU; ``cuda`` when unavailable raises ValueError."""
    available = torch.cuda.is_available()
    if preference == "cuda" and not available:
        raise ValueError("device 'cuda' was configured but torch.cuda.is_available() is False")
    if preference in ("auto", "cuda") and available:
        return torch.device("cuda", torch.cuda.current_device())
    if preference not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda; got {preference!r}")
    return torch.device("cpu")


def configure_threads(threads: int) -> int:
    """Set torch's and OpenCV's thread count; 0 means every core this process may use.

    Debian's torch starts with one thread, half the speed on two cores. The affinity mask,
    when the OS has one, is what a container or taskset actually grants.
    """
    if threads <= 0:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
        threads = threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    return torch.get_num_threads()


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm (0 where there is none)."""
    try:
        with open("/proc/self/statm", "r", encoding="ascii") as f:
            resident_pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "opencv": cv2.__version__,
    }


def cuda_info() -> dict[str, Any]:
    available = torch.cuda.is_available()
    count = torch.cuda.device_count() if available else 0
    return {
        "available": available,
        "devices": [torch.cuda.get_device_name(i) for i in range(count)],
    }
