"""Splitting a pasted Markdown draft into numbered sections, and comparing versions.

Headings (`#`, `##`, `###`) split the draft. A heading that starts with a
number ("3 Case Management", "3.2. Standorte") keeps that number, so a revised
draft can be pasted again and every section keeps the number that comments
and responses refer to; other headings are numbered by their position in the
heading structure (1, 1.1, 1.2, 2 …). Text before the first heading becomes
section "0" (Vorbemerkung).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from portal.core.errors import Refused

_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_NUMBERED = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+(.+)$")
MAX_SECTIONS = 200
#: Stored with the draft (which is German content), so not translated.
PREAMBLE_TITLE = "Vorbemerkung"


@dataclass(frozen=True)
class ParsedSection:
    number: str
    level: int
    title: str
    body: str


def split_sections(source: str) -> list[ParsedSection]:
    """Split Markdown into sections; refuses a draft without headings or with a number twice."""
    lines = (source or "").replace("\r\n", "\n").split("\n")
    raw: list[tuple[int, str, list[str]]] = []
    preamble: list[str] = []
    in_fence = False
    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            raw.append((len(match.group(1)), match.group(2), []))
        elif raw:
            raw[-1][2].append(line)
        else:
            preamble.append(line)
    if not raw:
        raise Refused(
            _l("Der Entwurf enthält keine Überschriften. Gliedern Sie ihn mit „# Überschrift“ in Abschnitte."),
            field="source",
        )
    sections: list[ParsedSection] = []
    if "\n".join(preamble).strip():
        sections.append(ParsedSection("0", 1, PREAMBLE_TITLE, "\n".join(preamble).strip()))
    counters = [0, 0, 0]
    top = min(level for level, _, _ in raw)
    seen: set[str] = set()
    for level, heading, body in raw:
        depth = min(level - top, 2)
        explicit = _NUMBERED.match(heading)
        if explicit:
            number, title = explicit.group(1), explicit.group(2).strip()
            parts = [int(p) for p in number.split(".")][:3]
            counters = parts + [0] * (3 - len(parts))
            depth = len(parts) - 1
        else:
            counters[depth] += 1
            for deeper in range(depth + 1, 3):
                counters[deeper] = 0
            number = ".".join(str(c) for c in counters[: depth + 1])
            title = heading.strip()
        if number in seen:
            raise Refused(
                _l("Die Abschnittsnummer %(number)s kommt mehrfach vor. Jede Nummer darf nur einmal vergeben werden.", number=number),
                field="source",
            )
        seen.add(number)
        sections.append(ParsedSection(number, depth + 1, title[:300], "\n".join(body).strip()))
    if len(sections) > MAX_SECTIONS:
        raise Refused(_l("Der Entwurf hat mehr als %(n)s Abschnitte.", n=MAX_SECTIONS), field="source")
    return sections


@dataclass(frozen=True)
class SectionChange:
    """How one section differs between two versions ("added", "removed", "changed", "same")."""

    number: str
    title: str
    kind: str
    old_title: str
    old_body: str
    new_body: str

    @property
    def anchor(self) -> str:
        return "aenderung-" + self.number.replace(".", "-")

    def inline_diff(self) -> Markup:
        """Word-level difference as <del>/<ins>, which screen readers announce as removed/inserted."""
        old_words = _tokens(self.old_body)
        new_words = _tokens(self.new_body)
        out: list[str] = []
        matcher = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
        for op, a1, a2, b1, b2 in matcher.get_opcodes():
            if op == "equal":
                out.append(str(escape("".join(old_words[a1:a2]))))
                continue
            if op in {"delete", "replace"}:
                out.append(f"<del>{escape(''.join(old_words[a1:a2]))}</del>")
            if op in {"insert", "replace"}:
                out.append(f"<ins>{escape(''.join(new_words[b1:b2]))}</ins>")
        return Markup("".join(out))


def _tokens(text: str) -> list[str]:
    """Words, whitespace runs and single punctuation marks, so a changed word does not drag its full stop along."""
    return [t for t in re.split(r"(\s+|[^\w\s])", text) if t]


def compare_versions(old: list, new: list) -> list[SectionChange]:
    """Per-section changes from `old` to `new` (sequences of Section-like objects), matched by number."""
    old_by_number = {s.number: s for s in old}
    new_numbers = {s.number for s in new}
    changes: list[SectionChange] = []
    for section in new:
        before = old_by_number.get(section.number)
        if before is None:
            kind = "added"
        elif before.body.strip() == section.body.strip() and before.title == section.title:
            kind = "same"
        else:
            kind = "changed"
        changes.append(
            SectionChange(
                section.number, section.title, kind,
                before.title if before else "", before.body if before else "", section.body,
            )
        )
    for section in old:
        if section.number not in new_numbers:
            changes.append(SectionChange(section.number, section.title, "removed", section.title, section.body, ""))
    return changes
