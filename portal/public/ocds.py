"""Open Contracting Data Standard 1.1: releases per stage, compiled records, packages.

A call's releases come from a registry of *stage builders*. Each builder
turns a loaded call (and data it prefetched for all calls at once) into zero
or more `StageRelease`s; this module adds the fields every release shares
(ocid, id, date, tag, initiationType, buyer, language), sorts them by date and
wraps them in release or record packages.

Registered by `portal.public.init_app`: ``planning`` (the consultation that
shaped the call), ``tender`` (publication), ``tenderAmendment`` (one per
amendment), ``tenderUpdate`` (bid statistics, only after the submission
deadline) and ``tenderCancellation``. The awards domain registers ``award``
with `register_release_builder("award", build, prefetch=...)`.

Rules every builder keeps (tests check them for the built-in ones):
- only calls that were published (`Call.is_public`) appear;
- nothing about bids before the submission deadline, afterwards only counts;
- no organisation name of a bidder before the award, and of a losing bidder
  never (unless the awards domain publishes them anonymised).

Cost: `load_calls` issues one query per eager-loaded relationship, and each
builder's `prefetch` one query for *all* calls, so a package costs a fixed
number of queries however many calls there are (cacheable as a whole).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import current_app, url_for
from sqlalchemy import func, select

from portal.calls.models import Call, CallState, CriterionKind, Lot, public_page_options
from portal.core.time import now
from portal.extensions import db

OCDS_VERSION = "1.1"
#: Extensions whose fields the packages use (lots, bids, award criteria per lot).
EXTENSIONS = [
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_awardCriteria_extension/master/extension.json",
]
DEFAULT_OCID_PREFIX = "ocds-ibvprt"
DEFAULT_LICENSE = "https://www.govdata.de/dl-de/zero-2-0"
BUYER_ID = "buyer"
CURRENCY = "EUR"

@dataclass(frozen=True)
class StageRelease:
    """What a builder contributes: the stage's tag, its date and its fields.

    `key` makes the release id unique within the call (``<ocid>-<tag>-<key>``);
    `data` holds the release's own fields (``tender``, ``awards``, ``bids``,
    ``planning`` …), never ocid/id/date/tag, which this module adds.
    """

    tag: str
    date: datetime
    data: dict[str, Any]
    key: str = "1"


Build = Callable[[Call, Any], Iterable[StageRelease]]
Prefetch = Callable[[Sequence[Call]], Any]


@dataclass(frozen=True)
class ReleaseBuilder:
    stage: str
    build: Build
    prefetch: Prefetch | None = None


_builders: dict[str, ReleaseBuilder] = {}


def register_release_builder(stage: str, build: Build, *, prefetch: Prefetch | None = None) -> None:
    """Register (or replace) the builder of `stage`.

    `prefetch(calls)` runs once per package with every call in it and should
    load what `build` needs in one query; its result is passed to
    `build(call, prefetched)`. Without `prefetch`, `build` receives None.
    """
    _builders[stage] = ReleaseBuilder(stage, build, prefetch)


def unregister_release_builder(stage: str) -> None:
    _builders.pop(stage, None)


def registered_stages() -> list[str]:
    return list(_builders)


# --------------------------------------------------------------------------
# Loading, identifiers, small conversions
# --------------------------------------------------------------------------



def load_calls(reference: str | None = None) -> list[Call]:
    """Every public call (or the one with `reference`), with what the builders read."""
    stmt = select(Call).where(Call.state != CallState.DRAFT).options(*public_page_options())
    if reference is not None:
        stmt = stmt.where(Call.reference == reference)
    return list(db.session.scalars(stmt.order_by(Call.published_at, Call.id)))


def ocid(call: Call) -> str:
    prefix = current_app.config.get("OCDS_OCID_PREFIX") or DEFAULT_OCID_PREFIX
    return f"{prefix}-{call.reference}"


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def amount(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def lot_id(lot: Lot) -> str:
    return str(lot.number)


def call_url(call: Call) -> str:
    return url_for("calls.show", reference=call.reference, _external=True)


def _clean(value: Any) -> Any:
    """Drop None values and empty containers (OCDS: omit what is not known)."""
    if isinstance(value, dict):
        cleaned = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


# --------------------------------------------------------------------------
# Releases, records, packages
# --------------------------------------------------------------------------


def _prefetch(calls: Sequence[Call]) -> dict[str, Any]:
    return {stage: (b.prefetch(calls) if b.prefetch else None) for stage, b in _builders.items()}


def buyer_party() -> dict[str, Any]:
    """The district as an OCDS party (a builder that sets `parties` must keep it)."""
    return {"id": BUYER_ID, "name": current_app.config["DISTRICT_NAME"], "roles": ["buyer", "procuringEntity"]}


def _common(call: Call) -> dict[str, Any]:
    return {
        "initiationType": "tender",
        "language": "de",
        "parties": [buyer_party()],
        "buyer": {"id": BUYER_ID, "name": current_app.config["DISTRICT_NAME"]},
    }


def releases_for(call: Call, prefetched: dict[str, Any]) -> list[dict[str, Any]]:
    """Every release of one call, oldest first (stage order breaks ties)."""
    the_ocid = ocid(call)
    staged: list[tuple[datetime, int, StageRelease]] = []
    for order, (stage, builder) in enumerate(_builders.items()):
        for item in builder.build(call, prefetched.get(stage)):
            staged.append((item.date, order, item))
    staged.sort(key=lambda entry: (entry[0], entry[1]))
    releases = []
    for _date, _order, item in staged:
        release = {
            "ocid": the_ocid,
            "id": f"{the_ocid}-{item.tag}-{item.key}",
            "date": iso(item.date),
            "tag": [item.tag],
            **_common(call),
            **item.data,
        }
        releases.append(_clean(release))
    _link_amendments(releases)
    return releases


def _link_amendments(releases: list[dict[str, Any]]) -> None:
    """An amendment names the release it amends (the one before it) and itself."""
    previous: str | None = None
    for release in releases:
        for amendment in release.get("tender", {}).get("amendments", []):
            if amendment.get("releaseID") is None:
                amendment["releaseID"] = release["id"]
                if previous is not None:
                    amendment["amendsReleaseID"] = previous
        previous = release["id"]


def _merge(base: Any, update: Any) -> Any:
    """OCDS merge: objects field by field, arrays of objects with ids by id, else replace."""
    if isinstance(base, dict) and isinstance(update, dict):
        merged = dict(base)
        for key, value in update.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    if (
        isinstance(base, list) and isinstance(update, list) and update
        and all(isinstance(v, dict) and "id" in v for v in base + update)
    ):
        by_id = {item["id"]: item for item in base}
        order = [item["id"] for item in base]
        for item in update:
            if item["id"] in by_id:
                by_id[item["id"]] = _merge(by_id[item["id"]], item)
            else:
                by_id[item["id"]] = item
                order.append(item["id"])
        return [by_id[i] for i in order]
    return update


def compile_release(releases: list[dict[str, Any]]) -> dict[str, Any]:
    compiled: dict[str, Any] = {}
    for release in releases:
        body = {k: v for k, v in release.items() if k not in {"id", "tag", "date"}}
        compiled = _merge(compiled, body)
    the_ocid = releases[0]["ocid"]
    compiled.update(id=f"{the_ocid}-compiled", date=releases[-1]["date"], tag=["compiled"])
    return compiled


def _package_meta(uri: str, releases: Iterable[dict[str, Any]]) -> dict[str, Any]:
    dates = [r["date"] for r in releases]
    config = current_app.config
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "extensions": list(EXTENSIONS),
        # The newest release date, not the clock: the same data gives the same package.
        "publishedDate": max(dates) if dates else iso(datetime(1970, 1, 1, tzinfo=UTC)),
        "publisher": {"name": config["DISTRICT_NAME"]},
        "license": config.get("OPEN_DATA_LICENSE_URL") or DEFAULT_LICENSE,
        "publicationPolicy": url_for("public.index", _external=True),
    }


def build_releases(calls: Sequence[Call]) -> dict[str, list[dict[str, Any]]]:
    """Releases per ocid for `calls` (loaded with `load_calls`)."""
    prefetched = _prefetch(calls)
    return {ocid(call): releases_for(call, prefetched) for call in calls}


def release_package(calls: Sequence[Call], *, uri: str) -> dict[str, Any]:
    releases = [r for per_call in build_releases(calls).values() for r in per_call]
    return {**_package_meta(uri, releases), "releases": releases}


def record_package(calls: Sequence[Call], *, uri: str) -> dict[str, Any]:
    per_call = build_releases(calls)
    records = [
        {"ocid": the_ocid, "releases": releases, "compiledRelease": compile_release(releases)}
        for the_ocid, releases in per_call.items() if releases
    ]
    all_releases = [r for releases in per_call.values() for r in releases]
    return {**_package_meta(uri, all_releases), "records": records}


# --------------------------------------------------------------------------
# The built-in stages
# --------------------------------------------------------------------------


def _award_criteria(call: Call, lot: Lot) -> dict[str, Any]:
    criteria = [
        {
            "type": "quality",
            "name": f"{c.code} {c.title}",
            "description": c.description or None,
            "numbers": [{"number": amount(c.weight), "weight": "percentageExact"}],
        }
        for c in call.criteria_for(lot, CriterionKind.SCORED)
    ]
    return {"criteria": criteria, "weightingDescription": call.formula_text or None,
            "orderRationale": call.tie_break_text or None}


def _lot(call: Call, lot: Lot) -> dict[str, Any]:
    place = ", ".join(lot.municipalities)
    description = "\n\n".join(part for part in (lot.region and f"{lot.region}: {place}" or place, lot.description) if part)
    return {
        "id": lot_id(lot),
        "title": lot.title,
        "description": description or None,
        "value": {"amount": amount(lot.budget), "currency": CURRENCY} if lot.budget is not None else None,
        "awardCriteria": _award_criteria(call, lot),
    }


def _documents(call: Call) -> list[dict[str, Any]]:
    notice = {"id": "notice", "documentType": "tenderNotice", "title": call.title, "url": call_url(call),
              "datePublished": iso(call.published_at), "format": "text/html", "language": "de"}
    return [notice] + [
        {
            "id": f"document-{doc.id}",
            "documentType": "biddingDocuments",
            "title": doc.title,
            "url": url_for("calls.document", reference=call.reference, document_id=doc.id, filename=doc.filename, _external=True),
            "datePublished": iso(doc.uploaded_at if call.published_at is None else max(doc.uploaded_at, call.published_at)),
            "dateModified": iso(doc.superseded_at),
            "format": "application/pdf",
            "language": "de",
        }
        for doc in call.documents
    ]


def _total_budget(call: Call) -> Decimal | None:
    budgets = [lot.budget for lot in call.lots]
    if not budgets or any(b is None for b in budgets):
        return None
    return sum(budgets, Decimal(0))  # type: ignore[arg-type]


def tender_data(call: Call) -> dict[str, Any]:
    """The tender as published (the current wording; amendments list each change)."""
    eligibility = call.criteria_for(None, CriterionKind.ELIGIBILITY)
    total = _total_budget(call)
    return {
        "id": call.reference,
        "title": call.title,
        "description": call.summary or call.description or None,
        "status": "active",
        "procuringEntity": {"id": BUYER_ID, "name": current_app.config["DISTRICT_NAME"]},
        "items": [
            {"id": f"lot-{lot.number}", "description": lot.title, "quantity": amount(lot.positions),
             "unit": {"name": "Stelle"}, "relatedLot": lot_id(lot)}
            for lot in call.lots
        ],
        "value": {"amount": amount(total), "currency": CURRENCY} if total is not None else None,
        "procurementMethod": "open",
        "procurementMethodDetails": "Interessenbekundungsverfahren",
        "mainProcurementCategory": "services",
        "awardCriteria": "ratedCriteria",
        "awardCriteriaDetails": "\n\n".join(t for t in (call.formula_text, call.tie_break_text) if t) or None,
        "submissionMethod": ["electronicSubmission"],
        "submissionMethodDetails": call_url(call),
        "tenderPeriod": {"startDate": iso(call.published_at), "endDate": iso(call.submission_deadline)},
        "enquiryPeriod": {"startDate": iso(call.published_at), "endDate": iso(call.question_deadline)},
        "hasEnquiries": bool(call.published_questions),
        "eligibilityCriteria": "\n".join(f"{c.code} {c.title}: {c.evidence or c.description}".strip() for c in eligibility) or None,
        "documents": _documents(call),
        "lots": [_lot(call, lot) for lot in call.lots],
    }


def build_planning(call: Call, _prefetched: Any) -> list[StageRelease]:
    """The consultation that shaped the call is its planning stage (only if public)."""
    consultation = call.consultation
    if consultation is None or not consultation.is_public:
        return []
    total = _total_budget(call)
    url = url_for("consultation.show", consultation_id=consultation.id, _external=True)
    data = {
        "planning": {
            "rationale": f"Beteiligungsverfahren „{consultation.title}“. {consultation.summary}".strip(),
            "budget": {"amount": {"amount": amount(total), "currency": CURRENCY}} if total is not None else None,
            "documents": [{"id": f"consultation-{consultation.id}", "documentType": "needsAssessment",
                           "title": consultation.title, "url": url, "format": "text/html", "language": "de",
                           "datePublished": iso(consultation.opened_at or consultation.opens_at)}],
        },
        "tender": {"id": call.reference, "status": "planning"},
    }
    return [StageRelease("planning", consultation.opened_at or consultation.opens_at, data)]


def build_tender(call: Call, _prefetched: Any) -> list[StageRelease]:
    if call.published_at is None:
        return []
    return [StageRelease("tender", call.published_at, {"tender": tender_data(call)})]


def _change_text(change: dict[str, Any]) -> str:
    label = change.get("label") or change.get("field", "")
    return f"{label}: {change.get('before', '')} → {change.get('after', '')}"


def build_amendments(call: Call, _prefetched: Any) -> list[StageRelease]:
    releases = []
    for amendment in call.amendments:
        entry = {
            "id": str(amendment.number),
            "date": iso(amendment.published_at),
            "rationale": amendment.reason,
            "description": "\n".join(_change_text(c) for c in amendment.changes) or None,
        }
        tender = {"id": call.reference, "amendments": [entry]}
        releases.append(StageRelease("tenderAmendment", amendment.published_at, {"tender": tender}, key=str(amendment.number)))
    return releases


def bid_detail_id(lot_number: int, position: int) -> str:
    """The public id of a bid: lot and running number, never the organisation.

    The awards domain uses the same ids (``bids.details`` merge by id) when it
    publishes each bid's final status.
    """
    return f"lot-{lot_number}-bid-{position}"


@dataclass
class BidFacts:
    #: per call id: [(lot id, organisation id, time of the version that counts)] in bid order
    bids: dict[int, list[tuple[int, int, datetime]]] = field(default_factory=dict)


def bids_are_public(call: Call, at: datetime | None = None) -> bool:
    """Counts may be published once the submission deadline has passed by the clock.

    The same moment the public audit log lifts its embargo on submission
    events (`portal.bids.services.submission_embargo_until`), also for a call
    cancelled before its deadline.
    """
    return call.is_public and call.submission_deadline is not None and (at or now()) >= call.submission_deadline


def prefetch_bids(calls: Sequence[Call], include: Callable[[Call], bool] = bids_are_public) -> BidFacts:
    """The bids that count, for the calls `include` accepts (one query).

    By default the calls whose bid counts are public; the council view passes
    its own rule (`can_view_bid_counts`).
    """
    from portal.bids.models import Bid, BidState, BidVersion, VersionKind

    closed = [c.id for c in calls if include(c)]
    facts = BidFacts()
    if not closed:
        return facts
    rows = db.session.execute(
        select(Bid.call_id, Bid.lot_id, Bid.organisation_id, Bid.id, func.max(BidVersion.submitted_at))
        .join(BidVersion, BidVersion.bid_id == Bid.id)
        .where(Bid.call_id.in_(closed), Bid.state == BidState.SUBMITTED, BidVersion.kind == VersionKind.SUBMISSION)
        .group_by(Bid.call_id, Bid.lot_id, Bid.organisation_id, Bid.id)
        .order_by(Bid.call_id, Bid.id)
    )
    for call_id, bid_lot_id, organisation_id, _bid_id, submitted_at in rows:
        facts.bids.setdefault(call_id, []).append((bid_lot_id, organisation_id, submitted_at))
    return facts


def build_bid_statistics(call: Call, facts: BidFacts | None) -> list[StageRelease]:
    """After the deadline: the number of expressions of interest per lot, nothing else.

    Bidders stay anonymous (no `tenderers`); the statuses are "pending" until
    the awards domain publishes the outcome.
    """
    if facts is None or not bids_are_public(call) or call.submission_deadline is None:
        return []
    deadline = call.submission_deadline
    bids = facts.bids.get(call.id, [])
    statistics: list[dict[str, Any]] = [
        {"id": "bids", "measure": "bids", "value": len(bids), "date": iso(deadline)}
    ]
    details = []
    for lot in call.lots:
        times = sorted(t for lid, _org, t in bids if lid == lot.id)
        statistics.append({"id": f"bids-lot-{lot.number}", "measure": "bids", "value": len(times),
                           "date": iso(deadline), "relatedLot": lot_id(lot)})
        for position, submitted_at in enumerate(times, start=1):
            details.append({"id": bid_detail_id(lot.number, position), "submissionType": "expressionOfInterest",
                            "date": iso(submitted_at), "status": "pending", "relatedLots": [lot_id(lot)]})
    data = {"tender": {"id": call.reference, "numberOfTenderers": _bidders(call, facts)},
            "bids": {"statistics": statistics, "details": details}}
    return [StageRelease("tenderUpdate", deadline, data, key="bids")]


def _bidders(call: Call, facts: BidFacts) -> int:
    """numberOfTenderers counts organisations: one organisation may bid for several lots."""
    return len({org for _lot, org, _t in facts.bids.get(call.id, [])})


def build_cancellation(call: Call, _prefetched: Any) -> list[StageRelease]:
    if call.state != CallState.CANCELLED or call.cancelled_at is None:
        return []
    notice = {"id": "cancellation", "documentType": "cancellationDetails", "title": "Aufhebung des Aufrufs",
              "description": call.cancel_reason, "url": call_url(call), "format": "text/html", "language": "de",
              "datePublished": iso(call.cancelled_at)}
    data = {"tender": {"id": call.reference, "status": "cancelled", "documents": [notice]}}
    return [StageRelease("tenderCancellation", call.cancelled_at, data)]


def register_builtin_builders() -> None:
    register_release_builder("planning", build_planning)
    register_release_builder("tender", build_tender)
    register_release_builder("tenderAmendment", build_amendments)
    register_release_builder("tenderUpdate", build_bid_statistics, prefetch=prefetch_bids)
    register_release_builder("tenderCancellation", build_cancellation)
