"""No input reaches a 5xx: a walker over every URL pattern of the project.

It iterates `get_resolver().url_patterns` recursively — the API, the pages, and the admin of
our own apps' models (the admin of third-party models — auth, axes, tokens, django-q — is left
to those projects; the admin site's own views are walked) — and for each pattern:

- GETs it with real ids as every role, a superuser and anonymously, then with hostile values
  in every query parameter at once;
- fills each path parameter with hostile values (non-numbers, NUL, huge and negative numbers,
  emoji, RTL marks, 10 kB strings, `../`, SQL-ish quotes), with GET and with every other
  method the route takes;
- sends hostile values in each query parameter the view actually reads, one at a time: the
  names are found by recording which keys of `request.GET` the view looks up (plus the filter
  links and GET forms on the pages);
- sends hostile JSON bodies (API: built from the operation's request schema in the OpenAPI
  document, whole-body junk, every field hostile at once, and a plausible body with one field
  hostile) and hostile form bodies (pages and admin: built from the forms the pages show,
  file fields included) with POST, PUT, PATCH and DELETE.

Any 5xx — or an exception that would be one, including one raised while a streamed download
is read — fails that pattern's test, which names every request that produced one. The data
behind the ids is the demo data (every kind of object, in realistic states), built once per
module inside a transaction that is rolled back; each test (and each request) runs inside
its own savepoint. Run it on PostgreSQL too: NUL and out-of-range numbers behave differently
there.

The targeted regression tests of the 500s the fuzzing found are at the end.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote, urlencode, urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http import QueryDict
from django.template.loader import render_to_string
from django.test import Client, override_settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import Resolver404, URLResolver, get_resolver, resolve
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.regex_helper import normalize
from drf_spectacular.generators import SchemaGenerator

from audit import evidence
from audit.models import AuditEvent, Report, ReportStatus
from audit.reports.pdf import RenderedPdf
from core.api.fields import MAX_TEXT
from core.choices import Role
from evaluations.models import EvaluationRun
from governance import tier_changes
from governance.choices import TierChangeStatus
from governance.demo import seed_demo
from governance.models import Notification, RiskTierChangeRequest
from governance.routing import REVIEW_STATES
from policies import services as policy_services
from policies.documents import to_document
from policies.models import Policy, PolicyChange, PolicyException, Violation
from registry.models import ModelVersion, RegisteredModel
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory

OUR_APPS = {"audit", "registry", "governance", "policies", "evaluations", "ops"}
# One pytest-xdist worker takes the whole module, so the demo world is seeded once.
pytestmark = pytest.mark.xdist_group("demo-world")
ANONYMOUS = "anonymous"
SUPERUSER = "superuser"
IDENTITIES = [ANONYMOUS, *Role.values, SUPERUSER]
LOGGED_IN = IDENTITIES[1:]
ADMIN_IDENTITIES = [ANONYMOUS, Role.SRE, Role.MRC, Role.AUDITOR, SUPERUSER]  # SRE is not staff
DEMO_USERNAMES = {
    Role.MODEL_OWNER: "owner",
    Role.MRC: "mrc",
    Role.SECURITY_ARCHITECT: "security",
    Role.SRE: "sre",
    Role.AUDITOR: "auditor",
    Role.EXECUTIVE: "executive",
    Role.SCANNER: "scanner",
}

# ---- hostile values ------------------------------------------------------------------------

TEN_KB = "x" * 10_000
HUGE = "99999999999999999999"
# In a path segment (percent-encoded when sent, so "../" arrives as real slashes).
PATH_VALUES = [
    "abc",
    HUGE,
    "-1",
    "0",
    "\x00",
    "ü😀",
    "\u200f\u202eRTL\u202c",
    TEN_KB,
    "../../etc/passwd",
    "' OR '1'='1' --",
    "1.5",
    "<script>alert(1)</script>",
]
# In a query value: each name the view reads gets one of the numbers that break number and
# date parsing (beyond int64, beyond a date's years, the last year a date has), and others.
QUERY_EXTREMES = [HUGE, "-99999999999999999999", "9999"]
QUERY_VALUES = [
    "-1",
    "abc",
    "\x00",
    "ü😀\u200f\u202e",
    TEN_KB,
    "1e400",
    "NaN",
    "../../etc/passwd",
    "'; DROP TABLE registry_registeredmodel; --",
    "2024-13-45T25:61:00",
    "",
    "true",
    "[]",
    "%",
]
# Query names every view may be asked for, besides those it is seen to read.
COMMON_KEYS = ["page", "pageSize", "format", "q", "search", "ordering", "o", "p"]
# The admin's own query names (search, ordering, page, show all, popups, facets).
ADMIN_KEYS = ["q", "o", "p", "all", "e", "_to_field", "_popup", "_facets", "_changelist_filters"]
HOSTILE_KEYS = ["\x00", "ü😀", TEN_KB[:2000], "page[]", "__proto__"]
# JSON values for body fields, and the raw bodies tried on every API route.
JSON_VALUES = [
    "ü😀\u200f\u202e",
    TEN_KB,
    int(HUGE),
    -1,
    None,
    [],
    1.5e308,
    {"a": [{"b": None}]},
]
RAW_BODIES = [b"[]", b"null", b'{"a": ', b'{"\\u0000": "\\u0000"}']
FORM_VALUES = ["ü😀\u200f\u202e", TEN_KB, "a\x00b", HUGE, "-1", "' OR 1=1 --", ""]
UPLOADS = [
    b"\x00\xff\xfe\x00",
    b"y_true,y_pred\n1,0\n0,1\n",
    b"y_true,y_pred\n" + b"9" * 400 + b",x\n",
    b"",
]
MIN_ROUTES = 120  # a sanity floor: the walker must have found the project's URLs


# ---- the routes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    template: str  # "/api/v1/versions/%(pk)s/submit/"
    params: tuple[str, ...]
    callback: object
    name: str

    @property
    def is_api(self) -> bool:
        return self.template.startswith("/api/")

    @property
    def is_admin(self) -> bool:
        return self.template.startswith("/admin/")

    @property
    def admin_model(self):
        if not self.is_admin:
            return None
        parts = self.template.split("/")
        if len(parts) > 4 and parts[2] and "%(" not in parts[2] + parts[3]:
            for model in admin.site._registry:
                meta = model._meta
                if (meta.app_label, meta.model_name) == (parts[2], parts[3]):
                    return model
        return None

    @property
    def methods(self) -> list[str]:
        actions = getattr(self.callback, "actions", None)
        if actions:
            names = list(actions)
        else:
            cls = getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)
            if cls is None:
                return ["get", "post"]  # a function view: it may take either
            names = [m for m in cls.http_method_names if hasattr(cls, m)]
        return [m for m in names if m not in ("head", "options")] or ["get"]

    def segment_before(self, param: str) -> str:
        head = self.template.split(f"%({param})s")[0]
        return [part for part in head.split("/") if part][-1]

    def fill(self, values: dict[str, str]) -> str:
        return self.template % {name: quote(str(v), safe="") for name, v in values.items()}

    def __str__(self) -> str:
        return self.template % {name: "{" + name + "}" for name in self.params}


def _regex_of(entry) -> str:
    text = entry.pattern.regex.pattern.removeprefix("^")
    for end in ("\\Z", "$"):
        text = text.removesuffix(end)
    return text


def _walk(patterns, regex: str = ""):
    for entry in patterns:
        here = regex + _regex_of(entry)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, here)
            continue
        # Django's own regex-to-template step (the one reverse() uses): "%(pk)s" placeholders.
        template, params = normalize(here)[0]
        yield Route("/" + template, tuple(params), entry.callback, entry.name or "")


def _routes() -> list[Route]:
    routes = []
    for route in _walk(get_resolver().url_patterns):
        model = route.admin_model
        if route.is_admin and model is None and route.template.count("/") > 3:
            continue  # /admin/<third-party app>/<model>/...: that project's admin, not ours
        if model is not None and model._meta.app_label not in OUR_APPS:
            continue
        routes.append(route)
    return routes


ROUTES = _routes()


# ---- the data behind the ids ---------------------------------------------------------------


@dataclass
class World:
    users: dict
    objects: dict
    forms: dict = field(default_factory=dict)  # callback -> harvested forms aimed at it
    clients: dict = field(default_factory=dict)  # identity -> logged-in test client
    cookies: dict = field(default_factory=dict)  # identity -> its session cookies
    schema: dict = field(default_factory=dict)
    media_root: str = ""

    def value_for(self, route: Route, name: str) -> str:
        """A real value for the path parameter `name`, so the view gets past its lookups."""
        model = route.admin_model
        if model is not None and name in ("object_id", "_0", "pk"):
            obj = model._default_manager.order_by("pk").first()
            return str(obj.pk) if obj else "1"
        if model is not None and name == "_1":
            obj = model._default_manager.order_by("pk").first()
            record = obj.history.order_by("history_id").first() if obj else None
            return str(record.history_id) if record else "1"
        fixed = {
            "policyId": self.objects["policy"].policy_id,
            "policy_id": self.objects["policy"].policy_id,
            "version_pk": self.objects["version"].pk,
            "version_id": self.objects["version"].pk,
            "name": "approve",
            "decision": "approve",
            "app_label": "registry",
            "content_type_id": ContentType.objects.get_for_model(RegisteredModel).pk,
            "object_id": self.objects["model"].pk,
            "url": "registry/nowhere/",
        }
        if name in fixed:
            return str(fixed[name])
        if name == "pk":
            kind = {
                "models": "model",
                "versions": "version",
                "artifacts": "artifact",
                "audit-events": "event",
                "risk-tier-changes": "tier_change",
                "tier-changes": "tier_change",
                "notifications": "notification",
                "reports": "report",
                "exceptions": "exception",
                "violations": "violation",
                "evaluations": "run",
                "policy-changes": "policy_change",
            }.get(route.segment_before(name))
            if kind is not None:
                return str(self.objects[kind].pk)
        pytest.fail(f"no real value for {{{name}}} in {route}: teach World.value_for about it")

    def valid(self, route: Route) -> dict[str, str]:
        return {name: self.value_for(route, name) for name in route.params}


def _build_world(tmp_media) -> World:
    seed_demo()
    people = get_user_model().objects
    users = {role: people.get(username=name) for role, name in DEMO_USERNAMES.items()}
    users[SUPERUSER] = UserFactory(username="walker-root", is_superuser=True, is_staff=True)
    version = (
        ModelVersion.objects.filter(state__in=REVIEW_STATES, model__owner=users[Role.MODEL_OWNER])
        .order_by("pk")
        .first()
    ) or ModelVersion.objects.order_by("pk").first()
    report = Report.objects.create(
        kind=Report._meta.get_field("kind").choices[0][0],
        period="2026-01",
        period_start=timezone.now(),
        period_end=timezone.now(),
        status=ReportStatus.DONE,
        sha256="0" * 64,
        requested_by=users[Role.MRC],
    )
    report.file.save("walker.pdf", ContentFile(b"%PDF-1.4\n%walker\n"), save=True)
    # A relaxing change waiting for its second person (the demo makes none).
    enforced = Policy.objects.filter(status="ACTIVE", enforcement="ENFORCE").order_by("pk").first()
    policy_services.replace_policy(
        enforced,
        actor=users[Role.SECURITY_ARCHITECT],
        document={**to_document(enforced), "enforcement": "WARN"},
    )
    objects = {
        "model": version.model,
        "version": version,
        "artifact": version.artifacts.order_by("pk").first(),
        "event": AuditEvent.objects.order_by("-seq").first(),
        "tier_change": RiskTierChangeRequest.objects.order_by("pk").first(),
        "notification": Notification.objects.filter(user=users[Role.MRC]).order_by("pk").first(),
        "report": report,
        "exception": PolicyException.objects.order_by("pk").first(),
        "violation": Violation.objects.order_by("pk").first(),
        "run": EvaluationRun.objects.filter(version=version).order_by("pk").first()
        or EvaluationRun.objects.order_by("pk").first(),
        "policy": Policy.objects.order_by("pk").first(),
        "policy_change": PolicyChange.objects.order_by("pk").first(),
    }
    missing = [kind for kind, obj in objects.items() if obj is None]
    assert not missing, f"the demo data has no {missing}: the walker needs one of each"
    return World(users=users, objects=objects, media_root=str(tmp_media))


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo data once per module, in a transaction rolled back at the end; each test runs
    in a savepoint inside it (pytest-django's `db`), so what one test changes is undone."""
    media = tmp_path_factory.mktemp("walker-media")
    with (
        pytest.MonkeyPatch.context() as patch,
        django_db_blocker.unblock(),
        override_settings(
            MEDIA_ROOT=media,
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        ),
        transaction.atomic(),
    ):
        patch.setattr(evidence, "render_pdf", _template_only_pdf)
        built = _build_world(media)
        built.schema = SchemaGenerator().get_schema(request=None, public=True)
        built.clients = _clients(built)
        built.cookies = {who: c.cookies for who, c in built.clients.items()}
        built.forms = _harvest_forms(built)
        yield built
        transaction.set_rollback(True)


