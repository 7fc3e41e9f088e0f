"""django-simple-history's admin pages, with the ids from the address checked first.

SimpleHistoryAdmin looks the object and the history record up with the raw values of
`<object_id>/history/` and `<object_id>/history/<history_id>/`, so a value that is not a number
("abc", "1.5", "ü") is a ValueError in the query, a 500; Django's own change page answers the
same address with a redirect. Every admin with history uses this class instead, which answers
404 for an id that cannot be one.
"""

from __future__ import annotations

from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin


def _require_fit(field, value) -> None:
    try:
        field.to_python(value)
    except ValidationError:
        raise Http404(f"no {field.model._meta.verbose_name} with that id") from None


class HistoryAdmin(SimpleHistoryAdmin):
    def history_view(self, request, object_id, extra_context=None):
        _require_fit(self.model._meta.pk, unquote(object_id))
        return super().history_view(request, object_id, extra_context=extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        history = getattr(self.model, self.model._meta.simple_history_manager_attribute)
        _require_fit(self.model._meta.pk, unquote(object_id))
        _require_fit(history.model._meta.pk, version_id)
        return super().history_form_view(
            request, object_id, version_id, extra_context=extra_context
        )
