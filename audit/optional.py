"""Models of features that other parts of the product add over time (policy exceptions,
violations, compliance snapshots, evaluation runs). Reports and evidence bundles use them
when they exist and say plainly that the data is not recorded yet when they do not."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from django.apps import apps
from django.db import models


def optional_model(app_label: str, model_name: str) -> type[models.Model] | None:
    try:
        return apps.get_model(app_label, model_name)
    except LookupError:
        return None


def has_field(model: type[models.Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except Exception:  # FieldDoesNotExist
        return False
    return True


def plain_value(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    if hasattr(value, "name") and hasattr(value, "url"):  # a stored file
        return value.name or None
    return json.loads(json.dumps(value, default=str))


def row_document(obj: models.Model) -> dict:
    """Every concrete field of `obj`, foreign keys by id (for models whose shape we do not own)."""
    document = {}
    for field in obj._meta.concrete_fields:
        document[field.attname] = plain_value(getattr(obj, field.attname))
    return document
