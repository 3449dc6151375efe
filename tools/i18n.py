"""Per-domain translation catalogues (German source strings, English catalogue).

Each package `portal/<domain>/` has its own catalogue in
`portal/translations/<domain>/en/LC_MESSAGES/messages.po`, covering
`portal/<domain>/**.py` and `templates/<domain>/**.{html,txt}`; the `core` catalogue
also covers the top-level templates, error pages and macros. Separate
catalogues let each domain be worked on without touching the others.

    python tools/i18n.py update [DOMAIN ...]   extract and merge into the .po files
    python tools/i18n.py check                 list German strings without English
    python tools/i18n.py compile               build the .mo files (make does this)
"""
from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PORTAL = ROOT / "portal"
TEMPLATES = ROOT / "templates"
CATALOGUES = PORTAL / "translations"
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2), "lazy_ngettext": (1, 2)}
CORE_EXTRA_TEMPLATE_DIRS = ["errors", "_macros"]


def domains() -> list[str]:
    return sorted(p.name for p in PORTAL.iterdir() if p.is_dir() and (p / "__init__.py").exists())


def sources(domain: str) -> list[Path]:
    files = sorted((PORTAL / domain).rglob("*.py"))
    template_dirs = [TEMPLATES / domain]
    if domain == "core":
        files.append(PORTAL / "__init__.py")
        template_dirs += [TEMPLATES / d for d in CORE_EXTRA_TEMPLATE_DIRS]
        files += sorted(TEMPLATES.glob("*.html"))
    for directory in template_dirs:
        if directory.exists():
            files += sorted(p for p in directory.rglob("*") if p.suffix in {".html", ".txt"})
    return files


def extract(domain: str) -> Catalog:
    catalog = Catalog(locale="en", project="IBV-Portal", fuzzy=False)
    for path in sources(domain):
        method = "python" if path.suffix == ".py" else "jinja2"
        options = {"extensions": "jinja2.ext.do"} if method == "jinja2" else {}
        for lineno, message, comments, context in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=options
        ):
            catalog.add(message, None, [(str(path.relative_to(ROOT)), lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(domain: str) -> Path:
    return CATALOGUES / domain / "en" / "LC_MESSAGES" / "messages.po"


def load(domain: str) -> Catalog | None:
    path = po_path(domain)
    if not path.exists():
        return None
    with path.open("rb") as handle:
        return read_po(handle, locale="en")


def update(selected: list[str]) -> None:
    for domain in selected or domains():
        template = extract(domain)
        if not len(template) and not po_path(domain).exists():
            continue
        catalog = load(domain) or Catalog(locale="en", project="IBV-Portal")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        po_path(domain).parent.mkdir(parents=True, exist_ok=True)
        with po_path(domain).open("wb") as handle:
            write_po(handle, catalog, width=100, omit_header=False, sort_output=False)
        print(f"{domain}: {len(catalog)} strings")


def missing() -> list[tuple[str, str]]:
    """(domain, German string) for every UI string without an English translation."""
    gaps = []
    for domain in domains():
        template = extract(domain)
        catalog = load(domain)
        for message in template:
            if not message.id:
                continue
            translated = catalog.get(message.id, context=message.context) if catalog else None
            strings = translated.string if translated else None
            if not translated or not strings or (isinstance(strings, tuple) and not all(strings)) or translated.fuzzy:
                gaps.append((domain, message.id if isinstance(message.id, str) else message.id[0]))
    return gaps


def compile_all() -> None:
    for domain in domains():
        catalog = load(domain)
        if catalog is None:
            continue
        with po_path(domain).with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)


def main(argv: list[str]) -> int:
    command, *rest = argv or ["check"]
    if command == "update":
        update(rest)
    elif command == "compile":
        compile_all()
    elif command == "check":
        gaps = missing()
        for domain, message in gaps:
            print(f"{domain}: {message}")
        return 1 if gaps else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
