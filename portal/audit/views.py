"""Public transparency endpoints (the contract in tools/verify_log.py) and pages."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.audit import public
from portal.audit.transparency import latest_checkpoint, signing_identity

bp = Blueprint("transparency", __name__)


class _ParameterError(Exception):
    pass


def _json_error(message: str, status: int = 400) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def _int_arg(name: str, default: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        if default is not None:
            return default
        raise _ParameterError(_("Der Parameter „%(name)s“ fehlt.", name=name))
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise _ParameterError(_("Der Parameter „%(name)s“ muss eine nicht negative ganze Zahl sein.", name=name))
    return int(raw)


@bp.errorhandler(_ParameterError)
@bp.errorhandler(public.BadRequest)
def _bad_parameters(exc: Exception) -> tuple[Response, int]:
    return _json_error(str(exc))


@bp.get("/transparency/checkpoint")
def checkpoint() -> Any:
    latest = latest_checkpoint()
    if latest is None:
        return _json_error(_("Es wurde noch kein Prüfpunkt ausgestellt."), 404)
    return Response(latest.text, mimetype="text/plain", headers={"Cache-Control": "no-cache"})


@bp.get("/transparency/checkpoints")
def checkpoints() -> Any:
    return jsonify(public.checkpoints_json())


@bp.get("/transparency/key")
def key() -> Any:
    return jsonify(signing_identity().as_json())


@bp.get("/transparency/proof/inclusion")
def inclusion() -> Any:
    return jsonify(public.inclusion_json(_int_arg("seq"), _int_arg("size")))


@bp.get("/transparency/proof/consistency")
def consistency() -> Any:
    return jsonify(public.consistency_json(_int_arg("old"), _int_arg("new")))


@bp.get("/transparency/events")
def events() -> Any:
    first = _int_arg("from", 1)
    last = _int_arg("to", first + public.EVENTS_PAGE_LIMIT - 1)
    return jsonify(public.events_page(first, last))


@bp.get("/transparenz")
def overview() -> str:
    latest = latest_checkpoint()
    return render_template(
        "audit/transparency.html",
        title=_("Transparenz: das überprüfbare Protokoll"),
        latest=latest,
        identity=signing_identity().as_json(),
        base_url=request.url_root.rstrip("/"),
    )


@bp.get("/transparenz/verlauf/<subject_type>/<subject_id>")
def trail(subject_type: str, subject_id: str) -> str:
    result = public.public_trail(subject_type, subject_id)
    if not result.entries:
        abort(404)
    return render_template(
        "audit/trail_page.html",
        title=_("Öffentlicher Verlauf"),
        trail=result,
        back=public.trail_page_link(subject_type, subject_id),
    )
