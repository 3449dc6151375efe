"""Markdown for texts that officers, bidders and the public write.

Call descriptions, answers to questions, consultation drafts and comments are
written in Markdown and shown on public pages. Rendering goes through two
independent gates: markdown-it with raw HTML switched off, then nh3 with a
strict allowlist, so a mistake in one cannot put script into a page.
Images are never rendered: loading them would make every visitor's browser
contact a third party, which the portal promises not to do.
"""
from __future__ import annotations

from functools import lru_cache
from typing import cast

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markupsafe import Markup

_ALLOWED_TAGS = frozenset(
    {
        "p", "h2", "h3", "h4", "h5", "h6",
        "ul", "ol", "li",
        "a", "em", "strong", "code", "pre", "blockquote", "hr", "br",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)
_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"*": set(), "a": {"href"}, "ol": {"start"}}
#: Header cells of Markdown tables are column headers; saying so helps screen readers.
_FORCED_ATTRIBUTES = {"th": {"scope": "col"}}
_REMOVE_WITH_CONTENT = frozenset(
    {
        "script", "style", "iframe", "object", "embed",
        "template", "noscript", "svg", "math", "textarea",
    }
)
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_LINK_REL = "nofollow noopener noreferrer"


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    """CommonMark plus tables; raw HTML is shown as text, never interpreted."""
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def _tokens(text: str) -> list[Token]:
    """Parse and adapt the token stream to what a portal page may contain.

    Headings move one level down because the page title is the only h1.
    Images become their alt text so the content survives without the request.
    """
    parser = _parser()
    tokens = parser.parse(text or "")
    for token in tokens:
        if token.type in {"heading_open", "heading_close"}:
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"
        elif token.type == "inline" and token.children:
            token.children = [_image_as_text(parser, child) for child in token.children]
    return tokens


def _image_as_text(parser: MarkdownIt, token: Token) -> Token:
    if token.type != "image":
        return token
    renderer = cast(RendererHTML, parser.renderer)
    alt = renderer.renderInlineAsText(token.children or [], parser.options, {})
    return Token("text", "", 0, content=alt)


def render_markdown(text: str) -> Markup:
    """Render user-written Markdown to HTML that is safe to insert into a page."""
    parser = _parser()
    html = parser.renderer.render(_tokens(text), parser.options, {})
    cleaned = nh3.clean(
        html,
        tags=set(_ALLOWED_TAGS),
        clean_content_tags=set(_REMOVE_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in _ALLOWED_ATTRIBUTES.items()},
        set_tag_attribute_values={tag: dict(values) for tag, values in _FORCED_ATTRIBUTES.items()},
        url_schemes=set(_LINK_SCHEMES),
        link_rel=_LINK_REL,
        strip_comments=True,
    )
    return Markup(cleaned.strip())


def markdown_to_text(text: str) -> str:
    """Plain text of a Markdown source, for e-mails and PDF summaries.

    Keeps the structure a reader needs (paragraphs, list markers, link
    targets, table rows) and drops the markup characters.
    """
    writer = _TextWriter()
    for token in _tokens(text):
        writer.feed(token)
    return writer.result()


class _TextWriter:
    """Turns the block token stream into lines of plain text."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.prefixes: list[str] = []
        self.lists: list[list[int | None]] = []
        self.pending_marker: str | None = None
        self.row: list[str] | None = None

    def feed(self, token: Token) -> None:
        kind = token.type
        if kind == "bullet_list_open":
            self.lists.append([None])
        elif kind == "ordered_list_open":
            self.lists.append([int(token.attrGet("start") or 1)])
        elif kind in {"bullet_list_close", "ordered_list_close"}:
            self.lists.pop()
            if not self.lists:
                self.blank()
        elif kind == "list_item_open":
            counter = self.lists[-1]
            if counter[0] is None:
                marker = "- "
            else:
                marker = f"{counter[0]}. "
                counter[0] += 1
            self.pending_marker = marker
            self.prefixes.append(" " * len(marker))
        elif kind == "list_item_close":
            self.prefixes.pop()
            self.pending_marker = None
        elif kind == "blockquote_open":
            self.prefixes.append("> ")
        elif kind == "blockquote_close":
            self.prefixes.pop()
            while self.lines and self.lines[-1] and set(self.lines[-1]) <= {">", " "}:
                self.lines.pop()
            self.blank()
        elif kind == "tr_open":
            self.row = []
        elif kind == "tr_close":
            self.emit(" | ".join(self.row or []))
            self.row = None
        elif kind == "table_close":
            self.blank()
        elif kind == "inline":
            content = _inline_text(token.children or [])
            if self.row is not None:
                self.row.append(content.replace("\n", " "))
            else:
                for line in content.split("\n"):
                    self.emit(line)
        elif kind in {"paragraph_close", "heading_close"}:
            if not token.hidden:
                self.blank()
        elif kind in {"fence", "code_block"}:
            for line in token.content.rstrip("\n").split("\n"):
                self.emit("    " + line)
            self.blank()
        elif kind == "hr":
            self.emit("――――――――――")
            self.blank()

    def emit(self, line: str) -> None:
        prefix = "".join(self.prefixes)
        if self.pending_marker is not None:
            prefix = prefix[: len(prefix) - len(self.pending_marker)] + self.pending_marker
            self.pending_marker = None
        self.lines.append((prefix + line).rstrip())

    def blank(self) -> None:
        quote = "".join(p for p in self.prefixes if p == "> ").rstrip()
        if self.lines and self.lines[-1] != quote:
            self.lines.append(quote)

    def result(self) -> str:
        return "\n".join(self.lines).strip("\n").rstrip()


def _inline_text(children: list[Token]) -> str:
    """Inline tokens as text; a link keeps its target when it differs from its label."""
    parts: list[str] = []
    link_stack: list[tuple[str, int]] = []
    for child in children:
        if child.type in {"text", "code_inline"}:
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "link_open":
            link_stack.append((str(child.attrGet("href") or ""), len(parts)))
        elif child.type == "link_close" and link_stack:
            href, start = link_stack.pop()
            label = "".join(parts[start:])
            target = href.removeprefix("mailto:")
            if target and target != label:
                parts.append(f" ({target})")
    return "".join(parts)
