"""Following a call and the e-mails about it (amendments, answers, cancellation, reminders).

Mails are queued in the transaction of the change that causes them
(`queue_mail`) and rendered in each recipient's language. Every text is a
lazy string from this module, so the shared mail template has none of its own.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select

from portal.accounts.models import User
from portal.calls import bidding
from portal.calls.models import Call, CallState, Follow, ReminderSent
from portal.core.i18n import datetime_berlin
from portal.core.time import now
from portal.extensions import db
from portal.mail.services import queue_mail

REMINDER_HOURS = (48, 24)


def lazy_datetime(moment: datetime | None) -> LazyString:
    """A time formatted only when the mail is rendered, in the recipient's language."""
    return LazyString(datetime_berlin, moment)


def is_following(user: Any, call: Call) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return db.session.scalar(select(Follow.id).where(Follow.call_id == call.id, Follow.user_id == user.id)) is not None


def follow_call(call: Call, *, by: User) -> Follow:
    existing = db.session.scalar(select(Follow).where(Follow.call_id == call.id, Follow.user_id == by.id))
    if existing is not None:
        return existing
    follow = Follow(call_id=call.id, user_id=by.id, created_at=now())
    db.session.add(follow)
    db.session.flush()
    return follow


def unfollow_call(call: Call, *, by: User) -> None:
    existing = db.session.scalar(select(Follow).where(Follow.call_id == call.id, Follow.user_id == by.id))
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()


def followers(call: Call) -> list[User]:
    return list(db.session.scalars(
        select(User).join(Follow, Follow.user_id == User.id).where(Follow.call_id == call.id, User.active.is_(True)).order_by(User.id)
    ))


def _unique(users: Iterable[Any]) -> list[Any]:
    seen: set[str] = set()
    result = []
    for user in users:
        if user is None or not getattr(user, "active", True) or user.email in seen:
            continue
        seen.add(user.email)
        result.append(user)
    return result


def _call_url(call: Call) -> str:
    return current_app.config["PORTAL_BASE_URL"].rstrip("/") + f"/aufrufe/{call.reference}"


def _send(users: Iterable[Any], call: Call, subject: Any, lines: list[Any], reason: Any) -> int:
    count = 0
    for user in _unique(users):
        queue_mail(user.email, subject, "calls_notice", locale=user.locale or "de",
                   greeting=_l("Guten Tag %(name)s,", name=user.name), lines=lines, url=_call_url(call), reason=reason)
        count += 1
    return count


_FOLLOW_REASON = _l("Sie erhalten diese E-Mail, weil Sie diesem Aufruf folgen oder eine Interessenbekundung dazu vorbereiten. "
                    "Auf der Seite des Aufrufs können Sie das Folgen beenden.")


def notify_amendment(call: Call, amendment: Any, *, bids_exist: bool) -> int:
    lines: list[Any] = [
        _l("zum Aufruf „%(title)s“ (%(ref)s) wurde die Änderungsbekanntmachung Nr. %(n)s veröffentlicht.",
           title=call.title, ref=call.reference, n=amendment.number),
        _l("Grund: %(reason)s", reason=amendment.reason),
        _l("Geänderte Angaben: %(count)s. Die genaue Fassung vorher und nachher finden Sie auf der Seite des Aufrufs.",
           count=len(amendment.changes)),
        _l("Frist für Interessenbekundungen: %(deadline)s", deadline=lazy_datetime(call.submission_deadline)),
    ]
    count = _send(followers(call), call, _l("Änderung am Aufruf %(ref)s", ref=call.reference), lines, _FOLLOW_REASON)
    if bids_exist:
        ask = lines + [_l("Ihre Organisation hat bereits eine Interessenbekundung eingereicht. Bitte prüfen Sie sie und "
                          "bestätigen oder überarbeiten Sie sie vor der Frist.")]
        count += _send(bidding.bid_holders(call), call,
                       _l("Änderung am Aufruf %(ref)s – bitte Interessenbekundung bestätigen oder überarbeiten", ref=call.reference),
                       ask, _FOLLOW_REASON)
    else:
        count += _send([u for u in bidding.bid_holders(call) if u not in followers(call)], call,
                       _l("Änderung am Aufruf %(ref)s", ref=call.reference), lines, _FOLLOW_REASON)
    return count


def notify_answer(call: Call, question: Any) -> int:
    lines: list[Any] = [
        _l("zum Aufruf „%(title)s“ (%(ref)s) wurde eine Antwort auf eine Bieterfrage veröffentlicht (Frage %(n)s).",
           title=call.title, ref=call.reference, n=question.number),
        _l("Frage: %(text)s", text=question.public_text),
        _l("Antwort: %(text)s", text=question.answer),
    ]
    return _send(followers(call), call, _l("Neue Antwort zum Aufruf %(ref)s", ref=call.reference), lines, _FOLLOW_REASON)


def notify_cancellation(call: Call) -> int:
    lines: list[Any] = [
        _l("der Aufruf „%(title)s“ (%(ref)s) wurde aufgehoben.", title=call.title, ref=call.reference),
        _l("Grund: %(reason)s", reason=call.cancel_reason or ""),
    ]
    users = followers(call) + bidding.bid_holders(call)
    return _send(users, call, _l("Aufruf %(ref)s aufgehoben", ref=call.reference), lines, _FOLLOW_REASON)


def send_deadline_reminders(*, at: datetime | None = None) -> int:
    """Remind 48 h and 24 h before the deadline; each reminder once per deadline.

    Recipients: followers and members of organisations with an unsubmitted
    draft. If the sweep first runs inside the 24-hour window, only the 24-hour
    reminder goes out (the 48-hour one is marked as done with it).
    """
    at = at or now()
    horizon = at + timedelta(hours=max(REMINDER_HOURS))
    calls = db.session.scalars(
        select(Call).where(Call.state == CallState.PUBLISHED, Call.submission_deadline > at, Call.submission_deadline <= horizon)
    ).all()
    sent = 0
    for call in calls:
        deadline = call.submission_deadline
        assert deadline is not None
        due = [h for h in REMINDER_HOURS if deadline - at <= timedelta(hours=h)]
        done = set(db.session.scalars(select(ReminderSent.hours_before).where(
            ReminderSent.call_id == call.id, ReminderSent.deadline == deadline)))
        if not due or min(due) in done:
            continue
        for hours in due:
            if hours not in done:
                db.session.add(ReminderSent(call_id=call.id, hours_before=hours, deadline=deadline, sent_at=at))
        lines: list[Any] = [
            _l("die Frist für Interessenbekundungen zum Aufruf „%(title)s“ (%(ref)s) endet am %(deadline)s.",
               title=call.title, ref=call.reference, deadline=lazy_datetime(deadline)),
            _l("Nach der Frist kann nichts mehr eingereicht oder geändert werden. Entwürfe, die nicht eingereicht sind, "
               "werden nicht berücksichtigt."),
        ]
        sent += _send(followers(call) + bidding.draft_holders(call), call,
                      _l("Erinnerung: Frist für %(ref)s endet in %(hours)s Stunden", ref=call.reference, hours=min(due)),
                      lines, _FOLLOW_REASON)
        db.session.flush()
    return sent
