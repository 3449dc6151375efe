"""Every change to a consultation goes through these functions.

They take the acting user as keyword-only `by`, flush but never commit, and
write the audit entry in the same transaction. Deadlines are decided with
`transaction_now()` so that every app server agrees on the clock.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts.models import Organisation, User
from portal.accounts.permissions import is_member_of, is_observer, is_officer
from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.audit.transparency import checkpoint_after_commit
from portal.calls.models import PUBLIC_STATES as CALL_PUBLIC_STATES
from portal.calls.models import Call
from portal.consultation.models import (
    ATTACHMENT_MAX_BYTES,
    COMMENT_MAX_LENGTH,
    EDIT_WINDOW_MINUTES,
    AuthorKind,
    Comment,
    Consultation,
    ConsultationDocument,
    ConsultationState,
    DraftVersion,
    HideReason,
    Response,
    ResponseState,
    Section,
)
from portal.consultation.sections import split_sections
from portal.core.errors import NotPermitted, Refused
from portal.core.i18n import datetime_berlin
from portal.core.pdf import PdfRejected, inspect_pdf
from portal.core.time import transaction_now
from portal.extensions import db
from portal.mail.services import queue_mail

S = ConsultationState
#: The only state changes there are; `set_consultation_state` refuses all others.
TRANSITIONS: dict[ConsultationState, frozenset[ConsultationState]] = {
    S.DRAFT: frozenset({S.OPEN}),
    S.OPEN: frozenset({S.CLOSED}),
    S.CLOSED: frozenset({S.EVALUATED}),
    S.EVALUATED: frozenset({S.REPORT_PUBLISHED}),
    S.REPORT_PUBLISHED: frozenset(),
}
_STATE_ACTIONS = {
    S.OPEN: AuditAction.CONSULTATION_OPENED,
    S.CLOSED: AuditAction.CONSULTATION_CLOSED,
    S.EVALUATED: AuditAction.CONSULTATION_EVALUATED,
    S.REPORT_PUBLISHED: AuditAction.CONSULTATION_REPORT_PUBLISHED,
}
TITLE_MAX_LENGTH = 300
NOTE_MAX_LENGTH = 2000
RESPONSE_MAX_LENGTH = 5000


def _require_officer(user: Any) -> None:
    if not is_officer(user):
        raise NotPermitted(_l("Nur die Vergabestelle darf Beteiligungsverfahren verwalten."))


def _clock() -> datetime:
    return transaction_now(db.session)


# --------------------------------------------------------------------------
# Setting up a consultation
# --------------------------------------------------------------------------


def _check_settings(title: str, opens_at: datetime, closes_at: datetime, kinds: tuple[bool, bool, bool]) -> str:
    title = (title or "").strip()
    if not title:
        raise Refused(_l("Bitte geben Sie einen Titel ein."), field="title")
    if len(title) > TITLE_MAX_LENGTH:
        raise Refused(_l("Der Titel darf höchstens %(n)s Zeichen lang sein.", n=TITLE_MAX_LENGTH), field="title")
    if closes_at <= opens_at:
        raise Refused(_l("Das Ende der Frist muss nach ihrem Beginn liegen."), field="closes_at")
    if not any(kinds):
        raise Refused(_l("Wählen Sie mindestens eine Gruppe, die Stellungnahmen abgeben darf."), field="allow_organisations")
    return title


def _replace_sections(version: DraftVersion, source: str) -> None:
    parsed = split_sections(source)
    version.source = source
    version.sections.clear()
    db.session.flush()
    for position, item in enumerate(parsed):
        version.sections.append(
            Section(position=position, number=item.number, level=item.level, title=item.title, body=item.body)
        )


def create_consultation(
    *,
    by: User,
    title: str,
    summary: str,
    source: str,
    opens_at: datetime,
    closes_at: datetime,
    allow_organisations: bool = True,
    allow_council_groups: bool = True,
    allow_public: bool = False,
) -> Consultation:
    """Create a consultation in state "draft" from pasted Markdown (version 1)."""
    _require_officer(by)
    title = _check_settings(title, opens_at, closes_at, (allow_organisations, allow_council_groups, allow_public))
    consultation = Consultation(
        title=title, summary=(summary or "").strip(), opens_at=opens_at, closes_at=closes_at,
        allow_organisations=allow_organisations, allow_council_groups=allow_council_groups,
        allow_public=allow_public, created_by_id=by.id, created_at=_clock(),
    )
    version = DraftVersion(number=1, source="", created_by_id=by.id, created_at=consultation.created_at)
    consultation.versions.append(version)
    db.session.add(consultation)
    _replace_sections(version, source)
    db.session.flush()
    record(AuditAction.CONSULTATION_CREATED, actor=by, subject=consultation,
           data={"title": title, "sections": [s.number for s in version.sections]})
    return consultation


def update_draft(
    consultation: Consultation,
    *,
    by: User,
    title: str,
    summary: str,
    source: str,
    opens_at: datetime,
    closes_at: datetime,
    allow_organisations: bool,
    allow_council_groups: bool,
    allow_public: bool,
) -> None:
    """Change a consultation that is not yet public; afterwards only new versions are possible."""
    _require_officer(by)
    if consultation.state != S.DRAFT:
        raise Refused(_l("Ein geöffnetes Beteiligungsverfahren kann nicht mehr geändert werden. Veröffentlichen Sie stattdessen eine neue Fassung."))
    consultation.title = _check_settings(title, opens_at, closes_at, (allow_organisations, allow_council_groups, allow_public))
    consultation.summary = (summary or "").strip()
    consultation.opens_at, consultation.closes_at = opens_at, closes_at
    consultation.allow_organisations = allow_organisations
    consultation.allow_council_groups = allow_council_groups
    consultation.allow_public = allow_public
    _replace_sections(consultation.first_version, source)
    db.session.flush()
    record(AuditAction.CONSULTATION_DRAFT_CHANGED, actor=by, subject=consultation,
           data={"sections": [s.number for s in consultation.first_version.sections]})


def _checked_pdf(filename: str, data: bytes, field: str) -> tuple[str, Any]:
    try:
        info = inspect_pdf(data, max_bytes=ATTACHMENT_MAX_BYTES)
    except PdfRejected as exc:
        raise Refused(exc.lazy_message, field=field) from None
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "anhang.pdf"
    return name, info


def add_document(consultation: Consultation, *, by: User, filename: str, data: bytes) -> ConsultationDocument:
    """Attach a PDF to the draft (only before the consultation opens); internal event: the
    draft is not public yet, opening publishes the documents' hashes."""
    _require_officer(by)
    if consultation.state != S.DRAFT:
        raise Refused(_l("Dokumente können nur vor der Öffnung angefügt werden."), field="document")
    name, info = _checked_pdf(filename, data, "document")
    document = ConsultationDocument(
        filename=name, data=data, sha256=info.sha256, size=info.size, page_count=info.page_count,
        uploaded_by_id=by.id, uploaded_at=_clock(),
    )
    consultation.documents.append(document)
    db.session.flush()
    record(AuditAction.CONSULTATION_DOCUMENT_ADDED, actor=by, subject=consultation,
           data={"document": document.id, "filename": name, "sha256": info.sha256},
           public=False)
    return document


