"""Query counting for list endpoints and list pages (compare NetBox's
utilities/testing/query_counts.py).

A list must run the same number of SQL queries whatever the number of rows it shows: an N+1
regression or a per-row permission check shows as a count that grows. `assert_constant_queries`
builds FEW rows, counts one request, builds up to MANY, counts again, and requires equal counts.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

FEW, MANY = 2, 40


def token_client(user) -> APIClient:
    """An API client that authenticates with a token, so every request loads its user afresh,
    as in production (no role set cached on a shared user object)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def queries_listing(ctx) -> str:
    return "\n".join(q["sql"][:200] for q in ctx.captured_queries)


def count_queries(client, url: str, rows: int | None = None) -> int:
    """The queries one GET of `url` runs; with `rows`, the response must show that many rows
    (the API's `results`, or a page's `page` context), so a count is never of an empty list."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    if rows is not None:
        assert shown_rows(response) == rows, (url, shown_rows(response), rows)
    return len(ctx.captured_queries)


def shown_rows(response) -> int:
    if response.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        return len(body["results"] if isinstance(body, dict) else body)
    return len(response.context["page"].object_list)


def assert_constant_queries(
    client,
    url: str,
    grow: Callable[[int], object],
    *,
    rows: Callable[[int], int | None] = lambda n: n,
    ceiling: int | None = None,
) -> tuple[int, int]:
    """Call `grow(n)` to bring the list to n rows, count the queries of GET `url` with FEW
    and with MANY rows, and require the same count (and at most `ceiling`).

    `rows(n)` is how many rows the response must then show (None: do not check, for a page
    whose list is not under `page`). Returns the two counts.
    """
    grow(FEW)
    client.get(url)  # warm the process-wide caches (content types, sites) before counting
    with CaptureQueriesContext(connection) as few_ctx:
        few = count_queries(client, url, rows(FEW))
    grow(MANY)
    with CaptureQueriesContext(connection) as many_ctx:
        many = count_queries(client, url, rows(MANY))
    assert few == many, (
        f"{url}: {few} queries with {FEW} rows, {many} with {MANY}\n"
        f"--- with {FEW}:\n{queries_listing(few_ctx)}\n"
        f"--- with {MANY}:\n{queries_listing(many_ctx)}"
    )
    if ceiling is not None:
        assert many <= ceiling, (url, many, queries_listing(many_ctx))
    return few, many


class Upto:
    """Turns "make one row number i" into a grow(n) that adds rows until there are n."""

    def __init__(self, make_one: Callable[[int], object]):
        self.make_one, self.count = make_one, 0

    def __call__(self, total: int) -> None:
        while self.count < total:
            self.count += 1
            self.make_one(self.count)
