#!/usr/bin/env python3
"""Health check of a model service: one protocol ``hello`` over ZeroMQ.

Used by the container healthcheck of the compose ``model`` service. It depends on pyzmq only,
not on the faceattr package, so it also checks a sidecar built from another version.

Usage: sidecar_healthcheck.py [ENDPOINT] [TIMEOUT_MS]
       (defaults: tcp://127.0.0.1:5555, 5000)
Exit status 0 when the sidecar answers ``ok`` to a hello within the timeout, else 1.
"""

from __future__ import annotations

import json
import os
import sys

import zmq

PROTOCOL_VERSION = 1  # docs/wire-protocol.md


def check(endpoint: str, timeout_ms: int) -> str | None:
    """Send one hello; return None when healthy, else the reason."""
    request_id = f"healthcheck-{os.getpid()}"
    header = {"v": PROTOCOL_VERSION, "id": request_id, "op": "hello", "tensors": [], "options": {}}
    context = zmq.Context()
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.SNDTIMEO, timeout_ms)
    try:
        socket.connect(endpoint)
        socket.send(json.dumps(header).encode())
        if not socket.poll(timeout_ms, zmq.POLLIN):
            return f"no reply from {endpoint} within {timeout_ms} ms"
        reply = json.loads(socket.recv_multipart()[0])
    except (zmq.ZMQError, ValueError) as err:
        return f"{type(err).__name__}: {err}"
    finally:
        socket.close()
        context.term()
    if reply.get("id") != request_id or reply.get("ok") is not True:
        return f"unexpected reply: {json.dumps(reply)[:300]}"
    return None


def main(argv: list[str]) -> int:
    endpoint = argv[1] if len(argv) > 1 else "tcp://127.0.0.1:5555"
    timeout_ms = int(argv[2]) if len(argv) > 2 else 5000
    problem = check(endpoint, timeout_ms)
    sys.stdout.write(f"unhealthy: {problem}\n" if problem else "ok\n")
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
