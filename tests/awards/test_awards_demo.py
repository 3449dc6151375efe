"""The demo leaves an awarded call with its public notice, letters (with an answered objection) and record."""
from __future__ import annotations

from typing import Any

from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import select

from portal.awards.models import AwardNotice, InformationLetter, LetterKind, Objection, ObjectionState
from portal.calls.models import Call, CallState
from portal.demo import load_demo
from portal.extensions import db
from tests.conftest import login


def test_demo_has_an_awarded_call_with_notice_letters_and_record(app: Any, client: Any) -> None:
    with force_locale("de"):
        ctx = load_demo()
    call = db.session.scalar(select(Call).where(Call.reference.like("KIM-%-VERGEBEN")))
    assert call is not None and call.state == CallState.AWARDED
    notice = db.session.scalar(select(AwardNotice).where(AwardNotice.call_id == call.id))
    assert [lot["winners"][0]["organisation"] for lot in notice.data["lots"]] == [ctx.objects["caritas"].name] * 2
    # Each reviewer wrote their own justifications: no reason on the notice repeats one (as "A | A" or in another lot).
    reasons = [part for lot in notice.data["lots"] for winner in lot["winners"] for score in winner["scores"]
               for part in score["reason"].split(" | ")]
    assert len(reasons) == 2 * 2 * 5 and len(set(reasons)) == len(reasons)
    page = client.get(f"/vergaben/{call.reference}")
    assert page.status_code == 200 and ctx.objects["caritas"].name in page.text
    assert all(page.text.count(escape(reason)) == 1 for reason in reasons)
    assert ctx.objects["diakonie"].name not in page.text
    kinds = [letter.kind for letter in db.session.scalars(select(InformationLetter).where(InformationLetter.call_id == call.id))]
    assert kinds.count(LetterKind.INFORMATION) == 2 and kinds.count(LetterKind.OBJECTION_ANSWER) == 1
    assert db.session.scalar(select(Objection)).state == ObjectionState.REJECTED
    login(client, ctx.objects["diakonie_member"])
    assert "Antwort auf Ihre Rüge" in client.get("/mitteilungen/").text
    login(client, ctx.objects["officer"])
    record = client.get(f"/verwaltung/vergabe/{call.reference}/vergabevermerk")
    assert record.status_code == 200 and "Vergabebekanntmachung veröffentlicht" in record.text
