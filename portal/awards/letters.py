"""Letters to bidding organisations: information (§ 134 GWB), cancellation, answer to an objection.

A letter's `content` is plain JSON written once when it is issued; the portal
page, the PDF (kept with the letter) and the e-mail are all rendered from it,
so the three never disagree. Letters are official documents and are written
in German; the e-mail around them follows the recipient's language.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale, format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts.models import Organisation, Role, User, UserRole
from portal.audit.services import to_jsonable
from portal.awards import ranking
from portal.awards.models import AwardDecision, AwardRound, InformationLetter, LetterDelivery, LetterKind, Objection
from portal.awards.standstill import standstill_last_day
from portal.calls.models import Call
from portal.core.i18n import current_language
from portal.core.pdfgen import render_pdf
from portal.core.time import now
from portal.extensions import db
from portal.mail.services import queue_mail

TITLES = {
    LetterKind.INFORMATION: "Information über die beabsichtigte Vergabe",
    LetterKind.CANCELLATION: "Mitteilung über die Aufhebung des Aufrufs",
    LetterKind.OBJECTION_ANSWER: "Antwort auf Ihre Rüge",
}


def parse_time(value: str | None) -> datetime | None:
    """A time from a letter's or notice's JSON (written by `to_jsonable`)."""
    return datetime.fromisoformat(value) if value else None


def as_decimal(value: str | None) -> Decimal | None:
    """A decimal string from a letter's or notice's JSON, for the `number` filter."""
    return None if value in (None, "") else Decimal(value)


def iso_date(value: str | None) -> str:
    """A date ("2026-12-17") from JSON, formatted for the reader's language."""
    if not value:
        return ""
    return format_date(date.fromisoformat(value), "dd.MM.yyyy" if current_language() == "de" else "d MMM yyyy")


def _call_part(call: Call) -> dict[str, Any]:
    return {"reference": call.reference, "title": call.title}


def information_content(call: Call, organisation: Organisation, decisions: dict[int, AwardDecision],
                        award_round: AwardRound) -> dict[str, Any]:
    """What the letter to `organisation` says: per bid, won or not, winners, own scores, rank, reasons, standstill end."""
    bids = []
    for lot in call.lots:
        decision = decisions[lot.id]
        snap = decision.ranking
        own = next((e for e in snap["entries"] if e["organisation_id"] == organisation.id), None)
        if own is None:
            continue
        winners = [w.bid_id for w in decision.winners]
        eligible = ranking.eligible(snap)
        bids.append({
            "lot_number": lot.number,
            "lot_title": lot.title,
            "won": own["bid_id"] in winners,
            "outcome": decision.outcome,
            "no_award_reason": decision.no_award_reason,
            "winners": [w.organisation.name for w in decision.winners],
            "rank": own["rank"],
            "eligible_count": len(eligible),
            "total": own["total"],
            "excluded": own["excluded"],
            "exclusion_reason": own["exclusion_reason"],
            "tie_note": own["tie_note"],
            "criteria": own["criteria"],
            "deviates": decision.deviates,
            "deviation_reason": decision.deviation_reason,
            "revision_reason": decision.revision_reason,
        })
    return to_jsonable({
        "call": _call_part(call),
        "organisation": organisation.name,
        "round": award_round.number,
        "revision_reason": award_round.reason,
        "sent_at": award_round.letters_sent_at,
        "scale_max": call.scale_max,
        "formula_text": call.formula_text,
        "standstill_days": award_round.standstill_days,
        "standstill_last_day": standstill_last_day(award_round.letters_sent_at, award_round.standstill_days),
        "standstill_ends_at": award_round.standstill_ends_at,
        "bids": bids,
    })


def cancellation_content(call: Call, organisation: Organisation) -> dict[str, Any]:
    return to_jsonable({
        "call": _call_part(call), "organisation": organisation.name, "sent_at": now(),
        "cancelled_at": call.cancelled_at, "reason": call.cancel_reason,
    })


def objection_answer_content(objection: Objection) -> dict[str, Any]:
    return to_jsonable({
        "call": _call_part(objection.call), "organisation": objection.organisation.name, "sent_at": now(),
        "lodged_at": objection.lodged_at, "objection": objection.text, "upheld": objection.state.value == "upheld",
        "answer": objection.answer, "answered_at": objection.answered_at,
    })


def letter_pdf(kind: LetterKind, content: dict[str, Any]) -> bytes:
    with force_locale("de"):
        html = render_template("awards/letter_pdf.html", kind=kind.value, c=content, title=TITLES[kind],
                               district_name=current_app.config["DISTRICT_NAME"])
    return render_pdf(html, title=f"{TITLES[kind]} – {content['call']['reference']}")


def issue_letter(call: Call, organisation: Organisation, kind: LetterKind, content: dict[str, Any], *,
                 award_round: AwardRound | None = None) -> InformationLetter:
    """Keep the letter with its PDF and e-mail it to every active member of the organisation."""
    pdf = letter_pdf(kind, content)
    letter = InformationLetter(
        call_id=call.id, round_id=award_round.id if award_round else None, organisation_id=organisation.id,
        kind=kind, created_at=now(), content=content, pdf=pdf, pdf_sha256=hashlib.sha256(pdf).hexdigest(),
    )
    db.session.add(letter)
    db.session.flush()
    url = current_app.config["PORTAL_BASE_URL"].rstrip("/") + f"/mitteilungen/{letter.id}"
    for user in organisation.active_members:
        mail = queue_mail(user.email, _subject(kind, call),
                          "awards/letter", locale=user.locale or "de", greeting=_l("Guten Tag %(name)s,", name=user.name),
                          kind=kind.value, c=content, url=url)
        letter.deliveries.append(LetterDelivery(mail_id=mail.id, to_address=user.email))
    db.session.flush()
    return letter


def _subject(kind: LetterKind, call: Call) -> Any:
    if kind == LetterKind.INFORMATION:
        return _l("Information über die Vergabe zum Aufruf %(ref)s (§ 134 GWB)", ref=call.reference)
    if kind == LetterKind.CANCELLATION:
        return _l("Aufhebung des Aufrufs %(ref)s", ref=call.reference)
    return _l("Antwort auf Ihre Rüge zum Aufruf %(ref)s", ref=call.reference)


def notify_officers_of_objection(objection: Objection) -> int:
    """Tell the officers that an objection came in and needs an answer before the call can become final."""
    officers = db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id).where(UserRole.role == Role.OFFICER, User.active.is_(True))
        .order_by(User.id)
    ).all()
    url = current_app.config["PORTAL_BASE_URL"].rstrip("/") + f"/verwaltung/vergabe/{objection.call.reference}#ruegen"
    for officer in officers:
        queue_mail(officer.email, _l("Neue Rüge zum Aufruf %(ref)s", ref=objection.call.reference), "calls_notice",
                   locale=officer.locale or "de", greeting=_l("Guten Tag %(name)s,", name=officer.name),
                   lines=[_l("zum Aufruf %(ref)s wurde eine Rüge erhoben. Solange sie nicht beantwortet ist, wird die "
                             "Vergabe nicht bekannt gemacht.", ref=objection.call.reference)],
                   url=url, reason=_l("Sie erhalten diese E-Mail als Mitglied der Vergabestelle."))
    return len(officers)
