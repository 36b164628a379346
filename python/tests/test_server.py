"""The real sidecar process, spawned exactly as TypeScript spawns it, over ipc://."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import zmq
from conftest import PYTHON_DIR, REPO_ROOT, TINY_ARCH, TINY_SIZE

from faceattr.__main__ import main
from faceattr.config import parse_config
from faceattr.engine import Engine
from faceattr.protocol import decode_reply, encode_request
from faceattr.server import Server

START_TIMEOUT_MS = 90_000  # importing torch on two busy cores can take a while
CONFIG = {
    "threads": 1,
    "device": "cpu",
    "max_message_bytes": 1 << 20,
    "detector": {"kind": "haar", "res10_dir": None},
    "model": {"checkpoint": None, "pretrained": None},
}


def spawn(endpoint):
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR))
    argv = ["/usr/bin/python3", "-m", "faceattr", "--endpoint", endpoint]
    argv += ["--config-json", json.dumps(CONFIG)]
    return subprocess.Popen(
        argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


class Client:
    def __init__(self, endpoint):
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(endpoint)

    def send_raw(self, frames):
        self.socket.send_multipart(frames)

    def receive(self, timeout_ms=START_TIMEOUT_MS):
        if not self.socket.poll(timeout_ms):
            raise TimeoutError("no reply from the sidecar")
        return decode_reply(self.socket.recv_multipart())

    def call(self, request_id, op, options=None, tensors=None, timeout_ms=START_TIMEOUT_MS):
        self.send_raw(encode_request(request_id, op, options, tensors))
        reply = self.receive(timeout_ms)
        assert reply.id == request_id
        return reply

    def close(self):
        self.socket.close()
        self.context.term()


@pytest.fixture(scope="module")
def processes(tmp_path_factory):
    """Two sidecars started together (their slow torch imports overlap): one to talk to and
    shut down, one to stop with SIGTERM."""
    directory = tmp_path_factory.mktemp("ipc")
    endpoints = [f"ipc://{directory}/main.sock", f"ipc://{directory}/spare.sock"]
    started = [(spawn(endpoint), Client(endpoint)) for endpoint in endpoints]
    yield started
    for process, client in started:
        client.close()
        if process.poll() is None:
            process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def sidecar(processes):
    return processes[0]


def test_a_malformed_frame_gets_an_error_reply_and_hello_still_works(sidecar):
    process, client = sidecar
    client.send_raw([b"\x00not json"])
    reply = client.receive()
    assert not reply.ok and reply.id is None and reply.error["code"] == "BAD_HEADER"
    hello = client.call("h1", "hello")
    assert hello.ok and hello.result["protocol"] == 1 and hello.result["device"] == "cpu"
    assert hello.result["threads"] == 1 and hello.result["model"] is None
    assert process.poll() is None


def test_a_bad_byte_length_keeps_the_request_id(sidecar):
    _, client = sidecar
    header = encode_request("r2", "predict", {}, {"images": np.zeros((1, 4, 4, 3), np.uint8)})[0]
    client.send_raw([header, b"\x00" * 5])
    reply = client.receive()
    assert reply.id == "r2" and reply.error["code"] == "BAD_TENSOR"


def test_predict_with_explain_returns_cam_tensors_over_the_wire(sidecar):
    _, client = sidecar
    options = {"arch": TINY_ARCH, "input_size": TINY_SIZE, "pretrained": None}
    assert client.call("m1", "load_model", options).ok
    images = np.random.default_rng(0).integers(0, 256, (2, TINY_SIZE, TINY_SIZE, 3), np.uint8)
    reply = client.call("p1", "predict", {"explain": ["gender"]}, {"images": images})
    assert reply.ok and sorted(reply.tensors) == ["cam.gender"]
    assert reply.tensors["cam.gender"].shape == (2, TINY_SIZE, TINY_SIZE)
    assert len(reply.result["explained"]["gender"]["positive"]) == 2
    stats = client.call("s1", "stats")
    assert stats.result["hooks"] == {"gender": 1, "smile": 1}


def test_an_oversized_message_is_dropped_and_the_link_recovers(sidecar):
    _, client = sidecar
    big = np.zeros((1 << 20) + 1, np.uint8)
    client.send_raw(encode_request("big", "stats", {}, {"blob": big}))
    # libzmq drops it (and the connection) before Python sees it; the DEALER reconnects.
    reply = client.call("h2", "hello")
    assert reply.ok


def test_shutdown_replies_then_exits_cleanly_with_only_json_lines_on_stderr(sidecar):
    process, client = sidecar
    assert client.call("bye", "shutdown").result == {}
    assert process.wait(timeout=30) == 0
    stdout, stderr = process.stdout.read(), process.stderr.read()
    assert stdout == b""
    lines = [json.loads(line) for line in stderr.decode().splitlines()]
    assert any(line["msg"] == "sidecar stopped" for line in lines)
    assert all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)


def test_sigterm_stops_the_sidecar_cleanly(processes):
    process, client = processes[1]
    assert client.call("h", "hello").ok
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


def test_handle_frames_never_raises_even_when_an_op_crashes(monkeypatch):
    engine = Engine(parse_config({}), torch.device("cpu"), 1, None, "none")
    server = Server(engine, "inproc://unused", 1 << 20)

    def boom(options, tensors):
        raise RuntimeError("kaboom")

    monkeypatch.setitem(engine._ops, "stats", boom)
    reply = decode_reply(server.handle_frames(encode_request("x", "stats")))
    assert reply.error == {"code": "INTERNAL", "message": "RuntimeError: kaboom"}
    reply = decode_reply(server.handle_frames(encode_request("y", "hello")))
    assert reply.ok
    assert (
        decode_reply(server.handle_frames(encode_request("z", "nope"))).error["code"]
        == "UNKNOWN_OP"
    )
    server.close()


def test_an_unbindable_endpoint_exits_with_code_3(tmp_path, restore_logging):
    argv = ["--endpoint", f"ipc://{tmp_path}/missing-dir/s.sock"]
    assert main(argv + ["--config-json", json.dumps(CONFIG)]) == 3


def test_an_invalid_config_exits_with_code_2(tmp_path, restore_logging):
    argv = ["--endpoint", f"ipc://{tmp_path}/s.sock", "--config-json", '{"device": "tpu"}']
    assert main(argv) == 2


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


def test_exits_when_its_parent_dies_if_asked_to(tmp_path):
    """A supervisor killed with SIGKILL must not leave its sidecar running."""
    endpoint = f"ipc://{tmp_path}/orphan.sock"
    pid_file = tmp_path / "pid"
    argv = ["/usr/bin/python3", "-m", "faceattr", "--endpoint", endpoint]
    argv += ["--config-json", json.dumps(CONFIG), "--exit-with-parent"]
    quoted = " ".join("'" + a.replace("'", "'\\''") + "'" for a in argv)
    # The shell starts the sidecar, records its pid, waits until it answers, then exits.
    script = f"{quoted} 2>/dev/null & echo $! > {pid_file}; sleep 20"
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR))
    shell = subprocess.Popen(["sh", "-c", script], cwd=REPO_ROOT, env=env)
    client = Client(endpoint)
    try:
        assert client.call("r1", "hello").ok
        child = int(pid_file.read_text())
        shell.kill()
        shell.wait()
        for _ in range(100):
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            # Reap it if it became our zombie; otherwise it is init's.
            time.sleep(0.1)
        else:
            os.kill(child, signal.SIGKILL)
            pytest.fail("the sidecar outlived its parent by more than 10 s")
    finally:
        client.close()
