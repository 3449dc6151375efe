"""Consultation pages over HTTP: public view, commenting forms, moderation, evaluation, report."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

from portal.consultation import services
from portal.consultation.models import ConsultationState, HideReason
from portal.extensions import db
from tests.conftest import login
from tests.factories_consultation import make_comment, make_consultation
from tests.pdf_samples import encrypted_pdf


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def test_public_list_and_page_show_period_and_who_may_comment(client, consultation, officer) -> None:  # type: ignore[no-untyped-def]
    draft = make_consultation(officer, state=ConsultationState.DRAFT, title="Geheimer Entwurf")
    page = _text(client.get("/beteiligung/"))
    assert consultation.title in page and "Geheimer Entwurf" not in page
    assert client.get(f"/beteiligung/{draft.id}").status_code == 404
    page = _text(client.get(f"/beteiligung/{consultation.id}"))
    assert page.count("<h1") == 1
    assert "Frist für Stellungnahmen" in page and "Die Frist läuft." in page
    assert "Kreistagsfraktion" in page and "melden Sie sich bitte an" in page
    assert "2.1 Steuerung" in page


def test_list_filters_by_state(client, consultation, officer) -> None:  # type: ignore[no-untyped-def]
    make_consultation(officer, state=ConsultationState.EVALUATED, title="Abgewogenes Verfahren")
    assert "Abgewogenes Verfahren" not in _text(client.get("/beteiligung/?status=offen"))
    page = _text(client.get("/beteiligung/?status=abgewogen"))
    assert "Abgewogenes Verfahren" in page and consultation.title not in page


def test_comment_form_posts_and_escapes_html(client, consultation, bidder, organisation) -> None:  # type: ignore[no-untyped-def]
    login(client, bidder)
    form = _text(client.get(f"/beteiligung/{consultation.id}/stellungnehmen?abschnitt=2"))
    assert organisation.name in form
    response = client.post(
        f"/beteiligung/{consultation.id}/stellungnehmen",
        data={"section": "2", "author": f"org-{organisation.id}", "body": "<script>alert('x')</script><b>fett</b>"},
    )
    assert response.status_code == 302
    page = _text(client.get(f"/beteiligung/{consultation.id}"))
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;b&gt;fett" in page
    assert organisation.name in page


def test_form_errors_keep_the_input(client, consultation, bidder, organisation) -> None:  # type: ignore[no-untyped-def]
    login(client, bidder)
    long_text = "Sehr lang " * 600
    response = client.post(
        f"/beteiligung/{consultation.id}/stellungnehmen",
        data={"section": "1", "author": f"org-{organisation.id}", "body": long_text},
    )
    assert response.status_code == 422
    page = _text(response)
    assert "error-summary" in page and "höchstens 5000 Zeichen" in page
    assert long_text.strip()[:100] in page
    response = client.post(f"/beteiligung/{consultation.id}/stellungnehmen",
                           data={"section": "1", "author": f"org-{organisation.id}", "body": ""})
    assert response.status_code == 422 and "Bitte geben Sie den Text" in _text(response)


def test_foreign_organisation_and_bad_pdf_are_refused_at_the_field(client, consultation, bidder, organisation2) -> None:  # type: ignore[no-untyped-def]
    login(client, bidder)
    response = client.post(f"/beteiligung/{consultation.id}/stellungnehmen",
                           data={"section": "", "author": f"org-{organisation2.id}", "body": "Fremd"})
    assert response.status_code == 422 and "der Sie angehören" in _text(response)
    response = client.post(
        f"/beteiligung/{consultation.id}/stellungnehmen",
        data={"section": "", "author": "person", "body": "Mit PDF",
              "attachment": (io.BytesIO(encrypted_pdf()), "s.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422


def test_commenting_after_the_period_over_http(client, consultation, clock, bidder, organisation) -> None:  # type: ignore[no-untyped-def]
    clock.set(consultation.closes_at + timedelta(seconds=1))
    login(client, bidder)
    response = client.post(f"/beteiligung/{consultation.id}/stellungnehmen",
                           data={"section": "1", "author": f"org-{organisation.id}", "body": "Zu spät"})
    assert response.status_code == 422 and "abgelaufen" in _text(response)
    assert not consultation.comments


def test_edit_link_only_within_window_and_only_for_the_author(client, consultation, clock, bidder, bidder2, organisation) -> None:  # type: ignore[no-untyped-def]
    comment = make_comment(consultation, bidder, organisation=organisation)
    login(client, bidder2)
    assert f"/stellungnahme/{comment.id}/bearbeiten" not in _text(client.get(f"/beteiligung/{consultation.id}"))
    assert client.post(f"/beteiligung/stellungnahme/{comment.id}/bearbeiten", data={"body": "fremd"}).status_code == 403
    login(client, bidder)
    assert f"/stellungnahme/{comment.id}/bearbeiten" in _text(client.get(f"/beteiligung/{consultation.id}"))
    assert client.post(f"/beteiligung/stellungnahme/{comment.id}/bearbeiten", data={"body": "Neu"}).status_code == 302
    clock.advance(minutes=16)
    assert f"/stellungnahme/{comment.id}/bearbeiten" not in _text(client.get(f"/beteiligung/{consultation.id}"))
    response = client.post(f"/beteiligung/stellungnahme/{comment.id}/bearbeiten", data={"body": "Zu spät"})
    assert response.status_code == 422 and "15 Minuten" in _text(response)
    assert comment.body == "Neu"


def test_withdrawn_comment_shows_as_zurueckgezogen(client, consultation, bidder, organisation) -> None:  # type: ignore[no-untyped-def]
    comment = make_comment(consultation, bidder, organisation=organisation, body="Meine geheime Meinung")
    login(client, bidder)
    assert client.post(f"/beteiligung/stellungnahme/{comment.id}/zurueckziehen").status_code == 302
    page = _text(client.get(f"/beteiligung/{consultation.id}"))
    assert "zurückgezogen" in page and "Meine geheime Meinung" not in page
    assert f'id="{comment.anchor}"' in page


def test_hiding_over_http_needs_reason_and_notifies(client, consultation, officer, bidder, organisation, smtp_server) -> None:  # type: ignore[no-untyped-def]
    comment = make_comment(consultation, bidder, organisation=organisation, body="Unsachlich")
    login(client, bidder)
    assert client.get(f"/beteiligung/stellungnahme/{comment.id}/ausblenden").status_code == 403
    login(client, officer)
    response = client.post(f"/beteiligung/stellungnahme/{comment.id}/ausblenden", data={"reason": "", "note": ""})
    assert response.status_code == 422 and "Grund aus der Liste" in _text(response)
    assert not comment.is_hidden
    response = client.post(f"/beteiligung/stellungnahme/{comment.id}/ausblenden",
                           data={"reason": HideReason.OFF_TOPIC.value, "note": "Betrifft ein anderes Verfahren."})
    assert response.status_code == 302
    page = _text(client.get(f"/beteiligung/{consultation.id}"))
    assert "Kein Bezug zum Entwurf" in page and "Betrifft ein anderes Verfahren." in page and "Unsachlich" not in page
    mails = smtp_server.to(bidder.email)
    assert len(mails) == 1 and f"#kommentar-{comment.id}" in smtp_server.text(mails[0])


def test_unhiding_over_http_needs_a_reason_and_the_csrf_token(app, client, consultation, officer, bidder, organisation, smtp_server) -> None:  # type: ignore[no-untyped-def]
    comment = make_comment(consultation, bidder, organisation=organisation, body="Sachlicher Hinweis zu Abschnitt 1")
    services.hide_comment(comment, by=officer, reason=HideReason.INSULT, note="Versehentlich als beleidigend markiert.")
    db.session.commit()
    url = f"/beteiligung/stellungnahme/{comment.id}/einblenden"
    assert client.get(url).status_code == 302  # to the sign-in
    login(client, bidder)
    assert client.get(url).status_code == 403
    assert client.post(url, data={"reason": "Bitte wieder zeigen."}).status_code == 403
    assert "Wieder einblenden" not in _text(client.get(f"/beteiligung/{consultation.id}"))
    login(client, officer)
    page = _text(client.get(f"/beteiligung/{consultation.id}"))
    assert f'href="{url}">Wieder einblenden<span class="visually-hidden"> (Nr. {comment.id})</span>' in page
    form = _text(client.get(url))
    assert "Sachlicher Hinweis zu Abschnitt 1" in form and "Versehentlich als beleidigend markiert." in form
    response = client.post(url, data={"reason": "  "})
    assert response.status_code == 422 and "error-summary" in _text(response)
    assert 'id="reason-error"' in _text(response) and "warum die Stellungnahme wieder eingeblendet wird" in _text(response)
    assert comment.is_hidden
    # With CSRF switched on (as in production) a post without the token is refused and changes nothing.
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(url, data={"reason": "Die Markierung war ein Versehen."})
    assert response.status_code == 400 and comment.is_hidden
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', _text(client.get(url))).group(1)
    response = client.post(url, data={"reason": "Die Markierung war ein Versehen.", "csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert comment.is_visible
    page = _text(client.get(f"/beteiligung/{consultation.id}"))
    assert "Sachlicher Hinweis zu Abschnitt 1" in page and "Von der Vergabestelle ausgeblendet" not in page
    assert "Die Stellungnahme ist wieder eingeblendet" in page
    mails = smtp_server.to(bidder.email)
    assert any("Die Markierung war ein Versehen." in smtp_server.text(m) for m in mails)


def test_evaluation_report_and_mails(client, consultation, clock, officer, bidder, organisation, council_member, smtp_server) -> None:  # type: ignore[no-untyped-def]
    a = make_comment(consultation, bidder, section="3", organisation=organisation, body="Mehr Stellen bitte")
    b = make_comment(consultation, council_member, section="1", council_group="SPD-Fraktion", body="Zielgruppe beteiligen")
    clock.set(consultation.closes_at)
    login(client, officer)
    client.post(f"/beteiligung/{consultation.id}/status", data={"ziel": "closed"})
    assert consultation.state == ConsultationState.CLOSED
    client.post(f"/beteiligung/stellungnahme/{a.id}/abwaegung", data={"state": "adopted", "reason": "Wird umgesetzt."})
    response = client.post(f"/beteiligung/{consultation.id}/status", data={"ziel": "evaluated"}, follow_redirects=True)
    assert "jede Stellungnahme eine Antwort" in _text(response)
    assert consultation.state == ConsultationState.CLOSED
    # The public does not see drafted responses.
    client.get("/")
    with client.session_transaction() as s:
        s.clear()
    assert "Wird umgesetzt." not in _text(client.get(f"/beteiligung/{consultation.id}"))
    login(client, officer)
    client.post(f"/beteiligung/stellungnahme/{b.id}/abwaegung", data={"state": "noted", "reason": "Wird geprüft."})
    client.post(f"/beteiligung/{consultation.id}/status", data={"ziel": "evaluated"})
    assert consultation.state == ConsultationState.EVALUATED
    assert len(smtp_server.to(bidder.email)) == 1 and len(smtp_server.to(council_member.email)) == 1
    assert f"#kommentar-{a.id}" in smtp_server.text(smtp_server.to(bidder.email)[0])
    page = _text(client.get(f"/beteiligung/{consultation.id}?antwort=adopted"))
    assert "Wird umgesetzt." in page and "Zielgruppe beteiligen" not in page
    client.post(f"/beteiligung/{consultation.id}/status", data={"ziel": "report_published"})
    with client.session_transaction() as s:
        s.clear()
    report = _text(client.get(f"/beteiligung/{consultation.id}/bericht"))
    assert "Mehr Stellen bitte" in report and "übernommen" in report
    rows = list(csv.reader(io.StringIO(_text(client.get(f"/beteiligung/{consultation.id}/bericht.csv")).lstrip("\ufeff"))))
    assert rows[0][:4] == ["comment_id", "reply_to", "section", "author_type"]
    assert {r[0] for r in rows[1:]} == {str(a.id), str(b.id)}
    pdf = client.get(f"/beteiligung/{consultation.id}/bericht.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_report_hidden_until_evaluated(client, consultation) -> None:  # type: ignore[no-untyped-def]
    assert client.get(f"/beteiligung/{consultation.id}/bericht").status_code == 404


def test_officer_creates_from_markdown_and_refuses_dst_gap(client, officer, clock) -> None:  # type: ignore[no-untyped-def]
    login(client, officer)
    data = {"title": "Neues Konzept", "summary": "", "source": "# Ziele\nA\n# Wege\nB",
            "opens_at": "2026-03-29T02:30", "closes_at": "2026-04-10T12:00", "allow_organisations": "y"}
    response = client.post("/beteiligung/neu", data=data)
    assert response.status_code == 422 and "Sommerzeit" in _text(response)
    data["opens_at"] = "2026-03-10T09:00"
    response = client.post("/beteiligung/neu", data=data)
    assert response.status_code == 302
    from portal.consultation.models import Consultation

    created = db.session.query(Consultation).filter_by(title="Neues Konzept").one()
    assert [s.number for s in created.first_version.sections] == ["1", "2"]
    assert client.post(f"/beteiligung/{created.id}/status", data={"ziel": "open"}).status_code == 302
    assert created.state == ConsultationState.OPEN


def test_versions_page_shows_accessible_difference(client, consultation, clock, officer) -> None:  # type: ignore[no-untyped-def]
    clock.set(consultation.closes_at)
    services.close_consultation(consultation, by=officer)
    services.publish_version(consultation, by=officer, note="Geschärft.",
                             source=consultation.first_version.source.replace("vierteljährlich", "monatlich"))
    db.session.commit()
    page = _text(client.get(f"/beteiligung/{consultation.id}/fassung/2"))
    assert "<del>vierteljährlich</del>" in page and "<ins>monatlich</ins>" in page
    side = _text(client.get(f"/beteiligung/{consultation.id}/fassung/2?ansicht=nebeneinander"))
    assert "Fassung 1" in side and "monatlich" in side


def test_respond_page_forbidden_for_non_officers(client, consultation, bidder, organisation) -> None:  # type: ignore[no-untyped-def]
    comment = make_comment(consultation, bidder, organisation=organisation)
    login(client, bidder)
    assert client.get(f"/beteiligung/stellungnahme/{comment.id}/abwaegung").status_code == 403
    assert client.post(f"/beteiligung/{consultation.id}/status", data={"ziel": "closed"}).status_code == 403


def test_start_page_lists_open_consultation(client, consultation) -> None:  # type: ignore[no-untyped-def]
    assert consultation.title in _text(client.get("/"))

