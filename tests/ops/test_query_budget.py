"""Query budget (issue 10, item 3): every public and staff page issues a fixed
number of SQL statements, the same with 10 and with 1,000 rows (no N+1).

One world (`tests.query_budget_world`) is grown from 10 to 1,000 rows of
everything a page lists: calls, answers, organisations, members, accounts,
draft bids, consultation comments and responses, audit events (some held back
by an embargo), and in a review and an award procedure bids with their
declarations, eligibility decisions, scores and consolidated points, letters
with their e-mails, objections. Every page is counted at both sizes with a
SQLAlchemy event listener and must issue exactly its budget below.

A budget is what the page issues now. A new query fails the test until its
budget is raised here on purpose; a page that got cheaper fails too, until its
budget is lowered, so that the saving cannot quietly be spent again.

Pages not counted (single-row downloads of stored files, where nothing can
repeat per row): /aufrufe/<ref>/dokumente/<id>/<name>, /interessenbekundungen/<id>/anhaenge/<id>,
/begutachtung/interessenbekundungen/<id>/anhaenge/<id>, /beteiligung/<id>/dokument/<id>,
/beteiligung/stellungnahme/<id>/anlage, /mitteilungen/<id>.pdf. Not pages: /healthz, /readyz
(probes), /sprache/<lang> (a redirect), /static/…; /dev/mail exists in development only.
"""
from __future__ import annotations

import gc
from collections import Counter
from typing import Any

import pytest
from flask import Flask

from portal.extensions import db
from tests.query_budget import count_queries
from tests.query_budget_world import LARGE, PDF_SIZE, SMALL, World

Page = tuple[str, str]

