"""Validate OCDS packages against the official OCDS 1.1 schema copies in ../shared/ocds/.

The schemas are part of the checkout layout (`../shared` beside the
repository, in CI too), so a missing copy fails the test instead of skipping
it. Validation is offline: a `referencing.Registry` maps the schemas' ids to
the local files, and the format checker of `jsonschema[format-nongpl]` checks
`date-time` and `uri` values (`require_format_checks` proves it is installed).
"""
from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = Path(os.environ.get("OCDS_SCHEMA_DIR") or ROOT.parent / "shared" / "ocds" / "1.1")
SCHEMAS = ("release-schema.json", "release-package-schema.json", "record-package-schema.json")


def _schema(name: str) -> dict[str, Any]:
    path = SCHEMA_DIR / name
    if not path.is_file():
        pytest.fail(f"OCDS schema copy missing: {path} (the checkout needs ../shared/ocds beside the repository)", pytrace=False)
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _registry() -> Registry:
    resources = []
    for name in SCHEMAS:
        schema = _schema(name)
        resources.append((schema["id"], Resource.from_contents(schema, default_specification=DRAFT4)))
    return Registry().with_resources(resources)


def require_format_checks() -> None:
    checkers = Draft4Validator.FORMAT_CHECKER.checkers
    assert "date-time" in checkers and "uri" in checkers, "install jsonschema[format-nongpl]"


def validation_errors(package: dict[str, Any], kind: str = "release") -> list[str]:
    """Every schema error of a release (`kind="release"`) or record package, as readable lines."""
    require_format_checks()
    schema = _schema(f"{kind}-package-schema.json")
    validator = Draft4Validator(schema, registry=_registry(), format_checker=Draft4Validator.FORMAT_CHECKER)
    return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(package)]


def codelist(name: str) -> set[str]:
    import csv

    path = SCHEMA_DIR / "codelists" / f"{name}.csv"
    with path.open(encoding="utf-8") as handle:
        return {row["Code"] for row in csv.DictReader(handle)}
