"""The Inventory page: the registry as the record states it at a chosen instant."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from core.errors import Invalid
from governance.inventory import AT_FIELD, inventory_at, parse_at

# What <input type="datetime-local" step="1"> reads and writes (no timezone: the page says UTC).
PICKER_FORMAT = "%Y-%m-%dT%H:%M:%S"


@login_required
def inventory(request):
    """GET ?at= (the picker's value, read as UTC; an offset given by hand is honoured)."""
    raw = request.GET.get(AT_FIELD, "")
    try:
        at = parse_at(raw, naive_is_utc=True)
    except Invalid as refused:
        context = {"error": refused.detail, "at_value": raw[:64], "inventory": None}
        return render(request, "governance/inventory.html", context, status=400)
    answer = inventory_at(at, actor=request.user)
    context = {
        "inventory": answer,
        "at_value": at.strftime(PICKER_FORMAT),
        "api_at": at.isoformat(),
        "error": None,
    }
    return render(request, "governance/inventory.html", context)
