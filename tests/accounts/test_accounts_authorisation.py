"""Every route of the accounts blueprint × every role: the expected status."""
from __future__ import annotations

import pytest

from portal.accounts.models import OrganisationStatus, Role
from tests.conftest import login
from tests.factories import add_member, make_organisation, make_user

ROLES = ["anonymous", "bidder", "officer", "reviewer", "observer", "admin"]

# (method, url template, {role: status}); "*" is the default for signed-in roles.
# Anonymous visitors of pages behind sign-in are sent to the sign-in page (302).
SIGNED_IN = {"anonymous": 302, "*": 200}
STAFF_ONLY = lambda allowed, ok=200: {"anonymous": 302, "*": 403, **{r: ok for r in allowed}}  # noqa: E731
ROUTES = [
    ("GET", "/anmelden", {"anonymous": 200, "*": 302}),
    ("GET", "/anmelden/code", {"anonymous": 302, "*": 302}),
    ("GET", "/passwort-vergessen", {"*": 200}),
    ("GET", "/passwort-neu/kaputt", {"*": 400}),
    ("GET", "/registrieren", {"*": 200}),
    ("GET", "/registrieren/danke", {"*": 200}),
    ("GET", "/e-mail-bestaetigen/kaputt", {"*": 200}),
    ("POST", "/e-mail-bestaetigen/kaputt", {"*": 400}),
    ("GET", "/einladung/kaputt", {"*": 400}),
    ("GET", "/konto", SIGNED_IN),
    ("POST", "/abmelden", {"*": 302}),
    ("POST", "/konto/einstellungen", SIGNED_IN),  # empty form: shown again with errors
    ("POST", "/konto/daten", {"anonymous": 302, "*": 200}),
    ("GET", "/konto/bestaetigen", SIGNED_IN),
    ("GET", "/konto/passwort", {"*": 302}),  # signed in: re-authentication first
    ("GET", "/konto/e-mail", {"*": 302}),
    ("GET", "/konto/e-mail/kaputt", SIGNED_IN),
    ("GET", "/konto/zwei-faktor", {"*": 302}),
    ("POST", "/konto/zwei-faktor/aus", {"*": 302}),
    ("GET", "/traeger/{own}", {"anonymous": 302, "*": 404, "bidder": 200, "officer": 200, "admin": 200}),
    ("GET", "/traeger/{other}", {"anonymous": 302, "*": 404, "officer": 200, "admin": 200}),
    # Only members change an organisation; everyone else gets 404, officers included.
    ("GET", "/traeger/{own}/bearbeiten", {"anonymous": 302, "*": 404, "bidder": 200}),
    ("GET", "/traeger/{other}/bearbeiten", {"anonymous": 302, "*": 404}),
    ("POST", "/traeger/{own}/einladen", {"anonymous": 302, "*": 404, "bidder": 200}),
    ("POST", "/traeger/{other}/austreten", {"anonymous": 302, "*": 404}),
    ("GET", "/verwaltung/traeger", STAFF_ONLY(["officer"])),
    ("POST", "/verwaltung/traeger/{pending}/entscheiden", STAFF_ONLY(["officer"])),
    ("GET", "/verwaltung/konten", STAFF_ONLY(["admin"])),
    ("POST", "/verwaltung/konten/einladen", STAFF_ONLY(["admin"])),
    ("GET", "/verwaltung/konten/{user}", STAFF_ONLY(["admin"])),
    ("POST", "/verwaltung/konten/{user}/aktiv", STAFF_ONLY(["admin"], 302)),
    ("GET", "/verwaltung/e-mails", STAFF_ONLY(["admin"])),
]


def test_every_route_of_the_blueprint_is_listed(app) -> None:  # type: ignore[no-untyped-def]
    import re

    rules = {(m, re.sub(r"<[^>]+>", "X", r.rule)) for r in app.url_map.iter_rules() if r.endpoint.startswith("accounts.")
             for m in r.methods - {"HEAD", "OPTIONS"}}
    listed = {(m, re.sub(r"\{[^}]+\}|kaputt", "X", url)) for m, url, _ in ROUTES}
    # A route answering GET and POST needs at least one of them listed.
    missing = {rule for rule in rules if rule not in listed and ("GET", rule[1]) not in listed}
    assert not missing, f"routes without an authorisation expectation: {sorted(missing)}"


@pytest.mark.parametrize("role", ROLES)
def test_route_matrix(app, client, role: str) -> None:  # type: ignore[no-untyped-def]
    own = make_organisation()
    other = make_organisation()
    pending = make_organisation(status=OrganisationStatus.PENDING)
    add_member(other, make_user())
    add_member(pending, make_user())
    target = make_user(roles=[Role.OBSERVER])
    users = {
        "bidder": make_user(),
        "officer": make_user(roles=[Role.OFFICER], totp=True),
        "reviewer": make_user(roles=[Role.REVIEWER], totp=True),
        "observer": make_user(roles=[Role.OBSERVER]),
        "admin": make_user(roles=[Role.ADMIN], totp=True),
    }
    add_member(own, users["bidder"])
    ids = {"own": own.id, "other": other.id, "pending": pending.id, "user": target.id}
    failures = []
    for method, template, expected in ROUTES:
        if role != "anonymous":
            login(client, users[role])
        url = template.format(**ids)
        response = client.open(url, method=method)
        want = expected.get(role, expected.get("*"))
        if response.status_code != want:
            failures.append(f"{method} {url}: {response.status_code}, expected {want}")
    assert not failures, "\n".join(failures)
