"""Fill English translations into a domain catalogue from a Python dict file.

    python tools/fill_translations.py DOMAIN FILE.py   (FILE defines T = {german: english})

A convenience for writing many translations at once; `tools/i18n.py check`
lists what is still missing.
"""
from __future__ import annotations

import runpy
import sys

from babel.messages.pofile import write_po

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
from tools.i18n import load, po_path, update  # noqa: E402


def main(domain: str, source: str) -> None:
    table = runpy.run_path(source)["T"]
    update([domain])
    catalog = load(domain)
    assert catalog is not None
    for message in catalog:
        if message.id and message.id in table:
            message.string = table[message.id]
            message.flags.discard("fuzzy")
    with po_path(domain).open("wb") as handle:
        write_po(handle, catalog, width=100)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
