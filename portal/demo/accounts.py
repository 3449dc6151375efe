"""Demo accounts for every role and three organisations (one pending).

The logins are listed in README.md. All demo passwords are `demo-passwort-2026`.
"""
from __future__ import annotations

from portal.accounts.models import Membership, Organisation, OrganisationStatus, Role, User, UserRole
from portal.accounts.passwords import hash_password
from portal.audit.actions import AuditAction
from portal.audit.services import record
from portal.core.time import now
from portal.demo import DemoContext
from portal.extensions import db

DEMO_PASSWORD = "demo-passwort-2026"

STAFF = [
    ("admin", "admin@demo.ibv-portal.de", "Anna Admin", [Role.ADMIN]),
    ("officer", "vergabe@demo.ibv-portal.de", "Olaf Vergabe", [Role.OFFICER]),
    ("officer2", "vergabe2@demo.ibv-portal.de", "Oksana Zweitprüferin", [Role.OFFICER]),
    ("reviewer1", "gutachten1@demo.ibv-portal.de", "Rita Gutachterin", [Role.REVIEWER]),
    ("reviewer2", "gutachten2@demo.ibv-portal.de", "Ralf Gutachter", [Role.REVIEWER]),
    ("observer", "kreistag@demo.ibv-portal.de", "Kai Kreistag (Fraktion)", [Role.OBSERVER]),
]

ORGANISATIONS = [
    ("caritas", "Caritasverband Siegen-Wittgenstein e. V.", "eingetragener Verein", "Siegen",
     OrganisationStatus.VERIFIED, "traeger1@demo.ibv-portal.de", "Clara Caritas"),
    ("diakonie", "Diakonisches Werk im Ev. Kirchenkreis Siegen-Wittgenstein gGmbH", "gGmbH", "Siegen",
     OrganisationStatus.VERIFIED, "traeger2@demo.ibv-portal.de", "Dirk Diakonie"),
    ("awo", "AWO Kreisverband Siegen-Wittgenstein/Olpe e. V.", "eingetragener Verein", "Bad Berleburg",
     OrganisationStatus.PENDING, "traeger3@demo.ibv-portal.de", "Ayla Arbeiterwohlfahrt"),
]


def _user(ctx: DemoContext, key: str, email: str, name: str, roles: list[Role]) -> User:
    user = User(email=email, name=name, password_hash=hash_password(DEMO_PASSWORD), email_verified_at=now())
    user.roles = [UserRole(role=r) for r in roles]
    db.session.add(user)
    db.session.flush()
    record(AuditAction.USER_CREATED, actor=None, subject=user, data={"roles": sorted(r.value for r in roles), "demo": True})
    ctx.objects[key] = user
    return user


def load(ctx: DemoContext) -> None:
    for key, email, name, roles in STAFF:
        _user(ctx, key, email, name, roles)
    officer = ctx.objects["officer"]
    for key, org_name, legal_form, city, status, email, person in ORGANISATIONS:
        org = Organisation(
            name=org_name, legal_form=legal_form, street="Musterstraße 1", postcode="57072", city=city,
            contact_email=email, migration_work="Migrationsberatung für Erwachsene (MBE) und Flüchtlingsberatung im Kreisgebiet.",
            status=status,
        )
        db.session.add(org)
        member = _user(ctx, f"{key}_member", email, person, [])
        db.session.add(Membership(user=member, organisation=org))
        db.session.flush()
        record(AuditAction.ORGANISATION_REGISTERED, actor=member, subject=org, data={"name": org_name}, public=False)
        if status == OrganisationStatus.VERIFIED:
            org.decided_at = now()
            org.decided_by_id = officer.id
            record(AuditAction.ORGANISATION_VERIFIED, actor=officer, subject=org, data={"name": org_name}, public=False)
        ctx.objects[key] = org
    ctx.say(f"{len(STAFF)} Mitarbeitendenkonten und {len(ORGANISATIONS)} Träger angelegt (Passwort: {DEMO_PASSWORD}).")
