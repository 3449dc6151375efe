"""Consultations (Beteiligungsverfahren): a draft put up for comment, section by section.

A `Consultation` has numbered draft `DraftVersion`s made of `Section`s; people
post `Comment`s on a section or on the whole draft, the district answers each
with a `Response` (Abwägung) that is published together with all others.
Nothing is ever deleted: withdrawn and hidden comments stay in place.
"""
from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from portal.accounts.models import Organisation, User
from portal.core.time import now
from portal.db import UTCDateTime, enum_type
from portal.extensions import db

#: How long an author may still change a posted comment.
EDIT_WINDOW_MINUTES = 15
#: Longest comment text (characters).
COMMENT_MAX_LENGTH = 5000
#: Largest PDF attached to a comment or a consultation.
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024


class ConsultationState(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    EVALUATED = "evaluated"
    REPORT_PUBLISHED = "report_published"

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self])


STATE_LABELS = {
    ConsultationState.DRAFT: _l("Entwurf (nicht öffentlich)"),
    ConsultationState.OPEN: _l("Offen für Stellungnahmen"),
    ConsultationState.CLOSED: _l("Beendet, Abwägung läuft"),
    ConsultationState.EVALUATED: _l("Abgewogen"),
    ConsultationState.REPORT_PUBLISHED: _l("Bericht veröffentlicht"),
}
PUBLIC_STATES = frozenset(ConsultationState) - {ConsultationState.DRAFT}
#: States in which the responses are public.
ANSWERED_STATES = frozenset({ConsultationState.EVALUATED, ConsultationState.REPORT_PUBLISHED})


class AuthorKind(enum.StrEnum):
    ORGANISATION = "organisation"
    COUNCIL_GROUP = "council_group"
    PERSON = "person"

    @property
    def label(self) -> str:
        return str(AUTHOR_KIND_LABELS[self])


AUTHOR_KIND_LABELS = {
    AuthorKind.ORGANISATION: _l("Träger / Organisation"),
    AuthorKind.COUNCIL_GROUP: _l("Kreistagsfraktion"),
    AuthorKind.PERSON: _l("Einzelperson"),
}


class ResponseState(enum.StrEnum):
    ADOPTED = "adopted"
    PARTLY_ADOPTED = "partly_adopted"
    NOT_ADOPTED = "not_adopted"
    NOTED = "noted"

    @property
    def label(self) -> str:
        return str(RESPONSE_STATE_LABELS[self])


RESPONSE_STATE_LABELS = {
    ResponseState.ADOPTED: _l("übernommen"),
    ResponseState.PARTLY_ADOPTED: _l("teilweise übernommen"),
    ResponseState.NOT_ADOPTED: _l("nicht übernommen"),
    ResponseState.NOTED: _l("zur Kenntnis genommen"),
}


class HideReason(enum.StrEnum):
    """The fixed list of reasons a comment may be hidden for."""

    PERSONAL_DATA = "personal_data"
    INSULT = "insult"
    UNLAWFUL = "unlawful"
    ADVERTISING = "advertising"
    OFF_TOPIC = "off_topic"
    DUPLICATE = "duplicate"

    @property
    def label(self) -> str:
        return str(HIDE_REASON_LABELS[self])


HIDE_REASON_LABELS = {
    HideReason.PERSONAL_DATA: _l("Enthält personenbezogene Daten Dritter"),
    HideReason.INSULT: _l("Beleidigend oder diskriminierend"),
    HideReason.UNLAWFUL: _l("Rechtswidriger Inhalt"),
    HideReason.ADVERTISING: _l("Werbung"),
    HideReason.OFF_TOPIC: _l("Kein Bezug zum Entwurf"),
    HideReason.DUPLICATE: _l("Mehrfach eingereicht"),
}


