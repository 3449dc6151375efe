"""Organisations (freie Träger): registration, verification, members leaving."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from portal.accounts.models import Membership, Organisation, OrganisationStatus, User
from portal.accounts.services.common import absolute_url, require_good_password
from portal.accounts.services.users import find_user_by_email, normalise_email, send_email_verification
from portal.accounts.passwords import hash_password
from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.core.errors import Refused
from portal.core.time import now
from portal.extensions import db
from portal.mail.services import queue_mail

ORGANISATION_FIELDS = ("name", "legal_form", "street", "postcode", "city", "contact_email", "phone", "register_number", "migration_work")
#: Fields a member may change later; name and legal form are what the officer verified.
EDITABLE_FIELDS = ("street", "postcode", "city", "contact_email", "phone", "register_number", "migration_work")

#: status → statuses it may move to. A rejected organisation may correct its
#: details and ask again (back to pending).
ALLOWED = {
    OrganisationStatus.PENDING: {OrganisationStatus.VERIFIED, OrganisationStatus.REJECTED},
    OrganisationStatus.REJECTED: {OrganisationStatus.PENDING},
    OrganisationStatus.VERIFIED: set(),
}


def register_organisation(*, person_name: str, email: str, password: str, locale: str = "de", **fields: Any) -> Organisation | None:
    """Create an organisation (pending) with its first member and send the
    address confirmation. If the address already has an account, nothing is
    created and the owner of that address is told instead, so the form does
    not reveal which addresses are registered. Returns None in that case.
    """
    require_good_password(password, email=email)
    email = normalise_email(email)
    existing = find_user_by_email(email)
    if existing is not None:
        queue_mail(
            existing.email,
            _l("Registrierung mit Ihrer E-Mail-Adresse"),
            "accounts/already_registered",
            locale=existing.locale,
            user=existing,
            login_link=absolute_url("accounts.login"),
            reset_link=absolute_url("accounts.forgot_password"),
        )
        return None
    user = User(email=email, name=person_name, password_hash=hash_password(password), locale=locale)
    organisation = Organisation(**{k: fields.get(k) or None for k in ORGANISATION_FIELDS})
    organisation.migration_work = fields.get("migration_work") or ""
    organisation.status = OrganisationStatus.PENDING
    db.session.add_all([user, organisation, Membership(user=user, organisation=organisation)])
    db.session.flush()
    record(AuditAction.USER_CREATED, actor=user, subject=user, data={"roles": [], "via": "organisation_registration"})
    record(AuditAction.ORGANISATION_REGISTERED, actor=user, subject=organisation, data={"name": organisation.name})
    send_email_verification(user)
    return organisation


def update_organisation(organisation: Organisation, *, by: User, **fields: Any) -> None:
    """Change the editable details; a rejected organisation goes back to pending."""
    changed = sorted(k for k in EDITABLE_FIELDS if k in fields and getattr(organisation, k) != fields[k])
    for key in changed:
        setattr(organisation, key, fields[key])
    resubmitted = organisation.status == OrganisationStatus.REJECTED
    if resubmitted:
        set_organisation_status(organisation, OrganisationStatus.PENDING, by=by)
    if changed or resubmitted:
        record(
            AuditAction.ORGANISATION_UPDATED,
            actor=by,
            subject=organisation,
            data={"fields": changed, "resubmitted": resubmitted},
        )


def set_organisation_status(
    organisation: Organisation, status: OrganisationStatus, *, by: User, reason: str | None = None
) -> None:
    """The one door for an organisation's verification state."""
    if status not in ALLOWED[organisation.status]:
        raise Refused(_l("Über diesen Träger wurde bereits entschieden."))
    if status == OrganisationStatus.REJECTED and not (reason or "").strip():
        raise Refused(_l("Bitte geben Sie einen Grund für die Ablehnung an; der Träger sieht ihn."), field="reason")
    if status == OrganisationStatus.VERIFIED and not any(m.email_verified_at for m in organisation.active_members):
        raise Refused(_l("Der Träger hat seine E-Mail-Adresse noch nicht bestätigt."))
    organisation.status = status
    if status == OrganisationStatus.PENDING:
        organisation.rejection_reason = None
        organisation.decided_at = None
        organisation.decided_by_id = None
        return
    organisation.rejection_reason = reason.strip() if status == OrganisationStatus.REJECTED and reason else None
    organisation.decided_at = now()
    organisation.decided_by_id = by.id
    if status == OrganisationStatus.VERIFIED:
        record(AuditAction.ORGANISATION_VERIFIED, actor=by, subject=organisation, data={"name": organisation.name}, public=True)
        subject, template = _l("Ihr Träger wurde freigeschaltet"), "accounts/organisation_verified"
    else:
        record(AuditAction.ORGANISATION_REJECTED, actor=by, subject=organisation, data={"name": organisation.name, "reason": organisation.rejection_reason})
        subject, template = _l("Ihre Registrierung wurde abgelehnt"), "accounts/organisation_rejected"
    link = absolute_url("accounts.organisation", organisation_id=organisation.id)
    for member in organisation.active_members:
        queue_mail(member.email, subject, template, locale=member.locale, user=member, organisation=organisation, link=link)


def verify_organisation(organisation: Organisation, *, by: User) -> None:
    set_organisation_status(organisation, OrganisationStatus.VERIFIED, by=by)


def reject_organisation(organisation: Organisation, *, by: User, reason: str) -> None:
    set_organisation_status(organisation, OrganisationStatus.REJECTED, by=by, reason=reason)


def leave_organisation(organisation: Organisation, *, by: User) -> None:
    membership = next((m for m in by.active_memberships if m.organisation_id == organisation.id), None)
    if membership is None:
        raise Refused(_l("Sie sind kein Mitglied dieses Trägers."))
    if len(organisation.active_members) <= 1:
        raise Refused(
            _l("Sie sind das letzte Mitglied dieses Trägers. Laden Sie zuerst eine Kollegin oder einen Kollegen ein.")
        )
    membership.left_at = now()
    record(AuditAction.MEMBER_LEFT, actor=by, subject=organisation, data={"user_id": by.id})
