"""Shared serializer pieces: strict input (unknown keys are an error) and bounded JSON fields."""

from __future__ import annotations

from rest_framework import serializers

from core.api.serializers import CamelCaseFields

MAX_TAGS = 50
MAX_TAG_KEY = 100
MAX_TAG_VALUE = 500
MAX_TEXT = 20_000
MAX_DOCUMENTATION = 200_000
MAX_DOCUMENTATION_SECTIONS = 50


class StrictInputSerializer(CamelCaseFields, serializers.Serializer):
    """An input serializer that refuses keys it does not know, so a typo is not silently lost."""

    # Fields declared snake_case are accepted under their camelCase names (CamelCaseFields).

    def to_internal_value(self, data):
        if isinstance(data, dict):
            known = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - known)
            if unknown:
                raise serializers.ValidationError(
                    {
                        key: [f"unknown field; accepted fields are {', '.join(sorted(known))}"]
                        for key in unknown
                    }
                )
            # DRF turns 12345 into "12345" for a text field; a wrong type is an error here.
            wrong = {
                name: ["must be a string"]
                for name, field in self.fields.items()
                if isinstance(field, serializers.CharField | serializers.ChoiceField)
                and name in data
                and data[name] is not None
                and not isinstance(data[name], str)
            }
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


def validate_string_map(value, *, what: str, max_items: int, max_key: int, max_value: int):
    if not isinstance(value, dict):
        raise serializers.ValidationError(f"{what} must be an object of string keys to strings")
    if len(value) > max_items:
        raise serializers.ValidationError(f"{what} may hold at most {max_items} entries")
    for key, item in value.items():
        if not key or len(key) > max_key:
            raise serializers.ValidationError(
                f"{what} keys must be 1 to {max_key} characters: {key[:40]!r}"
            )
        if not isinstance(item, str):
            raise serializers.ValidationError(f"{what}[{key!r}] must be a string")
        if len(item) > max_value:
            raise serializers.ValidationError(
                f"{what}[{key!r}] is longer than {max_value} characters"
            )
    return value


class TagsField(serializers.JSONField):
    """An object of string keys to string values."""

    def to_internal_value(self, data):
        return validate_string_map(
            data, what="tags", max_items=MAX_TAGS, max_key=MAX_TAG_KEY, max_value=MAX_TAG_VALUE
        )


class DocumentationField(serializers.JSONField):
    """Markdown text, or an object of section name to Markdown text (a model card)."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            if len(data) > MAX_DOCUMENTATION:
                raise serializers.ValidationError(
                    f"documentation is longer than {MAX_DOCUMENTATION} characters"
                )
            return data
        validate_string_map(
            data,
            what="documentation",
            max_items=MAX_DOCUMENTATION_SECTIONS,
            max_key=MAX_TAG_KEY,
            max_value=MAX_DOCUMENTATION,
        )
        return data


class UsernameField(serializers.SlugRelatedField):
    """A person, given by username (owner, createdBy, user, approver)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(slug_field="username", **kwargs)
