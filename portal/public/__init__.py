"""Open data: OCDS 1.1 release and record packages, CSV exports, the open-data page.

Everything is under /open-data (blueprint `public`), readable without an
account. Configuration: OCDS_OCID_PREFIX (the prefix registered with the Open
Contracting Partnership), OPEN_DATA_LICENSE_URL (default: Datenlizenz
Deutschland – Zero – 2.0), each also from the environment.
"""
from __future__ import annotations

import os

from flask import Flask


def init_app(app: Flask) -> None:
    from portal.public import views
    from portal.public.ocds import DEFAULT_LICENSE, DEFAULT_OCID_PREFIX, register_builtin_builders

    app.config.setdefault("OCDS_OCID_PREFIX", os.environ.get("OCDS_OCID_PREFIX") or DEFAULT_OCID_PREFIX)
    app.config.setdefault("OPEN_DATA_LICENSE_URL", os.environ.get("OPEN_DATA_LICENSE_URL") or DEFAULT_LICENSE)
    register_builtin_builders()
    app.register_blueprint(views.bp)
