"""The ZeroMQ ROUTER loop: the only module that touches ZeroMQ.

One message at a time (TypeScript batches); every request gets exactly one reply, errors
included, and no error stops the loop. The peer identity frame is stripped on receive and
put back on the reply.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Sequence

import zmq

from .engine import Engine
from .protocol import (
    INTERNAL,
    Buffer,
    ProtocolError,
    decode_request,
    encode_error,
    encode_reply,
)

log = logging.getLogger(__name__)

POLL_MS = 200  # how soon a stop request (signal, shutdown) is noticed while idle
LINGER_MS = 2000  # time to flush the last reply (shutdown) before the socket closes


class ServerError(RuntimeError):
    """The endpoint could not be bound."""


class Server:
    """Binds ``endpoint`` with a ROUTER socket and answers requests until stopped."""

    def __init__(
        self,
        engine: Engine,
        endpoint: str,
        max_message_bytes: int,
        parent_pid: int | None = None,
    ) -> None:
        self._engine = engine
        self._endpoint = endpoint
        self._max_message_bytes = max_message_bytes
        self._context = zmq.Context()
        self._socket: zmq.Socket | None = None
        self._stop = False
        self._parent_pid = parent_pid

    def bind(self) -> None:
        socket = self._context.socket(zmq.ROUTER)
        # Larger messages are dropped by libzmq (and the peer disconnected) before we see them;
        # the TypeScript DEALER checks the same limit before sending.
        socket.setsockopt(zmq.MAXMSGSIZE, self._max_message_bytes)
        socket.setsockopt(zmq.LINGER, LINGER_MS)
        try:
            socket.bind(self._endpoint)
        except zmq.ZMQError as err:
            socket.close(linger=0)
            raise ServerError(f"cannot bind {self._endpoint}: {err}") from None
        self._socket = socket

    def _orphaned(self) -> bool:
        # A supervisor killed with SIGKILL cannot stop us; its exit re-parents us.
        return self._parent_pid is not None and os.getppid() != self._parent_pid

    def request_stop(self) -> None:
        """Ask the loop to exit after the current message; safe from a signal handler."""
        self._stop = True

    def serve_forever(self) -> None:
        if self._socket is None:
            raise RuntimeError("bind() first")
        poller = zmq.Poller()
        poller.register(self._socket, zmq.POLLIN)
        log.info("sidecar listening", extra={"endpoint": self._endpoint})
        while not self._stop:
            if not poller.poll(POLL_MS):
                if self._orphaned():
                    log.warning(
                        "parent process exited; stopping", extra={"parent": self._parent_pid}
                    )
                    break
                continue
            message = self._socket.recv_multipart(copy=False)
            identity, frames = message[0], [frame.buffer for frame in message[1:]]
            reply = self.handle_frames(frames)
            self._socket.send_multipart([identity, *reply], copy=False)
        log.info("sidecar stopping")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self._context.term()

    def handle_frames(self, frames: Sequence[Buffer]) -> list[Buffer]:
        """One request's frames (no identity) -> the reply's frames. Never raises."""
        started = time.perf_counter()
        request_id, op = None, None
        try:
            request = decode_request(frames)
            request_id, op = request.id, request.op
            if op == "shutdown":
                self.request_stop()
                reply = encode_reply(request_id, {})
            else:
                result, tensors = self._engine.handle(op, request.options, request.tensors)
                reply = encode_reply(request_id, result, tensors)
        except ProtocolError as err:
            request_id = err.request_id if request_id is None else request_id
            log.warning(
                "request failed",
                extra={"id": request_id, "op": op, "code": err.code, "reason": err.message},
            )
            return encode_error(request_id, err.code, err.message)
        except Exception as err:  # the loop must survive anything a request triggers
            log.error("request crashed", extra={"id": request_id, "op": op}, exc_info=True)
            return encode_error(request_id, INTERNAL, f"{type(err).__name__}: {err}")
        log.debug(
            "request done",
            extra={
                "id": request_id,
                "op": op,
                "ms": round((time.perf_counter() - started) * 1e3, 2),
            },
        )
        return reply