# --------------------------------------------------------------------------
# The state machine
# --------------------------------------------------------------------------


def unanswered_comments(consultation: Consultation) -> list[Comment]:
    """Visible comments (replies included) that have no response yet."""
    return [c for c in consultation.comments if c.is_visible and c.response is None]


#: Public procedure steps after which a signed checkpoint is issued (docs/transparency.md).
CHECKPOINT_STEPS = frozenset({S.OPEN, S.EVALUATED, S.REPORT_PUBLISHED})


def set_consultation_state(consultation: Consultation, target: ConsultationState, *, by: User) -> None:
    """The one door for every state change: checks, timestamps, audit entry, notifications."""
    _require_officer(by)
    if target not in TRANSITIONS[consultation.state]:
        raise Refused(
            _l("Dieser Schritt ist im Zustand „%(state)s“ nicht möglich.", state=consultation.state.label)
        )
    moment = _clock()
    data: dict[str, Any] = {"from": consultation.state, "to": target}
    if target == S.OPEN:
        if moment >= consultation.closes_at:
            raise Refused(_l("Die Frist ist bereits abgelaufen. Bitte legen Sie eine Frist in der Zukunft fest."), field="closes_at")
        consultation.opened_at = moment
        # The documents were attached to the draft (internal events); opening publishes their hashes.
        data.update(opens_at=consultation.opens_at, closes_at=consultation.closes_at,
                    commenters=consultation.commenter_kinds, version=1,
                    documents=[{"filename": d.filename, "sha256": d.sha256} for d in consultation.documents])
    elif target == S.CLOSED:
        if moment < consultation.closes_at:
            raise Refused(
                _l("Die Frist für Stellungnahmen läuft noch bis %(end)s.", end=datetime_berlin(consultation.closes_at))
            )
        consultation.closed_at = moment
        data["comments"] = len(consultation.comments)
    elif target == S.EVALUATED:
        missing = unanswered_comments(consultation)
        if missing:
            raise Refused(
                _l("Die Abwägung kann erst veröffentlicht werden, wenn jede Stellungnahme eine Antwort hat. Es fehlen noch %(n)s Antworten (zuerst Nr. %(first)s).",
                   n=len(missing), first=missing[0].id)
            )
        consultation.evaluated_at = moment
        responses = [c.response for c in consultation.comments if c.response is not None]
        for response in responses:
            response.published_at = moment
        data["responses"] = len(responses)
    elif target == S.REPORT_PUBLISHED:
        consultation.report_published_at = moment
        data["versions"] = len(consultation.versions)
    consultation.state = target
    db.session.flush()
    record(_STATE_ACTIONS[target], actor=by, subject=consultation, data=data, public=True)
    if target in CHECKPOINT_STEPS:
        checkpoint_after_commit()
    if target == S.EVALUATED:
        _notify_commenters(consultation)


