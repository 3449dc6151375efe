"""Officer and public pages: forms with German errors, permissions, crafted POSTs, feeds."""
from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import feedparser
import icalendar
import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.calls.models import Call, CallState, Criterion
from portal.core.time import now, to_berlin
from portal.extensions import db
from tests.conftest import login
from tests.factories_calls import make_call, make_question
from tests.pdf_samples import exe_bytes, valid_pdf


def local(moment: Any) -> str:
    return to_berlin(moment).strftime("%Y-%m-%dT%H:%M")


def call_form(**overrides: Any) -> dict[str, Any]:
    data = {
        "reference": "KIM-2026-01", "title": "Case Management KIM", "summary": "Kurz.",
        "description": "Text", "funding_note": "", "contact": "Vergabestelle",
        "question_deadline": local(now() + timedelta(days=14)), "submission_deadline": local(now() + timedelta(days=28)),
        "decision_planned_on": "", "standstill_days": "10", "scale_min": "0", "scale_max": "5",
        "scale_labels": "0 = nicht erfüllt\n1 = kaum\n2 = teilweise\n3 = erfüllt\n4 = gut\n5 = sehr gut",
        "formula_text": "Summe", "tie_break_text": "K1, dann Los", "tie_break": "K1, Los",
    }
    data.update(overrides)
    return data


def test_officer_creates_a_draft_through_the_form(client, officer, clock) -> None:  # type: ignore[no-untyped-def]
    login(client, officer)
    response = client.post("/verwaltung/aufrufe/neu", data=call_form())
    assert response.status_code == 303
    call = db.session.scalar(sa.select(Call))
    assert call.reference == "KIM-2026-01" and call.state == CallState.DRAFT
    assert call.scale_labels["3"] == "erfüllt" and call.tie_break == ["K1", "lot"]
    created = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "call.created"))
    assert not created.public


def test_a_time_in_the_dst_gap_is_refused_and_the_input_kept(client, officer, clock) -> None:  # type: ignore[no-untyped-def]
    login(client, officer)
    response = client.post("/verwaltung/aufrufe/neu", data=call_form(submission_deadline="2026-03-29T02:30", title="Mein Titel"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Diese Uhrzeit gibt es am 29.03.2026 wegen der Umstellung auf Sommerzeit nicht" in page
    assert 'value="2026-03-29T02:30"' in page and 'value="Mein Titel"' in page
    assert 'class="error-summary"' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Call)) == 0


def test_deadlines_out_of_order_show_the_message_next_to_the_field(client, officer, clock) -> None:  # type: ignore[no-untyped-def]
    login(client, officer)
    response = client.post("/verwaltung/aufrufe/neu", data=call_form(question_deadline=local(now() + timedelta(days=25))))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="question_deadline-error"' in page and "mindestens 6 Tage vor der Frist" in page


def test_criterion_form_shows_the_running_total_and_refuses_overflow(client, officer, clock) -> None:  # type: ignore[no-untyped-def]
    call = make_call(criteria=False)
    login(client, officer)
    client.post(f"/verwaltung/aufrufe/{call.id}/kriterien/neu", data={"kind": "scored", "lot_id": "", "code": "K1", "title": "A", "weight": "70"})
    page = client.get(f"/verwaltung/aufrufe/{call.id}/kriterien/neu").get_data(as_text=True)
    assert "Summe der übrigen Gewichte: 70 %. Noch verfügbar: 30 %." in page
    response = client.post(f"/verwaltung/aufrufe/{call.id}/kriterien/neu",
                           data={"kind": "scored", "lot_id": "", "code": "K2", "title": "B", "weight": "40,5"})
    assert response.status_code == 422
    assert "Mit diesem Gewicht wäre die Summe 110,5 %" in response.get_data(as_text=True)


def test_crafted_post_to_change_published_criteria_is_refused_and_recorded(client, officer, clock) -> None:  # type: ignore[no-untyped-def]
    call = make_call(published=True)
    k1 = next(c for c in call.criteria if c.code == "K1")
    login(client, officer)
    response = client.post(f"/verwaltung/aufrufe/{call.id}/kriterien/{k1.id}",
                           data={"kind": "scored", "lot_id": "", "code": "K1", "title": "A", "weight": "99"})
    assert response.status_code == 303
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "nur über eine Änderungsbekanntmachung möglich" in follow
    assert db.session.get(Criterion, k1.id).weight == Decimal(30)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "call.change_refused"))
    assert event is not None and not event.public and event.actor_id == officer.id


def test_document_upload_refuses_a_file_that_is_not_a_pdf(client, officer, clock) -> None:  # type: ignore[no-untyped-def]
    call = make_call()
    login(client, officer)
    response = client.post(f"/verwaltung/aufrufe/{call.id}/dokumente/neu", content_type="multipart/form-data",
                           data={"title": "Programm", "lot_id": "", "file": (io.BytesIO(exe_bytes()), "programm.pdf")})
    assert response.status_code == 422
    assert "Die Datei ist keine PDF-Datei" in response.get_data(as_text=True)
    response = client.post(f"/verwaltung/aufrufe/{call.id}/dokumente/neu", content_type="multipart/form-data",
                           data={"title": "Konzept", "lot_id": "", "file": (io.BytesIO(valid_pdf()), "Konzept.pdf")})
    assert response.status_code == 303


