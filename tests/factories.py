"""Plain factory functions for tests: `make_<thing>(**overrides)`.

They write directly through the models (not the services) so that a test can
set up any state quickly; tests of the services themselves call the services.
Domains add their own factories in tests/factories_<domain>.py.
"""
from __future__ import annotations

import itertools
from typing import Any

from portal.accounts.models import Membership, Organisation, OrganisationStatus, Role, User, UserRole
from portal.accounts.passwords import hash_password
from portal.core.time import now
from portal.extensions import db

PASSWORD = "ein-sicheres-testpasswort"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_counter = itertools.count(1)


def make_user(
    *,
    email: str | None = None,
    name: str = "Test Person",
    roles: list[Role] | tuple[Role, ...] = (),
    password: str = PASSWORD,
    totp: bool = False,
    active: bool = True,
    **overrides: Any,
) -> User:
    n = next(_counter)
    fields: dict[str, Any] = dict(
        email=email or f"person{n}@example.org",
        name=name,
        password_hash=hash_password(password),
        active=active,
        email_verified_at=now(),
    )
    fields.update(overrides)  # e.g. email_verified_at=None for an unconfirmed address
    user = User(**fields)
    if totp:
        user.totp_secret = TOTP_SECRET
        user.totp_enabled_at = now()
    user.roles = [UserRole(role=r) for r in roles]
    db.session.add(user)
    db.session.commit()
    return user


def make_organisation(
    *,
    name: str | None = None,
    status: OrganisationStatus = OrganisationStatus.VERIFIED,
    **overrides: Any,
) -> Organisation:
    n = next(_counter)
    fields: dict[str, Any] = dict(
        name=name or f"Träger {n} e. V.",
        legal_form="eingetragener Verein",
        street="Musterstraße 1",
        postcode="57072",
        city="Siegen",
        contact_email=f"kontakt{n}@traeger.example.org",
        migration_work="Migrationsberatung seit 2015.",
        status=status,
    )
    fields.update(overrides)
    org = Organisation(**fields)
    db.session.add(org)
    db.session.commit()
    return org


def add_member(organisation: Organisation, user: User) -> Membership:
    membership = Membership(user=user, organisation=organisation)
    db.session.add(membership)
    db.session.commit()
    return membership