def open_consultation(consultation: Consultation, *, by: User) -> None:
    set_consultation_state(consultation, S.OPEN, by=by)


def close_consultation(consultation: Consultation, *, by: User) -> None:
    set_consultation_state(consultation, S.CLOSED, by=by)


def publish_evaluation(consultation: Consultation, *, by: User) -> None:
    """Publish all responses at once; refused while a visible comment is unanswered."""
    set_consultation_state(consultation, S.EVALUATED, by=by)


def publish_report(consultation: Consultation, *, by: User) -> None:
    set_consultation_state(consultation, S.REPORT_PUBLISHED, by=by)


# --------------------------------------------------------------------------
# Comments
# --------------------------------------------------------------------------


def _check_body(body: str) -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise Refused(_l("Bitte geben Sie den Text Ihrer Stellungnahme ein."), field="body")
    if len(body) > COMMENT_MAX_LENGTH:
        raise Refused(
            _l("Ihre Stellungnahme ist %(n)s Zeichen lang; erlaubt sind höchstens %(max)s Zeichen. Bitte kürzen Sie den Text oder fügen Sie ihn als PDF bei.",
               n=len(body), max=COMMENT_MAX_LENGTH),
            field="body",
        )
    return body


def _check_period(consultation: Consultation, moment: datetime) -> None:
    if consultation.state != S.OPEN or moment >= consultation.closes_at:
        raise Refused(
            _l("Die Frist für Stellungnahmen ist am %(end)s abgelaufen.", end=datetime_berlin(consultation.closes_at))
            if consultation.state != S.DRAFT
            else _l("Dieses Beteiligungsverfahren ist noch nicht geöffnet.")
        )
    if moment < consultation.opens_at:
        raise Refused(
            _l("Stellungnahmen sind erst ab %(start)s möglich.", start=datetime_berlin(consultation.opens_at))
        )


