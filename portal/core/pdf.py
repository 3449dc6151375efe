"""Checking uploaded PDF files before the portal stores them.

Call documents, bid attachments and consultation comments all accept PDF
uploads. Every upload is judged by its content, never by its name or the
browser's content type, and rejected with a German sentence that tells the
uploader what to do. Active content (JavaScript, launch actions, embedded
files, rich media) is refused outright: the portal hands these files to
officers, reviewers and the public, and must not become a way to deliver
malware to them.
"""
from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import pikepdf
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

#: Where the PDF header must appear; viewers accept leading junk up to here.
HEADER_WINDOW = 1024
#: Where the end-of-file marker must appear, counted from the end.
TRAILER_WINDOW = 1024

_ACTION_JAVASCRIPT = pikepdf.Name("/JavaScript")
_ACTION_LAUNCH = pikepdf.Name("/Launch")
_SUBTYPE_FILE_ATTACHMENT = pikepdf.Name("/FileAttachment")
_SUBTYPE_RICH_MEDIA = pikepdf.Name("/RichMedia")
_TYPE_EMBEDDED_FILE = pikepdf.Name("/EmbeddedFile")
_CONTAINERS = (pikepdf.Dictionary, pikepdf.Stream, pikepdf.Array)

#: Keys whose mere presence means scripts: /JS holds action code, /JavaScript
#: is the document-level name tree, /XFA carries XFA forms with own scripting.
_SCRIPT_KEYS = frozenset({"/JS", "/JavaScript"})
#: Keys that only occur with attached files (/EF inside a file specification).
_EMBEDDED_KEYS = frozenset({"/EmbeddedFiles", "/EF"})


@dataclass(frozen=True, slots=True)
class PdfInfo:
    """What the portal records about an accepted PDF (for the receipt and audit log)."""

    sha256: str
    size: int
    page_count: int


class PdfRejected(ValueError):
    """An upload is not an acceptable PDF; `message` says why in plain German.

    `reason` is a stable machine-readable code for logs and tests; the message
    is a lazy translation so that it follows the visitor's language when it is
    shown, but it still reads as German anywhere else (scripts, logs, tests).
    """

    def __init__(self, reason: str, message: LazyString | str) -> None:
        self.reason = reason
        self._message = message
        super().__init__(reason)

    @property
    def lazy_message(self) -> LazyString | str:
        """The untranslated lazy text, for forms that translate on rendering."""
        return self._message

    @property
    def message(self) -> str:
        """The reason as text in the current language, German without an app."""
        return _text(self._message)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[PdfRejected], tuple[str, str]]:
        """Pickle as resolved text so the error can cross process boundaries."""
        return (PdfRejected, (self.reason, self.message))


def _text(message: LazyString | str) -> str:
    """Resolve a lazy message; an app without Flask-Babel still gets German.

    Outside an app context Flask-Babel already returns the (German) msgid; in
    an app context of an app that never set up Babel it raises instead, and
    a rejection reason must never turn into a second error.
    """
    try:
        return str(message)
    except Exception:
        msgid = getattr(message, "_args", ("",))[0]
        params = getattr(message, "_kwargs", {})
        return str(msgid % params if params else msgid)


def human_size(n: int) -> str:
    """Format a byte count the German way ("1,5 MB") for messages and file lists."""
    if n < 0:
        raise ValueError("size must not be negative")
    if n < 1024:
        return "1 Byte" if n == 1 else f"{n:,} Bytes".replace(",", ".")
    value = float(n)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if round(value, 1) < 1024 or unit == "TB":
            break
    text = f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    if text.endswith(",0"):
        text = text[:-2]
    return f"{text} {unit}"


def inspect_pdf(data: bytes, *, max_bytes: int) -> PdfInfo:
    """Accept `data` only if it is a readable, unencrypted PDF without active content.

    The checks run from cheap to expensive so that junk is refused before
    the parser ever sees it. Raises `PdfRejected` with a German reason.
    """
    size = len(data)
    if size == 0:
        raise PdfRejected("empty", _l("Die Datei ist leer."))
    if size > max_bytes:
        raise PdfRejected(
            "too_large",
            _l(
                "Die Datei ist größer als %(limit)s (erlaubt: höchstens %(limit)s).",
                limit=human_size(max_bytes),
            ),
        )
    if b"%PDF-" not in data[:HEADER_WINDOW]:
        raise PdfRejected(
            "not_pdf", _l("Die Datei ist keine PDF-Datei (erkannt am Inhalt, nicht am Namen).")
        )
    if b"%%EOF" not in data[-TRAILER_WINDOW:]:
        # A missing end marker almost always means an interrupted upload or
        # download; qpdf would silently repair it, but the uploader should know.
        raise _broken()

    # The parser meets hostile input here, so any failure of it, whatever
    # its exception class, means "cannot be read" rather than a server error.
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise _encrypted() from None
    except Exception:
        raise _broken() from None

    with pdf:
        if pdf.is_encrypted:
            raise _encrypted()
        try:
            _check_active_content(pdf)
            page_count = len(pdf.pages)
        except PdfRejected:
            raise
        except Exception:
            raise _broken() from None

    if page_count == 0:
        raise PdfRejected("no_pages", _l("Die PDF-Datei enthält keine Seiten."))
    return PdfInfo(sha256=hashlib.sha256(data).hexdigest(), size=size, page_count=page_count)


