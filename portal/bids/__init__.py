"""Bids (Interessenbekundungen): drafting, sealed submission with receipts, opening by two officers.

Bidder pages live under /interessenbekundungen (blueprint `bids`), the
opening under /verwaltung/aufrufe/<reference>/oeffnung (blueprint
`bids_admin`). Limits are configurable: BID_ATTACHMENT_MAX_BYTES (per file,
default 20 MB), BID_MAX_BYTES (per bid, default 100 MB), BID_ANSWER_MAX_CHARS
(per text answer, default 6000), each also from the environment.
"""
from __future__ import annotations

import os

from flask import Flask


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def init_app(app: Flask) -> None:
    from portal.bids import admin, models, permissions, views  # noqa: F401  (register the tables)
    from portal.bids.provider import PROVIDER
    from portal.bids.services import DEFAULT_ANSWER_MAX_CHARS, DEFAULT_ATTACHMENT_MAX_BYTES, DEFAULT_BID_MAX_BYTES
    from portal.calls.bidding import register_bid_info

    app.config.setdefault("BID_ATTACHMENT_MAX_BYTES", _env_int("BID_ATTACHMENT_MAX_BYTES", DEFAULT_ATTACHMENT_MAX_BYTES))
    app.config.setdefault("BID_MAX_BYTES", _env_int("BID_MAX_BYTES", DEFAULT_BID_MAX_BYTES))
    app.config.setdefault("BID_ANSWER_MAX_CHARS", _env_int("BID_ANSWER_MAX_CHARS", DEFAULT_ANSWER_MAX_CHARS))
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    register_bid_info(PROVIDER)
    from portal.audit.public import register_embargo
    from portal.bids.services import SUBMISSION_EMBARGO, submission_embargo_until

    register_embargo(SUBMISSION_EMBARGO, submission_embargo_until)
    from portal.core.pdf import human_size

    app.jinja_env.filters.setdefault("filesize", human_size)
    for name in permissions.__all__:
        app.jinja_env.globals[name] = getattr(permissions, name)