def _author_identity(
    consultation: Consultation, by: User, organisation: Organisation | None, council_group: str | None
) -> tuple[AuthorKind, str | None]:
    if organisation is not None:
        if not is_member_of(by, organisation):
            raise Refused(_l("Sie können nur im Namen einer Organisation Stellung nehmen, der Sie angehören."), field="author")
        if not organisation.is_verified:
            raise Refused(_l("Die Organisation ist noch nicht vom Kreis bestätigt."), field="author")
        if not consultation.allow_organisations:
            raise Refused(_l("In diesem Verfahren können Organisationen keine Stellungnahme abgeben."), field="author")
        return AuthorKind.ORGANISATION, None
    if council_group is not None:
        council_group = council_group.strip()
        if not (consultation.allow_council_groups and is_observer(by)):
            raise Refused(_l("Nur Kreistagsmitglieder können für eine Fraktion Stellung nehmen."), field="author")
        if not council_group or len(council_group) > 200:
            raise Refused(_l("Bitte geben Sie den Namen Ihrer Fraktion an (höchstens 200 Zeichen)."), field="council_group")
        return AuthorKind.COUNCIL_GROUP, council_group
    if not consultation.allow_public:
        raise Refused(_l("In diesem Verfahren können Einzelpersonen keine Stellungnahme abgeben."), field="author")
    return AuthorKind.PERSON, None


def post_comment(
    consultation: Consultation,
    *,
    by: User,
    body: str,
    section_number: str | None = None,
    parent: Comment | None = None,
    organisation: Organisation | None = None,
    council_group: str | None = None,
    show_name: bool = False,
    attachment: tuple[str, bytes] | None = None,
) -> Comment:
    """Post a comment on a section (None: the whole draft) or a reply to a comment.

    The author speaks for `organisation` (must be a member), for a council group
    (`council_group`, observers only) or as a person. The comment is public at once.
    """
    moment = _clock()
    _check_period(consultation, moment)
    kind, group = _author_identity(consultation, by, organisation, council_group)
    body = _check_body(body)
    section = None
    if parent is not None:
        if parent.consultation_id != consultation.id or not parent.is_visible:
            raise Refused(_l("Auf diese Stellungnahme kann nicht geantwortet werden."))
        if parent.parent_id is not None:
            raise Refused(_l("Antworten sind nur auf Stellungnahmen möglich, nicht auf Antworten."))
    elif section_number:
        section = consultation.first_version.section(section_number)
        if section is None:
            raise Refused(_l("Diesen Abschnitt gibt es im Entwurf nicht."), field="section")
    comment = Comment(
        consultation=consultation, section=section, parent=parent, author_id=by.id, author_kind=kind,
        organisation_id=organisation.id if organisation is not None else None, council_group=group,
        show_name=bool(show_name) if kind == AuthorKind.PERSON else False, body=body, created_at=moment,
    )
    if attachment is not None:
        name, info = _checked_pdf(attachment[0], attachment[1], "attachment")
        comment.attachment_name, comment.attachment_data = name, attachment[1]
        comment.attachment_sha256, comment.attachment_size = info.sha256, info.size
    db.session.add(comment)
    db.session.flush()
    # A commenter is not an official acting in office: the event stays internal
    # (docs/transparency.md, "what public events reveal"); the comment itself is on the page.
    record(AuditAction.COMMENT_POSTED, actor=by, subject=comment, public=False,
           data=_comment_data(comment) | {"attachment_sha256": comment.attachment_sha256})
    return comment


def _comment_data(comment: Comment) -> dict[str, Any]:
    return {
        "consultation": comment.consultation_id,
        "section": comment.section_number,
        "reply_to": comment.parent_id,
        "author_kind": comment.author_kind,
        "organisation": comment.organisation_id,
    }