def _encrypted() -> PdfRejected:
    return PdfRejected(
        "encrypted",
        _l(
            "Die PDF-Datei ist verschlüsselt oder passwortgeschützt. "
            "Bitte laden Sie eine unverschlüsselte Fassung hoch."
        ),
    )


def _broken() -> PdfRejected:
    return PdfRejected("broken", _l("Die PDF-Datei ist beschädigt und kann nicht gelesen werden."))


def _check_active_content(pdf: pikepdf.Pdf) -> None:
    """Refuse the first kind of active content found anywhere in the file.

    Every object is examined, not only those reachable from the catalogue,
    because viewers differ in what they follow and hidden objects cost us
    nothing to refuse.
    """
    for obj in _all_dictionaries(pdf):
        keys = set(obj.keys())
        action = obj.get("/S")
        subtype = obj.get("/Subtype")
        if keys & _SCRIPT_KEYS or action == _ACTION_JAVASCRIPT:
            raise PdfRejected(
                "javascript",
                _l(
                    "Die PDF-Datei enthält JavaScript. Bitte speichern Sie das Dokument "
                    "ohne Skripte neu, zum Beispiel über „Drucken“ und „Als PDF speichern“."
                ),
            )
        if "/XFA" in keys:
            raise PdfRejected(
                "xfa",
                _l(
                    "Die PDF-Datei enthält ein XFA-Formular, das Skripte ausführen kann. "
                    "Bitte speichern Sie das ausgefüllte Formular über „Drucken“ und "
                    "„Als PDF speichern“ neu."
                ),
            )
        if action == _ACTION_LAUNCH:
            raise PdfRejected(
                "launch",
                _l(
                    "Die PDF-Datei enthält eine Aktion, die Programme startet (Launch). "
                    "Solche Dateien nimmt das Portal aus Sicherheitsgründen nicht an."
                ),
            )
        if (
            keys & _EMBEDDED_KEYS
            or subtype == _SUBTYPE_FILE_ATTACHMENT
            or obj.get("/Type") == _TYPE_EMBEDDED_FILE
        ):
            raise PdfRejected(
                "embedded_file",
                _l(
                    "Die PDF-Datei enthält eingebettete Dateien (Anhänge). Bitte laden Sie "
                    "jede Datei einzeln als PDF hoch."
                ),
            )
        if subtype == _SUBTYPE_RICH_MEDIA or "/RichMediaContent" in keys:
            raise PdfRejected(
                "rich_media",
                _l(
                    "Die PDF-Datei enthält eingebettete Multimedia-Inhalte (RichMedia). "
                    "Bitte laden Sie eine Fassung ohne solche Inhalte hoch."
                ),
            )


def _all_dictionaries(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary | pikepdf.Stream]:
    """Yield every dictionary in the file, including ones nested as direct objects.

    `pdf.objects` lists only indirect objects; an /OpenAction written inline
    in the catalogue is a direct child and must be reached by descending.
    Indirect children are skipped there because `pdf.objects` yields them
    anyway, which also makes reference cycles harmless. An explicit stack
    keeps hostile nesting depth from exhausting Python's recursion limit.
    """
    roots: list[object] = [pdf.trailer, *pdf.objects]
    for root in roots:
        stack = [root]
        while stack:
            obj = stack.pop()
            if isinstance(obj, pikepdf.Stream):
                yield obj
                children = obj.stream_dict.values()
            elif isinstance(obj, pikepdf.Dictionary):
                yield obj
                children = obj.values()
            elif isinstance(obj, pikepdf.Array):
                children = obj
            else:
                continue
            stack.extend(
                child
                for child in children
                if isinstance(child, _CONTAINERS) and not child.is_indirect
            )


_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_WHITESPACE = re.compile(r"\s+")


def safe_display_filename(
    name: str, *, max_length: int = 120, fallback: str = "Dokument.pdf"
) -> str:
    """Make an uploaded file name safe to show, keeping umlauts and spaces.

    Browsers may send full client paths ("C:\\Users\\…\\Konzept.pdf"), and
    names may hide control or bidirectional characters that disguise the
    extension. Only for display: storage uses generated names.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(" " if ch in "\t\n\r" else ch for ch in name)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _CONTROL_CATEGORIES)
    name = _WHITESPACE.sub(" ", name).strip()
    if name in {"", ".", ".."}:
        return fallback
    if len(name) > max_length:
        stem, dot, ext = name.rpartition(".")
        keep_ext = dot and 0 < len(ext) <= 10
        suffix = f"….{ext}" if keep_ext else "…"
        base = stem if keep_ext else name
        name = base[: max(1, max_length - len(suffix))].rstrip() + suffix
    return name