@pytest.fixture
def walker_settings(_fast_and_isolated, settings, world, db):
    # `db` also sorts these tests with the other database tests, before the transactional
    # ones: those flush the tables (role groups included) when they end.
    settings.MEDIA_ROOT = world.media_root
    # The walker sends thousands of requests per user: rate limits would answer 429 long before
    # the hostile values reach the code under test. (Their own tests check the limits.)
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(
            settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}), None
        ),
    }
    # Thousands of expected 4xx warnings would only slow the walk down; errors are still logged.
    quiet = [logging.getLogger(n) for n in ("django.request", "django.security", "axes")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.ERROR)
    yield
    for logger, level in zip(quiet, levels, strict=True):
        logger.setLevel(level)


def _template_only_pdf(template: str, context: dict) -> RenderedPdf:
    """The evidence summary's template is rendered (it reads the data), but not laid out as a
    PDF: WeasyPrint takes seconds a document, and the walker asks for dozens of bundles. The
    PDFs themselves are tested in tests/audit."""
    render_to_string(template, context)
    return RenderedPdf(content=b"%PDF-1.4\n% the walker's stand-in\n", pages=1)


def _clients(world: World) -> dict[str, Client]:
    clients = {ANONYMOUS: Client()}
    for who, user in world.users.items():
        clients[who] = Client()
        clients[who].force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return clients