def _require_author(comment: Comment, by: User) -> None:
    if comment.author_id != by.id:
        raise NotPermitted(_l("Sie können nur Ihre eigenen Stellungnahmen ändern."))


def edit_comment(comment: Comment, *, by: User, body: str) -> None:
    """Change the text within 15 minutes of posting, while the period runs."""
    _require_author(comment, by)
    moment = _clock()
    if not comment.is_visible:
        raise Refused(_l("Eine zurückgezogene oder ausgeblendete Stellungnahme kann nicht geändert werden."))
    limit = comment.created_at + timedelta(minutes=EDIT_WINDOW_MINUTES)
    if moment >= limit:
        raise Refused(
            _l("Stellungnahmen können nur %(n)s Minuten lang geändert werden; diese Frist endete am %(end)s.",
               n=EDIT_WINDOW_MINUTES, end=datetime_berlin(limit, seconds=True))
        )
    _check_period(comment.consultation, moment)
    comment.body = _check_body(body)
    comment.edited_at = moment
    db.session.flush()
    record(AuditAction.COMMENT_EDITED, actor=by, subject=comment, data=_comment_data(comment),
           public=False)


def withdraw_comment(comment: Comment, *, by: User) -> None:
    """Withdraw until the period ends; the comment stays in place as "zurückgezogen"."""
    _require_author(comment, by)
    moment = _clock()
    if comment.is_withdrawn:
        raise Refused(_l("Diese Stellungnahme wurde bereits zurückgezogen."))
    consultation = comment.consultation
    if consultation.state != S.OPEN or moment >= consultation.closes_at:
        raise Refused(
            _l("Stellungnahmen können nur bis zum Ende der Frist (%(end)s) zurückgezogen werden.",
               end=datetime_berlin(consultation.closes_at))
        )
    comment.withdrawn_at = moment
    db.session.flush()
    record(AuditAction.COMMENT_WITHDRAWN, actor=by, subject=comment, data=_comment_data(comment),
           public=False)


def hide_comment(comment: Comment, *, by: User, reason: HideReason | str | None, note: str) -> None:
    """Hide a comment for a reason from the fixed list plus an explanation; notify the author."""
    _require_officer(by)
    try:
        reason = HideReason(reason) if reason else None
    except ValueError:
        reason = None
    if reason is None:
        raise Refused(_l("Bitte wählen Sie einen Grund aus der Liste."), field="reason")
    note = (note or "").strip()
    if not note:
        raise Refused(_l("Bitte erläutern Sie den Grund in einem Satz; die Erläuterung wird veröffentlicht."), field="note")
    if len(note) > NOTE_MAX_LENGTH:
        raise Refused(_l("Die Erläuterung darf höchstens %(n)s Zeichen lang sein.", n=NOTE_MAX_LENGTH), field="note")
    if not comment.is_visible:
        raise Refused(_l("Diese Stellungnahme ist bereits ausgeblendet oder zurückgezogen."))
    if comment.consultation.state not in {S.OPEN, S.CLOSED}:
        raise Refused(_l("Nach der Veröffentlichung der Abwägung kann nichts mehr ausgeblendet werden."))
    comment.hidden_at = _clock()
    comment.hidden_by_id = by.id
    comment.hide_reason = reason
    comment.hide_note = note
    db.session.flush()
    record(AuditAction.COMMENT_HIDDEN, actor=by, subject=comment, public=True,
           data={"consultation": comment.consultation_id, "reason": reason, "note": note})
    author = comment.author
    queue_mail(
        author.email, _l("Ihre Stellungnahme wurde ausgeblendet"), "consultation_comment_hidden",
        locale=author.locale, comment=comment, consultation=comment.consultation,
        comment_url=comment_url(comment),
    )


