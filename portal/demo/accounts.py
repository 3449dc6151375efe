"""Demo accounts for every role and three organisations (one pending).

The logins are listed in README.md. All demo passwords are `demo-passwort-2026`.
Organisations are registered and verified through the same services the UI
uses, so the demo has a real audit trail. Demo accounts are marked `is_demo`:
with DEMO_RELAX_TOTP (development only) they sign in without a TOTP code.
"""
from __future__ import annotations

from flask import current_app

from portal.accounts import services
from portal.accounts.models import OrganisationStatus, Role, User, UserRole
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


def _staff(ctx: DemoContext, key: str, email: str, name: str, roles: list[Role]) -> User:
    # Staff are created directly: an invitation would need someone to open the mail.
    user = User(email=email, name=name, password_hash=hash_password(DEMO_PASSWORD), email_verified_at=now(), is_demo=True)
    user.roles = [UserRole(role=r) for r in roles]
    db.session.add(user)
    db.session.flush()
    record(AuditAction.USER_CREATED, actor=None, subject=user, data={"roles": sorted(r.value for r in roles), "demo": True})
    ctx.objects[key] = user
    return user


def load(ctx: DemoContext) -> None:
    for key, email, name, roles in STAFF:
        _staff(ctx, key, email, name, roles)
    officer = ctx.objects["officer"]
    with current_app.test_request_context("/"):  # lazy texts and mail rendering need a request
        for key, org_name, legal_form, city, status, email, person in ORGANISATIONS:
            org = services.register_organisation(
                person_name=person, email=email, password=DEMO_PASSWORD, name=org_name, legal_form=legal_form,
                street="Musterstraße 1", postcode="57072", city=city, contact_email=email,
                migration_work="Migrationsberatung für Erwachsene (MBE) und Flüchtlingsberatung im Kreisgebiet.",
            )
            assert org is not None
            member = org.active_members[0]
            member.is_demo = True
            member.email_verified_at = now()
            if status == OrganisationStatus.VERIFIED:
                services.verify_organisation(org, by=officer)
            ctx.objects[key] = org
            ctx.objects[f"{key}_member"] = member
    ctx.say(f"{len(STAFF)} Mitarbeitendenkonten und {len(ORGANISATIONS)} Träger angelegt (Passwort: {DEMO_PASSWORD}).")