# ---- which query names a view reads --------------------------------------------------------

PROBE = "__walker_probe__"
_READ = ("__getitem__", "get", "getlist", "__contains__", "pop", "setdefault")


class KeyRecorder:
    """Records the keys a view looks up in a query dict that carries the probe marker, by
    wrapping QueryDict's lookups while a probe request runs."""

    def __init__(self, monkeypatch):
        self.keys: set[str] = set()
        for name in _READ:
            original = getattr(MultiValueDict, name, None) or getattr(dict, name)
            monkeypatch.setattr(QueryDict, name, self._wrap(original), raising=False)

    def _wrap(self, original):
        recorder = self

        def lookup(self, key, *args, **kwargs):
            if dict.__contains__(self, PROBE) and isinstance(key, str) and key != PROBE:
                recorder.keys.add(key)
            return original(self, key, *args, **kwargs)

        return lookup


# ---- forms on the pages --------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    multipart: bool
    fields: dict[str, str] = field(default_factory=dict)  # name -> a value the page offers
    files: set[str] = field(default_factory=set)


class FormParser(HTMLParser):
    """Forms, their fields with the value the page offers, and the query names of links."""

    def __init__(self, page_path: str):
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: list[Form] = []
        self.link_keys: set[str] = set()
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "?" in a.get("href", ""):
            query = a["href"].split("?", 1)[1].split("#")[0]
            self.link_keys.update(QueryDict(query).keys())
        if tag == "form":
            self.forms.append(
                Form(
                    action=a.get("action") or self.page_path,
                    method=a.get("method", "get").lower(),
                    multipart="multipart" in a.get("enctype", ""),
                )
            )
        if not self.forms or not a.get("name"):
            return
        form, name = self.forms[-1], a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "file":
                form.files.add(name)
            elif kind in ("checkbox", "radio"):
                if "checked" in a or name not in form.fields:
                    form.fields[name] = a.get("value", "on")
            elif kind not in ("submit", "button", "image", "reset"):
                form.fields[name] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            form.fields[name] = ""
        elif tag == "select":
            self._select = name
            form.fields.setdefault(name, "")
        elif tag == "option" and self._select and not form.fields.get(self._select):
            form.fields[self._select] = a.get("value", "")

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1].fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def _parse_page(response, path: str) -> FormParser:
    parser = FormParser(path)
    if response.get("Content-Type", "").startswith("text/html") and not response.streaming:
        parser.feed(response.content.decode(errors="replace"))
    return parser


