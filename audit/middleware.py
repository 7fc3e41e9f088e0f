import ipaddress
import re
import uuid

from django.conf import settings

from audit.context import RequestContext, bound, session_fingerprint

USER_AGENT_MAX = 512
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A caller's (or the load balancer's) X-Request-ID is kept when it is a plain token; anything
# else is replaced, so that a log line or an audit event never carries what a client smuggled in.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
REQUEST_ID_HEADER = "X-Request-ID"


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


def request_id_of(request) -> str:
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


class AuditContextMiddleware:
    """Binds who-and-where of each request, and its id, for the audit events and log lines
    written while it runs; the id goes back in the X-Request-ID response header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        context = RequestContext(
            ip_address=client_ip(request),
            user_agent=_CONTROL.sub("", request.META.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX],
            session_id=session_fingerprint(session.session_key if session else None),
            request_id=request_id_of(request),
        )
        request.request_id = context.request_id
        with bound(context):
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = context.request_id
        return response
