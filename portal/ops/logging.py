"""Request ids and JSON log lines.

Every request gets an id (taken from a proxy's `X-Request-ID` if it looks
sane, otherwise generated), echoed in the response header and attached to
every log line written while handling it, so one request can be followed
across the proxy, several app servers and the logs. With `LOG_FORMAT=json`
(the production default) each line is one JSON object.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request

_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry["request_id"] = current_request_id()
            entry["method"] = request.method
            entry["path"] = request.path
        for key in ("status", "duration_ms"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


def init_app(app: Flask) -> None:
    log_format = app.config.get("LOG_FORMAT", "text")
    if log_format == "json" and not app.testing:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        app.logger.handlers[:] = [handler]
        app.logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
        app.logger.propagate = False
    for handler in app.logger.handlers:
        handler.addFilter(RequestIdFilter())

    @app.before_request
    def _assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = datetime.now(UTC)

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if app.config.get("LOG_REQUESTS"):
            duration = (datetime.now(UTC) - g.get("request_started", datetime.now(UTC))).total_seconds()
            app.logger.info(
                "%s %s %s", request.method, request.path, response.status_code,
                extra={"status": response.status_code, "duration_ms": round(duration * 1000, 1)},
            )
        return response