def _target(action: str):
    try:
        return resolve(urlsplit(action).path).func
    except Resolver404:
        return None


def _harvest_forms(world: World) -> dict:
    """The forms every page shows to every role, by the view they are sent to (a version page
    holds the forms of the version actions, for instance)."""
    forms: dict = {}
    walk = Walk(world.clients)  # a page that fails here fails its own test below
    for route in ROUTES:
        if route.is_api or route.is_admin or "get" not in route.methods:
            continue
        path = route.fill(world.valid(route))
        for who in LOGGED_IN:
            response = walk.send(who, "get", path)
            if response is None:
                continue
            for form in _parse_page(response, path).forms:
                target = _target(form.action)
                if target is not None:
                    forms.setdefault(target, []).append(form)
    return forms


# ---- sending -------------------------------------------------------------------------------


@dataclass
class Walk:
    clients: dict[str, Client]
    sent: int = 0
    failures: list[str] = field(default_factory=list)

    def send(self, who, method, path, query=(), body=b"", content_type="application/json"):
        url = path + ("?" + urlencode(list(query), quote_via=quote) if query else "")
        self.sent += 1
        try:
            # A savepoint per request: a database error cannot poison the ones after it.
            with transaction.atomic():
                response = self.clients[who].generic(
                    method.upper(), url, data=body, content_type=content_type
                )
                # A download that fails half-way is a 5xx too. (The client closes responses
                # itself: closing one again here would fire request_finished, which closes the
                # database connection inside the test's transaction.)
                if response.streaming:
                    for _chunk in response.streaming_content:
                        pass
        except Exception as error:
            self.failures.append(f"{method.upper()} {_short(url)} as {who}: {error!r:.300}")
            return None
        if response.status_code >= 500:
            self.failures.append(f"{method.upper()} {_short(url)} as {who}: {response.status_code}")
        return response


