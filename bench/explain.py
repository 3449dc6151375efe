"""`python -m bench explain`: query plans of the hot pages on the scale data (PostgreSQL).

Requests each page once through the app (testing configuration, so staff pages
can be signed in directly), records every SQL statement with its parameters and
asks PostgreSQL for its plan (`EXPLAIN`). Lists every sequential scan on a table
with more than `--large` rows; exits 1 if there is one.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _seq_scans(plan: dict[str, Any]) -> list[str]:
    found = []
    if plan.get("Node Type") == "Seq Scan":
        found.append(plan.get("Relation Name", "?"))
    for child in plan.get("Plans", []):
        found += _seq_scans(child)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=10_000, help="a table with more rows counts as large")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import sqlalchemy as sa

    from bench.pages import database_url, targets
    from portal import create_app
    from portal.accounts.models import Role, User, UserRole
    from portal.accounts.sessions import TWO_FACTOR_PASSED
    from portal.extensions import db

    url = database_url()
    if not url.startswith("postgresql"):
        print("EXPLAIN-Prüfung braucht PostgreSQL (BENCH_DATABASE_URL oder TEST_DATABASE_URL).")
        return 0
    from tests.conftest import CommittingClient

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    app.test_client_class = CommittingClient  # each request in its own app context, as on a server
    pages = {name: path for name, path in targets(url).items() if path != "/healthz"}
    with app.app_context():
        officer = db.session.scalar(
            sa.select(User).join(UserRole).where(UserRole.role == Role.ADMIN).order_by(User.id).limit(1)
        )
        officer_id, officer_number = officer.get_id(), officer.id
        first_call = db.session.scalar(sa.text("SELECT id FROM call ORDER BY id LIMIT 1"))
        # A day in the middle of the log (Europe/Berlin dates as the filter form takes them).
        day = db.session.scalar(sa.text(
            "SELECT (occurred_at AT TIME ZONE 'Europe/Berlin')::date FROM audit_event "
            "WHERE seq = (SELECT max(seq) / 2 FROM audit_event)"
        ))
        consultation = pages["consultation page"].rsplit("/", 1)[-1]
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")  # the planner needs current statistics, as in production
        sizes = dict(db.session.execute(sa.text(
            "SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
        )).all())
        db.session.rollback()
    staff = {
        "staff call list": "/verwaltung/aufrufe/", "staff call page": f"/verwaltung/aufrufe/{first_call}",
        "accounts": "/verwaltung/konten", "organisations": "/verwaltung/traeger", "audit log": "/verwaltung/protokoll/",
        "consultation (officer)": f"/beteiligung/{consultation}/verwalten",
        # The audit log's filters, each alone, and a page deep down the log.
        "audit log: rare action": "/verwaltung/protokoll/?action=call.published",
        "audit log: frequent action": "/verwaltung/protokoll/?action=user.signed_in&seite=50",
        "audit log: account number": f"/verwaltung/protokoll/?actor={officer_number}",
        "audit log: e-mail part": "/verwaltung/protokoll/?actor=traeger00042",
        "audit log: subject": f"/verwaltung/protokoll/?subject_type=call&subject_id={first_call}",
        "audit log: one day": "/verwaltung/protokoll/?start={0}&end={0}".format(day),
        "audit log: page 500": "/verwaltung/protokoll/?seite=500",
    }
    pages.update({"transparency events": "/transparency/events", "call trail": f"/transparenz/verlauf/call/{first_call}",
                  "transparency events (middle)": "/transparency/events?from=500000"})
    recorded: list[tuple[str, str, Any]] = []
    current = [""]

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            recorded.append((current[0], statement, parameters))

    with app.app_context():
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", listen)
        for role, group in (("anonymous", pages), ("admin", staff)):
            client = app.test_client()
            if role == "admin":
                with client.session_transaction() as session:
                    session["_user_id"] = officer_id
                    session["_fresh"] = True
                    session[TWO_FACTOR_PASSED] = True
            for name, path in group.items():
                current[0] = name
                response = client.get(path)
                print(f"{name:<26} {path:<40} {response.status_code} {response.headers.get('Location', '')}")
        sa.event.remove(engine, "before_cursor_execute", listen)
        problems = []
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            seen = set()
            for name, statement, parameters in recorded:
                if (name, statement) in seen:
                    continue
                seen.add((name, statement))
                with raw.cursor() as cursor:
                    cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
                    plan = cursor.fetchone()[0]
                    plan = plan[0]["Plan"] if isinstance(plan, list) else json.loads(plan)[0]["Plan"]
                for table in _seq_scans(plan):
                    if sizes.get(table, 0) > args.large:
                        problems.append(f"{name}: Seq Scan auf {table} ({sizes[table]:,} Zeilen): {' '.join(statement.split())[:200]}")
            raw.rollback()
    print(f"{len(recorded)} Abfragen geprüft; große Tabellen: "
          + ", ".join(f"{t} {n:,}" for t, n in sorted(sizes.items(), key=lambda x: -x[1]) if n > args.large))
    for problem in problems:
        print("  " + problem)
    print("keine sequentiellen Scans auf großen Tabellen" if not problems else f"{len(problems)} sequentielle Scans")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
