"""Jinja globals shared by every template."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, has_request_context, request


def safe_next(target: str | None, default: str = "/") -> str:
    """Return `target` only if it is a path on this site (no open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def init_app(app: Flask) -> None:
    @app.context_processor
    def _globals() -> dict[str, object]:
        if not has_request_context():  # e-mails and PDFs rendered from the CLI
            return {"district_name": app.config["DISTRICT_NAME"], "current_path": "/"}
        full = request.full_path if request.query_string else request.path
        return {
            "district_name": app.config["DISTRICT_NAME"],
            "current_path": full,
        }
