"""Atom feeds (new calls, amendments, answers) and iCalendar files (deadlines).

Entry ids are tag URIs built from the call reference, so they stay the same
however often a feed is fetched and wherever the portal is hosted.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, render_template, url_for
from flask_babel import gettext as _
from icalendar import Calendar, Event

from portal.calls.models import Call, QuestionState
from portal.core.markdown import markdown_to_text
from portal.core.time import now

FEED_LIMIT = 100


@dataclass(frozen=True)
class FeedEntry:
    id: str
    title: str
    updated: datetime
    url: str
    summary: str


def _host() -> str:
    return urlsplit(current_app.config["PORTAL_BASE_URL"]).hostname or "localhost"


def _tag(call: Call, suffix: str) -> str:
    day = (call.published_at or call.created_at).strftime("%Y-%m-%d")
    return f"tag:{_host()},{day}:/aufrufe/{call.reference}{suffix}"


#: Functions adding a later domain's entries for a list of calls (awards: the award
#: notices), each with a fixed number of queries however many calls there are.
EXTRA_ENTRIES: list[Callable[[list[Call]], list[FeedEntry]]] = []


def register_feed_entries(source: Callable[[list[Call]], list[FeedEntry]]) -> None:
    if source not in EXTRA_ENTRIES:
        EXTRA_ENTRIES.append(source)


def tag_uri(call: Call, suffix: str) -> str:
    return _tag(call, suffix)


def entries_for(call: Call) -> list[FeedEntry]:
    url = url_for("calls.show", reference=call.reference, _external=True)
    assert call.published_at is not None
    entries = [FeedEntry(_tag(call, ""), _("Neuer Aufruf: %(title)s", title=call.title), call.published_at, url, call.summary)]
    for amendment in call.amendments:
        entries.append(FeedEntry(
            _tag(call, f"/aenderungen/{amendment.number}"),
            _("Änderungsbekanntmachung Nr. %(n)s zu %(ref)s", n=amendment.number, ref=call.reference),
            amendment.published_at, f"{url}#aenderung-{amendment.number}", amendment.reason,
        ))
    for question in call.questions:
        if question.state == QuestionState.PUBLISHED and question.answered_at is not None:
            entries.append(FeedEntry(
                _tag(call, f"/fragen/{question.number}"),
                _("Antwort auf Frage %(n)s zu %(ref)s", n=question.number, ref=call.reference),
                question.answered_at, f"{url}#frage-{question.number}",
                markdown_to_text(question.public_text) + "\n\n" + markdown_to_text(question.answer or ""),
            ))
    if call.cancelled_at is not None:
        entries.append(FeedEntry(_tag(call, "/aufhebung"), _("Aufruf %(ref)s aufgehoben", ref=call.reference),
                                 call.cancelled_at, url, call.cancel_reason or ""))
    return entries


def atom_response(calls: list[Call], *, title: str, self_url: str) -> Response:
    published = [call for call in calls if call.published_at]
    entries = [e for call in published for e in entries_for(call)]
    entries += [e for source in EXTRA_ENTRIES for e in source(published)]
    entries = sorted(entries, key=lambda e: e.updated, reverse=True)[:FEED_LIMIT]
    updated = entries[0].updated if entries else now()
    body = render_template("calls/feed.xml", title=title, self_url=self_url, entries=entries, updated=updated,
                           feed_id=f"tag:{_host()},2026:{urlsplit(self_url).path}")
    return Response(body, mimetype="application/atom+xml")


def ics_response(call: Call) -> Response:
    """The call's deadlines as an iCalendar file (times in UTC, so no time-zone table is needed)."""
    calendar = Calendar()
    calendar.add("prodid", "-//IBV-Portal//Aufrufe//DE")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{call.reference}: {call.title}")
    url = url_for("calls.show", reference=call.reference, _external=True)
    stamp = now()
    items: list[tuple[str, Any, Any]] = [
        ("questions", call.question_deadline, _("Frist für Fragen: %(ref)s", ref=call.reference)),
        ("submission", call.submission_deadline, _("Frist für Interessenbekundungen: %(ref)s", ref=call.reference)),
    ]
    for key, moment, summary in items:
        if moment is None:
            continue
        event = Event()
        event.add("uid", f"{call.reference}-{key}@{_host()}")
        event.add("dtstamp", stamp)
        event.add("dtstart", moment)
        event.add("dtend", moment + timedelta(minutes=15))
        event.add("summary", summary)
        event.add("description", f"{call.title}\n{url}")
        event.add("url", url)
        calendar.add_component(event)
    if call.decision_planned_on is not None:
        event = Event()
        event.add("uid", f"{call.reference}-decision@{_host()}")
        event.add("dtstamp", stamp)
        event.add("dtstart", call.decision_planned_on)
        event.add("summary", _("Geplante Entscheidung: %(ref)s", ref=call.reference))
        event.add("url", url)
        calendar.add_component(event)
    response = Response(calendar.to_ical(), mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{call.reference}.ics"'
    return response
