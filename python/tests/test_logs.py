import io
import json
import logging

from faceattr.logs import setup_logging


def test_writes_one_json_object_per_line_with_extras(restore_logging):
    stream = io.StringIO()
    setup_logging("debug", stream=stream)
    log = logging.getLogger("faceattr.test")
    log.warning("checkpoint missing", extra={"path": "/x.pt"})
    try:
        raise ValueError("boom")
    except ValueError:
        log.error("failed", exc_info=True)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert list(first)[:4] == ["ts", "level", "logger", "msg"]
    assert first["level"] == "warn" and first["logger"] == "faceattr.test"
    assert first["msg"] == "checkpoint missing" and first["path"] == "/x.pt"
    assert first["ts"].endswith("+00:00")
    assert second["err"]["type"] == "ValueError" and "boom" in second["err"]["stack"]


def test_an_extra_cannot_overwrite_the_core_fields(restore_logging):
    stream = io.StringIO()
    setup_logging("info", stream=stream)
    logging.getLogger("x").info("real", extra={"level": "fake", "logger": "fake"})
    line = json.loads(stream.getvalue())
    assert (line["level"], line["logger"], line["msg"]) == ("info", "x", "real")
