"""OpenID Connect single sign-on against a real provider (oidc-provider, tests/sso_provider),
driven through the authorization code flow with requests against the live server."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from django.contrib.auth import get_user_model

from audit.choices import AuditAction, EventType
from audit.models import AuditEvent
from config.oidc import parse_role_mapping
from core.models import SsoIdentity
from core.roles import roles_of
from tests.factories import PASSWORD, UserFactory

PROVIDER_DIR = Path(__file__).resolve().parent.parent / "sso_provider"
CLIENT_ID = "registry"
CLIENT_SECRET = "registry-test-secret"
MAPPING = {"bank-mrc": ["MRC"], "bank-audit": ["Auditor"], "bank-ds": ["Model Owner"]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def provider_tools():
    # CI has node and npm: a missing toolchain is a failure, never a skip.
    assert shutil.which("node") and shutil.which("npm"), "node and npm are required"
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True, timeout=300
        )


@pytest.fixture
def provider(provider_tools, live_server, settings, tmp_path):
    port = _free_port()
    accounts = tmp_path / "accounts.json"
    accounts.write_text("{}")
    issuer = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        ["node", "provider.js"],
        cwd=PROVIDER_DIR,
        env={
            "PATH": os.environ["PATH"],
            "PORT": str(port),
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET,
            "REDIRECT_URI": f"{live_server.url}/oidc/callback/",
            "ACCOUNTS_FILE": str(accounts),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1)
            break
        except requests.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"provider did not start: {proc.stdout.read()!r}") from None
            time.sleep(0.2)
    settings.OIDC_ENABLED = True
    settings.OIDC_PROVIDER_NAME = "Bank SSO"
    settings.OIDC_ISSUER = issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{issuer}/auth"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{issuer}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{issuer}/me"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{issuer}/jwks"
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.OIDC_USE_PKCE = True
    settings.OIDC_USERNAME_CLAIM = "preferred_username"
    settings.OIDC_ROLE_CLAIM = "groups"
    settings.OIDC_ROLE_MAPPING = MAPPING
    settings.LOGIN_REDIRECT_URL_FAILURE = "/login/"
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "core.sso.RegistryOIDCBackend",
    ]

    def set_groups(login: str, groups: list[str]) -> None:
        data = json.loads(accounts.read_text())
        data[login] = {"groups": groups}
        accounts.write_text(json.dumps(data))

    yield set_groups
    proc.kill()
    proc.wait()


def _form(html: str, url: str) -> tuple[str, dict]:
    action = unescape(re.search(r'<form[^>]*action="([^"]+)"', html).group(1))
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
    return urljoin(url, action), fields


def sso_login(live_server, login: str) -> tuple[requests.Session, requests.Response]:
    """The browser's part: registry -> provider login form -> consent -> registry callback."""
    browser = requests.Session()
    page = browser.get(f"{live_server.url}/login/", timeout=10)
    button = re.search(r'id="sso-login" href="([^"]+)"', page.text)
    assert button, "login page has no SSO button"
    resp = browser.get(urljoin(page.url, unescape(button.group(1))), timeout=10)
    for _ in range(4):  # the dev login form, then the consent form
        if resp.url.startswith(live_server.url):
            break
        action, fields = _form(resp.text, resp.url)
        if "login" in resp.text and 'name="login"' in resp.text:
            fields.update({"login": login, "password": "any"})
        resp = browser.post(action, data=fields, timeout=10)
    assert resp.url.startswith(live_server.url), resp.text[:500]
    return browser, resp