def _short(url: str) -> str:
    return url if len(url) <= 160 else f"{url[:150]}...({len(url)} chars)"


def _spread(values, start: int = 0, count: int | None = None) -> list:
    """`count` of the values, starting at `start` and wrapping, so that different callers get
    different slices and together cover them all."""
    count = len(values) if count is None else min(count, len(values))
    return [values[(start + i) % len(values)] for i in range(count)]


# ---- request bodies ------------------------------------------------------------------------


def _schema_operation(world: World, route: Route, method: str) -> dict:
    path = route.template % {n: "{id}" if n == "pk" else "{" + n + "}" for n in route.params}
    return world.schema.get("paths", {}).get(path, {}).get(method, {})


def _resolve(world: World, schema: dict) -> dict:
    while "$ref" in schema:
        schema = world.schema["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _plausible(world: World, schema: dict):
    schema = _resolve(world, schema)
    if schema.get("enum"):
        return schema["enum"][0]
    for combined in ("oneOf", "anyOf", "allOf"):
        if schema.get(combined):
            return _plausible(world, schema[combined][0])
    kinds = {"string": "walker", "integer": 1, "number": 1, "boolean": True, "array": []}
    return kinds.get(schema.get("type"), {}) if schema.get("type") != "object" else {}


def _body_fields(world: World, route: Route, method: str) -> tuple[dict, set[str], bool]:
    """(field -> plausible value, file fields, multipart?) from the operation's schema."""
    content = _schema_operation(world, route, method).get("requestBody", {}).get("content", {})
    for media_type, multipart in (("application/json", False), ("multipart/form-data", True)):
        if media_type in content:
            schema = _resolve(world, content[media_type].get("schema", {}))
            props = schema.get("properties", {})
            files = {n for n, p in props.items() if p.get("format") == "binary"}
            values = {n: _plausible(world, p) for n, p in props.items() if n not in files}
            return values, files, multipart
    return {}, set(), False


def _json_bodies(fields: dict) -> list[tuple[bytes, str]]:
    names = list(fields) or ["walker", "ü"]
    bodies = list(RAW_BODIES)
    bodies += [json.dumps(dict.fromkeys(names, value)).encode() for value in JSON_VALUES]
    for i, name in enumerate(fields):  # a plausible body with one hostile field
        bodies.append(json.dumps({**fields, name: JSON_VALUES[i % len(JSON_VALUES)]}).encode())
    # JSON only (415), but a form body must not slip a NUL past the parser either.
    form = (urlencode({n: "a\x00b" for n in names}).encode(), "application/x-www-form-urlencoded")
    return [(body, "application/json") for body in bodies] + [form]


def _form_bodies(fields: dict, files: set[str], multipart: bool) -> list[tuple[bytes, str]]:
    names = list(fields) or ["walker"]
    bodies = [dict.fromkeys(names, value) for value in FORM_VALUES]
    for i, name in enumerate(fields):  # what the page offers, with one hostile field
        bodies.append({**fields, name: FORM_VALUES[i % len(FORM_VALUES)]})
    encoded = []
    for i, data in enumerate(bodies):
        if multipart or files:
            upload = UPLOADS[i % len(UPLOADS)]
            data = {**data, **{f: SimpleUploadedFile("walker.csv", upload) for f in files}}
            encoded.append((encode_multipart(BOUNDARY, data), MULTIPART_CONTENT))
        else:
            encoded.append((urlencode(data).encode(), "application/x-www-form-urlencoded"))
    return encoded


def _page_form_fields(forms: list[Form]) -> tuple[dict, set[str], bool]:
    fields: dict = {}
    files: set[str] = set()
    multipart = False
    for form in forms:
        if form.method == "post":
            fields.update(form.fields)
            files |= form.files
            multipart |= form.multipart
    fields.pop("csrfmiddlewaretoken", None)
    return fields, files, multipart


# ---- how much of each kind of route is walked ----------------------------------------------


@dataclass(frozen=True)
class Budget:
    """How many requests a route gets; the walk stays around a minute on SQLite by giving
    each route a representative set of hostile values rather than their full cross product
    (which value goes where rotates from route to route, so together they meet all of them)."""

    identities: tuple[str, ...]  # a clean GET as each, then one with hostile query values
    values_per_key: int  # hostile values for each query name the view reads, one at a time
    path_values: int  # hostile values for each path parameter, with GET
    path_values_other: int  # ... and with each other method the route takes
    max_bodies: int | None  # hostile bodies per unsafe method (None: all of them)


BUDGETS = {
    "api": Budget(tuple(IDENTITIES), 3, len(PATH_VALUES), 3, None),
    "page": Budget(tuple(IDENTITIES), 3, len(PATH_VALUES), 3, None),
    # The admin of our models: changelists with hostile searches and filters, object pages
    # with hostile ids; the rest (add pages, the site's own views) a little of each.
    "admin-list": Budget(tuple(ADMIN_IDENTITIES), 2, 0, 0, 6),
    "admin-object": Budget((ANONYMOUS, Role.MRC, SUPERUSER), 0, 4, 2, 3),
    "admin": Budget(tuple(ADMIN_IDENTITIES), 2, 4, 2, 4),
    # Each answer costs a fraction of a second (the schema is generated per request).
    "slow": Budget((ANONYMOUS, Role.MRC, SUPERUSER), 1, 4, 2, 4),
}
SLOW_ROUTES = {"api-schema", "api-docs"}


def _budget(route: Route) -> Budget:
    if route.name in SLOW_ROUTES:
        return BUDGETS["slow"]
    if not route.is_admin:
        return BUDGETS["api" if route.is_api else "page"]
    if route.admin_model is not None and route.name.endswith("_changelist"):
        return BUDGETS["admin-list"]
    if route.admin_model is not None and route.params:
        return BUDGETS["admin-object"]
    return BUDGETS["admin"]


# ---- the walk of one route -----------------------------------------------------------------

PAGES_PARSED = 2  # pages parsed for filter links per route (every role's forms are harvested)


def _walk_route(route: Route, world: World, walk: Walk, recorder: KeyRecorder) -> None:
    budget = _budget(route)
    offset = ROUTES.index(route) * 5  # where this route starts in each list of hostile values
    valid = world.valid(route)
    path = route.fill(valid)
    forms: list[Form] = list(world.forms.get(route.callback, []))
    link_keys: set[str] = set()

    # 1. Real ids, as each identity (probing which query names the view reads; not in the
    #    admin, whose changelists redirect on a name they do not know: there the filter links
    #    of the page and the admin's own names are the ones walked)...
    probe = [] if route.is_admin else [(PROBE, "1")]
    parsed = 0
    for who in budget.identities:
        response = walk.send(who, "get", path, probe)
        if response is not None and response.status_code == 200 and parsed < PAGES_PARSED:
            parsed += 1
            page = _parse_page(response, path)
            link_keys |= page.link_keys
            forms += [f for f in page.forms if _target(f.action) is route.callback]
    for form in forms:
        if form.method == "get":
            link_keys |= set(form.fields)
    admin_keys = set(ADMIN_KEYS) if route.is_admin else set()
    read_keys = sorted((recorder.keys | link_keys | admin_keys) - {PROBE})
    recorder.keys.clear()
    # ... then every query name at once with a hostile value, and a hostile name.
    every_key = sorted(set(read_keys) | set(COMMON_KEYS))
    for i, who in enumerate(budget.identities):
        value = (QUERY_EXTREMES + QUERY_VALUES)[(offset + i) % (len(QUERY_VALUES) + 3)]
        odd_key = HOSTILE_KEYS[(offset + i) % len(HOSTILE_KEYS)]
        walk.send(who, "get", path, [(k, value) for k in every_key] + [(odd_key, "1")])

    # 2. Each query name the view reads, alone (a refused neighbour cannot hide it).
    for k, key in enumerate(read_keys if budget.values_per_key else []):
        values = [QUERY_EXTREMES[(offset + k) % len(QUERY_EXTREMES)]]
        values += _spread(QUERY_VALUES, offset + 5 * k, budget.values_per_key - 1)
        for v, value in enumerate(values):
            walk.send(LOGGED_IN[(offset + k + v) % len(LOGGED_IN)], "get", path, [(key, value)])

    # 3. Each path parameter with hostile values, with each method the route takes.
    methods = route.methods
    for p, param in enumerate(route.params):
        for m, method in enumerate(methods):
            count = budget.path_values if method == "get" else budget.path_values_other
            for i, value in enumerate(_spread(PATH_VALUES, offset + 3 * p + 4 * m, count)):
                who = LOGGED_IN[(offset + i + m) % len(LOGGED_IN)]
                body = b"{}" if route.is_api and method != "get" else b""
                walk.send(who, method, route.fill({**valid, param: value}), body=body)

    # 4. Hostile bodies with every unsafe method (those the route does not take answer 405).
    for m, method in enumerate(["post", "put", "patch", "delete"] if route.is_api else ["post"]):
        if method not in methods:
            walk.send(LOGGED_IN[m], method, path, body=b"{}")
            continue
        if route.is_api:
            fields, files, multipart = _body_fields(world, route, method)
            if multipart or files:
                bodies = _form_bodies({k: str(v) for k, v in fields.items()}, files, True)
            else:
                bodies = _json_bodies(fields)
        else:
            bodies = _form_bodies(*_page_form_fields(forms))
        if method == "delete":
            bodies = bodies[:2]
        for b, (body, content_type) in enumerate(bodies[: budget.max_bodies]):
            who = SUPERUSER if route.is_admin else LOGGED_IN[(offset + b + m) % len(LOGGED_IN)]
            walk.send(who, method, path, body=body, content_type=content_type)


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_no_input_reaches_a_5xx(route, world, walker_settings, monkeypatch):
    for who, client in world.clients.items():  # a logout in an earlier test must not stick
        client.cookies = copy.deepcopy(world.cookies[who])
    walk = Walk(world.clients)
    _walk_route(route, world, walk, KeyRecorder(monkeypatch))
    assert walk.sent > 0
    assert not walk.failures, f"{len(walk.failures)} of {walk.sent} requests were a 5xx:\n" + (
        "\n".join(walk.failures[:40])
    )


def test_the_walker_finds_every_kind_of_url():
    """The walk covers API, pages and the admin of our models (a broken route collection
    must not pass silently with nothing walked)."""
    assert len(ROUTES) >= MIN_ROUTES
    names = {route.name for route in ROUTES}
    for name in ("api-version-submit", "policy-edit", "tier-change-decide", "notification-read"):
        assert name in names
    assert any(r.admin_model is RegisteredModel and "changelist" in r.name for r in ROUTES)
    assert not any(r.admin_model and r.admin_model._meta.app_label == "auth" for r in ROUTES)


# ---- the 500s the fuzzing found, one test each ---------------------------------------------
# (Each failed on the code before its fix: on PostgreSQL where the database is what broke.)


@pytest.fixture
def tier_change(make_user):
    owner = make_user(Role.MODEL_OWNER, username="h4-owner")
    model = RegisteredModelFactory(owner=owner, name="h4-tier-model")
    return tier_changes.request_tier_change(
        model, actor=owner, requested_tier="LOW", justification="internal use only now"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("decision", ["abc", "APPROVE", "approve-all", "0"])
def test_an_unknown_tier_change_decision_is_404_and_decides_nothing(
    client, make_user, tier_change, decision
):
    client.force_login(make_user(Role.MRC, username="h4-mrc"))
    response = client.post(f"/tier-changes/{tier_change.pk}/{decision}/", {"comments": "ok"})
    assert response.status_code == 404
    tier_change.refresh_from_db()
    assert tier_change.status == TierChangeStatus.REQUESTED
    assert not tier_change.decisions.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "comments", ["x" * (MAX_TEXT + 1), "looks fine\x00"], ids=["too long", "NUL"]
)
def test_tier_change_comments_go_through_the_decision_form(
    client, make_user, tier_change, comments
):
    """Too long was cut to 5000 characters silently and NUL reached the database (a 500 on
    PostgreSQL); the decision form refuses both and nothing is decided."""
    client.force_login(make_user(Role.MRC, username="h4-mrc"))
    response = client.post(f"/tier-changes/{tier_change.pk}/approve/", {"comments": comments})
    assert response.status_code == 302
    tier_change.refresh_from_db()
    assert tier_change.status == TierChangeStatus.REQUESTED
    assert not tier_change.decisions.exists()
    assert any("Refused" in str(m) for m in get_messages(response.wsgi_request))


@pytest.mark.django_db
def test_the_decision_form_still_decides(client, make_user, tier_change):
    client.force_login(make_user(Role.MRC, username="h4-mrc"))
    response = client.post(f"/tier-changes/{tier_change.pk}/approve/", {"comments": "agreed"})
    assert response.status_code == 302
    tier_change.refresh_from_db()
    assert tier_change.status == TierChangeStatus.APPROVED
    assert tier_change.decisions.get().comments == "agreed"


@pytest.mark.django_db
@pytest.mark.parametrize("pk", ["abc", "%20", "%C3%BC", "-1", HUGE])
def test_reading_a_notification_that_is_not_a_number_is_404(api, make_user, pk):
    response = api(make_user(Role.MRC, username="h4-mrc")).post(f"/api/v1/notifications/{pk}/read/")
    assert response.status_code == 404
    assert "detail" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/policies/%00/", "/policies/%00/edit/", "/models/%00/", "/admin/a%00b/"]
)
def test_nul_in_a_page_address_is_404_before_any_query(
    client, make_user, path, django_assert_num_queries
):
    client.force_login(make_user(Role.SECURITY_ARCHITECT, username="h4-security"))
    with django_assert_num_queries(0):  # not even the session: the guard runs first
        response = client.get(path)
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/v1/policies/%00/", "/api/v1/policies/a%00/impact/", "/api/v1/models/%00/"]
)
def test_nul_in_an_api_address_is_a_json_404(api, make_user, path):
    response = api(make_user(Role.MRC, username="h4-mrc")).get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/models/?search=%00",
        "/policies/?q=a%00b",
        "/audit/export.csv?q=%00",
        "/admin/registry/registeredmodel/?q=%00",
        "/models/?%00=1",
    ],
)
def test_nul_in_a_page_query_is_400(client, make_user, url):
    client.force_login(make_user(Role.MRC, username="h4-mrc", is_staff=True))
    assert client.get(url).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/models/?search=%00",
        "/api/v1/models/?search=a%00b",
        "/api/v1/models/?owner=%00",
        "/api/v1/audit-events/?userId=a%00",
        "/api/v1/audit-events/?action=%00",
        "/api/v1/me/?x=%00",
    ],
)
def test_nul_in_an_api_query_is_a_json_400(api, make_user, url):
    response = api(make_user(Role.MRC, username="h4-mrc")).get(url)
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["change", "delete"])
def test_an_empty_admin_to_field_is_400(client, make_user, where):
    """Django's admin looked a field named "" up (FieldDoesNotExist, a 500)."""
    version = ModelVersionFactory()
    client.force_login(make_user(username="h4-root", is_superuser=True, is_staff=True))
    url = f"/admin/registry/modelversion/{version.pk}/{where}/"
    assert client.get(f"{url}?_to_field=").status_code == 400
    assert client.post(url, {"_to_field": ""}).status_code == 400
    assert client.get(url).status_code in (200, 403)  # the page itself (delete is off)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tail", ["abc/history/", "1.5/history/", "{pk}/history/abc/", "abc/history/1/"]
)
def test_admin_history_pages_with_an_id_that_is_not_a_number_are_404(client, make_user, tail):
    model = RegisteredModelFactory()
    client.force_login(make_user(username="h4-root", is_superuser=True, is_staff=True))
    response = client.get(f"/admin/registry/registeredmodel/{tail.format(pk=model.pk)}")
    assert response.status_code == 404
    assert client.get(f"/admin/registry/registeredmodel/{model.pk}/history/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/api/v1/models/{model}/versions.json", "/api/v1/policies.json", "/api/v1/exceptions.json"],
)
def test_format_suffix_routes_are_gone(api, make_user, path):
    """DRF passed the suffix to custom actions as a `format` argument they do not take."""
    model = RegisteredModelFactory()
    response = api(make_user(Role.MRC, username="h4-mrc")).get(path.format(model=model.pk))
    assert response.status_code == 404
    assert api(make_user(Role.MRC, username="h4-mrc")).get("/api/v1/policies/?format=json").json()


