"""Content negotiation for endpoints that answer files (reports, bundles, artifacts)."""

from __future__ import annotations

from rest_framework.negotiation import BaseContentNegotiation


class FirstRendererNegotiation(BaseContentNegotiation):
    """Files answer whatever the client accepts; errors are JSON. `?format=` is ours."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
