"""Uploaded PDFs are judged by content and refused with a reason the uploader understands."""
from __future__ import annotations

import hashlib

import pytest
from flask import Flask
from flask_babel import Babel

from portal.core.pdf import PdfInfo, PdfRejected, human_size, inspect_pdf, safe_display_filename
from tests.pdf_samples import (
    broken_pdf,
    encrypted_pdf,
    exe_bytes,
    pdf_with_embedded_file,
    pdf_with_javascript,
    pdf_with_launch,
    pdf_with_rich_media,
    pdf_with_xfa,
    valid_pdf,
)

MB = 1024 * 1024
LIMIT = 20 * MB


def rejection(data: bytes, max_bytes: int = LIMIT) -> PdfRejected:
    with pytest.raises(PdfRejected) as caught:
        inspect_pdf(data, max_bytes=max_bytes)
    return caught.value


def test_valid_pdf_gives_digest_size_and_pages() -> None:
    data = valid_pdf(pages=3, text="Konzept für Los 2")
    info = inspect_pdf(data, max_bytes=LIMIT)
    assert info == PdfInfo(sha256=hashlib.sha256(data).hexdigest(), size=len(data), page_count=3)
    assert len(info.sha256) == 64


def test_header_after_a_little_leading_junk_is_still_a_pdf() -> None:
    data = b"\r\n" * 100 + valid_pdf()
    assert inspect_pdf(data, max_bytes=LIMIT).page_count == 1


def test_empty_file() -> None:
    exc = rejection(b"")
    assert exc.reason == "empty"
    assert exc.message == "Die Datei ist leer."


def test_windows_program_renamed_to_pdf() -> None:
    exc = rejection(exe_bytes())
    assert exc.reason == "not_pdf"
    assert exc.message == "Die Datei ist keine PDF-Datei (erkannt am Inhalt, nicht am Namen)."


def test_header_too_far_from_start_is_not_a_pdf() -> None:
    assert rejection(b" " * 2000 + valid_pdf()).reason == "not_pdf"


def test_oversize_names_the_limit_in_german_units() -> None:
    exc = rejection(b"%PDF-1.7\n" + b"\0" * LIMIT)
    assert exc.reason == "too_large"
    assert exc.message == "Die Datei ist größer als 20 MB (erlaubt: höchstens 20 MB)."


def test_oversize_is_measured_against_max_bytes_exactly() -> None:
    data = valid_pdf()
    assert inspect_pdf(data, max_bytes=len(data)).size == len(data)
    assert rejection(data, max_bytes=len(data) - 1).reason == "too_large"


@pytest.mark.parametrize("user_password", ["geheim", ""])
def test_encrypted_pdf_is_refused_even_with_empty_user_password(user_password: str) -> None:
    exc = rejection(encrypted_pdf(user_password=user_password))
    assert exc.reason == "encrypted"
    assert exc.message == (
        "Die PDF-Datei ist verschlüsselt oder passwortgeschützt. "
        "Bitte laden Sie eine unverschlüsselte Fassung hoch."
    )


@pytest.mark.parametrize("kind", ["truncated", "garbage"])
def test_broken_pdf(kind: str) -> None:
    exc = rejection(broken_pdf(kind))  # type: ignore[arg-type]
    assert exc.reason == "broken"
    assert exc.message == "Die PDF-Datei ist beschädigt und kann nicht gelesen werden."


@pytest.mark.parametrize("where", ["open_action", "names", "page_aa", "link"])
@pytest.mark.parametrize("compressed", [False, True])
def test_javascript_anywhere_is_refused(where: str, compressed: bool) -> None:
    exc = rejection(pdf_with_javascript(where, compressed=compressed))  # type: ignore[arg-type]
    assert exc.reason == "javascript"
    assert exc.message.startswith("Die PDF-Datei enthält JavaScript.")


def test_javascript_behind_escaped_names_is_refused() -> None:
    data = pdf_with_javascript()
    data = data.replace(b"/JavaScript", b"/J#61vaScript").replace(b"/JS ", b"/J#53 ")
    assert b"/JavaScript" not in data
    assert rejection(data).reason == "javascript"


def test_launch_action_is_refused() -> None:
    exc = rejection(pdf_with_launch())
    assert exc.reason == "launch"
    assert "enthält eine Aktion, die Programme startet (Launch)" in exc.message


@pytest.mark.parametrize("kind", ["names", "annotation"])
def test_embedded_files_are_refused(kind: str) -> None:
    exc = rejection(pdf_with_embedded_file(kind))  # type: ignore[arg-type]
    assert exc.reason == "embedded_file"
    assert "enthält eingebettete Dateien" in exc.message


def test_rich_media_is_refused() -> None:
    exc = rejection(pdf_with_rich_media())
    assert exc.reason == "rich_media"
    assert "RichMedia" in exc.message


def test_xfa_form_is_refused() -> None:
    assert rejection(pdf_with_xfa()).reason == "xfa"


def test_message_is_german_text_outside_any_app_context() -> None:
    exc = rejection(b"")
    assert str(exc) == exc.message == "Die Datei ist leer."
    assert isinstance(exc, ValueError)


def test_message_falls_back_to_german_in_an_app_without_babel() -> None:
    exc = rejection(exe_bytes())
    with Flask("ohne_babel").app_context():
        assert str(exc) == "Die Datei ist keine PDF-Datei (erkannt am Inhalt, nicht am Namen)."


def test_message_is_lazy_and_formatted_inside_an_app_with_babel() -> None:
    app = Flask("mit_babel")
    Babel(app)
    exc = rejection(b"%PDF-1.7\n" + b"\0" * 2000, max_bytes=1536)
    with app.test_request_context("/"):
        assert exc.message == "Die Datei ist größer als 1,5 KB (erlaubt: höchstens 1,5 KB)."
        assert str(exc.lazy_message) == exc.message


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 Bytes"),
        (1, "1 Byte"),
        (1023, "1.023 Bytes"),
        (1024, "1 KB"),
        (1536, "1,5 KB"),
        (int(1.5 * MB), "1,5 MB"),
        (20 * MB, "20 MB"),
        (MB - 1, "1 MB"),
        (3 * 1024 * MB, "3 GB"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Konzept Überblick März.pdf", "Konzept Überblick März.pdf"),
        ("C:\\Users\\Jörg\\Desktop\\Freistellungsbescheid.pdf", "Freistellungsbescheid.pdf"),
        ("/home/anna/../../etc/passwd", "passwd"),
        ("Rechnung\u202efdp.exe", "Rechnungfdp.exe"),
        ("Zeile\nzwei\x00\x07.pdf", "Zeile zwei.pdf"),
        ("  viele   Leerzeichen  .pdf ", "viele Leerzeichen .pdf"),
        ("Mu\u0308ller.pdf", "Müller.pdf"),
        ("..", "Dokument.pdf"),
        ("", "Dokument.pdf"),
    ],
)
def test_safe_display_filename(raw: str, shown: str) -> None:
    assert safe_display_filename(raw) == shown


def test_safe_display_filename_shortens_but_keeps_extension() -> None:
    shown = safe_display_filename("Ä" * 300 + ".pdf", max_length=50)
    assert len(shown) == 50
    assert shown.endswith("….pdf")
    assert shown.startswith("ÄÄÄ")
