"""HTML templates to PDF with WeasyPrint (the worker does this; nothing here touches the web).

Templates under templates/reports/ carry their own print stylesheet: A4 pages, a cover page,
a table of contents with page numbers (target-counter), running headers and page numbers in
the footer (@page margin boxes). Charts are the inline SVG of core/charts/.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string

from audit.reports import GENERATOR_NAME, GENERATOR_VERSION

# WeasyPrint logs every rendering step at INFO and every CSS property it skips at WARNING
# (its import already renders the user-agent stylesheets): noise in the worker and the tests.
for _name in ("weasyprint", "weasyprint.progress", "fontTools"):
    logging.getLogger(_name).setLevel(logging.ERROR)


def generator_version() -> str:
    import weasyprint

    return f"{GENERATOR_NAME}/{GENERATOR_VERSION} (WeasyPrint {weasyprint.__version__})"


@dataclass(frozen=True)
class RenderedPdf:
    content: bytes
    pages: int


def render_pdf(template: str, context: dict) -> RenderedPdf:
    from weasyprint import HTML

    html = render_to_string(template, context)
    document = HTML(string=html, base_url=str(settings.BASE_DIR)).render()
    return RenderedPdf(content=document.write_pdf(), pages=len(document.pages))
