"""The wire contract (docs/wire-protocol.md), decoded and encoded in one place.

A message is a list of frames: frame 0 is a UTF-8 JSON header, frames 1..n are raw
little-endian C-order tensor bytes, one per entry of ``header["tensors"]``. This module knows
nothing about ZeroMQ: it takes and returns buffers, so it can be tested without sockets.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, Union

import numpy as np

PROTOCOL_VERSION = 1

BAD_HEADER = "BAD_HEADER"
BAD_TENSOR = "BAD_TENSOR"
UNKNOWN_OP = "UNKNOWN_OP"
BAD_OPTIONS = "BAD_OPTIONS"
NO_MODEL = "NO_MODEL"
NOT_TRAINING = "NOT_TRAINING"
IO_ERROR = "IO_ERROR"
INTERNAL = "INTERNAL"
ERROR_CODES = (
    BAD_HEADER,
    BAD_TENSOR,
    UNKNOWN_OP,
    BAD_OPTIONS,
    NO_MODEL,
    NOT_TRAINING,
    IO_ERROR,
    INTERNAL,
)

# Explicit little-endian: the contract fixes byte order, whatever the host.
DTYPES: dict[str, np.dtype] = {"uint8": np.dtype("|u1"), "float32": np.dtype("<f4")}

Buffer = Union[bytes, bytearray, memoryview, np.ndarray]


class ProtocolError(Exception):
    """An error answered to the caller as ``{ok: false, error: {code, message}}``."""

    def __init__(self, code: str, message: str, request_id: str | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True)
class Request:
    """A decoded request. Tensors are read-only views of the received frames (no copy)."""

    id: str
    op: str
    options: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """A decoded reply; used by tests and tools, the sidecar itself only encodes replies."""

    id: str | None
    ok: bool
    result: dict[str, Any] | None
    error: dict[str, str] | None
    tensors: dict[str, np.ndarray]


def decode_request(frames: Sequence[Buffer]) -> Request:
    """Decode a request's frames (identity frame already stripped).

    Raises:
        ProtocolError: BAD_HEADER or BAD_TENSOR; ``request_id`` is set once the id was read.
    """
    if not frames:
        raise ProtocolError(BAD_HEADER, "empty message: expected a JSON header frame")
    header = _parse_header(frames[0])
    raw_id = header.get("id")
    request_id = raw_id if isinstance(raw_id, str) else None
    try:
        op, options, specs = _validate_request_header(header)
        tensors = _decode_tensors(specs, frames[1:])
    except ProtocolError as err:
        err.request_id = request_id
        raise
    assert request_id is not None  # _validate_request_header checked it
    return Request(request_id, op, options, tensors)


def encode_reply(
    request_id: str | None,
    result: Mapping[str, Any],
    tensors: Mapping[str, np.ndarray] | None = None,
) -> list[Buffer]:
    """Frames of a successful reply: JSON header, then one frame per tensor (no copy)."""
    arrays = {name: _wire_array(name, arr) for name, arr in (tensors or {}).items()}
    header = {
        "v": PROTOCOL_VERSION,
        "id": request_id,
        "ok": True,
        "result": result,
        "tensors": [_spec(name, arr) for name, arr in arrays.items()],
    }
    return [dump_json(header), *(_raw(arr) for arr in arrays.values())]


def encode_error(request_id: str | None, code: str, message: str) -> list[Buffer]:
    """Frames of an error reply (header only)."""
    if code not in ERROR_CODES:
        raise ValueError(f"unknown error code {code!r}")
    header = {
        "v": PROTOCOL_VERSION,
        "id": request_id,
        "ok": False,
        "error": {"code": code, "message": message},
    }
    return [dump_json(header)]


def encode_request(
    request_id: str,
    op: str,
    options: Mapping[str, Any] | None = None,
    tensors: Mapping[str, np.ndarray] | None = None,
) -> list[Buffer]:
    """Frames of a request, as the TypeScript client sends them (tests and tools use this)."""
    arrays = {name: _wire_array(name, arr) for name, arr in (tensors or {}).items()}
    header = {
        "v": PROTOCOL_VERSION,
        "id": request_id,
        "op": op,
        "tensors": [_spec(name, arr) for name, arr in arrays.items()],
        "options": dict(options or {}),
    }
    return [dump_json(header), *(_raw(arr) for arr in arrays.values())]


def decode_reply(frames: Sequence[Buffer]) -> Reply:
    """Decode a reply; raises ProtocolError when it breaks the contract."""
    if not frames:
        raise ProtocolError(BAD_HEADER, "empty reply")
    header = _parse_header(frames[0])
    if header.get("v") != PROTOCOL_VERSION or not isinstance(header.get("ok"), bool):
        raise ProtocolError(BAD_HEADER, f"not a version {PROTOCOL_VERSION} reply: {header!r}")
    specs = header.get("tensors", [])
    tensors = _decode_tensors(_validate_specs(specs), frames[1:])
    return Reply(header.get("id"), header["ok"], header.get("result"), header.get("error"), tensors)


def dump_json(obj: Any) -> bytes:
    """Compact UTF-8 JSON. NaN and ±Infinity become null (JSON has no such numbers)."""
    return json.dumps(_finite(obj), separators=(",", ":"), allow_nan=False).encode("utf-8")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {key: _finite(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(value) for value in obj]
    return obj


def _parse_header(frame: Buffer) -> dict[str, Any]:
    try:
        header = json.loads(bytes(frame).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ProtocolError(BAD_HEADER, f"frame 0 is not UTF-8 JSON: {err}") from None
    if not isinstance(header, dict):
        raise ProtocolError(
            BAD_HEADER, f"header must be a JSON object; got {type(header).__name__}"
        )
    return header


def _validate_request_header(header: dict[str, Any]) -> tuple[str, dict, list[tuple]]:
    version = header.get("v")
    if version != PROTOCOL_VERSION or isinstance(version, bool):
        raise ProtocolError(
            BAD_HEADER, f"protocol version must be {PROTOCOL_VERSION}; got {version!r}"
        )
    if not isinstance(header.get("id"), str):
        raise ProtocolError(BAD_HEADER, f"header.id must be a string; got {header.get('id')!r}")
    op = header.get("op")
    if not isinstance(op, str) or not op:
        raise ProtocolError(BAD_HEADER, f"header.op must be a non-empty string; got {op!r}")
    options = header.get("options", {})
    if not isinstance(options, dict):
        raise ProtocolError(BAD_HEADER, f"header.options must be an object; got {options!r}")
    return op, options, _validate_specs(header.get("tensors", []))


def _validate_specs(specs: Any) -> list[tuple[str, str, tuple[int, ...]]]:
    if not isinstance(specs, list):
        raise ProtocolError(BAD_HEADER, f"header.tensors must be a list; got {specs!r}")
    out: list[tuple[str, str, tuple[int, ...]]] = []
    for index, spec in enumerate(specs):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise ProtocolError(
                BAD_HEADER, f"header.tensors[{index}] needs a string name: {spec!r}"
            )
        name, dtype, shape = spec["name"], spec.get("dtype"), spec.get("shape")
        if any(name == seen for seen, _, _ in out):
            raise ProtocolError(BAD_HEADER, f"tensor name {name!r} appears twice")
        if dtype not in DTYPES:
            raise ProtocolError(
                BAD_TENSOR, f"tensor {name!r}: dtype must be one of {list(DTYPES)}; got {dtype!r}"
            )
        if not isinstance(shape, list) or not all(_is_dim(d) for d in shape):
            raise ProtocolError(
                BAD_TENSOR, f"tensor {name!r}: shape must be a list of integers >= 0; got {shape!r}"
            )
        out.append((name, dtype, tuple(shape)))
    return out


def _decode_tensors(
    specs: list[tuple[str, str, tuple[int, ...]]], frames: Sequence[Buffer]
) -> dict[str, np.ndarray]:
    if len(frames) != len(specs):
        raise ProtocolError(
            BAD_TENSOR, f"header lists {len(specs)} tensors but {len(frames)} tensor frames came"
        )
    tensors: dict[str, np.ndarray] = {}
    for (name, dtype_name, shape), frame in zip(specs, frames):
        dtype = DTYPES[dtype_name]
        view = memoryview(frame).cast("B")
        expected = math.prod(shape) * dtype.itemsize
        if view.nbytes != expected:
            raise ProtocolError(
                BAD_TENSOR,
                f"tensor {name!r}: {dtype_name} {list(shape)} needs {expected} bytes; "
                f"frame has {view.nbytes}",
            )
        array = np.frombuffer(view, dtype=dtype).reshape(shape)
        # Tiny ZeroMQ messages live inside the message struct and may be unaligned.
        tensors[name] = array if array.flags.aligned else array.copy()
    return tensors


def _wire_array(name: str, array: np.ndarray) -> np.ndarray:
    for dtype_name, dtype in DTYPES.items():
        if array.dtype == dtype or array.dtype == dtype.newbyteorder("="):
            return np.ascontiguousarray(array, dtype=dtype)
    raise ValueError(f"tensor {name!r}: dtype {array.dtype} is not one of {list(DTYPES)}")


def _raw(array: np.ndarray) -> np.ndarray:
    # A flat uint8 view of the same memory: a buffer ZeroMQ can send without copying.
    return array.reshape(-1).view(np.uint8)


def _spec(name: str, array: np.ndarray) -> dict[str, Any]:
    dtype_name = next(key for key, dtype in DTYPES.items() if array.dtype == dtype)
    return {"name": name, "dtype": dtype_name, "shape": list(array.shape)}


def _is_dim(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
