"""Fixtures and helpers for the accounts tests."""
from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest

from portal.core import time as portal_time
from tests.factories import TOTP_SECRET


def totp_now(secret: str = TOTP_SECRET) -> str:
    """The code an authenticator app shows right now (by the portal's clock)."""
    return pyotp.TOTP(secret).at(portal_time.now())


def link_in(smtp_server: Any, address: str, index: int = -1) -> str:
    """The first portal link in the `index`-th mail that reached `address`."""
    messages = smtp_server.to(address)
    assert messages, f"no mail reached {address}"
    match = re.search(r"https?://\S+", smtp_server.text(messages[index]))
    assert match, "mail contains no link"
    return match.group(0)


def path_of(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path


@pytest.fixture
def registration() -> dict[str, str]:
    return {
        "name": "Flüchtlingshilfe Siegen e. V.",
        "legal_form": "eingetragener Verein",
        "street": "Bahnhofstraße 5",
        "postcode": "57072",
        "city": "Siegen",
        "contact_email": "info@fluechtlingshilfe.example.org",
        "phone": "",
        "register_number": "VR 1234",
        "migration_work": "Seit 2016 Migrationsberatung für Erwachsene im Kreisgebiet.",
        "person_name": "Fatma Yilmaz",
        "email": "fatma@fluechtlingshilfe.example.org",
        "password": "ein langer satz als passwort",
        "password_repeat": "ein langer satz als passwort",
    }
