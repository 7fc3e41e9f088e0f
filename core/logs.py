"""Structured logs: one JSON object per line, each carrying the id of the request or worker job
that wrote it (the same id as its audit events), and one line per request answered."""

from __future__ import annotations

import logging
import time

from audit import context as request_context

request_log = logging.getLogger("registry.request")
# Probes and static files are asked for every few seconds by machines: logged at DEBUG only.
_QUIET_PREFIXES = ("/healthz", "/readyz", "/metrics", "/static/")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (and `job`) to every record, from the request or job running now."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            context = request_context.current()
            record.request_id = context.request_id if context is not None else ""
        return True


class RequestLogMiddleware:
    """One line per request: method, path, status, duration, user and request id. The access
    log of the WSGI server knows neither the user nor the id, so this replaces it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        level = logging.DEBUG if request.path.startswith(_QUIET_PREFIXES) else logging.INFO
        request_log.log(
            level,
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user": user.get_username() if user is not None and user.is_authenticated else "",
                # After AuditContextMiddleware has answered, the context is unbound: the id
                # is read back from the request.
                "request_id": getattr(request, "request_id", ""),
            },
        )
        return response
