"""Every German UI string has an English translation in its domain catalogue."""
from __future__ import annotations

from tools.i18n import missing


def test_every_ui_string_is_translated_to_english() -> None:
    gaps = missing()
    assert not gaps, "run `make messages` and translate:\n" + "\n".join(f"{d}: {m}" for d, m in gaps[:40])
