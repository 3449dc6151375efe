"""Demo accounts: README logins work; TOTP is relaxed only where configured."""
from __future__ import annotations

import sqlalchemy as sa

from portal.accounts.models import Organisation, OrganisationStatus
from portal.demo.accounts import DEMO_PASSWORD
from portal.extensions import db


def _sign_in(client, email: str):  # type: ignore[no-untyped-def]
    return client.post("/anmelden", data={"email": email, "password": DEMO_PASSWORD})


def test_demo_load_creates_the_readme_accounts(app, runner, client) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    statuses = dict(db.session.execute(sa.select(Organisation.name, Organisation.status)).all())
    assert sorted(statuses.values()) == sorted([OrganisationStatus.VERIFIED] * 2 + [OrganisationStatus.PENDING])
    # Without DEMO_RELAX_TOTP (testing config) staff must enrol TOTP like everyone.
    assert _sign_in(client, "vergabe@demo.ibv-portal.de").headers["Location"] == "/konto/zwei-faktor"
    other = app.test_client()
    assert _sign_in(other, "traeger1@demo.ibv-portal.de").headers["Location"] == "/konto"
    app.config["DEMO_RELAX_TOTP"] = True
    relaxed = app.test_client()
    assert _sign_in(relaxed, "admin@demo.ibv-portal.de").headers["Location"] == "/konto"
    assert relaxed.get("/verwaltung/konten").status_code == 200
    # Never in production, whatever the flag says.
    app.config["ENV_NAME"] = "production"
    strict = app.test_client()
    assert _sign_in(strict, "admin@demo.ibv-portal.de").headers["Location"] == "/konto/zwei-faktor"
