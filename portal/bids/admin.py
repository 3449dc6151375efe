"""Officer pages: the list of openings, counts per lot, the opening by two officers,
the opening record and opened bids (under /verwaltung).

Opening needs the second factor in this session; every read of an opened bid
goes through `portal.bids.sealed` and is recorded.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.accounts.sessions import TWO_FACTOR_PASSED
from portal.bids.canonical import digest
from portal.bids.forms import OpeningForm
from portal.bids.models import Bid, BidState, Opening
from portal.bids.opening import bid_counts, confirm_opening, opening_record, start_opening
from portal.bids.permissions import (
    can_confirm_opening,
    can_manage_opening,
    can_read_bid_contents,
    can_start_opening,
    can_view_bid_counts,
    can_view_opening_record,
    deadline_passed,
    opening_for,
)
from portal.bids.receipts import utc_text
from portal.bids.sealed import SealedAccessRefused, read_version, refuse_access
from portal.bids.transactions import commit_with_retry
from portal.bids.views import attachment_rows, refused_sealed
from portal.calls.models import Call, CallState
from portal.core.actions import attempt
from portal.core.pdfgen import render_pdf
from portal.core.permissions import require
from portal.extensions import db

bp = Blueprint("bids_admin", __name__, url_prefix="/verwaltung")




def _load_call(reference: str) -> Call:
    call = db.session.scalar(select(Call).where(Call.reference == reference))
    if call is None:
        abort(404)
    return call


def _two_factor_passed() -> bool:
    return bool(session.get(TWO_FACTOR_PASSED))


@bp.get("/oeffnungen")
@login_required
def openings() -> str:
    """Calls whose deadline has passed, with the state of their opening."""
    require(can_manage_opening(current_user))
    calls = db.session.scalars(
        select(Call).where(Call.state.in_([CallState.PUBLISHED, CallState.SUBMISSION_CLOSED, CallState.OPENED]))
        .order_by(Call.submission_deadline.desc())
    ).all()
    closed = [c for c in calls if deadline_passed(c)]
    return render_template("bids/openings.html", calls=closed, opening_for=opening_for, title=_("Öffnungen"))


@bp.get("/aufrufe/<reference>/oeffnung")
@login_required
def opening(reference: str) -> str:
    require(can_manage_opening(current_user) or can_view_bid_counts(current_user, _load_call(reference)))
    call = _load_call(reference)
    opening = opening_for(call)
    counts = bid_counts(call) if can_view_bid_counts(current_user, call) else None
    return render_template(
        "bids/opening.html", call=call, opening=opening, counts=counts, form=OpeningForm(),
        can_start=can_start_opening(current_user, call), can_confirm=can_confirm_opening(current_user, opening),
        two_factor=_two_factor_passed(), title=_("Öffnung der Interessenbekundungen"),
    )


def _opening_action(reference: str, action: str) -> Any:
    call = _load_call(reference)
    require(can_manage_opening(current_user))
    form = OpeningForm()
    if not _two_factor_passed():
        form.form_errors.append(_("Für die Öffnung müssen Sie mit zweitem Faktor angemeldet sein."))
    elif form.validate_on_submit():
        if action == "start":
            done = attempt(
                form, lambda: start_opening(db.session.get(Call, call.id), by=current_user),
                success=_("Die Öffnung wurde eingeleitet. Eine zweite Person der Vergabestelle muss sie bestätigen."),
                redirect_to=url_for("bids_admin.opening", reference=reference), code=302, commit=commit_with_retry,
            )
        else:
            opening = opening_for(call)
            if opening is None:
                abort(404)
            done = attempt(
                form, lambda: confirm_opening(db.session.get(Opening, opening.id), by=current_user),
                success=_("Die Öffnung wurde bestätigt. Das Öffnungsprotokoll liegt vor."),
                redirect_to=url_for("bids_admin.opening_record_view", reference=reference), code=302,
                commit=commit_with_retry,
            )
        if done:
            return done
    opening = opening_for(call)
    counts = bid_counts(call) if can_view_bid_counts(current_user, call) else None
    return render_template(
        "bids/opening.html", call=call, opening=opening, counts=counts, form=form,
        can_start=can_start_opening(current_user, call), can_confirm=can_confirm_opening(current_user, opening),
        two_factor=_two_factor_passed(), title=_("Öffnung der Interessenbekundungen"),
    ), 409


@bp.post("/aufrufe/<reference>/oeffnung/einleiten")
@login_required
def opening_start(reference: str) -> Any:
    return _opening_action(reference, "start")


@bp.post("/aufrufe/<reference>/oeffnung/bestaetigen")
@login_required
def opening_confirm(reference: str) -> Any:
    return _opening_action(reference, "confirm")


def _record_context(reference: str) -> dict[str, Any]:
    call = _load_call(reference)
    require(can_view_opening_record(current_user, call))
    return {"call": call, "opening": opening_for(call), "lots": opening_record(call), "utc": utc_text}


@bp.get("/aufrufe/<reference>/oeffnungsprotokoll")
@login_required
def opening_record_view(reference: str) -> str:
    context = _record_context(reference)
    return render_template("bids/opening_record.html", title=_("Öffnungsprotokoll"), **context)


@bp.get("/aufrufe/<reference>/oeffnungsprotokoll.pdf")
@login_required
def opening_record_pdf(reference: str) -> Response:
    context = _record_context(reference)
    html = render_template("bids/opening_record_pdf.html", **context)
    pdf = render_pdf(html, title=f"Öffnungsprotokoll {reference}")
    response = Response(pdf, mimetype="application/pdf")
    response.headers.set("Content-Disposition", "attachment", filename=f"Oeffnungsprotokoll-{reference}.pdf")
    return response


@bp.get("/interessenbekundungen/<int:bid_id>")
@login_required
def show_bid(bid_id: int) -> Any:
    """An opened bid for officers: the version that counts, decrypted, with its digest checked."""
    bid = db.session.get(Bid, bid_id)
    if bid is None:
        abort(404)
    version = bid.latest_submission if bid.state == BidState.SUBMITTED else None
    try:
        if version is None:
            if not can_read_bid_contents(current_user, bid):
                refuse_access(current_user, bid, what="bid", subject=bid)
            document, verified = None, None
        else:
            data = read_version(version, user=current_user)
            document, verified = json.loads(data), digest(data) == version.digest
        attachments = attachment_rows(bid, version.attachments) if version else []
    except SealedAccessRefused as exc:
        return refused_sealed(exc)
    db.session.commit()
    return render_template("bids/show.html", bid=bid, version=version, document=document, verified=verified,
                           attachments=attachments, title=_("Interessenbekundung von %(org)s", org=bid.organisation.name))