#: (role, page) → the statements the page issues, whatever the number of rows. The world's
#: review call has three lots: the review overview, the award page and the export issue a
#: fixed number of statements per lot (each lot's bids, panel, scores and ranking), so their
#: budgets are for three lots; 10 or 1,000 bids per lot cost the same. A page showing one opened
#: bid records every read of its sealed parts (version, each attachment) in the audit log, so
#: its budget is for a bid with one attachment.
BUDGET: dict[Page, int] = {
    # Public pages
    ("anonymous", "/"): 2,
    ("anonymous", "/aufrufe/"): 4,  # + the page store validator (site_state)
    ("anonymous", "/aufrufe/?status=geschlossen"): 4,
    ("anonymous", "/aufrufe/feed.atom"): 4,
    ("anonymous", "/aufrufe/{call_ref}"): 10,
    ("anonymous", "/aufrufe/{call_ref}/feed.atom"): 3,
    ("anonymous", "/aufrufe/{call_ref}/termine.ics"): 1,
    ("anonymous", "/aufrufe/{award_ref}"): 10,
    ("anonymous", "/aufrufe/{awarded_ref}"): 14,
    ("anonymous", "/beteiligung/"): 4,
    ("anonymous", "/beteiligung/{consultation}"): 14,  # + its phase, site_state
    ("anonymous", "/beteiligung/{reported}"): 14,
    ("anonymous", "/beteiligung/{reported}/fassung/1"): 8,
    ("anonymous", "/beteiligung/{reported}/fassung/2"): 9,
    ("anonymous", "/beteiligung/{reported}/bericht"): 9,
    ("anonymous", "/beteiligung/{reported}/bericht.csv"): 9,
    ("anonymous", "/transparenz"): 1,
    ("anonymous", "/transparenz/verlauf/call/{call_id}"): 8,
    ("anonymous", "/transparency/events?from={last_events}"): 3,
    ("anonymous", "/transparency/checkpoints"): 1,
    ("anonymous", "/transparency/checkpoint"): 1,
    ("anonymous", "/transparency/key"): 0,
    ("anonymous", "/transparency/proof/inclusion?seq=1&size={log_size}"): 3,
    ("anonymous", "/transparency/proof/consistency?old=1&new={log_size}"): 2,
    ("anonymous", "/open-data/"): 6,
    ("anonymous", "/open-data/ocds/releases.json"): 12,
    ("anonymous", "/open-data/ocds/records.json"): 12,
    ("anonymous", "/open-data/ocds/{call_ref}/record.json"): 7,
    ("anonymous", "/open-data/ocds/{call_ref}/releases.json"): 7,
    ("anonymous", "/open-data/ocds/{awarded_ref}/record.json"): 12,
    ("anonymous", "/open-data/calls.csv"): 7,
    ("anonymous", "/open-data/lots.csv"): 8,
    ("anonymous", "/open-data/awards.csv"): 12,
    ("anonymous", "/vergaben/"): 2,
    ("anonymous", "/vergaben/feed.atom"): 3,
    ("anonymous", "/vergaben/{awarded_ref}"): 3,
    ("anonymous", "/vergaben/{awarded_ref}.json"): 2,
    ("anonymous", "/anmelden"): 0,
    ("anonymous", "/passwort-vergessen"): 0,
    ("anonymous", "/passwort-neu/{reset_token}"): 2,
    ("anonymous", "/registrieren"): 0,
    ("anonymous", "/registrieren/danke"): 0,
    ("anonymous", "/e-mail-bestaetigen/{verify_token}"): 0,
    ("anonymous", "/einladung/{invitation_token}"): 3,
    ("anonymous", "/barrierefreiheit"): 0,
    ("anonymous", "/impressum"): 0,
    ("anonymous", "/datenschutz"): 0,
    # Bidders
    ("bidder", "/interessenbekundungen"): 8,
    ("bidder", "/interessenbekundungen/{bid}"): 15,
    ("bidder", "/interessenbekundungen/{bid}/einreichen"): 12,
    ("bidder", "/interessenbekundungen/{submitted_bid}/zuruecknehmen"): 6,
    ("bidder", "/eingangsbestaetigungen/{receipt}"): 10,
    ("bidder", "/aufrufe/{call_ref}"): 12,
    ("bidder", "/aufrufe/{call_ref}/interessenbekundung"): 5,
    ("bidder", "/aufrufe/{call_ref}/fragen/neu"): 5,
    ("bidder", "/beteiligung/{consultation}"): 14,
    ("bidder", "/beteiligung/{consultation}/stellungnehmen"): 6,
    ("bidder", "/beteiligung/stellungnahme/{own_comment}/bearbeiten"): 5,
    ("bidder", "/konto"): 3,
    ("bidder", "/konto/passwort"): 3,
    ("bidder", "/konto/e-mail"): 3,
    ("bidder", "/konto/e-mail/{email_token}"): 3,
    ("bidder", "/konto/bestaetigen"): 3,
    ("bidder", "/konto/zwei-faktor"): 3,
    ("bidder", "/traeger/{organisation}"): 6,
    ("bidder", "/traeger/{organisation}/bearbeiten"): 6,
    ("award_bidder", "/interessenbekundungen"): 8,
    ("award_bidder", "/mitteilungen/"): 7,
    ("award_bidder", "/mitteilungen/{letter}"): 12,
    ("award_bidder", "/mitteilungen/ruege/{award_ref}"): 7,
    # Review: a reviewer who submitted, one who has not declared yet, the chair
    ("reviewer", "/begutachtung"): 20,
    ("reviewer", "/begutachtung/lose/{review_lot1}"): 24,
    ("reviewer", "/begutachtung/lose/{review_lot1}/bewertungen"): 23,
    ("reviewer", "/begutachtung/lose/{review_lot2}"): 24,
    ("reviewer", "/begutachtung/interessenbekundungen/{review_bid}"): 46,
    ("newcomer", "/begutachtung/lose/{review_lot3}"): 25,
    ("newcomer", "/begutachtung/lose/{review_lot3}/erklaerung"): 12,
    ("chair", "/begutachtung"): 6,
    ("chair", "/begutachtung/lose/{review_lot2}/bewertungen"): 23,
    ("chair", "/verwaltung/aufrufe/{review_ref}/begutachtung"): 77,
    ("chair", "/verwaltung/aufrufe/{review_ref}/begutachtung/lose/1/eignung/{review_bid}"): 40,
    ("chair", "/verwaltung/aufrufe/{review_ref}/begutachtung/lose/1/konsolidierung"): 42,
    ("chair", "/verwaltung/aufrufe/{review_ref}/begutachtung/lose/1/konsolidierung/{review_bid}"): 30,
    ("chair", "/verwaltung/aufrufe/{review_ref}/begutachtung/lose/2/rangfolge"): 36,
    ("chair", "/verwaltung/aufrufe/{review_ref}/begutachtung/bewertungen.csv"): 50,
    ("officer", "/begutachtung"): 5,
    ("officer", "/verwaltung/aufrufe/{review_ref}/begutachtung"): 78,
    ("officer", "/verwaltung/aufrufe/{review_ref}/begutachtung/gremium"): 24,
    ("officer", "/verwaltung/aufrufe/{review_ref}/begutachtung/lose/1/rangfolge"): 37,
    ("officer", "/verwaltung/aufrufe/{review_ref}/begutachtung/lose/2/rangfolge"): 53,
    ("officer", "/verwaltung/aufrufe/{review_ref}/begutachtung/bewertungen.csv?anonym=1"): 51,
    ("observer", "/begutachtung"): 5,
    ("observer", "/verwaltung/aufrufe/{review_ref}/begutachtung"): 39,
    # Bids for officers: openings, the opening record, an opened bid
    ("officer", "/verwaltung/oeffnungen"): 4,
    ("officer", "/verwaltung/aufrufe/{review_ref}/oeffnung"): 9,
    ("officer", "/verwaltung/aufrufe/{review_ref}/oeffnungsprotokoll"): 12,
    ("officer", "/verwaltung/interessenbekundungen/{review_bid}"): 30,
    # Awards for officers
    ("officer", "/verwaltung/vergabe/"): 4,
    ("officer", "/verwaltung/vergabe/{review_ref}"): 52,
    ("officer", "/verwaltung/vergabe/{award_ref}"): 38,
    ("officer", "/verwaltung/vergabe/{award_ref}/vergabevermerk"): 59,
    ("officer", "/verwaltung/vergabe/{awarded_ref}/vergabevermerk"): 57,
    # Calls for officers
    ("officer", "/verwaltung/aufrufe/"): 4,
    ("officer", "/verwaltung/aufrufe/neu"): 4,
    ("officer", "/verwaltung/aufrufe/{call_id}"): 10,
    ("officer", "/verwaltung/aufrufe/{call_id}/fragen"): 5,
    ("officer", "/verwaltung/aufrufe/{call_id}/aenderung"): 7,
    ("officer", "/verwaltung/aufrufe/{call_id}/aufheben"): 4,
    ("officer", "/verwaltung/aufrufe/{call_id}/dokumente/neu"): 5,
    ("officer", "/verwaltung/aufrufe/{call_id}/dokumente/{document}/ersetzen"): 5,
    ("officer", "/verwaltung/aufrufe/{review_id}"): 10,
    ("officer", "/verwaltung/aufrufe/{draft_id}/bearbeiten"): 5,
    ("officer", "/verwaltung/aufrufe/{draft_id}/lose/neu"): 5,
    ("officer", "/verwaltung/aufrufe/{draft_id}/lose/{draft_lot}"): 5,
    ("officer", "/verwaltung/aufrufe/{draft_id}/kriterien/neu"): 6,
    ("officer", "/verwaltung/aufrufe/{draft_id}/kriterien/{draft_criterion}"): 7,
    ("officer", "/verwaltung/traeger"): 6,
    # Consultations for officers
    ("officer", "/beteiligung/neu"): 3,
    ("officer", "/beteiligung/{consultation}/verwalten"): 11,
    ("officer", "/beteiligung/{consultation}/bearbeiten"): 5,
    ("officer", "/beteiligung/stellungnahme/{own_comment}/ausblenden"): 6,
    ("officer", "/beteiligung/{closed}/verwalten"): 11,
    ("officer", "/beteiligung/stellungnahme/{closed_comment}/abwaegung"): 8,
    ("officer", "/beteiligung/{reported}/verwalten"): 11,
    ("officer", "/beteiligung/{reported}/neue-fassung"): 5,
    # Administration and the council
    ("admin", "/verwaltung/konten"): 6,
    ("admin", "/verwaltung/konten/{member}"): 5,
    ("admin", "/verwaltung/protokoll/"): 5,
    ("admin", "/verwaltung/protokoll/?aktion=demo.loaded"): 5,
    ("admin", "/verwaltung/e-mails"): 4,
    ("observer", "/kreistag/"): 17,
}

