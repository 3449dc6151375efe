"""Receipts (Eingangsbestätigungen): the page, the PDF and the e-mail text.

A receipt names the receipt number, the server time to the second in
Europe/Berlin and UTC, and the SHA-256 of the canonical document. It never
needs the sealed contents: everything on it is stored in clear on the version.
"""
from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal.bids.models import BidVersion, VersionKind
from portal.bids.services import BerlinTime
from portal.core.pdfgen import render_pdf


def utc_text(version: BidVersion) -> str:
    return version.submitted_at.strftime("%Y-%m-%d %H:%M:%S UTC")


def receipt_url(version: BidVersion) -> str:
    if has_request_context():
        return url_for("bids.receipt", number=version.receipt_number, _external=True)
    return current_app.config["PORTAL_BASE_URL"].rstrip("/") + f"/eingangsbestaetigungen/{version.receipt_number}"


def receipt_title(version: BidVersion) -> Any:
    if version.kind == VersionKind.WITHDRAWAL:
        return _l("Eingangsbestätigung für die Rücknahme %(number)s", number=version.receipt_number)
    return _l("Eingangsbestätigung %(number)s", number=version.receipt_number)


def receipt_mail_context(version: BidVersion, *, locale: str = "de") -> dict[str, Any]:
    """Texts for templates/mail/bids/receipt.txt, translated when the mail is rendered."""
    bid = version.bid
    withdrawal = version.kind == VersionKind.WITHDRAWAL
    return {
        "subject": receipt_title(version),
        "intro": (
            _l("die Rücknahme der Interessenbekundung von %(org)s ist eingegangen.", org=bid.organisation.name)
            if withdrawal
            else _l("die Interessenbekundung von %(org)s ist eingegangen.", org=bid.organisation.name)
        ),
        "salutation": _l("Guten Tag,"),
        "rows": [
            (_l("Eingangsnummer"), version.receipt_number),
            (_l("Aufruf"), f"{bid.call.reference} – {bid.call.title}"),
            (_l("Los"), f"{bid.lot.number} – {bid.lot.title}"),
            (_l("Fassung"), str(version.number)),
            (_l("Eingang (Serverzeit, Europe/Berlin)"), BerlinTime(version.submitted_at)),
            (_l("Eingang (UTC)"), utc_text(version)),
            (_l("SHA-256 des Eingereichten"), version.digest),
        ],
        "link_text": _l("Die Eingangsbestätigung (auch als PDF) finden Sie jederzeit hier:"),
        "link": receipt_url(version),
        "closing": _l("Diese Nachricht wurde automatisch vom IBV-Portal erzeugt."),
    }


def receipt_pdf(version: BidVersion, **context: Any) -> bytes:
    html = render_template("bids/receipt_pdf.html", version=version, utc_text=utc_text(version), **context)
    with force_locale("de"):
        title = str(receipt_title(version))
    return render_pdf(html, title=title)