def _events(action, **details):
    return [
        e
        for e in AuditEvent.objects.filter(action=action).order_by("seq")
        if all(e.details.get(k) == v for k, v in details.items())
    ]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sso_login_maps_groups_to_roles_and_loses_them_when_the_claim_changes(
    provider, live_server
):
    provider("alice", ["bank-mrc", "bank-audit", "unmapped"])
    _browser, resp = sso_login(live_server, "alice")
    assert resp.status_code == 200 and "/login/" not in resp.url
    alice = get_user_model().objects.get(username="alice")
    assert roles_of(alice) == {"MRC", "Auditor"}
    assert not alice.has_usable_password()
    login = _events(AuditAction.SSO_CLAIMS, via="sso")[-1]
    assert login.event_type == EventType.AUTHENTICATION
    assert login.details["groups"] == ["bank-audit", "bank-mrc", "unmapped"]
    assert login.details["roles"] == ["Auditor", "MRC"]
    # One LOGIN per login (audit.signals), beside what the provider asserted.
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, user_id="alice").count() == 1
    assert SsoIdentity.objects.get(user=alice).subject == "alice"

    provider("alice", ["bank-audit"])
    sso_login(live_server, "alice")
    alice = get_user_model().objects.get(username="alice")
    assert roles_of(alice) == {"Auditor"}
    change = _events(AuditAction.UPDATE_USER, via="sso", username="alice")[-1]
    assert change.details["removed"] == ["MRC"]
    assert change.details["roles_after"] == ["Auditor"]
    assert len(_events(AuditAction.SSO_CLAIMS, via="sso")) == 2
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, user_id="alice").count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sso_user_without_a_mapped_group_is_refused_and_audited(provider, live_server):
    provider("mallory", ["marketing"])
    browser, resp = sso_login(live_server, "mallory")
    assert resp.url.rstrip("/").endswith("/login")
    assert "no role in the model registry" in resp.text
    assert not get_user_model().objects.filter(username="mallory").exists()
    refused = _events(AuditAction.LOGIN_FAILED, via="sso", username="mallory")
    assert refused and refused[-1].details["groups"] == ["marketing"]
    # not logged in: a page behind login sends the browser back to the login page
    assert "/login/" in browser.get(f"{live_server.url}/", timeout=10).url


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_local_password_login_still_works_beside_sso(provider, live_server):
    UserFactory(username="breakglass", roles=["SRE"])
    browser = requests.Session()
    page = browser.get(f"{live_server.url}/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    resp = browser.post(
        f"{live_server.url}/login/",
        data={"csrfmiddlewaretoken": token, "username": "breakglass", "password": PASSWORD},
        headers={"Referer": f"{live_server.url}/login/"},
        timeout=10,
    )
    assert "/login/" not in resp.url
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, user_id="breakglass").exists()


@pytest.mark.django_db
def test_login_page_shows_the_sso_button_only_when_configured(client, settings):
    settings.OIDC_ENABLED = False
    assert 'id="sso-login"' not in client.get("/login/").content.decode()
    settings.OIDC_ENABLED = True
    settings.OIDC_PROVIDER_NAME = "Bank SSO"
    body = client.get("/login/").content.decode()
    assert 'id="sso-login"' in body and "Log in with Bank SSO" in body


def test_role_mapping_parses_both_forms():
    assert parse_role_mapping('{"a": "MRC", "b": ["Auditor", "SRE"]}') == {
        "a": ["MRC"],
        "b": ["Auditor", "SRE"],
    }
    assert parse_role_mapping("a=MRC, b=Model Owner,a=Auditor") == {
        "a": ["Auditor", "MRC"],
        "b": ["Model Owner"],
    }


