"""After `make run` the demo council member sees every demo procedure and the KIM report."""
from __future__ import annotations

from typing import Any

from flask_babel import force_locale
from sqlalchemy import select

from portal.accounts.models import User
from portal.demo import load_demo
from portal.extensions import db
from tests.conftest import login


def test_demo_council_view(app: Any, client: Any) -> None:
    with force_locale("de"):
        ctx = load_demo()
    kai = db.session.scalar(select(User).where(User.email == "kreistag@demo.ibv-portal.de"))
    assert kai is not None
    login(client, kai)
    page = client.get("/kreistag/").get_data(as_text=True)
    closed = ctx.objects["closed_call"]
    section = page.split(f'id="call-{closed.id}-title"', 1)[1].split("</article>", 1)[0]
    assert "erst nach Fristablauf" not in section and "Frist für Interessenbekundungen" in section
    assert "Kommunales Integrationsmanagement" in page and "aufgehoben" in page
    kim = ctx.objects["kim_consultation"]
    assert f"/beteiligung/{kim.id}/bericht" in page
    awarded = ctx.objects["awarded_call"]
    head, rest = page.split(f'id="call-{awarded.id}-title"', 1)
    awarded_section, tail = rest.split("</article>", 1)
    # The winner is public once the award notice is; losing organisations and every other call: no names.
    assert "Zuschlag an</dt>" in awarded_section and "Vergabebekanntmachung" in awarded_section
    assert "Caritas" not in head + tail and "Diakonie" not in head + tail
    review_section = page.split(f'id="call-{ctx.objects["review_call"].id}-title"', 1)[1].split("</article>", 1)[0]
    assert "Stand der Bewertung" in review_section and "Bewertungen abgegeben" in review_section
    assert client.get("/kreistag/statusbericht.pdf").status_code == 200
