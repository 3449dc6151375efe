"""User-written Markdown becomes safe HTML and readable plain text."""
from __future__ import annotations

import pytest
from markupsafe import Markup

from portal.core.markdown import markdown_to_text, render_markdown

REL = 'rel="nofollow noopener noreferrer"'


def test_result_is_markup_with_basic_formatting() -> None:
    html = render_markdown("Ein *kurzer* Text mit **Betonung** und `Code`.")
    assert isinstance(html, Markup)
    assert html == (
        "<p>Ein <em>kurzer</em> Text mit <strong>Betonung</strong> und <code>Code</code>.</p>"
    )


def test_empty_input() -> None:
    assert render_markdown("") == Markup("")
    assert markdown_to_text("") == ""


def test_headings_shift_down_so_the_page_keeps_one_h1() -> None:
    html = render_markdown("# Konzept\n\n## Personal\n\n###### Tief")
    assert "<h1" not in html
    assert "<h2>Konzept</h2>" in html
    assert "<h3>Personal</h3>" in html
    assert "<h6>Tief</h6>" in html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert('x')</script>",
        "<iframe src='https://example.org'></iframe>",
        '<img src="x" onerror="alert(1)">',
        '<a href="#" onclick="alert(1)">klick</a>',
        "<style>body{display:none}</style>",
        '<div style="background:url(https://tracker.example/)">x</div>',
    ],
)
def test_raw_html_is_never_interpreted(source: str) -> None:
    html = render_markdown(f"Text davor\n\n{source}\n\nText danach")
    for forbidden in ("<script", "<iframe", "<img", "<style", "<div", "<a "):
        assert forbidden not in html
    assert "Text davor" in html and "Text danach" in html


@pytest.mark.parametrize(
    "link",
    [
        "[klick](javascript:alert(1))",
        "[klick](JavaScript:alert(1))",
        "[klick](java\tscript:alert(1))",
        "[klick](vbscript:msgbox(1))",
        "[klick](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<javascript:alert(1)>",
    ],
)
def test_dangerous_link_schemes_are_not_links(link: str) -> None:
    html = render_markdown(link)
    assert "href" not in html
    assert "<a" not in html


@pytest.mark.parametrize(
    ("source", "href"),
    [
        ("[Kreis](https://www.siegen-wittgenstein.de/)", "https://www.siegen-wittgenstein.de/"),
        ("[Alt](http://example.org/a?b=1&c=2)", "http://example.org/a?b=1&amp;c=2"),
        ("[Mail](mailto:vergabe@example.org)", "mailto:vergabe@example.org"),
        ("[Aufruf](/aufrufe/2025-001)", "/aufrufe/2025-001"),
        ("<https://example.org/x>", "https://example.org/x"),
    ],
)
def test_safe_links_get_rel(source: str, href: str) -> None:
    html = render_markdown(source)
    assert f'href="{href}"' in html
    assert REL in html


def test_links_lose_other_attributes() -> None:
    html = render_markdown('[Kreis](https://example.org "Titel")')
    assert "title=" not in html


def test_images_are_dropped_keeping_alt_text() -> None:
    html = render_markdown(
        "Vorher ![Organigramm der *Verwaltung*](https://tracker.example/bild.png) nachher"
    )
    assert "<img" not in html
    assert "tracker.example" not in html
    assert "Organigramm der Verwaltung" in html


def test_image_inside_link_keeps_the_link() -> None:
    html = render_markdown("[![Logo](https://cdn.example/logo.png)](https://example.org)")
    assert "<img" not in html
    assert "cdn.example" not in html
    assert f'<a href="https://example.org" {REL}>Logo</a>' in html


def test_tables_are_kept_with_column_headers() -> None:
    html = render_markdown("| Kriterium | Gewicht |\n|:--|--:|\n| Konzept | 40 % |\n")
    assert "<table>" in html and "<thead>" in html and "<tbody>" in html
    assert '<th scope="col">Kriterium</th>' in html
    assert "<td>40 %</td>" in html
    assert "style=" not in html


def test_lists_quotes_code_and_rules_are_kept() -> None:
    html = render_markdown("- eins\n- zwei\n\n3. drei\n\n> Zitat\n\n```\ncode <b>\n```\n\n---\n")
    assert "<ul>" in html and "<li>eins</li>" in html
    assert '<ol start="3">' in html
    assert "<blockquote>" in html
    assert "<pre><code>code &lt;b&gt;\n</code></pre>" in html
    assert "<hr>" in html
    assert "class=" not in html


def test_umlauts_survive() -> None:
    assert "Öffnungsprotokoll für Träger" in render_markdown("Öffnungsprotokoll für Träger")


def test_plain_text_keeps_structure_and_link_targets() -> None:
    source = (
        "# Aufruf zur Interessenbekundung\n\n"
        "Bitte lesen Sie die [Unterlagen](https://example.org/unterlagen) *genau*.  \n"
        "Fragen an <vergabe@example.org>.\n\n"
        "- Konzept\n- Personal\n  1. Leitung\n  2. Fachkräfte\n\n"
        "> Hinweis zur Frist\n\n"
        "| Kriterium | Gewicht |\n|---|---|\n| Konzept | 40 % |\n\n"
        "![Logo](https://cdn.example/logo.png)\n\n"
        "```\nAZ 51-2025\n```\n"
    )
    assert markdown_to_text(source) == (
        "Aufruf zur Interessenbekundung\n\n"
        "Bitte lesen Sie die Unterlagen (https://example.org/unterlagen) genau.\n"
        "Fragen an vergabe@example.org.\n\n"
        "- Konzept\n- Personal\n  1. Leitung\n  2. Fachkräfte\n\n"
        "> Hinweis zur Frist\n\n"
        "Kriterium | Gewicht\nKonzept | 40 %\n\n"
        "Logo\n\n"
        "    AZ 51-2025"
    )


def test_plain_text_shows_raw_html_as_text_not_markup() -> None:
    assert markdown_to_text("a <b>fett</b>") == "a <b>fett</b>"
