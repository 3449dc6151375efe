"""The consultation report (Beteiligungsbericht), computed from the data every time.

One function gathers the figures; the page, the PDF and the CSV all use it,
so the three can never disagree.
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

from flask import render_template
from flask_babel import gettext as _

from portal.consultation.models import AuthorKind, Comment, Consultation, ResponseState
from portal.consultation.sections import SectionChange, compare_versions
from portal.core.pdfgen import render_pdf
from portal.core.time import now


@dataclass
class Report:
    consultation: Consultation
    comments: list[Comment]
    per_section: list[tuple[str, str, int]]
    per_author_kind: list[tuple[AuthorKind, int]]
    per_state: list[tuple[ResponseState, int]]
    withdrawn: int
    hidden: int
    changes: list[SectionChange] = field(default_factory=list)


def section_label(comment: Comment) -> str:
    number = comment.section_number
    return number if number is not None else _("Gesamter Entwurf")


def build_report(consultation: Consultation) -> Report:
    comments = list(consultation.comments)
    sections = [(s.number, s.title) for s in consultation.first_version.sections]
    counts = Counter(c.section_number for c in comments)
    per_section = [("", _("Gesamter Entwurf"), counts.get(None, 0))] + [
        (number, title, counts.get(number, 0)) for number, title in sections
    ]
    kinds = Counter(c.author_kind for c in comments)
    states = Counter(c.response.state for c in comments if c.response is not None and c.is_visible)
    changes: list[SectionChange] = []
    if len(consultation.versions) > 1:
        changes = [
            ch for ch in compare_versions(consultation.first_version.sections, consultation.current_version.sections)
            if ch.kind != "same"
        ]
    return Report(
        consultation=consultation,
        comments=comments,
        per_section=per_section,
        per_author_kind=[(k, kinds.get(k, 0)) for k in AuthorKind],
        per_state=[(s, states.get(s, 0)) for s in ResponseState],
        withdrawn=sum(1 for c in comments if c.is_withdrawn),
        hidden=sum(1 for c in comments if c.is_hidden),
        changes=changes,
    )


def public_text(comment: Comment) -> str:
    """The text the public may see: withdrawn and hidden comments show their status instead."""
    if comment.is_withdrawn:
        return _("zurückgezogen")
    if comment.is_hidden and comment.hide_reason is not None:
        return _("Ausgeblendet: %(reason)s – %(note)s", reason=comment.hide_reason.label, note=comment.hide_note or "")
    return comment.body


def report_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([
        "comment_id", "reply_to", "section", "author_type", "organisation", "author", "text",
        "response_state", "response", "changed_section", "posted_at", "edited_at", "withdrawn_at",
        "hidden_at", "response_published_at",
    ])

    def iso(moment: object) -> str:
        return moment.isoformat() if moment is not None else ""  # type: ignore[attr-defined]

    for c in report.comments:
        response = c.response if c.is_visible else None
        writer.writerow([
            c.id, c.parent_id or "", c.section_number or "", c.author_kind.value,
            c.organisation.name if c.organisation else "", c.public_author, public_text(c),
            response.state.value if response else "", response.reason if response else "",
            (response.changed_section or "") if response else "",
            iso(c.created_at), iso(c.edited_at), iso(c.withdrawn_at), iso(c.hidden_at),
            iso(response.published_at) if response else "",
        ])
    # A byte-order mark lets spreadsheet programs recognise UTF-8 (umlauts).
    return "\ufeff" + out.getvalue()


def report_pdf(report: Report, *, lang: str = "de") -> bytes:
    title = _("Beteiligungsbericht: %(title)s", title=report.consultation.title)
    html = render_template("consultation/report_pdf.html", report=report, title=title, lang=lang, generated_at=now())
    return render_pdf(html, title=title, lang=lang)
