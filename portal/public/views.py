"""Open-data pages and downloads (no account needed).

Each download is computed from the data in a fixed number of queries
(`ocds.load_calls` + one per builder prefetch), so it can be cached as a
whole: the same data always gives byte-identical output.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, url_for
from flask_babel import gettext as _

from portal.calls.trail import list_validator
from portal.core.caching import conditional
from portal.public import exports, ocds

bp = Blueprint("public", __name__, url_prefix="/open-data")


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
@conditional(list_validator)
def releases() -> Response:
    uri = url_for("public.releases", _external=True)
    return _json(ocds.release_package(ocds.load_calls(), uri=uri), "releases.json")


@bp.get("/ocds/records.json")
@conditional(list_validator)
def records() -> Response:
    uri = url_for("public.records", _external=True)
    return _json(ocds.record_package(ocds.load_calls(), uri=uri), "records.json")


@bp.get("/ocds/<reference>/releases.json")
@conditional(list_validator)
def call_releases(reference: str) -> Response:
    uri = url_for("public.call_releases", reference=reference, _external=True)
    return _json(ocds.release_package(_one_call(reference), uri=uri), f"{reference}-releases.json")


@bp.get("/ocds/<reference>/record.json")
@conditional(list_validator)
def call_record(reference: str) -> Response:
    uri = url_for("public.call_record", reference=reference, _external=True)
    return _json(ocds.record_package(_one_call(reference), uri=uri), f"{reference}-record.json")


@bp.get("/calls.csv")
@conditional(list_validator)
def calls_csv() -> Response:
    return _csv(exports.calls_csv(ocds.load_calls()), "aufrufe.csv")


@bp.get("/lots.csv")
@conditional(list_validator)
def lots_csv() -> Response:
    return _csv(exports.lots_csv(ocds.load_calls()), "lose.csv")


@bp.get("/awards.csv")
@conditional(list_validator)
def awards_csv() -> Response:
    return _csv(exports.awards_csv(ocds.load_calls()), "zuschlaege.csv")
