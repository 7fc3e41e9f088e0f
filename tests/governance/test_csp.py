"""Content-Security-Policy: every response carries it, scripts run only from this origin or
with the response's nonce, and no page (template or rendered HTML) has an inline script without
the nonce, an inline event handler or a javascript: URL."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from core.choices import Role
from governance.demo import seed_demo
from tests.factories import PASSWORD

TEMPLATES = Path(settings.BASE_DIR) / "templates"
STATIC_JS = Path(settings.BASE_DIR) / "static" / "js"
# Rendered to PDF by WeasyPrint, never served to a browser.
PDF_ONLY = TEMPLATES / "reports"

TAG = re.compile(r"<(script|style)\b([^>]*)>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[a-zA-Z][^>]*\sstyle\s*=", re.IGNORECASE)
TEMPLATE_NONCE = 'nonce="{{ request.csp_nonce }}"'
LINK = re.compile(r'href="(/[^"#]*)"')
# Not pages: downloads, actions and exports (their answers carry the header too, see below).
NOT_PAGES = re.compile(
    r"^/(logout/|static/|admin/logout/|audit/export|reports/\d+/download/|api/v1/(?!docs/))"
    r"|evidence|/download|/delete/|export"
)
MAX_PAGES = 120  # per user


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_strict(response):
    directives = policy(response)
    scripts = directives["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert "'unsafe-inline'" not in directives["style-src"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["default-src"] == ["'self'"]
    return directives


def assert_page_obeys(path: str, response):
    """The rendered HTML: inline <script>/<style> only with this response's nonce, no event
    handler attributes, no javascript: URLs."""
    directives = assert_strict(response)
    nonces = {v for v in directives["script-src"] if v.startswith("'nonce-")}
    html = response.content.decode()
    for kind, attributes in TAG.findall(html):
        if kind.lower() == "script" and "src=" in attributes:
            continue
        nonce = re.search(r'nonce="([^"]+)"', attributes)
        assert nonce, f"{path}: inline <{kind}> without a nonce"
        assert f"'nonce-{nonce.group(1)}'" in nonces, f"{path}: <{kind}> nonce not in the header"
    assert not EVENT_HANDLER.search(html), f"{path}: inline event handler"
    assert not JAVASCRIPT_URL.search(html), f"{path}: javascript: URL"


# --- Templates and static files ---------------------------------------------------------------


def served_templates():
    return [p for p in TEMPLATES.rglob("*.html") if PDF_ONLY not in p.parents]


def test_no_template_has_an_inline_script_without_the_nonce_or_an_event_handler():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for kind, attributes in TAG.findall(text):
            if kind.lower() == "script" and "src=" in attributes:
                continue
            if PDF_ONLY in path.parents and kind.lower() == "style":
                continue  # WeasyPrint's stylesheet
            if TEMPLATE_NONCE not in attributes:
                offenders.append(f"{path.relative_to(TEMPLATES)}: <{kind}{attributes}>")
        if EVENT_HANDLER.search(text):
            offenders.append(f"{path.relative_to(TEMPLATES)}: inline event handler")
        if JAVASCRIPT_URL.search(text):
            offenders.append(f"{path.relative_to(TEMPLATES)}: javascript: URL")
    assert offenders == []


def test_served_templates_have_no_style_attributes():
    offenders = [
        str(p.relative_to(TEMPLATES))
        for p in served_templates()
        if STYLE_ATTRIBUTE.search(p.read_text())
    ]
    assert offenders == []


def test_static_scripts_do_not_build_event_handlers_or_use_eval():
    for path in STATIC_JS.glob("*.js"):
        text = path.read_text()
        assert not re.search(r"\beval\(|new Function\(|\.innerHTML\s*=", text), path.name
        assert not re.search(r"""setAttribute\(\s*["']on""", text), path.name


# --- Responses ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_login_page_json_and_errors_carry_the_policy(client):
    assert_page_obeys("/login/", client.get("/login/"))
    assert_strict(client.get("/api/v1/me/"))  # a 401 JSON answer
    assert_strict(client.get("/no-such-page/"))  # a 404 (DEBUG is off in tests)


@pytest.mark.django_db
def test_the_lockout_page_carries_the_policy(owner, settings):
    settings.AXES_FAILURE_LIMIT = 1
    response = Client().post("/login/", {"username": "olivia", "password": "wrong-password-1"})
    assert response.status_code == 429
    assert_page_obeys("lockout", response)


@pytest.mark.django_db
def test_the_api_docs_inline_script_and_style_carry_the_nonce(make_user):
    client = Client()
    client.force_login(make_user())
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    directives = assert_strict(response)
    [script_nonce] = [v for v in directives["script-src"] if v.startswith("'nonce-")]
    html = response.content.decode()
    assert f'<script nonce="{script_nonce[7:-1]}">' in html
    assert f'<style nonce="{script_nonce[7:-1]}">' in html
    assert "SwaggerUIBundle(" in html
    assert_page_obeys("/api/v1/docs/", response)


@pytest.mark.django_db
def test_charts_style_attributes_are_allowed_but_no_inline_style_elements(users):
    """The SVG charts' root style attribute (display, max-width) is governed by style-src-attr,
    which allows attributes; <style> elements need the nonce."""
    client = Client()
    client.force_login(users[Role.MRC])
    response = client.get("/compliance/")
    html = response.content.decode()
    assert "<svg" in html and 'style="display:block' in html
    assert_page_obeys("/compliance/", response)
    directives = assert_strict(response)
    assert directives["style-src-attr"] == ["'unsafe-inline'"]


@pytest.mark.django_db
def test_every_page_reachable_from_the_demo_carries_a_strict_policy():
    """Seed the demo, then follow every same-site link from the home page, as the MRC and as a
    superuser (the admin): each page has the header and obeys it."""
    seed_demo()
    admin = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    mrc = get_user_model().objects.get(username="mrc")
    seen: set[str] = set()
    for user, start in ((mrc, "/"), (admin, "/admin/")):
        client = Client()
        client.force_login(user)
        queue, shapes, visited = [start], Counter(), 0
        while queue and visited < MAX_PAGES:
            path = queue.pop(0)
            # Two pages of each shape (ids and query values aside) are enough.
            shape = re.sub(r"\d+", "N", re.sub(r"=[^&]*", "=", path))
            if path in seen or shapes[shape] >= 2:
                continue
            seen.add(path)
            shapes[shape] += 1
            visited += 1
            response = client.get(path)
            assert response.status_code < 500, path
            assert "Content-Security-Policy" in response, path
            if not response["Content-Type"].startswith("text/html"):
                assert_strict(response)
                continue
            assert_page_obeys(path, response)
            for link in LINK.findall(response.content.decode()):
                link = link.replace("&amp;", "&")
                if link not in seen and not NOT_PAGES.search(link):
                    queue.append(link)
    assert len(seen) > 80
    # The crawl reached the pages the issue names.
    for prefix in (
        "/models/",
        "/versions/",
        "/policies/",
        "/approvals/",
        "/compliance/",
        "/evaluations/",
        "/audit/",
        "/exceptions/",
        "/reports/",
        "/admin/",
        "/api/v1/docs/",
    ):
        assert any(p.startswith(prefix) and p != prefix for p in seen) or prefix in seen, prefix
