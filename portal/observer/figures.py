"""Figures other domains add to the council view, without the view depending on them.

Two sections: ``review`` (review progress, e.g. "Bewertungen abgeschlossen:
4 von 6") and ``decisions`` (award decisions once approved by the second
officer). A provider takes every call shown (to load what it needs in one
query) and returns, per call id, the figures to show::

    register_figures("review", provider)   # provider(calls) -> {call.id: [Figure, ...]}

The council view shows a section for a call only when a registered provider
returned figures for it; with no provider registered nothing is shown (no
empty "0 von 0" that could be mistaken for a fact). Providers must keep the
council view's rules: figures only, no bid contents, no scores before the
public award notice, no bidder names before the award.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Figure:
    label: str
    value: Any
    #: the lot number the figure is about; None for the whole call
    lot: int | None = None


FigureProvider = Callable[[Sequence[Any]], Mapping[int, Sequence[Figure]]]

SECTIONS = {
    "review": _l("Stand der Bewertung"),
    "decisions": _l("Entscheidungen"),
}

_providers: dict[str, list[FigureProvider]] = {section: [] for section in SECTIONS}


def register_figures(section: str, provider: FigureProvider) -> None:
    if section not in SECTIONS:
        raise ValueError(f"unknown council view section: {section}")
    if provider not in _providers[section]:
        _providers[section].append(provider)


def unregister_figures(section: str, provider: FigureProvider) -> None:
    if provider in _providers.get(section, []):
        _providers[section].remove(provider)


def figures_for(calls: Sequence[Any]) -> dict[int, list[tuple[str, list[Figure]]]]:
    """Per call id: [(section title, figures)] for the sections that have figures."""
    result: dict[int, list[tuple[str, list[Figure]]]] = {}
    if not calls:
        return result
    for section, providers in _providers.items():
        per_call: dict[int, list[Figure]] = {}
        for provider in providers:
            for call_id, figures in provider(calls).items():
                per_call.setdefault(call_id, []).extend(figures)
        for call_id, figures in per_call.items():
            if figures:
                result.setdefault(call_id, []).append((str(SECTIONS[section]), figures))
    return result