class Consultation(db.Model):
    __tablename__ = "consultation"
    __table_args__ = (
        CheckConstraint("closes_at > opens_at", name="period_order"),
        CheckConstraint(
            "allow_organisations OR allow_council_groups OR allow_public", name="someone_may_comment"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[ConsultationState] = mapped_column(
        enum_type(ConsultationState, "consultation_state"), default=ConsultationState.DRAFT, index=True
    )
    allow_organisations: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_council_groups: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_public: Mapped[bool] = mapped_column(Boolean, default=False)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    versions: Mapped[list[DraftVersion]] = relationship(
        back_populates="consultation", order_by="DraftVersion.number", cascade="all, delete-orphan"
    )
    documents: Mapped[list[ConsultationDocument]] = relationship(
        back_populates="consultation", order_by="ConsultationDocument.id", cascade="all, delete-orphan"
    )
    comments: Mapped[list[Comment]] = relationship(
        back_populates="consultation", order_by="Comment.id", cascade="all, delete-orphan"
    )

    @property
    def first_version(self) -> DraftVersion:
        return self.versions[0]

    @property
    def current_version(self) -> DraftVersion:
        return self.versions[-1]

    @property
    def is_public(self) -> bool:
        return self.state in PUBLIC_STATES

    @property
    def responses_public(self) -> bool:
        return self.state in ANSWERED_STATES

    @property
    def commenter_kinds(self) -> list[AuthorKind]:
        kinds = []
        if self.allow_organisations:
            kinds.append(AuthorKind.ORGANISATION)
        if self.allow_council_groups:
            kinds.append(AuthorKind.COUNCIL_GROUP)
        if self.allow_public:
            kinds.append(AuthorKind.PERSON)
        return kinds

    def __repr__(self) -> str:
        return f"<Consultation {self.id} {self.state}>"


class DraftVersion(db.Model):
    """One published wording of the draft; version 1 is the one put up for comment."""

    __tablename__ = "consultation_version"
    __table_args__ = (UniqueConstraint("consultation_id", "number"),)
    audit_subject_type = "consultation_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    consultation: Mapped[Consultation] = relationship(back_populates="versions")
    sections: Mapped[list[Section]] = relationship(
        back_populates="version", order_by="Section.position", cascade="all, delete-orphan"
    )

    def section(self, number: str) -> Section | None:
        return next((s for s in self.sections if s.number == number), None)


class Section(db.Model):
    """A numbered part of a draft version; the number is stable across versions."""

    __tablename__ = "consultation_section"
    __table_args__ = (UniqueConstraint("version_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("consultation_version.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(20))
    level: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")

    version: Mapped[DraftVersion] = relationship(back_populates="sections")

    @property
    def anchor(self) -> str:
        return "abschnitt-" + self.number.replace(".", "-")


class ConsultationDocument(db.Model):
    """A PDF published with the draft; the bytes live in the database with their hash."""

    __tablename__ = "consultation_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    page_count: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    consultation: Mapped[Consultation] = relationship(back_populates="documents")


class Comment(db.Model):
    """A comment (Stellungnahme) on a section or on the whole draft, or a reply to one."""

    __tablename__ = "consultation_comment"
    audit_subject_type = "consultation_comment"
    __table_args__ = (
        CheckConstraint(
            "(author_kind = 'organisation') = (organisation_id IS NOT NULL)", name="organisation_matches_kind"
        ),
        CheckConstraint(
            "(author_kind = 'council_group') = (council_group IS NOT NULL)", name="council_group_matches_kind"
        ),
        CheckConstraint(
            "(hidden_at IS NULL) = (hide_reason IS NULL)", name="hidden_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"), index=True)
    #: The section of draft version 1 commented on; None means the whole draft.
    section_id: Mapped[int | None] = mapped_column(ForeignKey("consultation_section.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("consultation_comment.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    author_kind: Mapped[AuthorKind] = mapped_column(enum_type(AuthorKind, "comment_author_kind"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    council_group: Mapped[str | None] = mapped_column(String(200))
    #: The author agreed to show their name; otherwise a person shows as "Privatperson".
    show_name: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    hide_reason: Mapped[HideReason | None] = mapped_column(enum_type(HideReason, "comment_hide_reason"))
    hide_note: Mapped[str | None] = mapped_column(Text)
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment_data: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))
    attachment_size: Mapped[int | None] = mapped_column(Integer)

    consultation: Mapped[Consultation] = relationship(back_populates="comments")
    section: Mapped[Section | None] = relationship()
    parent: Mapped[Comment | None] = relationship(remote_side=[id], back_populates="replies")
    replies: Mapped[list[Comment]] = relationship(back_populates="parent", order_by="Comment.id")
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    organisation: Mapped[Organisation | None] = relationship()
    response: Mapped[Response | None] = relationship(back_populates="comment", uselist=False)

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def is_visible(self) -> bool:
        """Shown with its text, and therefore owed a response."""
        return not self.is_withdrawn and not self.is_hidden

    @property
    def section_number(self) -> str | None:
        if self.parent is not None:
            return self.parent.section_number
        return self.section.number if self.section else None

    @property
    def public_author(self) -> str:
        """How the author is shown to the public (never an e-mail address)."""
        if self.author_kind == AuthorKind.ORGANISATION and self.organisation is not None:
            return self.organisation.name
        if self.author_kind == AuthorKind.COUNCIL_GROUP and self.council_group:
            return self.council_group
        if self.show_name:
            return self.author.name
        return str(_l("Privatperson"))

    @property
    def anchor(self) -> str:
        return f"kommentar-{self.id}"


class Response(db.Model):
    """The district's answer to one comment (Abwägung), public once the evaluation is published."""

    __tablename__ = "consultation_response"
    audit_subject_type = "consultation_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("consultation_comment.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[ResponseState] = mapped_column(enum_type(ResponseState, "response_state"))
    reason: Mapped[str] = mapped_column(Text)
    #: The section number of the revised draft whose change this response caused.
    changed_section: Mapped[str | None] = mapped_column(String(20))
    drafted_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    comment: Mapped[Comment] = relationship(back_populates="response")
