"""Streaming exports of audit events (JSON lines and CSV) in constant memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from django.http import StreamingHttpResponse

from audit.models import EVENT_DOCUMENT_FIELDS

CHUNK = 2000
COLUMNS = EVENT_DOCUMENT_FIELDS


def jsonl_lines(queryset) -> Iterator[str]:
    for event in queryset.order_by("seq").iterator(chunk_size=CHUNK):
        yield json.dumps(event.document(), sort_keys=True) + "\n"


def _csv_safe(value) -> str:
    text = (
        json.dumps(value, sort_keys=True)
        if isinstance(value, dict | list)
        else str("" if value is None else value)
    )
    # A leading = + - @ (or tab / carriage return) makes spreadsheets run the cell as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(queryset) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for event in queryset.order_by("seq").iterator(chunk_size=CHUNK):
        document = event.document()
        writer.writerow([_csv_safe(document[column]) for column in COLUMNS])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def streaming_export(queryset, fmt: str, filename_stem: str = "audit-events"):
    if fmt == "csv":
        response = StreamingHttpResponse(csv_lines(queryset), content_type="text/csv")
        extension = "csv"
    else:
        response = StreamingHttpResponse(jsonl_lines(queryset), content_type="application/jsonl")
        extension = "jsonl"
    response["Content-Disposition"] = f'attachment; filename="{filename_stem}.{extension}"'
    return response
