"""API rate limits: DRF's throttling with one scope per kind of call.

Authenticated callers are counted per user, reads (GET, HEAD, OPTIONS) apart from writes, so a
dashboard polling hard cannot starve the same user's writes and a runaway script that writes is
stopped sooner. Anonymous callers (only the token endpoint accepts them; everything else is a
401 before throttling) are counted per client address, the same address the audit trail
records. Rates are REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (`API_THROTTLE_*` in the
environment); DRF answers 429 with Retry-After. Throttled requests are not audited one by one:
writing an audit event per refused request would turn a flood into a flood of writes.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from audit.middleware import client_ip

READ_SCOPE = "user_read"
WRITE_SCOPE = "user_write"
ANON_SCOPE = "anon"


class ReadWriteUserRateThrottle(UserRateThrottle):
    def __init__(self):
        # The scope, and so the rate, depends on the request: chosen in allow_request.
        self.scope = None

    def scope_for(self, request) -> str:
        if request.user and request.user.is_authenticated:
            return READ_SCOPE if request.method in SAFE_METHODS else WRITE_SCOPE
        return ANON_SCOPE

    def get_rate(self):
        # Read the settings now, not DRF's class attribute bound at import, so that a changed
        # setting (tests, a reloaded configuration) takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        # DRF's own get_ident believes X-Forwarded-For unless NUM_PROXIES is set, so a client
        # could pick a new address per request; this is the audit trail's rule instead
        # (AUDIT_TRUSTED_PROXY_COUNT hops).
        return client_ip(request) or "unknown"

    def allow_request(self, request, view):
        self.scope = self.scope_for(request)
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
