"""The application shell: configuration, layout, errors, security headers, health."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask, abort

from config import ProductionConfig
from portal import ConfigurationError, create_app

PUBLIC_PAGES = ["/", "/impressum", "/datenschutz", "/barrierefreiheit"]


def test_production_refuses_to_start_without_secret_or_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app("production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        create_app("production")
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.delenv("BID_ENCRYPTION_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="BID_ENCRYPTION_KEY"):
        create_app("production")
    monkeypatch.setenv("BID_ENCRYPTION_KEY", "c2hvcnQ")
    with pytest.raises(ConfigurationError, match="32 Bytes"):
        create_app("production")


def _production_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from portal.core.sealing import generate_key_text

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("BID_ENCRYPTION_KEY", generate_key_text())


def test_production_refuses_debug_and_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    _production_env(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(ConfigurationError, match="Debug"):
        create_app("production")
    monkeypatch.delenv("FLASK_DEBUG")
    with pytest.raises(ConfigurationError, match="Demodaten"):
        create_app("production", DEMO_ALLOWED=True)


def test_production_sets_secure_cookies_and_hsts(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from portal.audit.checkpoint import load_or_create_key

    load_or_create_key(tmp_path / "audit.pem")
    monkeypatch.setenv("AUDIT_SIGNING_KEY_PATH", str(tmp_path / "audit.pem"))
    _production_env(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app(ProductionConfig)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    response = app.test_client().get("/impressum")
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_development_generates_its_secret_into_instance(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    first = create_app("development").config["SECRET_KEY"]
    second = create_app("development").config["SECRET_KEY"]
    assert first == second and len(first) >= 40
    assert (tmp_path / "secret_key").read_text().strip() == first
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_have_one_h1_a_skip_link_and_landmarks(client, path: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("<h1") == 1
    assert '<html lang="de">' in html
    assert 'href="#main"' in html and 'id="main"' in html
    for landmark in ("<header", "<nav", "<main", "<footer"):
        assert landmark in html
    assert "<script" not in html  # the core pages need no JavaScript at all
    assert not re.search(r"(src|href)=\"https?://", html), "no third-party resources"


def test_security_headers(client) -> None:  # type: ignore[no-untyped-def]
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    for part in ("default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert part in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"]


def test_session_cookie_flags(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    client.get("/sprache/en?next=/")
    cookie = client.get_cookie("ibv_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert app.config["MAX_CONTENT_LENGTH"] > 0


def test_404_page_is_german_and_in_the_layout(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/gibt-es-nicht")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Seite nicht gefunden" in html and 'id="main"' in html


def test_403_500_and_413_pages(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/_t/forbidden")
    def forbidden() -> str:
        abort(403)

    @app.get("/_t/crash")
    def crash() -> str:
        raise RuntimeError("secret internals")

    @app.post("/_t/upload")
    def upload() -> str:
        from flask import request

        return str(len(request.files))

    client = app.test_client()
    response = client.get("/_t/forbidden")
    assert response.status_code == 403 and "Zugriff verweigert" in response.get_data(as_text=True)
    response = client.get("/_t/crash")
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and "Interner Fehler" in body
    assert "secret internals" not in body and "Traceback" not in body
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/_t/upload", data={"f": (__import__("io").BytesIO(b"x" * 5000), "a.pdf")})
    assert response.status_code == 413
    assert "Datei zu groß" in response.get_data(as_text=True)


def test_language_switch_keeps_the_page(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/sprache/en?next=/barrierefreiheit")
    assert response.status_code == 302 and response.headers["Location"] == "/barrierefreiheit"
    html = client.get("/barrierefreiheit").get_data(as_text=True)
    assert '<html lang="en">' in html and "Accessibility statement" in html
    # The switch never redirects to another site.
    assert client.get("/sprache/de?next=https://evil.example/").headers["Location"] == "/"
    assert '<html lang="de">' in client.get("/").get_data(as_text=True)


def test_healthz_reports_the_database(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    broken = create_app("testing", SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_csrf_failure_keeps_the_users_input(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = True

    @app.post("/_t/form")
    def form() -> str:
        return "angenommen"

    client = app.test_client()
    response = client.post("/_t/form", data={"answer": "Mein langer Text über Stunden", "password": "geheim-geheim"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Sicherheitsprüfung fehlgeschlagen" in html
    assert "Mein langer Text über Stunden" in html
    assert "geheim-geheim" not in html  # secrets are never echoed
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    again = client.post("/_t/form", data={"answer": "Mein langer Text über Stunden", "csrf_token": token})
    assert again.status_code == 200 and again.get_data(as_text=True) == "angenommen"


def test_csrf_token_does_not_expire_within_the_session(app: Flask) -> None:
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None


def test_sqlite_connections_enforce_foreign_keys_and_guards(app: Flask) -> None:
    from portal.extensions import db

    if db.engine.dialect.name != "sqlite":
        assert db.session.execute(sa.text("SELECT 1")).scalar() == 1
        return
    assert db.session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
    assert db.session.execute(sa.text("PRAGMA recursive_triggers")).scalar() == 1
    assert db.session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
