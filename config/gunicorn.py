"""gunicorn's settings for the registry's web processes (bin/run starts it with -c this file).

Every count comes from the environment. The database connections one web process can hold are
WEB_WORKERS x WEB_THREADS: Django keeps one connection per thread, and gthread's threads are a
fixed pool, so the total is bounded (README, "Database connections") — unlike the development
server, which starts a thread, and a connection, per request.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
# A request longer than this is a bug or an attack, not work: long work runs in the worker.
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle processes now and then so that a slow leak never becomes an outage.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
# Load the application once before forking: workers share its memory and a broken
# configuration stops the start instead of every worker failing in turn.
preload_app = True
# core/logs.py writes one JSON line per request with the user and the request id; gunicorn's
# own access log would repeat it without either.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
# The load balancer's address is not the client's: X-Forwarded-* is read by Django, trusted
# only as far as AUDIT_TRUSTED_PROXY_COUNT says.
forwarded_allow_ips = os.environ.get("WEB_FORWARDED_ALLOW_IPS", "127.0.0.1")
control_socket_disable = True


def child_exit(server, worker):
    # A finished worker's live gauges leave the summed metrics (prometheus_client multiprocess).
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
