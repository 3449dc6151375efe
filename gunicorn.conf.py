"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py 'portal:create_app()'`.

Every value can be overridden from the environment (GUNICORN_*). The portal
is stateless: run as many instances as needed behind the reverse proxy, all
sharing PostgreSQL (and Redis for rate limits).
"""
import gc
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", (os.cpu_count() or 1) * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = 200
# Behind nginx on the same host: trust its X-Forwarded-* headers only.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None  # the app logs every request as JSON with its request id
errorlog = "-"
raw_env = ["PORTAL_CONFIG=" + os.environ.get("PORTAL_CONFIG", "production")]
preload_app = True


def on_starting(server):  # noqa: ANN001, ANN201 - gunicorn hook signature
    """Refuse to start workers when the database needs migrating."""
    os.environ.setdefault("PORTAL_CONFIG", "production")
    from portal import create_app
    from portal.ops.checks import problems_before_serving

    app = create_app()
    with app.app_context():
        problems = problems_before_serving()
    if problems:
        for problem in problems:
            server.log.error("Start verweigert: %s", problem)
        raise SystemExit(1)


def pre_fork(server, worker):  # noqa: ANN001, ANN201 - gunicorn hook signature
    """Move the preloaded application's objects out of the garbage collector's view.

    Otherwise every full collection in a worker traverses all of them (about
    0.1 s on the 2-core machine: the occasional ~100 ms inclusion proof in
    `make bench`), and touching them unshares the forked memory pages.
    """
    gc.freeze()
