"""One place that turns domain errors into the contract's HTTP answers."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError, Invalid, InvalidState


def domain_error_body(error: DomainError) -> dict:
    if isinstance(error, InvalidState):
        return {"detail": error.detail, "state": error.state}
    if isinstance(error, Invalid) and error.field:
        return {error.field: [error.detail]}
    return {"detail": error.detail}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(domain_error_body(exc), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IntegrityError):
        return Response(
            {"detail": "the change conflicts with data saved meanwhile; reload and try again"},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DataError):
        return Response(
            {"detail": f"a value does not fit the database: {exc}".splitlines()[0]},
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        # A ValidationError raised with a list (not by a serializer's field) would be a bare
        # JSON array; the contract's 400 is an object, so it is the body's non-field errors.
        response.data = {api_settings.NON_FIELD_ERRORS_KEY: response.data}
    return response


def not_found(request, exception=None):
    """Django's 404 for an address no route matches (handler404 in config/urls.py): under
    /api/ in the API's error shape, so that /api/v1/versions/-1/submit/ is JSON like any other
    404 of the API; the site's 404 page elsewhere."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