def unhide_comment(comment: Comment, *, by: User, reason: str) -> None:
    """Show a hidden comment again (the hiding was a mistake or is resolved), with a published reason.

    Possible while hiding is (until the responses are published). The earlier
    hiding stays in the audit log; the author is notified.
    """
    _require_officer(by)
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_l("Bitte begründen Sie in einem Satz, warum die Stellungnahme wieder eingeblendet wird; die "
                         "Begründung wird veröffentlicht."), field="reason")
    if len(reason) > NOTE_MAX_LENGTH:
        raise Refused(_l("Die Begründung darf höchstens %(n)s Zeichen lang sein.", n=NOTE_MAX_LENGTH), field="reason")
    if not comment.is_hidden:
        raise Refused(_l("Diese Stellungnahme ist nicht ausgeblendet."))
    if comment.is_withdrawn:
        raise Refused(_l("Die Verfasserin oder der Verfasser hat diese Stellungnahme zurückgezogen; sie kann nicht "
                         "wieder eingeblendet werden."))
    if comment.consultation.state not in {S.OPEN, S.CLOSED}:
        raise Refused(_l("Nach der Veröffentlichung der Abwägung kann nichts mehr eingeblendet werden."))
    hidden = {"hidden_at": comment.hidden_at, "hide_reason": comment.hide_reason, "hide_note": comment.hide_note}
    comment.hidden_at = None
    comment.hidden_by_id = None
    comment.hide_reason = None
    comment.hide_note = None
    db.session.flush()
    record(AuditAction.COMMENT_UNHIDDEN, actor=by, subject=comment, public=True,
           data={"consultation": comment.consultation_id, "reason": reason, **hidden})
    author = comment.author
    queue_mail(
        author.email, _l("Ihre Stellungnahme ist wieder sichtbar"), "consultation_comment_unhidden",
        locale=author.locale, comment=comment, consultation=comment.consultation, reason=reason,
        comment_url=comment_url(comment),
    )


# --------------------------------------------------------------------------
# Responses (Abwägung) and notifications
# --------------------------------------------------------------------------


def save_response(
    comment: Comment,
    *,
    by: User,
    state: ResponseState | str | None,
    reason: str,
    changed_section: str | None = None,
) -> Response:
    """Draft (or redraft) the response to a comment; it stays internal until the evaluation is published."""
    _require_officer(by)
    consultation = comment.consultation
    if consultation.state != S.CLOSED:
        raise Refused(_l("Antworten werden nach dem Ende der Frist und vor der Veröffentlichung der Abwägung verfasst."))
    if not comment.is_visible:
        raise Refused(_l("Zurückgezogene oder ausgeblendete Stellungnahmen erhalten keine Antwort."))
    try:
        state = ResponseState(state) if state else None
    except ValueError:
        state = None
    if state is None:
        raise Refused(_l("Bitte wählen Sie ein Ergebnis der Abwägung."), field="state")
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_l("Bitte begründen Sie die Abwägung."), field="reason")
    if len(reason) > RESPONSE_MAX_LENGTH:
        raise Refused(_l("Die Begründung darf höchstens %(n)s Zeichen lang sein.", n=RESPONSE_MAX_LENGTH), field="reason")
    changed_section = (changed_section or "").strip() or None
    if changed_section is not None and consultation.current_version.section(changed_section) is None:
        raise Refused(_l("Diesen Abschnitt gibt es in der aktuellen Fassung nicht."), field="changed_section")
    response = comment.response
    if response is None:
        response = Response(comment=comment, state=state, reason=reason, drafted_by_id=by.id)
        db.session.add(response)
    response.state, response.reason, response.changed_section = state, reason, changed_section
    response.drafted_by_id = by.id
    response.updated_at = _clock()
    db.session.flush()
    record(AuditAction.RESPONSE_DRAFTED, actor=by, subject=response,
           data={"comment": comment.id, "state": state, "changed_section": changed_section})
    return response


def absolute_url(endpoint: str, **values: Any) -> str:
    """A link for e-mails, built on the configured PORTAL_BASE_URL (never on a request's Host header)."""
    adapter = current_app.url_map.bind("localhost")
    anchor = values.pop("_anchor", None)
    path = adapter.build(endpoint, values)
    return current_app.config["PORTAL_BASE_URL"].rstrip("/") + path + (f"#{anchor}" if anchor else "")