#: PDFs are counted at SMALL and PDF_SIZE rows instead of LARGE: WeasyPrint needs about
#: 30 s per 2,000 table rows on the test machine, and the Vergabevermerk of 1,000 bids has
#: some 25,000. Each PDF is built by the same function as a page above that is counted at
#: 1,000 rows (status, record, opening record, report); 10 against PDF_SIZE rows still
#: catches a query per row in the PDF's own template.
PDF_BUDGET: dict[Page, int] = {
    ("observer", "/kreistag/statusbericht.pdf"): 16,
    ("officer", "/verwaltung/vergabe/{award_ref}/vergabevermerk.pdf"): 58,
    ("officer", "/verwaltung/aufrufe/{review_ref}/oeffnungsprotokoll.pdf"): 11,
    ("anonymous", "/beteiligung/{reported}/bericht.pdf"): 9,
    ("bidder", "/eingangsbestaetigungen/{receipt}.pdf"): 10,
}

Count = tuple[int, int, list[str]]


def _count(client: Any, url: str) -> Count:
    # Objects in reference cycles leave the session's (weak) identity map whenever the cycle collector
    # happens to run, and a later look-up of one of them costs a query or not: collect before the request
    # and not during it, so that every run counts the same.
    gc.collect()
    gc.disable()
    try:
        with count_queries(db.engine) as counted:
            status = client.get(url).status_code
    finally:
        gc.enable()
    return status, counted.statements, counted.shapes()


