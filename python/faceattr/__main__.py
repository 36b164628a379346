"""Entry point: ``python -m faceattr --endpoint <zmq endpoint> --config-json '<json>'``.

Exit codes: 0 clean stop (shutdown op, SIGTERM, SIGINT); 2 bad arguments or config;
3 the endpoint cannot be bound. Logs are JSON lines on stderr; stdout stays unused.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType

from .config import parse_config_json
from .detect import FaceDetector, build_detector
from .engine import Engine
from .logs import setup_logging
from .runtime import choose_device, configure_threads
from .server import Server, ServerError

log = logging.getLogger("faceattr")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m faceattr", description=__doc__)
    parser.add_argument(
        "--endpoint", required=True, help="ZeroMQ endpoint to bind (ipc:// or tcp://)"
    )
    parser.add_argument("--config-json", required=True, help="the sidecar config slice as JSON")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=("debug", "info", "warn", "error"),
        help="default info",
    )
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the process that started this one exits (set by the TypeScript supervisor)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.log_level)
    try:
        config = parse_config_json(args.config_json)
        device = choose_device(config.device)
    except ValueError as err:
        log.error("invalid configuration", extra={"reason": str(err)})
        return 2
    if config.unknown_keys:
        log.warning("unknown config keys ignored", extra={"keys": list(config.unknown_keys)})
    threads = configure_threads(config.threads)
    log.info("device chosen", extra={"device": str(device), "threads": threads, "pid": os.getpid()})

    detector: FaceDetector | None = None
    detector_error = None
    try:
        detector = build_detector(config.detector)
    except (OSError, ValueError) as err:
        # The sidecar still serves predictions; detect answers with the reason.
        detector_error = str(err)
        log.error("face detector unavailable", extra={"reason": detector_error})

    engine = Engine(config, device, threads, detector, detector_error)
    engine.load_startup_model()
    server = Server(
        engine,
        args.endpoint,
        config.max_message_bytes,
        parent_pid=os.getppid() if args.exit_with_parent else None,
    )
    try:
        server.bind()
    except ServerError as err:
        log.error("cannot start", extra={"reason": str(err)})
        engine.close()
        return 3

    def stop(signum: int, frame: FrameType | None) -> None:
        # Only set a flag: logging from inside a signal handler can re-enter a held lock.
        server.request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        server.close()
        engine.close()
    log.info("sidecar stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
