"""PDF files for tests, built with pikepdf so no binary fixtures live in the repository.

Every function returns the bytes of one complete file. Tests for uploads
(call documents, bids, consultation comments) import these to feed good and
hostile files through the same checks the portal uses.
"""
from __future__ import annotations

import io
from typing import Any, Literal

import pikepdf
from pikepdf import Array, Dictionary, Name, String

__all__ = [
    "broken_pdf",
    "encrypted_pdf",
    "exe_bytes",
    "pdf_with_embedded_file",
    "pdf_with_javascript",
    "pdf_with_launch",
    "pdf_with_rich_media",
    "pdf_with_xfa",
    "valid_pdf",
]


def _new_document(pages: int = 1, text: str = "Testdokument") -> pikepdf.Pdf:
    """A document whose pages each show `text` (Latin-1, so umlauts work) in Helvetica."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.Type1,
            BaseFont=Name.Helvetica,
            Encoding=Name.WinAnsiEncoding,
        )
    )
    for number in range(1, pages + 1):
        line = f"{text} (Seite {number})" if pages > 1 else text
        escaped = (
            line.encode("cp1252")
            .replace(b"\\", b"\\\\")
            .replace(b"(", b"\\(")
            .replace(b")", b"\\)")
        )
        content = b"BT /F1 14 Tf 72 770 Td (" + escaped + b") Tj ET"
        page = pikepdf.Page(
            Dictionary(
                Type=Name.Page,
                MediaBox=Array([0, 0, 595, 842]),
                Resources=Dictionary(Font=Dictionary(F1=font)),
                Contents=pdf.make_stream(content),
            )
        )
        pdf.pages.append(page)
    return pdf


def _save(pdf: pikepdf.Pdf, **options: Any) -> bytes:
    buffer = io.BytesIO()
    pdf.save(buffer, **options)
    return buffer.getvalue()


def valid_pdf(pages: int = 1, text: str = "Testdokument für das Portal") -> bytes:
    """A plain, harmless PDF with `pages` pages of text."""
    return _save(_new_document(pages, text))


def encrypted_pdf(user_password: str = "geheim", owner_password: str = "vergabe") -> bytes:
    """An AES-256 encrypted PDF; an empty `user_password` opens without asking."""
    return _save(
        _new_document(),
        encryption=pikepdf.Encryption(user=user_password, owner=owner_password, R=6),
    )


def pdf_with_javascript(
    where: Literal["open_action", "names", "page_aa", "link"] = "open_action",
    *,
    compressed: bool = False,
) -> bytes:
    """A PDF that runs JavaScript, placed where real-world malware puts it.

    `open_action` runs on opening, `names` is the document-level /Names
    /JavaScript tree, `page_aa` an additional action when a page opens, `link`
    a clickable annotation. `compressed` hides the objects in object streams.
    """
    pdf = _new_document()
    action = Dictionary(S=Name.JavaScript, JS=String("app.alert('Hallo');"))
    if where == "open_action":
        pdf.Root.OpenAction = action
    elif where == "names":
        script = pdf.make_indirect(action)
        pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("start"), script])))
    elif where == "page_aa":
        pdf.pages[0].obj.AA = Dictionary(O=pdf.make_indirect(action))
    else:
        pdf.pages[0].obj.Annots = Array(
            [
                pdf.make_indirect(
                    Dictionary(
                        Type=Name.Annot,
                        Subtype=Name.Link,
                        Rect=Array([72, 700, 300, 720]),
                        A=action,
                    )
                )
            ]
        )
    if compressed:
        return _save(pdf, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return _save(pdf)


def pdf_with_launch() -> bytes:
    """A PDF whose open action starts a program on the reader's computer."""
    pdf = _new_document()
    pdf.Root.OpenAction = Dictionary(
        S=Name.Launch,
        Win=Dictionary(F=String("cmd.exe"), P=String("/c calc.exe")),
    )
    return _save(pdf)


def pdf_with_embedded_file(kind: Literal["names", "annotation"] = "names") -> bytes:
    """A PDF carrying another file: via /Names /EmbeddedFiles or a paper-clip annotation."""
    pdf = _new_document()
    if kind == "names":
        pdf.attachments["rechnung.exe"] = _file_spec(pdf, exe_bytes(), "rechnung.exe")
    else:
        spec = _file_spec(pdf, b"versteckter Inhalt", "notiz.txt")
        pdf.pages[0].obj.Annots = Array(
            [
                pdf.make_indirect(
                    Dictionary(
                        Type=Name.Annot,
                        Subtype=Name.FileAttachment,
                        Rect=Array([72, 700, 90, 720]),
                        FS=spec.obj,
                    )
                )
            ]
        )
    return _save(pdf)


def _file_spec(pdf: pikepdf.Pdf, data: bytes, filename: str) -> pikepdf.AttachedFileSpec:
    return pikepdf.AttachedFileSpec(
        pdf,
        data,
        description="",
        filename=filename,
        mime_type="application/octet-stream",
        creation_date="",
        mod_date="",
    )


def pdf_with_rich_media() -> bytes:
    """A PDF with a /RichMedia annotation (the Flash-era way to embed players)."""
    pdf = _new_document()
    pdf.pages[0].obj.Annots = Array(
        [
            pdf.make_indirect(
                Dictionary(
                    Type=Name.Annot,
                    Subtype=Name.RichMedia,
                    Rect=Array([72, 500, 300, 700]),
                )
            )
        ]
    )
    return _save(pdf)


def pdf_with_xfa() -> bytes:
    """A PDF form carrying an XFA packet, whose scripts run outside PDF JavaScript."""
    pdf = _new_document()
    packet = pdf.make_stream(
        b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template>'
        b'<script contentType="application/x-javascript">app.alert(1)</script>'
        b"</template></xdp:xdp>"
    )
    pdf.Root.AcroForm = Dictionary(Fields=Array([]), XFA=packet)
    return _save(pdf)


def broken_pdf(kind: Literal["truncated", "garbage"] = "truncated") -> bytes:
    """A file that starts like a PDF but cannot be read.

    `truncated` is an interrupted upload (the first half of a real file);
    `garbage` has a header and end marker but nothing readable between them.
    """
    if kind == "truncated":
        data = valid_pdf(pages=3)
        return data[: len(data) // 2]
    header = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    return header + bytes(range(256)) * 8 + b"\ntrailer\n<< /Root 99 0 R >>\n%%EOF\n"


def exe_bytes() -> bytes:
    """The start of a Windows program ("MZ" header), as if renamed to .pdf."""
    header = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    stub = b"This program cannot be run in DOS mode.\r\r\n$"
    return header + b"\x00" * 48 + stub + b"\x00" * 400