def comment_url(comment: Comment) -> str:
    return absolute_url("consultation.show", consultation_id=comment.consultation_id, _anchor=comment.anchor)


def _notify_commenters(consultation: Consultation) -> None:
    """One e-mail per commenter with a link to each of their comments and its response."""
    by_author: dict[int, list[Comment]] = defaultdict(list)
    for comment in consultation.comments:
        if comment.response is not None and comment.is_visible:
            by_author[comment.author_id].append(comment)
    for comments in by_author.values():
        author = comments[0].author
        queue_mail(
            author.email, _l("Die Abwägung zu Ihrer Stellungnahme ist veröffentlicht"), "consultation_evaluated",
            locale=author.locale, consultation=consultation,
            items=[(c, comment_url(c)) for c in comments],
            consultation_url=absolute_url("consultation.show", consultation_id=consultation.id),
        )


# --------------------------------------------------------------------------
# Revised draft versions
# --------------------------------------------------------------------------


def publish_version(consultation: Consultation, *, by: User, source: str, note: str) -> DraftVersion:
    """Publish a revised wording of the draft; sections are compared by their number."""
    _require_officer(by)
    if consultation.state not in {S.CLOSED, S.EVALUATED}:
        raise Refused(_l("Eine überarbeitete Fassung kann nach dem Ende der Frist und vor dem Bericht veröffentlicht werden."))
    note = (note or "").strip()
    if not note:
        raise Refused(_l("Bitte beschreiben Sie kurz, was sich geändert hat."), field="note")
    version = DraftVersion(
        number=consultation.current_version.number + 1, source="", note=note[:NOTE_MAX_LENGTH],
        created_by_id=by.id, created_at=_clock(),
    )
    consultation.versions.append(version)
    _replace_sections(version, source)
    db.session.flush()
    record(AuditAction.CONSULTATION_VERSION_PUBLISHED, actor=by, subject=consultation, public=True,
           data={"version": version.number, "sections": [s.number for s in version.sections]})
    return version


# --------------------------------------------------------------------------
# Calls shaped by a consultation
# --------------------------------------------------------------------------


def calls_shaped_by(consultation: Consultation) -> list[Any]:
    """The public calls that name this consultation (`Call.consultation_id`); drafts never."""
    return list(db.session.scalars(
        select(Call).where(Call.consultation_id == consultation.id, Call.state.in_(CALL_PUBLIC_STATES)).order_by(Call.id)
    ))


def call_url(call: Any) -> str:
    """The public page of a call."""
    return url_for("calls.show", reference=call.reference)


def consultation_page(subject_id: str) -> tuple[str, str] | None:
    """(title, url) of a public consultation, for the link back from its audit trail."""
    consultation = db.session.get(Consultation, int(subject_id)) if subject_id.isdigit() else None
    if consultation is None or not consultation.is_public:
        return None
    return consultation.title, url_for("consultation.show", consultation_id=consultation.id)


def all_consultations() -> list[Consultation]:
    """Every consultation, newest first (for the officers' select on the call form)."""
    return list(db.session.scalars(select(Consultation).order_by(Consultation.id.desc())))


def open_consultations() -> list[Consultation]:
    """Consultations in state "open" whose period has not ended (for the start page)."""
    from portal.core.time import now

    stmt = select(Consultation).where(
        Consultation.state == S.OPEN, Consultation.closes_at > now()
    ).order_by(Consultation.closes_at)
    return list(db.session.scalars(stmt))


def consultations_by_id(ids: list[int]) -> dict[int, Consultation]:
    """For the calls domain: look up the consultations its calls name."""
    if not ids:
        return {}
    return {c.id: c for c in db.session.scalars(select(Consultation).where(Consultation.id.in_(ids)))}
