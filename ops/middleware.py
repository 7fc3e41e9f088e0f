"""Probes and the metrics scrape, answered before the rest of the stack: a load balancer and
Prometheus ask by address (their Host header is no name of ours) and over plain HTTP, and
neither should cost a session, a redirect or an audit context. /metrics checks its own token or
address list (ops/views.py)."""

from ops import views

PROBES = {"/healthz": views.healthz, "/readyz": views.readyz, "/metrics": views.metrics}


class HealthProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
