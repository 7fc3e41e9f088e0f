"""/healthz, /readyz and /metrics: for the load balancer, the orchestrator and Prometheus."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST

from ops.health import readiness
from ops.metrics import exposition


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    skip = {name.strip() for name in request.GET.get("skip", "").split(",") if name.strip()}
    checks = readiness(skip=skip)
    ready = all(check.ok for check in checks)
    return JsonResponse(
        {
            "status": "ready" if ready else "not ready",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail, "ms": c.ms} for c in checks},
        },
        status=200 if ready else 503,
    )


def _may_scrape(request) -> bool:
    token = settings.METRICS_TOKEN
    given = request.META.get("HTTP_AUTHORIZATION", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    # The TCP peer only: X-Forwarded-For is whatever the caller wrote, and a web host reached
    # directly (not through the load balancer) must not be talked into trusting it.
    return request.META.get("REMOTE_ADDR", "") in settings.METRICS_ALLOWED_IPS


def metrics(request):
    if not _may_scrape(request):
        return JsonResponse(
            {
                "detail": "metrics are for the monitoring system: send the METRICS_TOKEN as "
                "'Authorization: Bearer <token>' or scrape from an address in "
                "METRICS_ALLOWED_IPS"
            },
            status=403,
        )
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
