"""Splitting pasted Markdown into numbered sections, and comparing versions."""
from __future__ import annotations

import pytest

from portal.consultation.sections import compare_versions, split_sections
from portal.core.errors import Refused


pytestmark = pytest.mark.usefixtures("request_context")


def test_headings_split_into_numbered_sections() -> None:
    sections = split_sections("Vorwort\n\n# Ziele\nText A\n\n## Zielgruppe\nText B\n\n# Umsetzung\nText C")
    assert [(s.number, s.title, s.body) for s in sections] == [
        ("0", "Vorbemerkung", "Vorwort"),
        ("1", "Ziele", "Text A"),
        ("1.1", "Zielgruppe", "Text B"),
        ("2", "Umsetzung", "Text C"),
    ]


def test_explicit_numbers_stay_stable_when_a_section_is_inserted() -> None:
    first = split_sections("# 1 Ziele\nA\n# 2 Overhead\nB\n# 3 Case Management\nC")
    second = split_sections("# 1 Ziele\nA\n# 2 Overhead\nB\n# 4 Neu eingefügt\nN\n# 3. Case Management\nC geändert")
    assert [s.number for s in first] == ["1", "2", "3"]
    by_number = {s.number: s for s in second}
    assert by_number["3"].title == "Case Management"
    assert by_number["4"].title == "Neu eingefügt"


def test_headings_inside_code_blocks_do_not_split() -> None:
    sections = split_sections("# Eins\n```\n# kein Abschnitt\n```\n# Zwei\nx")
    assert [s.title for s in sections] == ["Eins", "Zwei"]


@pytest.mark.parametrize("source", ["", "nur Text ohne Überschrift", "# 1 A\nx\n# 1 B\ny"])
def test_bad_drafts_are_refused(source: str) -> None:
    with pytest.raises(Refused) as info:
        split_sections(source)
    assert info.value.field == "source"


def test_compare_versions_per_section() -> None:
    old = split_sections("# 1 A\nalt und gleich\n# 2 B\nbleibt\n# 3 C\nfällt weg")
    new = split_sections("# 1 A\nneu und gleich\n# 2 B\nbleibt\n# 4 D\nneu")
    changes = {c.number: c for c in compare_versions(old, new)}
    assert changes["1"].kind == "changed"
    assert changes["2"].kind == "same"
    assert changes["3"].kind == "removed"
    assert changes["4"].kind == "added"
    html = str(changes["1"].inline_diff())
    assert "<del>alt</del><ins>neu</ins>" in html


def test_inline_diff_escapes_html() -> None:
    old = split_sections("# 1 A\n<b>x</b>")
    new = split_sections("# 1 A\n<script>alert(1)</script>")
    html = str(compare_versions(old, new)[0].inline_diff())
    assert "<script" not in html and "<b>" not in html
    assert "&lt;<del>b</del><ins>script</ins>&gt;" in html