@pytest.mark.parametrize(
    "raw, message",
    [
        ("a=Admin", "unknown role(s): Admin"),
        ('{"a": "Root"}', "unknown role(s): Root"),
        ("{not json", "not valid JSON"),
        ("justagroup", "is not group=Role"),
    ],
)
def test_bad_role_mapping_fails_start_up_clearly(raw, message):
    with pytest.raises(RuntimeError, match=re.escape(message)):
        parse_role_mapping(raw)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_losing_every_mapped_group_removes_every_role_and_the_login(provider, live_server):
    provider("bob", ["bank-ds"])
    sso_login(live_server, "bob")
    assert roles_of(get_user_model().objects.get(username="bob")) == {"Model Owner"}
    provider("bob", [])
    _browser, resp = sso_login(live_server, "bob")
    assert "no role in the model registry" in resp.text
    assert roles_of(get_user_model().objects.get(username="bob")) == frozenset()
    assert _events(AuditAction.UPDATE_USER, via="sso", username="bob")[-1].details["removed"] == [
        "Model Owner"
    ]
    assert _events(AuditAction.LOGIN_FAILED, via="sso", username="bob")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_provider_cannot_take_over_a_local_account(provider, live_server):
    UserFactory(username="breakglass", roles=["SRE"])
    provider("breakglass", ["bank-mrc"])
    browser, resp = sso_login(live_server, "breakglass")
    assert "belongs to a local account" in resp.text
    local = get_user_model().objects.get(username="breakglass")
    assert roles_of(local) == {"SRE"} and local.has_usable_password()
    refused = _events(AuditAction.LOGIN_FAILED, via="sso", username="breakglass")
    assert refused[-1].details["reason"] == "username belongs to a local account"
    assert "/login/" in browser.get(f"{live_server.url}/", timeout=10).url


@pytest.mark.django_db
def test_sso_routes_answer_404_while_sso_is_off(client, settings):
    settings.OIDC_ENABLED = False
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
    assert client.post("/oidc/logout/").status_code == 404


def _claims(username: str, sub: str, groups=("bank-mrc",)) -> dict:
    return {"sub": sub, "preferred_username": username, "groups": list(groups)}


@pytest.fixture
def backend(settings):
    settings.OIDC_ISSUER = "https://idp.bank.test"
    settings.OIDC_ROLE_MAPPING = {"bank-mrc": ["MRC"]}
    settings.OIDC_USERNAME_CLAIM = "preferred_username"
    settings.OIDC_ROLE_CLAIM = "groups"
    from core.sso import RegistryOIDCBackend

    instance = RegistryOIDCBackend.__new__(RegistryOIDCBackend)
    instance.UserModel = get_user_model()
    instance.request = None
    return instance


@pytest.mark.django_db
def test_a_local_account_without_a_password_is_not_taken_over(backend):
    """A service account made by `create_user` without --password has an unusable password
    too; it is still a local account, not the provider's."""
    from governance.users import create_or_update_user

    service, _ = create_or_update_user("ci-bot", password=None, roles=["Scanner"])
    assert backend.verify_claims(_claims("ci-bot", "sub-attacker")) is False
    assert list(backend.filter_users_by_claims(_claims("ci-bot", "sub-attacker"))) == []
    assert roles_of(service) == {"Scanner"}
    refused = _events(AuditAction.LOGIN_FAILED, via="sso", username="ci-bot")[-1]
    assert refused.details["reason"] == "username belongs to a local account"


@pytest.mark.django_db
def test_a_username_given_to_another_person_does_not_open_the_first_persons_account(backend):
    """The bank reuses a username: the new person (another subject) is refused instead of
    inheriting the first person's account and models."""
    first = backend.create_user(_claims("jdoe", "sub-first"))
    assert backend.verify_claims(_claims("jdoe", "sub-second")) is False
    assert list(backend.filter_users_by_claims(_claims("jdoe", "sub-second"))) == []
    assert list(backend.filter_users_by_claims(_claims("jdoe", "sub-first"))) == [first]
    refused = _events(AuditAction.LOGIN_FAILED, via="sso", username="jdoe")[-1]
    assert refused.details["reason"] == "username belongs to another sso identity"


@pytest.mark.django_db
def test_claims_without_a_subject_are_refused(backend):
    assert backend.verify_claims({"preferred_username": "x", "groups": ["bank-mrc"]}) is False
    refused = _events(AuditAction.LOGIN_FAILED, via="sso", username="x")[-1]
    assert refused.details["reason"] == "no subject claim"
