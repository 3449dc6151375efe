"""Invitations: staff by the administrator, colleagues by an organisation's members.

Both are links with a random token (only its SHA-256 is stored) that expire
after INVITATION_DAYS and can be used once.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts.models import Invitation, InvitationKind, Membership, Organisation, Role, User, UserRole
from portal.accounts.passwords import hash_password
from portal.accounts.services.common import absolute_url, require_good_password
from portal.accounts.services.users import find_user_by_email, normalise_email
from portal.accounts.tokens import EXPIRED, INVALID, hash_random_token, new_random_token
from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.core.errors import Refused
from portal.core.time import now
from portal.extensions import db
from portal.mail.services import queue_mail


def _create(kind: InvitationKind, email: str, *, by: User, roles: set[Role] | None = None,
            organisation: Organisation | None = None) -> tuple[Invitation, str]:
    # An earlier open invitation for the same address and purpose stops working.
    same_target = (
        Invitation.organisation_id == organisation.id if organisation else Invitation.organisation_id.is_(None)
    )
    open_invitations = select(Invitation).where(
        Invitation.email == email, Invitation.kind == kind, Invitation.accepted_at.is_(None), same_target
    )
    for old in db.session.scalars(open_invitations):
        old.expires_at = min(old.expires_at, now())
    token, token_hash = new_random_token()
    moment = now()
    invitation = Invitation(
        kind=kind,
        email=email,
        roles=",".join(sorted(r.value for r in roles or ())),
        organisation=organisation,
        token_hash=token_hash,
        invited_by_id=by.id,
        created_at=moment,
        expires_at=moment + timedelta(days=current_app.config["INVITATION_DAYS"]),
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation, absolute_url("accounts.accept_invitation", token=token)


def invite_staff(email: str, roles: set[Role], *, by: User) -> Invitation:
    """Invite a new staff member with `roles`; they choose their own password."""
    email = normalise_email(email)
    if not roles:
        raise Refused(_l("Bitte wählen Sie mindestens eine Rolle."), field="roles")
    if find_user_by_email(email) is not None:
        raise Refused(
            _l("Für diese Adresse gibt es bereits ein Konto. Ändern Sie dort die Rollen."), field="email"
        )
    invitation, link = _create(InvitationKind.STAFF, email, by=by, roles=roles)
    queue_mail(
        email,
        _l("Einladung in das IBV-Portal"),
        "accounts/staff_invitation",
        invitation=invitation,
        inviter=by,
        link=link,
        days=current_app.config["INVITATION_DAYS"],
    )
    record(AuditAction.STAFF_INVITED, actor=by, subject=invitation, data={"email": email, "roles": sorted(roles)})
    return invitation


def invite_member(organisation: Organisation, email: str, *, by: User) -> Invitation:
    """A member invites a colleague to join the organisation."""
    email = normalise_email(email)
    if any(normalise_email(u.email) == email for u in organisation.active_members):
        raise Refused(_l("Diese Person ist bereits Mitglied des Trägers."), field="email")
    invitation, link = _create(InvitationKind.MEMBER, email, by=by, organisation=organisation)
    queue_mail(
        email,
        _l("Einladung zum Träger %(name)s", name=organisation.name),
        "accounts/member_invitation",
        locale=by.locale,
        invitation=invitation,
        organisation=organisation,
        inviter=by,
        link=link,
        days=current_app.config["INVITATION_DAYS"],
    )
    record(AuditAction.MEMBER_INVITED, actor=by, subject=organisation, data={"email": email, "invitation_id": invitation.id})
    return invitation


def find_invitation(token: str) -> Invitation:
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == hash_random_token(token)))
    if invitation is None or invitation.accepted_at is not None:
        raise Refused(INVALID)
    if invitation.expires_at <= now():
        raise Refused(EXPIRED)
    return invitation


def _new_user(invitation: Invitation, name: str, password: str, locale: str) -> User:
    require_good_password(password, email=invitation.email)
    user = User(
        email=invitation.email,
        name=name,
        password_hash=hash_password(password),
        email_verified_at=now(),  # the invitation link reached this address
        locale=locale,
    )
    user.roles = [UserRole(role=r) for r in sorted(invitation.role_set)]
    db.session.add(user)
    db.session.flush()
    record(
        AuditAction.USER_CREATED,
        actor=user,
        subject=user,
        data={"roles": sorted(invitation.role_set), "via": f"invitation:{invitation.id}"},
    )
    return user


def accept_staff_invitation(invitation: Invitation, *, name: str, password: str, locale: str = "de") -> User:
    if invitation.kind != InvitationKind.STAFF:
        raise Refused(INVALID)
    if find_user_by_email(invitation.email) is not None:
        raise Refused(INVALID)
    user = _new_user(invitation, name, password, locale)
    invitation.accepted_at = now()
    record(AuditAction.STAFF_INVITATION_ACCEPTED, actor=user, subject=invitation, data={"roles": sorted(invitation.role_set)})
    return user


def accept_member_invitation(
    invitation: Invitation,
    *,
    user: User | None = None,
    name: str = "",
    password: str = "",
    locale: str = "de",
) -> User:
    """Join the organisation: as the signed-in `user` (whose address must be
    the invited one) or as a new account created from `name` and `password`."""
    if invitation.kind != InvitationKind.MEMBER or invitation.organisation is None:
        raise Refused(INVALID)
    if user is None:
        if find_user_by_email(invitation.email) is not None:
            raise Refused(_l("Für diese Adresse gibt es bereits ein Konto. Bitte melden Sie sich zuerst an."))
        user = _new_user(invitation, name, password, locale)
    elif normalise_email(user.email) != invitation.email:
        raise Refused(_l("Diese Einladung gilt für eine andere E-Mail-Adresse."))
    organisation = invitation.organisation
    membership = db.session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.organisation_id == organisation.id)
    )
    if membership is None:
        db.session.add(Membership(user=user, organisation=organisation, joined_at=now()))
    else:  # rejoining after leaving
        membership.left_at = None
        membership.joined_at = now()
    invitation.accepted_at = now()
    db.session.flush()
    record(AuditAction.MEMBER_JOINED, actor=user, subject=organisation, data={"user_id": user.id, "invitation_id": invitation.id})
    return user
