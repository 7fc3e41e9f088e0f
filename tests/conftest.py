from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from core.choices import Role
from tests.factories import RegisteredModelFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from tests.audit.keys import write_test_signing_key  # each test its own audit signing key

    settings.AUDIT_SIGNING_KEY_FILE = write_test_signing_key(tmp_path)
    # API throttling stays on, with rates the suite's thousands of requests never reach, and
    # a fresh cache so no count carries over (tests/governance/test_throttling.py sets small
    # rates). django-axes stays on too: its failure counts are rows, rolled back per test.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(("user_read", "user_write", "anon"), "100000/min"),
    }
    settings.AXES_ENABLED = True
    cache.clear()


def pytest_collection_modifyitems(config, items):
    on_postgres = connection.vendor == "postgresql"
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)


@pytest.fixture
def make_user(db):
    def make(*roles: str, **kwargs):
        return UserFactory(roles=list(roles), **kwargs)

    return make


@pytest.fixture
def owner(make_user):
    return make_user(Role.MODEL_OWNER, username="olivia")


@pytest.fixture
def users(make_user, owner):
    """One person per role (and the owner), by role name."""
    people = {Role.MODEL_OWNER: owner}
    for role in Role:
        if role != Role.MODEL_OWNER:
            people[role] = make_user(role, username=role.lower().replace(" ", "_"))
    return people


@pytest.fixture
def model(owner):
    return RegisteredModelFactory(owner=owner, name="fraud-detector")


@pytest.fixture
def api():
    """An API client authenticated as the given user (or anonymous)."""

    def client_for(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return client_for
