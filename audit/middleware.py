import ipaddress
import re

from django.conf import settings

from audit.context import RequestContext, bound, session_fingerprint

USER_AGENT_MAX = 512
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _valid_ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    proxies = settings.AUDIT_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            forwarded_ip = _valid_ip(hops[-proxies])
            if forwarded_ip is not None:
                return forwarded_ip
    return _valid_ip(request.META.get("REMOTE_ADDR"))


class AuditContextMiddleware:
    """Binds who-and-where of each request for the audit events written while it runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        context = RequestContext(
            ip_address=client_ip(request),
            user_agent=_CONTROL.sub("", request.META.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX],
            session_id=session_fingerprint(session.session_key if session else None),
        )
        with bound(context):
            return self.get_response(request)