def _grown(small: list[str], large: list[str]) -> list[str]:
    """The statement shapes issued more (+) or less (-) often with more rows, most repeated first."""
    more, fewer = Counter(large) - Counter(small), Counter(small) - Counter(large)
    return ([f"+{times}× {shape[:240]}" for shape, times in more.most_common(3)]
            + [f"-{times}× {shape[:240]}" for shape, times in fewer.most_common(2)])


def _problems(budget: dict[Page, int], small: dict[Page, Count], large: dict[Page, Count], large_size: int) -> list[str]:
    problems = []
    for page, allowed in budget.items():
        (small_status, small_count, small_log), (large_status, large_count, large_log) = small[page], large[page]
        if small_status != 200 or large_status != 200:
            problems.append(f"{page}: status {small_status} with {SMALL} rows, {large_status} with {large_size}")
        elif large_count != small_count:
            problems.append(f"{page}: {small_count} statements with {SMALL} rows, {large_count} with {large_size}: "
                            f"{_grown(small_log, large_log)}")
        elif large_count != allowed:
            change = "raise" if large_count > allowed else "lower"
            problems.append(f"{page}: {large_count} statements, budget {allowed} ({change} it if that is intended)")
    return problems


@pytest.mark.slow
def test_every_page_issues_a_fixed_number_of_queries(app: Flask, clock: Any, officer: Any, officer2: Any, admin: Any) -> None:
    # Count what rendering costs: the page store would answer repeated anonymous visits from memory
    # (its own tests are in tests/core/test_page_store.py; the validators' queries are counted here too).
    app.extensions["page_store"] = None
    world = World(clock, officer, officer2, admin)
    clients = {role: world.client(app, role) for role in {role for role, _page in [*BUDGET, *PDF_BUDGET]}}

    def count(pages: dict[Page, int]) -> dict[Page, Count]:
        values = world.values()
        return {(role, page): _count(clients[role], page.format(**values)) for role, page in pages}

    world.grow(SMALL)
    small = count(BUDGET | PDF_BUDGET)
    world.grow(PDF_SIZE)
    pdfs = count(PDF_BUDGET)
    world.grow(LARGE)
    large = count(BUDGET)
    problems = _problems(BUDGET, small, large, LARGE) + _problems(PDF_BUDGET, small, pdfs, PDF_SIZE)
    assert not problems, "\n".join(problems)
