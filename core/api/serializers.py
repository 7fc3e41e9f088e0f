"""Base serializers: fields are declared by their Python names, the wire speaks camelCase.

The contract's names are camelCase (`riskTier`, `createdAt`); the models' are snake_case. A
field declared `risk_tier` (or listed as `"created_at"` in a ModelSerializer's Meta.fields) is
published as `riskTier` / `createdAt` and reads the attribute of its own name, so no serializer
restates `riskTier = X(source="risk_tier")`. Names that are already camelCase, or one word, are
left alone, which is what a serializer describing a camelCase document (a policy file, a signed
checkpoint) needs. The OpenAPI schema sees the renamed fields, so it shows the wire names.
"""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers


def camel(name: str) -> str:
    """`created_at` -> `createdAt`; `sha256`, `rocAuc` unchanged."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class CamelCaseFields:
    # Publishes every field under the camelCase of its declared name (see the module docstring).
    # No docstrings here or on the bases below: drf-spectacular would publish them as every
    # subclass's description.

    def get_fields(self):
        fields = {}
        for name, field in super().get_fields().items():
            wire = camel(name)
            if wire != name:
                if isinstance(field, serializers.SerializerMethodField):
                    # DRF would look for get_<wire name>; the method keeps its Python name.
                    field.method_name = field.method_name or f"get_{name}"
                elif field.source is None:
                    field.source = name
            if wire in fields:
                raise ValueError(f"{type(self).__name__}: two fields publish as {wire!r}")
            fields[wire] = field
        return fields


class OutputSerializer(CamelCaseFields, serializers.Serializer):
    pass  # an output shape over an object or a dict with snake_case keys


class ModelOutputSerializer(CamelCaseFields, serializers.ModelSerializer):
    pass  # an output shape over a model: Meta.fields lists the model's own (snake_case) names


def absolute_url(serializer, name: str, *args) -> str:
    """The URL of route `name`, absolute when the serializer answers a request."""
    url = reverse(name, args=args)
    request = serializer.context.get("request")
    return request.build_absolute_uri(url) if request else url
