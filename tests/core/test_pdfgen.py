"""Generated PDFs are tagged PDF/UA with German text, and rendering never goes online."""
from __future__ import annotations

import io
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator

import pikepdf
import pytest

from portal.core.pdfgen import PRINT_CSS, STATIC_DIR, LocalOnlyFetcher, render_pdf

HTML = """<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>wird ersetzt</title></head>
<body>
<h1>Eingangsbestätigung</h1>
<p>Grüße an die Träger: Größe, Öffnung, Übersicht, Maß.</p>
<table><thead><tr><th>Los</th><th>Prüfsumme</th></tr></thead>
<tbody><tr><td>Los 1</td><td>ab12</td></tr></tbody></table>
</body></html>"""


def pdftotext(data: bytes) -> str:
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.fail("pdftotext fehlt (Debian-Paket poppler-utils)")
    result = subprocess.run(
        [exe, "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


@pytest.fixture(scope="module")
def rendered() -> bytes:
    return render_pdf(HTML, title="Eingangsbestätigung – Los 1", lang="de")


def test_output_is_a_pdf(rendered: bytes) -> None:
    assert rendered.startswith(b"%PDF-")


def test_text_with_umlauts_is_extractable(rendered: bytes) -> None:
    text = pdftotext(rendered)
    assert "Eingangsbestätigung" in text
    assert "Grüße an die Träger: Größe, Öffnung, Übersicht, Maß." in text
    assert "Seite 1 von 1" in text


def test_pdf_is_tagged_with_title_and_language(rendered: bytes) -> None:
    with pikepdf.open(io.BytesIO(rendered)) as pdf:
        assert pdf.Root.MarkInfo.Marked is True
        assert "/StructTreeRoot" in pdf.Root
        assert str(pdf.Root.Lang) == "de"
        assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
        assert str(pdf.docinfo.Title) == "Eingangsbestätigung – Los 1"
        with pdf.open_metadata() as meta:
            assert meta["dc:title"] == "Eingangsbestätigung – Los 1"
            assert meta["pdfuaid:part"] == "1"


def test_english_documents_get_english_page_labels() -> None:
    html = HTML.replace('lang="de"', 'lang="en"')
    data = render_pdf(html, title="Receipt", lang="en")
    assert "Page 1 of 1" in pdftotext(data)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert str(pdf.Root.Lang) == "en"


def test_print_stylesheet_exists_with_page_numbers() -> None:
    css = PRINT_CSS.read_text(encoding="utf-8")
    assert "size: A4" in css
    assert "counter(pages)" in css


@pytest.fixture
def listening_server() -> Iterator[tuple[str, list[bytes]]]:
    """A local TCP server that records every connection anyone makes to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    hits: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    hits.append(conn.recv(1024))
                except OSError:
                    hits.append(b"")
                conn.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    host, port = server.getsockname()
    try:
        yield f"http://{host}:{port}", hits
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()


def test_rendering_makes_no_network_requests(listening_server: tuple[str, list[bytes]]) -> None:
    base, hits = listening_server
    html = f"""<html lang="de"><head>
    <link rel="stylesheet" href="{base}/style.css">
    <style>@import url("{base}/import.css");
    @font-face {{ font-family: X; src: url("{base}/f.woff2"); }}</style>
    </head><body style="background: url('{base}/bg.png')">
    <h1>Öffentlich</h1><img src="{base}/bild.png" alt="Bild"><img src="/etc/hostname" alt="Datei">
    <p style="font-family: X">Text</p></body></html>"""
    data = render_pdf(html, base_url=base + "/", title="Test")
    assert data.startswith(b"%PDF-")
    assert hits == []


def test_fetcher_allows_static_files_and_data_urls_only() -> None:
    fetcher = LocalOnlyFetcher()
    css = fetcher.fetch(PRINT_CSS.as_uri())
    assert css.read() == PRINT_CSS.read_bytes()
    assert css.content_type == "text/css"
    portal_urls = ("https://portal.example/static/css/print.css", "file:///static/css/print.css")
    for portal_url in portal_urls:
        assert fetcher.fetch(portal_url).read() == PRINT_CSS.read_bytes()
    assert fetcher.fetch("data:text/plain;base64,w7Zm").read() == "öf".encode()
    refused = [
        "https://example.org/x.css",
        "ftp://example.org/x.css",
        "file:///etc/passwd",
        (STATIC_DIR / ".." / "config.py").as_uri(),
        "https://portal.example/static/../config.py",
        "https://portal.example/static/%2e%2e/config.py",
        "file://evil.example/static/css/print.css",
    ]
    for url in refused:
        with pytest.raises(ValueError):
            fetcher.fetch(url)
