"""Logins, logouts, failed logins and token issues are AUTHENTICATION events."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.choices import AuditAction, EventType
from audit.context import session_fingerprint
from audit.models import AuditEvent
from audit.services import verify_chain
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

IP = "192.0.2.41"
UA = "auth-tests/2.0"
WRONG = "not-the-password-9876"


def auth_events():
    return list(AuditEvent.objects.filter(event_type=EventType.AUTHENTICATION).order_by("seq"))


def page_client() -> Client:
    return Client(REMOTE_ADDR=IP, HTTP_USER_AGENT=UA)


def test_login_with_the_right_password_records_login_with_session_and_context(owner):
    client = page_client()
    response = client.post("/login/", {"username": "olivia", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    [event] = auth_events()
    assert event.action == AuditAction.LOGIN
    assert event.user_id == "olivia"
    assert event.ip_address == IP
    assert event.user_agent == UA
    session_key = client.session.session_key
    assert event.session_id == session_fingerprint(session_key)
    assert event.session_id and event.session_id != session_key
    assert (event.model_id, event.version_id) == (None, None)
    assert verify_chain().valid


def test_login_with_a_wrong_password_records_the_attempted_username_not_the_password(owner):
    response = page_client().post("/login/", {"username": "olivia", "password": WRONG})
    assert response.status_code == 200
    assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content
    [event] = auth_events()
    assert event.action == AuditAction.LOGIN_FAILED
    assert event.user_id == "anonymous"
    assert event.details == {"username": "olivia"}
    assert WRONG not in json.dumps(event.details)
    assert (event.ip_address, event.user_agent) == (IP, UA)
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN).exists()


def test_login_as_an_unknown_user_records_the_attempted_name(db):
    response = page_client().post("/login/", {"username": "mallory", "password": WRONG})
    assert response.status_code == 200
    [event] = auth_events()
    assert (event.action, event.user_id) == (AuditAction.LOGIN_FAILED, "anonymous")
    assert event.details == {"username": "mallory"}


def test_an_overlong_attempted_username_is_cut(db):
    page_client().post("/login/", {"username": "m" * 400, "password": WRONG})
    [event] = auth_events()
    assert event.details == {"username": "m" * 150}


def test_logout_records_logout_by_the_user(owner):
    client = page_client()
    assert client.post("/login/", {"username": "olivia", "password": PASSWORD}).status_code == 302
    session_id = session_fingerprint(client.session.session_key)
    response = client.post("/logout/")
    assert response.status_code == 302
    login, logout = auth_events()
    assert login.action == AuditAction.LOGIN
    assert logout.action == AuditAction.LOGOUT
    assert logout.user_id == "olivia"
    assert (logout.ip_address, logout.user_agent) == (IP, UA)
    # The logout happened in the session that logged in.
    assert logout.session_id == session_id == login.session_id


def test_anonymous_logout_records_nothing(db):
    assert page_client().post("/logout/").status_code == 302
    assert auth_events() == []


def test_token_issue_with_the_right_password_records_token_issued(owner):
    client = APIClient(REMOTE_ADDR=IP, HTTP_USER_AGENT=UA)
    response = client.post(
        "/api/v1/auth/token/", {"username": "olivia", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["token"] == Token.objects.get(user=owner).key
    [event] = auth_events()
    assert event.action == AuditAction.TOKEN_ISSUED
    assert event.user_id == "olivia"
    assert (event.ip_address, event.user_agent) == (IP, UA)
    assert response.json()["token"] not in json.dumps(event.details)


def test_token_issue_with_a_wrong_password_records_a_failed_login(owner):
    client = APIClient(REMOTE_ADDR=IP, HTTP_USER_AGENT=UA)
    response = client.post(
        "/api/v1/auth/token/", {"username": "olivia", "password": WRONG}, format="json"
    )
    assert response.status_code == 400
    assert not Token.objects.exists()
    [event] = auth_events()
    assert event.action == AuditAction.LOGIN_FAILED
    assert event.user_id == "anonymous"
    assert event.details == {"username": "olivia"}
    assert WRONG not in json.dumps(event.details)
    assert (event.ip_address, event.user_agent) == (IP, UA)


def test_a_token_from_the_api_authenticates_later_calls_in_the_users_name(owner):
    client = APIClient(REMOTE_ADDR=IP, HTTP_USER_AGENT=UA)
    token = client.post(
        "/api/v1/auth/token/", {"username": "olivia", "password": PASSWORD}, format="json"
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.post("/api/v1/models/", {"name": "tok", "riskTier": "MEDIUM"}, format="json")
    assert response.status_code == 201
    issued, registered = AuditEvent.objects.order_by("seq")
    assert issued.action == AuditAction.TOKEN_ISSUED
    assert (registered.action, registered.user_id) == (AuditAction.REGISTER_MODEL, "olivia")
    assert registered.session_id == ""
    assert token not in registered.session_id