def test_oversized_upload_gets_a_german_page(client, officer, clock, app) -> None:  # type: ignore[no-untyped-def]
    call = make_call()
    app.config["MAX_CONTENT_LENGTH"] = 2000
    login(client, officer)
    response = client.post(f"/verwaltung/aufrufe/{call.id}/dokumente/neu", content_type="multipart/form-data",
                           data={"title": "Groß", "lot_id": "", "file": (io.BytesIO(valid_pdf(pages=20)), "gross.pdf")})
    assert response.status_code == 413
    assert "Datei zu groß" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/verwaltung/aufrufe/", "/verwaltung/aufrufe/neu"])
def test_officer_pages_are_refused_to_bidders_and_the_link_is_hidden(client, bidder, path) -> None:  # type: ignore[no-untyped-def]
    login(client, bidder)
    assert client.get(path).status_code == 403
    assert "/verwaltung/aufrufe" not in client.get("/aufrufe/").get_data(as_text=True)


def test_drafts_are_not_public(client, clock) -> None:  # type: ignore[no-untyped-def]
    call = make_call()
    assert client.get(f"/aufrufe/{call.reference}").status_code == 404
    assert call.title not in client.get("/aufrufe/").get_data(as_text=True)


def test_a_public_call_links_its_open_data_and_a_draft_does_not(client, officer, clock) -> None:  # type: ignore[no-untyped-def]
    call = make_call(published=True)
    page = client.get(f"/aufrufe/{call.reference}").get_data(as_text=True)
    links = {
        f"/open-data/ocds/{call.reference}/releases.json": "Offene Daten: alle Veröffentlichungen als OCDS-Releases (JSON)",
        f"/open-data/ocds/{call.reference}/record.json": "Offene Daten: aktueller Stand als OCDS-Record (JSON)",
    }
    for url, text in links.items():
        assert f'<a href="{url}" type="application/json">{text}</a>' in page
        data = client.get(url)
        assert data.status_code == 200 and call.reference in data.json["uri"]
    client.get("/sprache/en")
    english = client.get(f"/aufrufe/{call.reference}").get_data(as_text=True)
    assert "Open data: every release as OCDS releases (JSON)" in english
    assert "Open data: current state as an OCDS record (JSON)" in english
    client.get("/sprache/de")
    draft = make_call()
    login(client, officer)
    page = client.get(f"/aufrufe/{draft.reference}").get_data(as_text=True)
    assert "Entwurf" in page and "/open-data/ocds/" not in page
    assert client.get(f"/open-data/ocds/{draft.reference}/releases.json").status_code == 404


def test_markdown_with_script_and_iframe_is_sanitised(client, clock) -> None:  # type: ignore[no-untyped-def]
    call = make_call(published=True, description="Hallo <script>alert(1)</script>\n\n<iframe src='https://evil.example'></iframe>\n\n**fett**")
    page = client.get(f"/aufrufe/{call.reference}").get_data(as_text=True)
    assert "<script>alert" not in page and "<iframe" not in page
    assert "<strong>fett</strong>" in page


def test_public_page_shows_answers_without_the_askers_name(client, bidder, organisation, clock) -> None:  # type: ignore[no-untyped-def]
    call = make_call(published=True)
    make_question(call, organisation, bidder, text="Originaltext mit Caritas", public_text="Anonymisierte Frage", answer="Die Antwort.")
    make_question(call, organisation, bidder, text="Noch offen")
    page = client.get(f"/aufrufe/{call.reference}").get_data(as_text=True)
    assert "Anonymisierte Frage" in page and "Die Antwort." in page
    assert "Noch offen" not in page and "Originaltext" not in page
    assert organisation.name not in page and bidder.name not in page
    feed = client.get(f"/aufrufe/{call.reference}/feed.atom").get_data(as_text=True)
    assert organisation.name not in feed and "Anonymisierte Frage" in feed


def test_bidder_asks_through_the_form_until_the_question_deadline(client, bidder, organisation, clock) -> None:  # type: ignore[no-untyped-def]
    call = make_call(published=True)
    login(client, bidder)
    assert "Frage stellen" in client.get(f"/aufrufe/{call.reference}").get_data(as_text=True)
    response = client.post(f"/aufrufe/{call.reference}/fragen/neu", data={"organisation_id": organisation.id, "text": "Gilt Los 2 auch für X?"})
    assert response.status_code == 303
    clock.set(call.question_deadline + timedelta(seconds=1))
    response = client.post(f"/aufrufe/{call.reference}/fragen/neu", data={"organisation_id": organisation.id, "text": "Zu spät?"})
    assert response.status_code == 422
    assert "Die Frist für Fragen ist am" in response.get_data(as_text=True)
    assert "Frage stellen" not in client.get(f"/aufrufe/{call.reference}").get_data(as_text=True)


