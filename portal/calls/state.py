"""The state a call is in *now*, derived from its stored state and the clock.

"Submission closed" is not a button: a published call whose submission
deadline has passed is closed at that instant, whether or not the sweep
(`services.close_due_calls`, run by `flask calls sweep`) has persisted the
transition yet. Every check that matters (may a bid still be submitted, may a
question still be asked) goes through these functions.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from portal.calls.models import CLOSED_STATES, Call, CallState
from portal.core.time import now


def effective_state(call: Call, at: datetime | None = None) -> CallState:
    """The stored state, except that a published call past its deadline is closed."""
    at = at or now()
    if call.state == CallState.PUBLISHED and call.submission_deadline is not None and at >= call.submission_deadline:
        return CallState.SUBMISSION_CLOSED
    return call.state


def call_is_open_for_submission(call: Call, at: datetime | None = None) -> bool:
    """True while bids may be submitted: published and strictly before the deadline.

    Bids should pass `transaction_now(db.session)` as `at`, so that the
    database's clock inside the submitting transaction decides.
    """
    return effective_state(call, at) == CallState.PUBLISHED


def call_is_open_for_questions(call: Call, at: datetime | None = None) -> bool:
    at = at or now()
    return (
        effective_state(call, at) == CallState.PUBLISHED
        and call.question_deadline is not None
        and at < call.question_deadline
    )


#: Public grouping of states for the call list filter.
STATE_GROUPS = {
    "offen": (_l("offen"), frozenset({CallState.PUBLISHED})),
    "geschlossen": (_l("Frist abgelaufen"), CLOSED_STATES),
    "vergeben": (_l("vergeben"), frozenset({CallState.AWARDED})),
    "aufgehoben": (_l("aufgehoben"), frozenset({CallState.CANCELLED})),
}

STATE_LABELS = {
    CallState.DRAFT: _l("Entwurf"),
    CallState.PUBLISHED: _l("offen für Interessenbekundungen"),
    CallState.SUBMISSION_CLOSED: _l("Frist abgelaufen"),
    CallState.OPENED: _l("Interessenbekundungen geöffnet"),
    CallState.IN_REVIEW: _l("in Bewertung"),
    CallState.DECIDED: _l("entschieden"),
    CallState.STANDSTILL: _l("Stillhaltefrist läuft"),
    CallState.AWARDED: _l("vergeben"),
    CallState.CANCELLED: _l("aufgehoben"),
}


def state_group(call: Call, at: datetime | None = None) -> str | None:
    state = effective_state(call, at)
    for key, (_label, states) in STATE_GROUPS.items():
        if state in states:
            return key
    return None


def time_left_in_words(deadline: datetime | None, at: datetime | None = None) -> str:
    """'noch 3 Tage und 4 Stunden' – the countdown the call page shows without JavaScript."""
    if deadline is None:
        return ""
    at = at or now()
    seconds = int((deadline - at).total_seconds())
    if seconds <= 0:
        return ""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        day_text = ngettext("%(num)d Tag", "%(num)d Tage", days)
        if hours:
            return ngettext("noch %(days)s und %(num)d Stunde", "noch %(days)s und %(num)d Stunden", hours, days=day_text)
        return ngettext("noch %(days)s", "noch %(days)s", days, days=day_text)
    if hours:
        return ngettext("noch %(num)d Stunde", "noch %(num)d Stunden", hours)
    return ngettext("noch %(num)d Minute", "noch %(num)d Minuten", max(minutes, 1))
