"""JSON-lines logging on stderr, one object per line, re-emitted by TypeScript.

Each line is ``{"ts", "level", "logger", "msg", ...extra}``. ``ts`` is ISO 8601 UTC with
milliseconds; ``level`` uses pino's names (``debug``, ``info``, ``warn``, ``error``,
``fatal``) so the TypeScript side can map it without a table. Fields passed with
``logger.info("...", extra={...})`` are added at the top level; an exception goes under ``err``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

_PINO_LEVELS = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warn",
    logging.ERROR: "error",
    logging.CRITICAL: "fatal",
}

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonLinesFormatter(logging.Formatter):
    """Formats a record as one JSON object without newlines inside it."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": _PINO_LEVELS.get(record.levelno, record.levelname.lower()),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            # The four core fields win over an extra of the same name.
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry.setdefault(key, value)
        if record.exc_info and record.exc_info[1] is not None:
            err = record.exc_info[1]
            entry["err"] = {
                "type": type(err).__name__,
                "message": str(err),
                "stack": self.formatException(record.exc_info),
            }
        # default=str: an odd extra (a Path, a torch.device) must not lose the line.
        return json.dumps(entry, default=str)


def setup_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """Send all logging (and Python warnings) to ``stream`` (stderr) as JSON lines.

    Args:
        level: ``debug``, ``info``, ``warn``/``warning`` or ``error``.
        stream: where lines go; stderr by default. Stdout is never used.
    """
    names = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING}
    names.update(warning=logging.WARNING, error=logging.ERROR)
    if level not in names:
        raise ValueError(f"log level must be one of {sorted(names)}; got {level!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonLinesFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(names[level])
    # torch and numpy warn through the warnings module; keep those lines JSON too.
    logging.captureWarnings(True)
