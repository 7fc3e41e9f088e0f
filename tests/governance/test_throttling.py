"""API rate limits: per user, reads apart from writes; per address for anonymous callers (the
token endpoint); 429 with Retry-After; configurable, and not audited request by request."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

import config.settings as project_settings
from audit.models import AuditEvent
from config.settings import _throttle_rate
from core.choices import Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

MODELS = "/api/v1/models/"
TOKEN = "/api/v1/auth/token/"


@pytest.fixture
def rates(settings):
    """Small rates for these tests (the suite's autouse fixture sets them very high)."""

    def set_rates(read="3/min", write="2/min", anon="2/min"):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"user_read": read, "user_write": write, "anon": anon},
        }
        cache.clear()

    set_rates()
    return set_rates


def test_the_defaults_are_generous_for_real_use():
    assert project_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {
        "user_read": "1200/min",
        "user_write": "240/min",
        "anon": "60/min",
    }
    assert project_settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")


def test_reads_beyond_the_rate_are_429_with_retry_after(api, owner, rates):
    client = api(owner)
    assert [client.get(MODELS).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(MODELS)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "throttled" in response.json()["detail"]


def test_writes_have_their_own_smaller_budget(api, owner, rates):
    client = api(owner)
    body = {"name": "x", "riskTier": "MEDIUM"}
    assert client.post(MODELS, {**body, "name": "one"}, format="json").status_code == 201
    assert client.post(MODELS, {**body, "name": "two"}, format="json").status_code == 201
    third = client.post(MODELS, {**body, "name": "three"}, format="json")
    assert third.status_code == 429
    assert "Retry-After" in third
    # Reads are counted apart: the same user still reads.
    assert client.get(MODELS).status_code == 200


def test_each_user_has_their_own_budget(api, make_user, owner, rates):
    other = make_user(Role.MODEL_OWNER, username="peter")
    for _ in range(3):
        api(owner).get(MODELS)
    assert api(owner).get(MODELS).status_code == 429
    assert api(other).get(MODELS).status_code == 200


def test_anonymous_token_requests_are_limited_per_address(owner, rates, settings):
    settings.AUDIT_TRUSTED_PROXY_COUNT = 0
    here = APIClient(REMOTE_ADDR="198.51.100.7")
    body = {"username": "olivia", "password": PASSWORD}
    assert here.post(TOKEN, body, format="json").status_code == 200
    assert here.post(TOKEN, body, format="json").status_code == 200
    # A made-up X-Forwarded-For is not a new address when no proxy is trusted.
    spoofed = here.post(TOKEN, body, format="json", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert spoofed.status_code == 429
    assert "Retry-After" in spoofed
    there = APIClient(REMOTE_ADDR="203.0.113.9")
    assert there.post(TOKEN, body, format="json").status_code == 200


def test_a_throttled_request_writes_no_audit_event(api, owner, rates):
    client = api(owner)
    for number in range(2):
        client.post(MODELS, {"name": f"m{number}", "riskTier": "MEDIUM"}, format="json")
    before = AuditEvent.objects.count()
    for number in range(5):
        response = client.post(MODELS, {"name": f"n{number}", "riskTier": "MEDIUM"}, format="json")
        assert response.status_code == 429
    assert AuditEvent.objects.count() == before


def test_off_lifts_a_limit(api, owner, rates):
    rates(read=None)
    client = api(owner)
    assert {client.get(MODELS).status_code for _ in range(10)} == {200}


def test_rates_from_the_environment_are_checked(monkeypatch):
    monkeypatch.delenv("API_THROTTLE_READ", raising=False)
    assert _throttle_rate("API_THROTTLE_READ", "1200/min") == "1200/min"
    monkeypatch.setenv("API_THROTTLE_READ", "500/hour")
    assert _throttle_rate("API_THROTTLE_READ", "1200/min") == "500/hour"
    monkeypatch.setenv("API_THROTTLE_READ", "off")
    assert _throttle_rate("API_THROTTLE_READ", "1200/min") is None
    for junk in ("lots", "100", "0/min", "10/fortnight", "-5/min"):
        monkeypatch.setenv("API_THROTTLE_READ", junk)
        with pytest.raises(RuntimeError):
            _throttle_rate("API_THROTTLE_READ", "1200/min")
