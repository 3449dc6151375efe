"""Readiness endpoint for load balancers (liveness is /healthz)."""
from __future__ import annotations

from flask import Blueprint

from portal.ops.checks import problems_before_serving

bp = Blueprint("ops", __name__)


@bp.get("/readyz")
def readyz() -> tuple[dict[str, object], int]:
    problems = problems_before_serving()
    if problems:
        return {"status": "not ready", "problems": problems}, 503
    return {"status": "ready"}, 200