@pytest.mark.django_db
@pytest.mark.parametrize("column", ["y_true", "y_pred"])
def test_a_label_beyond_float_range_is_a_400_naming_the_row(api, column):
    """pandas raised OverflowError for a 400-digit integer even with errors="coerce"."""
    version = ModelVersionFactory()
    rows = {"y_true": ["1", "0", "1"], "y_pred": ["0", "1", "1"]}
    rows[column][1] = "9" * 400
    csv = "y_true,y_pred\n" + "".join(f"{t},{p}\n" for t, p in zip(*rows.values(), strict=True))
    response = api(version.model.owner).post(
        f"/api/v1/versions/{version.pk}/evaluations/",
        {"suite": "performance", "dataset": SimpleUploadedFile("d.csv", csv.encode())},
        format="multipart",
    )
    assert response.status_code == 400, response.content
    assert "row 2" in json.dumps(response.json())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "created_at__year=-99999999999999999999",
        "created_at__year=9999",
        "created_at__year=9999&created_at__month=12",
        "created_at__year=2026&created_at__month=99999999999999999999",
    ],
)
def test_admin_date_hierarchy_values_that_are_no_date_are_refused(client, make_user, query):
    """Django's ChangeList let OverflowError (and year 9999's end of range) escape as a 500;
    the change list answers them like any bad filter value: itself again, with ?e=1."""
    client.force_login(make_user(username="h4-root", is_superuser=True, is_staff=True))
    response = client.get(f"/admin/evaluations/evaluationrun/?{query}")
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")
    assert client.get("/admin/evaluations/evaluationrun/?created_at__year=2026").status_code == 200
