"""One place that turns domain errors into the contract's HTTP answers."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from governance.errors import DomainError, Invalid, InvalidState


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
    return drf_exception_handler(exc, context)
