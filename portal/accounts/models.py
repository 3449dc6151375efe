"""Users, their roles, organisations (freie Träger) and memberships."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.time import now
from portal.db import UTCDateTime, enum_type
from portal.extensions import db


class Role(enum.StrEnum):
    ADMIN = "admin"
    OFFICER = "officer"
    REVIEWER = "reviewer"
    OBSERVER = "observer"


#: Roles that must use two-factor authentication before reaching staff pages.
TWO_FACTOR_ROLES = frozenset({Role.ADMIN, Role.OFFICER, Role.REVIEWER})


class OrganisationStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    audit_subject_type = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on logout, password change and deactivation: every session and
    # remember-me cookie carrying an older version stops working at once.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    locale: Mapped[str] = mapped_column(String(5), default="de")
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    # Notification preference: mails about calls and questions (never the
    # mails the procedure requires, such as decision letters).
    notify_by_email: Mapped[bool] = mapped_column(Boolean, default=True)
    # Demo accounts may skip TOTP, but only where DEMO_RELAX_TOTP is honoured.
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    memberships: Mapped[list[Membership]] = relationship(back_populates="user")
    recovery_codes: Mapped[list[RecoveryCode]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def role_set(self) -> frozenset[Role]:
        return frozenset(Role(r.role) for r in self.roles)

    def has_role(self, *roles: Role) -> bool:
        return bool(self.role_set.intersection(roles))

    @property
    def needs_two_factor(self) -> bool:
        return bool(self.role_set & TWO_FACTOR_ROLES)

    @property
    def active_memberships(self) -> list[Membership]:
        return [m for m in self.memberships if m.left_at is None]

    @property
    def has_totp(self) -> bool:
        return self.totp_enabled_at is not None and bool(self.totp_secret)

    @property
    def unused_recovery_codes(self) -> int:
        return sum(1 for c in self.recovery_codes if c.used_at is None)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class RecoveryCode(db.Model):
    """A one-time code that replaces the TOTP code once (stored hashed)."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="recovery_codes")


class UserRole(db.Model):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"), primary_key=True)

    user: Mapped[User] = relationship(back_populates="roles")


class Organisation(db.Model):
    """A non-profit welfare organisation (freier Träger) that may bid."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    legal_form: Mapped[str] = mapped_column(String(100))
    street: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(100))
    contact_email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    register_number: Mapped[str | None] = mapped_column(String(100))
    migration_work: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[OrganisationStatus] = mapped_column(
        enum_type(OrganisationStatus, "organisation_status"), default=OrganisationStatus.PENDING, index=True
    )
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)

    memberships: Mapped[list[Membership]] = relationship(back_populates="organisation")

    @property
    def is_verified(self) -> bool:
        return self.status == OrganisationStatus.VERIFIED

    @property
    def active_members(self) -> list[User]:
        return [m.user for m in self.memberships if m.left_at is None]

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name}>"


class Membership(db.Model):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(back_populates="memberships", lazy="joined")


class InvitationKind(enum.StrEnum):
    STAFF = "staff"
    MEMBER = "member"


class Invitation(db.Model):
    """An expiring, single-use invitation sent by e-mail.

    Staff invitations carry the roles the administrator chose; member
    invitations the organisation. Only the SHA-256 of the token is stored,
    so the database alone cannot be used to accept an invitation.
    """

    __tablename__ = "invitation"
    audit_subject_type = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[InvitationKind] = mapped_column(enum_type(InvitationKind, "invitation_kind"))
    email: Mapped[str] = mapped_column(String(254), index=True)
    roles: Mapped[str] = mapped_column(String(100), default="")  # comma-separated Role values
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation | None] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    @property
    def role_set(self) -> frozenset[Role]:
        return frozenset(Role(r) for r in self.roles.split(",") if r)
