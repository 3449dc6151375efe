"""Open-data pages and downloads (no account needed).

Each download is computed from the data in a fixed number of queries
(`ocds.load_calls` + one per builder prefetch), so it can be cached as a
whole: the same data always gives byte-identical output.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from portal.audit.models import AuditEvent
from portal.calls.models import Call, CallState
from portal.core.caching import Validator, conditional
from portal.core.time import now
from portal.extensions import db
from portal.public import exports, ocds

bp = Blueprint("public", __name__, url_prefix="/open-data")


def data_validator(*_args: Any, **_kwargs: Any) -> Validator:
    """What every download depends on: the newest audit event and the deadlines passed by the clock.

    Every change in the portal writes an audit event in its transaction, so a
    new event invalidates (also one that does not touch the download: cheap to
    check, never stale). The only change without an event is the clock passing
    a deadline (bid counts become public at the submission deadline), so the
    number of passed deadlines is part of the validator. Two indexed queries.
    """
    newest = db.session.execute(select(AuditEvent.seq, AuditEvent.occurred_at).order_by(AuditEvent.seq.desc()).limit(1)).first()
    at = now()
    passed = db.session.execute(
        select(func.count(case((Call.submission_deadline <= at, 1))), func.count(case((Call.question_deadline <= at, 1))))
        .where(Call.state != CallState.DRAFT)
    ).one()
    seq, modified = newest if newest is not None else (None, None)
    return Validator(("open-data", request.path, seq, tuple(passed)), modified)


def _json(data: dict[str, Any], filename: str) -> Response:
    body = json.dumps(data, ensure_ascii=False, indent=1)
    response = Response(body, content_type="application/json; charset=utf-8")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _csv(text: str, filename: str) -> Response:
    response = Response(text, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _one_call(reference: str) -> list[Any]:
    calls = ocds.load_calls(reference)
    if not calls:
        abort(404)
    return calls


@bp.get("/")
def index() -> str:
    calls = ocds.load_calls()
    return render_template("public/index.html", title=_("Offene Daten"), calls=calls, extensions=ocds.EXTENSIONS,
                           ocid_prefix=current_app.config["OCDS_OCID_PREFIX"],
                           license_url=current_app.config["OPEN_DATA_LICENSE_URL"])


@bp.get("/ocds/releases.json")
@conditional(data_validator)
def releases() -> Response:
    uri = url_for("public.releases", _external=True)
    return _json(ocds.release_package(ocds.load_calls(), uri=uri), "releases.json")


@bp.get("/ocds/records.json")
@conditional(data_validator)
def records() -> Response:
    uri = url_for("public.records", _external=True)
    return _json(ocds.record_package(ocds.load_calls(), uri=uri), "records.json")


@bp.get("/ocds/<reference>/releases.json")
@conditional(data_validator)
def call_releases(reference: str) -> Response:
    uri = url_for("public.call_releases", reference=reference, _external=True)
    return _json(ocds.release_package(_one_call(reference), uri=uri), f"{reference}-releases.json")


@bp.get("/ocds/<reference>/record.json")
@conditional(data_validator)
def call_record(reference: str) -> Response:
    uri = url_for("public.call_record", reference=reference, _external=True)
    return _json(ocds.record_package(_one_call(reference), uri=uri), f"{reference}-record.json")


@bp.get("/calls.csv")
@conditional(data_validator)
def calls_csv() -> Response:
    return _csv(exports.calls_csv(ocds.load_calls()), "aufrufe.csv")


@bp.get("/lots.csv")
@conditional(data_validator)
def lots_csv() -> Response:
    return _csv(exports.lots_csv(ocds.load_calls()), "lose.csv")


@bp.get("/awards.csv")
@conditional(data_validator)
def awards_csv() -> Response:
    return _csv(exports.awards_csv(ocds.load_calls()), "zuschlaege.csv")
