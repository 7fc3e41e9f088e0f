"""The page-side twin of the API exception handler: domain errors become a plain page."""

from django.shortcuts import render

from core.errors import DomainError, InvalidState


class DomainErrorPageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DomainError) or request.path.startswith("/api/"):
            return None
        return render(
            request,
            "errors/refused.html",
            {
                "detail": exception.detail,
                "status": exception.status_code,
                "state": exception.state if isinstance(exception, InvalidState) else None,
            },
            status=exception.status_code,
        )
