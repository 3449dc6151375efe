"""Backup and restore of the whole portal in one file.

Everything lives in the database (bid attachments and documents included),
so one consistent database snapshot is a complete backup:

- SQLite: the online backup API copies the live database page by page while
  the portal keeps running (never a file copy, which could catch a write
  half-done); progress is reported per step.
- PostgreSQL: `pg_dump --format=custom` (a consistent snapshot).

A backup is written to a temporary file next to the target, checked, synced
to disk and only then renamed into place: a failure (e.g. a full disk)
leaves no file that looks like a valid backup. The encryption master key
(`BID_ENCRYPTION_KEY`) and the checkpoint signing key are not in the backup;
keep them separately.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore failed; the message says why in German."""


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("Eine In-Memory-Datenbank kann nicht gesichert werden.")
    return Path(database)


def _finish(tmp: Path, target: Path) -> None:
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def backup_database(url: str, target: Path, *, progress: Progress = lambda _: None) -> Path:
    target = Path(target).resolve()
    if target.exists():
        raise BackupError(f"Die Zieldatei {target} existiert bereits; bitte einen neuen Namen wählen.")
    tmp = target.with_name(f".{target.name}.unvollstaendig")
    tmp.unlink(missing_ok=True)
    try:
        if url.startswith("sqlite"):
            _backup_sqlite(_sqlite_path(url), tmp, progress)
        elif url.startswith("postgresql"):
            _backup_postgres(url, tmp, progress)
        else:
            raise BackupError(f"Datenbanktyp nicht unterstützt: {make_url(url).drivername}")
        _finish(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"Sicherung fehlgeschlagen ({exc.strerror or exc}); es wurde keine Datei angelegt.") from exc
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"Sicherung fehlgeschlagen ({exc}); es wurde keine Datei angelegt.") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    progress(f"Sicherung fertig: {target} ({target.stat().st_size:,} Bytes)".replace(",", "."))
    return target


def _backup_sqlite(source: Path, tmp: Path, progress: Progress) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(tmp)
    try:
        def report(status: int, remaining: int, total: int) -> None:
            done = total - remaining
            progress(f"Seiten kopiert: {done}/{total} ({100 * done // max(total, 1)} %)")

        src.backup(dst, pages=256, progress=report)
        result = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise BackupError(f"Die Sicherung ist nicht konsistent: {result}")
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()
        src.close()


def _backup_postgres(url: str, tmp: Path, progress: Progress) -> None:
    if not shutil.which("pg_dump"):
        raise BackupError("pg_dump ist nicht installiert (Debian-Paket postgresql-client).")
    progress("pg_dump läuft …")
    command = ["pg_dump", "--format=custom", "--no-owner", "--verbose", f"--file={tmp}", _libpq_url(url)]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as process:
        assert process.stderr is not None
        for line in process.stderr:
            if "dumping contents of table" in line:
                progress(line.strip().replace("pg_dump: ", ""))
    if process.returncode != 0:
        raise BackupError(f"pg_dump ist fehlgeschlagen (Exit-Code {process.returncode}).")


def restore_database(url: str, source: Path, *, progress: Progress = lambda _: None) -> None:
    """Restore `source` into the EMPTY database at `url`."""
    source = Path(source)
    if not source.exists():
        raise BackupError(f"Sicherungsdatei {source} nicht gefunden.")
    head = source.read_bytes()[:16]
    if url.startswith("sqlite"):
        if not head.startswith(b"SQLite format 3"):
            raise BackupError("Die Datei ist keine SQLite-Sicherung dieses Portals.")
        target = _sqlite_path(url)
        if target.exists() and target.stat().st_size > 0:
            raise BackupError(f"Die Zieldatenbank {target} ist nicht leer; Wiederherstellung nur in eine leere Datenbank.")
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=256, progress=lambda s, r, t: progress(f"Seiten: {t - r}/{t}"))
        finally:
            dst.close()
            src.close()
    elif url.startswith("postgresql"):
        if not head.startswith(b"PGDMP"):
            raise BackupError("Die Datei ist keine PostgreSQL-Sicherung (pg_dump) dieses Portals.")
        _require_empty_postgres(url)
        command = ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction",
                   f"--dbname={_libpq_url(url)}", str(source)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise BackupError(f"pg_restore ist fehlgeschlagen: {result.stderr.strip()[:500]}")
    else:
        raise BackupError(f"Datenbanktyp nicht unterstützt: {make_url(url).drivername}")
    progress("Wiederherstellung abgeschlossen.")


def _require_empty_postgres(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            count = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).scalar()
    finally:
        engine.dispose()
    if count:
        raise BackupError("Die Zieldatenbank ist nicht leer; Wiederherstellung nur in eine leere Datenbank.")
