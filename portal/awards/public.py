"""Public award notices (/vergaben): the list of all awards, one notice per call, its JSON and Atom feed."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.audit.services import canonical_json
from portal.awards.models import AwardNotice
from portal.calls import feeds
from portal.calls.feeds import FeedEntry
from portal.calls.models import Call, CallState
from portal.core.caching import Validator, conditional
from portal.core.time import now
from portal.extensions import db

bp = Blueprint("awards_public", __name__, url_prefix="/vergaben")


def _notices() -> list[AwardNotice]:
    return list(db.session.scalars(
        select(AwardNotice).options(selectinload(AwardNotice.call)).order_by(AwardNotice.published_at.desc())
    ))


@bp.get("/")
def index() -> str:
    return render_template("awards/public/index.html", title=_("Vergaben"), notices=_notices())


@bp.get("/feed.atom")
def feed() -> Response:
    """Only the award notices (the call feeds carry them among the call's other news)."""
    notices = _notices()
    entries = sorted(notice_entries([n.call for n in notices]), key=lambda e: e.updated, reverse=True)
    self_url = url_for("awards_public.feed", _external=True)
    body = render_template("calls/feed.xml", title=_("Vergaben"), self_url=self_url, entries=entries,
                           updated=entries[0].updated if entries else now(),
                           feed_id=f"tag:{urlsplit(self_url).hostname or 'localhost'},2026:{urlsplit(self_url).path}")
    return Response(body, mimetype="application/atom+xml")


def notice_validator(reference: str) -> Validator | None:
    """A published notice never changes; its call cannot change once awarded (one query)."""
    found = db.session.execute(
        select(AwardNotice.id, AwardNotice.sha256, AwardNotice.published_at).join(Call).where(Call.reference == reference)
    ).first()
    if found is None:
        return None
    notice_id, sha256, published_at = found
    return Validator(("award-notice", request.path, notice_id, sha256), published_at)


def _notice(reference: str) -> AwardNotice:
    notice = db.session.scalar(select(AwardNotice).join(Call).where(Call.reference == reference))
    if notice is None:
        abort(404)
    return notice


@bp.get("/<reference>")
@conditional(notice_validator)
def show(reference: str) -> str:
    notice = _notice(reference)
    return render_template("awards/public/show.html", title=_("Vergabebekanntmachung %(ref)s", ref=reference), notice=notice,
                           call=notice.call, n=notice.data)


@bp.get("/<reference>.json")
@conditional(notice_validator)
def data(reference: str) -> Response:
    notice = _notice(reference)
    # The canonical spelling (sorted keys, no spaces): its SHA-256 is the one in the public audit event.
    response = Response(canonical_json(notice.data), mimetype="application/json")
    response.headers["X-Content-SHA256"] = notice.sha256
    return response


def notice_entries(calls: list[Call]) -> list[FeedEntry]:
    """The award notices of `calls` as entries of the Atom feeds (one query)."""
    awarded = {call.id: call for call in calls if call.state == CallState.AWARDED}
    if not awarded:
        return []
    entries = []
    for notice in db.session.scalars(select(AwardNotice).where(AwardNotice.call_id.in_(list(awarded)))):
        call = awarded[notice.call_id]
        winners = []
        for lot in notice.data["lots"]:
            names = ", ".join(w["organisation"] for w in lot["winners"]) or _("keine Vergabe")
            winners.append(_("Los %(n)s: %(names)s", n=lot["number"], names=names))
        entries.append(FeedEntry(feeds.tag_uri(call, "/vergabe"), _("Vergabebekanntmachung zu %(ref)s", ref=call.reference),
                                 notice.published_at, url_for("awards_public.show", reference=call.reference, _external=True),
                                 "\n".join(winners)))
    return entries