def test_list_filters_by_state_region_and_search(client, clock) -> None:  # type: ignore[no-untyped-def]
    a = make_call(published=True, title="Alpha Beratung")
    b = make_call(published=True, title="Beta Beratung", state=CallState.CANCELLED, cancel_reason="x", cancelled_at=now())
    b.lots[0].region = "Wittgenstein"
    db.session.commit()
    def titles(query: str) -> list[str]:
        page = client.get(f"/aufrufe/?{query}").get_data(as_text=True)
        return [t for t in (a.title, b.title) if t in page]
    assert titles("") == [a.title, b.title]
    assert titles("status=offen") == [a.title]
    assert titles("status=aufgehoben") == [b.title]
    assert titles("region=Wittgenstein") == [b.title]
    assert titles(f"q={a.reference.lower()}") == [a.title]


def test_follow_and_unfollow(client, bidder, clock) -> None:  # type: ignore[no-untyped-def]
    call = make_call(published=True)
    login(client, bidder)
    client.post(f"/aufrufe/{call.reference}/folgen", data={"action": "follow"})
    assert "Nicht mehr folgen" in client.get(f"/aufrufe/{call.reference}").get_data(as_text=True)
    client.post(f"/aufrufe/{call.reference}/folgen", data={"action": "unfollow"})
    assert "Aufruf folgen" in client.get(f"/aufrufe/{call.reference}").get_data(as_text=True)


def test_atom_feeds_and_icalendar_parse(client, officer, bidder, organisation, clock) -> None:  # type: ignore[no-untyped-def]
    from portal.calls.amendments import amend_call

    call = make_call(published=True)
    make_question(call, organisation, bidder, answer="Ja.")
    amend_call(call, changes={"call.contact": "Neu"}, reason="Neuer Kontakt", by=officer)
    db.session.commit()
    parsed = feedparser.parse(client.get("/aufrufe/feed.atom").data)
    assert not parsed.bozo and parsed.version == "atom10"
    titles = [e.title for e in parsed.entries]
    assert f"Neuer Aufruf: {call.title}" in titles
    assert f"Änderungsbekanntmachung Nr. 1 zu {call.reference}" in titles
    assert f"Antwort auf Frage 1 zu {call.reference}" in titles
    one = feedparser.parse(client.get(f"/aufrufe/{call.reference}/feed.atom").data)
    assert not one.bozo and len(one.entries) == 3
    response = client.get(f"/aufrufe/{call.reference}/termine.ics")
    assert response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    starts = {str(e["summary"]): e.decoded("dtstart") for e in calendar.walk("VEVENT")}
    assert starts[f"Frist für Interessenbekundungen: {call.reference}"] == call.submission_deadline
    assert starts[f"Frist für Fragen: {call.reference}"] == call.question_deadline


def count_queries(client: Any, url: str) -> int:
    statements: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    return len(statements)


def test_public_pages_issue_a_fixed_number_of_queries(app, client, bidder, organisation, clock) -> None:  # type: ignore[no-untyped-def]
    app.extensions["page_store"] = None  # count the rendering (the factories below write no audit events)

    def populate(n: int) -> Call:
        last = None
        for _ in range(n):
            last = make_call(published=True, lots=n // 2 + 1)
            for i in range(n):
                make_question(last, organisation, bidder, answer=f"Antwort {i}")
        assert last is not None
        return last

    small = populate(2)
    urls = ["/aufrufe/", "/aufrufe/?status=offen&region=Region+1&q=aufruf", "/aufrufe/feed.atom", "/"]
    before = {url: count_queries(client, url) for url in urls}
    before["call"] = count_queries(client, f"/aufrufe/{small.reference}")
    before["feed"] = count_queries(client, f"/aufrufe/{small.reference}/feed.atom")
    big = populate(20)
    after = {url: count_queries(client, url) for url in urls}
    after["call"] = count_queries(client, f"/aufrufe/{big.reference}")
    after["feed"] = count_queries(client, f"/aufrufe/{big.reference}/feed.atom")
    assert after == before


def test_a_draft_cannot_be_cancelled_only_a_published_call(client, officer) -> None:  # type: ignore[no-untyped-def]
    """A draft was never public; "Aufhebung" is a public act for published calls."""
    from portal.calls import services
    from portal.core.errors import Refused

    client.get("/sprache/de")
    draft = make_call()
    login(client, officer)
    assert "Aufruf aufheben" not in client.get(f"/verwaltung/aufrufe/{draft.id}").get_data(as_text=True)
    assert client.post(f"/verwaltung/aufrufe/{draft.id}/aufheben", data={"reason": "Doch nicht."}).status_code == 403
    with pytest.raises(Refused):
        services.cancel_call(draft, reason="Doch nicht.", by=officer)
    db.session.rollback()
    assert db.session.get(Call, draft.id).state == CallState.DRAFT
    published = make_call(published=True)
    assert "Aufruf aufheben" in client.get(f"/verwaltung/aufrufe/{published.id}").get_data(as_text=True)
