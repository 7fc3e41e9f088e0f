from rest_framework import pagination

MAX_PAGE_SIZE = 500


class PageNumberPagination(pagination.PageNumberPagination):
    """`{"count", "next", "previous", "results"}` with ?page= and ?pageSize= (at most 500)."""

    page_size_query_param = "pageSize"
    max_page_size = MAX_PAGE_SIZE
