"""Refuse, before any view runs, addresses that no view can answer except with a 500.

- A NUL character anywhere in the path (404: nothing has such an address) or the query
  string (400). No identifier, filter value or search term of this product can hold a NUL,
  and the databases disagree about it: PostgreSQL refuses a string parameter holding one
  (psycopg raises ValueError "A string literal cannot contain NUL", a 500 wherever a view
  passes a path or query value to a query), SQLite cuts the string at it. Guarding each
  view's parameters would be the same check written in a hundred places and forgotten in the
  next one. (Bodies are checked where they are parsed: the strict JSON parser, and form
  fields' own null-character validator.)
- An empty `_to_field` on an admin page (400). Django's admin answers 400 for a `_to_field`
  it does not allow, but an empty one slips past that check (`if to_field and ...`) and is
  then looked up as a field named "" (FieldDoesNotExist, a 500) on every change and delete
  page; the admin's own links never send one.

API answers are JSON in the shape of core/api/exception_handler.py ({"detail": "..."}); pages
get Django's 404 and 400 pages.
"""

from __future__ import annotations

from django.contrib.admin.options import TO_FIELD_VAR
from django.core.exceptions import BadRequest
from django.http import Http404, JsonResponse

NUL = "\x00"
NUL_IN_QUERY = "the query string contains a NUL character (%00), which no value here can hold"
EMPTY_TO_FIELD = f"{TO_FIELD_VAR} must name a field"


def _has_nul(query) -> bool:
    return any(NUL in key or any(NUL in v for v in values) for key, values in query.lists())


def refusal(request) -> tuple[int, str] | None:
    """(status, detail) when the request must not reach a view, else None."""
    if NUL in request.path_info:
        return 404, "Not found."
    if _has_nul(request.GET):
        return 400, NUL_IN_QUERY
    if request.path_info.startswith("/admin/"):
        data = request.POST if request.method == "POST" else {}
        if request.GET.get(TO_FIELD_VAR) == "" or data.get(TO_FIELD_VAR) == "":
            return 400, EMPTY_TO_FIELD
    return None


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refused = refusal(request)
        if refused is None:
            return self.get_response(request)
        status, detail = refused
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": detail}, status=status)
        # Raised here, they become the site's own 404 and 400 pages (handler404, handler400).
        if status == 404:
            raise Http404(detail)
        raise BadRequest(detail)
