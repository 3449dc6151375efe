"""Real gunicorn instances in the production configuration, and a tiny HTTP client.

Used by the several-instances test (tests/ops/test_two_instances.py) and by
the page benchmark (bench/pages.py). The server runs `gunicorn.conf.py` as in
production (start checks included) with `PORTAL_CONFIG=production`; keys are
generated for the run. Cookies are kept by name regardless of the `Secure`
flag, because loopback speaks plain HTTP where nginx would terminate TLS.
"""
from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(database_url: str, keys_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a production instance: fresh keys in `keys_dir` (shared by every instance)."""
    from config import TestingConfig
    from portal.audit.checkpoint import load_or_create_key

    keys_dir.mkdir(parents=True, exist_ok=True)
    secret = keys_dir / "secret_key"
    if not secret.exists():
        secret.write_text(os.urandom(32).hex())
    signing = keys_dir / "audit_signing_key.pem"
    load_or_create_key(signing)  # creates the key file once
    env = {
        **os.environ,
        "PORTAL_CONFIG": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret.read_text(),
        # Data seeded through the testing configuration (factories) must open on the server.
        "BID_ENCRYPTION_KEY": TestingConfig.BID_ENCRYPTION_KEY,
        "AUDIT_SIGNING_KEY_PATH": str(signing),
        "PORTAL_BASE_URL": "https://ibv.example.org",
        "MAIL_BACKEND": "console",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("FLASK_DEBUG", None)
    env.update(extra)
    return env


class Server:
    """One gunicorn instance (`gunicorn -c gunicorn.conf.py 'portal:create_app()'`)."""

    def __init__(self, env: dict[str, str], *, workers: int = 1, threads: int = 4, log: Path | None = None) -> None:
        self.port = free_port()
        self.log = log
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}", "GUNICORN_WORKERS": str(workers),
               "GUNICORN_THREADS": str(threads)}
        output = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed in stop()
        self._output = output
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "portal:create_app()"],
            cwd=ROOT, env=env, stdout=output, stderr=output,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}: {self.tail()}")
            try:
                if Client(self.port).get("/healthz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not answer /healthz within 60 s: " + self.tail())

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log and self.log.exists() else ""

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._output is not subprocess.DEVNULL:
            self._output.close()


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: str) -> None:
        self.status, self.headers, self.text = status, headers, body

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    def hidden(self, name: str) -> str:
        match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', self.text)
        if match is None:
            raise AssertionError(f"no field {name!r} in the page (status {self.status})")
        return match.group(1)


class Client:
    """A browser stand-in for one instance; `cookies` may be shared between clients."""

    def __init__(self, port: int, cookies: dict[str, str] | None = None) -> None:
        self.port = port
        self.cookies = cookies if cookies is not None else {}

    def request(self, method: str, path: str, data: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body, sent)
            raw = connection.getresponse()
            text = raw.read().decode("utf-8", errors="replace")
            for header in raw.headers.get_all("Set-Cookie") or []:
                for key, morsel in SimpleCookie(header).items():
                    if morsel["expires"] and "1970" in morsel["expires"] or morsel["max-age"] == "0":
                        self.cookies.pop(key, None)
                    else:
                        self.cookies[key] = morsel.value
            return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, text)
        finally:
            connection.close()

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict[str, Any], **kwargs: Any) -> Response:
        return self.request("POST", path, data=data, **kwargs)

    def post_form(self, path: str, data: dict[str, Any], *, form_page: str | None = None) -> Response:
        """GET the form page (for its CSRF token), then POST `data` with it."""
        token = self.get(form_page or path).hidden("csrf_token")
        return self.post(path, {**data, "csrf_token": token})

    def sign_in(self, email: str, password: str) -> Response:
        return self.post_form("/anmelden", {"email": email, "password": password})
