"""Review progress and award decisions in the council view: figures only, names and scores after the notice."""
from __future__ import annotations

import re
from typing import Any

from portal.awards import services as award_services
from portal.extensions import db
from portal.review import services as review_services
from tests.conftest import login
from tests.factories_awards import ORGANISATIONS, decide, reviewed_call


def _section(client: Any, observer: Any, call: Any) -> str:
    login(client, observer)
    page = client.get("/kreistag/").get_data(as_text=True)
    return page.split(call.title, 1)[1].split("</article>", 1)[0]


def _facts(section: str) -> dict[str, str]:
    pairs = re.findall(r"<dt>([^<]*)</dt>\s*<dd>(.*?)</dd>", section, re.S)
    return {" ".join(dt.split()): " ".join(dd.split()) for dt, dd in pairs}


def _no_secrets(text: str) -> None:
    for name in ORGANISATIONS:
        assert name not in text
    assert "Punkte" not in text and "Nachweis liegt vor" not in text  # no scores, no reasons


def test_review_progress_as_figures(client, observer, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    call, _bids = reviewed_call(clock, officer, officer2, close=False)
    facts = _facts(_section(client, observer, call))
    assert facts["Los 1: Gutachterinnen und Gutachter"] == "2"
    assert facts["Los 1: Erklärungen zur Befangenheit"] == "9, davon 0 mit Befangenheit"  # 2 reviewers and the chair × 3 bids
    assert facts["Los 1: Bewertungen abgegeben"] == "2 von 2 (offen: 0)"
    assert facts["Los 1: Konsolidierung"] == "offen"
    assert "Entscheidung" not in " ".join(facts)
    review_services.close_consolidation(call.lots[0], by=next(iter(_chair(call))))
    db.session.commit()
    section = _section(client, observer, call)
    assert _facts(section)["Los 1: Konsolidierung"] == "abgeschlossen"
    _no_secrets(section)


def _chair(call: Any) -> list[Any]:
    from sqlalchemy import select

    from portal.review.models import PanelRole, ReviewAssignment

    return [a.user for a in db.session.scalars(select(ReviewAssignment).where(
        ReviewAssignment.call_id == call.id, ReviewAssignment.role == PanelRole.CHAIR))]


def test_decisions_after_approval_names_and_scores_only_after_the_notice(client, observer, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    call, _bids = reviewed_call(clock, officer, officer2)
    decision = award_services.propose_award(call.lots[0], by=officer)
    db.session.commit()
    section = _section(client, observer, call)
    assert "Entscheidungen" not in section  # a proposal is not a decision
    award_services.approve_award(decision, by=officer2)
    db.session.commit()
    section = _section(client, observer, call)
    facts = _facts(section)
    assert facts["Los 1: Entscheidung"].startswith("Vergabe, freigegeben am ")
    assert "Stillhaltefrist bis" in facts
    assert "Zuschlag an" not in " ".join(facts)
    _no_secrets(section)
    login(client, observer)
    pdf = client.get("/kreistag/statusbericht.pdf")
    assert pdf.status_code == 200
    clock.set(award_services.current_round(call).standstill_ends_at)
    award_services.finalise_due_awards()
    db.session.commit()
    facts = _facts(_section(client, observer, call))
    assert facts["Los 1: Zuschlag an"] == "Caritasverband Siegen e. V. (81 Punkte)"
    assert "Vergabebekanntmachung" in facts
    for loser in ORGANISATIONS[1:]:
        assert loser not in str(facts)


def test_no_award_is_shown_as_such(client, observer, clock, officer, officer2) -> None:  # type: ignore[no-untyped-def]
    call, _bids = reviewed_call(clock, officer, officer2)
    decide(call, officer, officer2, no_award=True, no_award_reason="Keine der Bewerbungen deckt den Bedarf im Sozialraum.",
           deviation_reason="Der Kreistag hat die Mittel für diesen Sozialraum gestrichen.")
    facts = _facts(_section(client, observer, call))
    assert facts["Los 1: Entscheidung"].startswith("keine Vergabe, freigegeben am ")
    assert facts["Los 1: Abweichung von der Rangfolge"] == "ja"
