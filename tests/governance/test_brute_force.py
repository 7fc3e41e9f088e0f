"""Password guessing is limited: django-axes locks a username and an address after
AXES_FAILURE_LIMIT failures, on the token API, the login page and the admin login alike; a
locked-out attempt is a 429 with Retry-After, refused even with the right password, and audited.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.db.models import F
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.choices import AuditAction, EventType
from audit.models import AuditEvent
from audit.services import verify_chain
from config.settings import _lockout_parameters
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = 5
COOLOFF = timedelta(minutes=15)
HERE = "198.51.100.7"
THERE = "203.0.113.9"
ELSEWHERE = "192.0.2.77"
WRONG = "not-the-password-9876"
TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def _lockout_settings(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = COOLOFF
    settings.AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]


def token(username: str, password: str, ip: str = HERE, **headers):
    client = APIClient(REMOTE_ADDR=ip, **headers)
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json")


def page_login(username: str, password: str, ip: str = HERE, path: str = "/login/"):
    client = Client(REMOTE_ADDR=ip)
    return client.post(path, {"username": username, "password": password}), client


def lockout_events():
    return list(AuditEvent.objects.filter(action=AuditAction.LOGIN_LOCKED_OUT).order_by("seq"))


def expire_attempts():
    """The cool-off passing: every counted failure moved to before it."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - COOLOFF - timedelta(seconds=1))


# --- The token API --------------------------------------------------------------------------


def test_six_wrong_passwords_then_the_right_one_is_refused(owner):
    statuses = [token("olivia", WRONG).status_code for _ in range(6)]
    # The failure that reaches the limit is already answered as a lockout.
    assert statuses == [400] * (LIMIT - 1) + [429] * (6 - LIMIT + 1)
    response = token("olivia", PASSWORD)
    assert response.status_code == 429
    assert response["Retry-After"] == str(int(COOLOFF.total_seconds()))
    assert response["Content-Type"] == "application/json"
    assert "too many failed login attempts" in response.json()["detail"]
    assert not Token.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.TOKEN_ISSUED).exists()


def test_fewer_failures_than_the_limit_do_not_lock(owner):
    for _ in range(LIMIT - 1):
        assert token("olivia", WRONG).status_code == 400
    assert token("olivia", PASSWORD).status_code == 200


def test_a_locked_user_is_locked_from_another_address_too(owner):
    for _ in range(LIMIT):
        token("olivia", WRONG, ip=HERE)
    response = token("olivia", PASSWORD, ip=THERE)
    assert response.status_code == 429
    # Another user from that other address is not affected.
    other = owner.__class__.objects.create_user("peter", password=PASSWORD)
    assert token(other.username, PASSWORD, ip=THERE).status_code == 200


def test_one_address_spraying_many_accounts_is_locked(owner):
    for number in range(LIMIT):
        assert token(f"guess{number}", WRONG, ip=HERE).status_code in (400, 429)
    # The address is locked: even a real user with the right password is refused from it ...
    assert token("olivia", PASSWORD, ip=HERE).status_code == 429
    # ... while the same user from elsewhere logs in (the account itself was never guessed).
    assert token("olivia", PASSWORD, ip=THERE).status_code == 200


def test_after_the_cooloff_the_right_password_works_again(owner):
    for _ in range(LIMIT + 1):
        token("olivia", WRONG)
    assert token("olivia", PASSWORD).status_code == 429
    expire_attempts()
    response = token("olivia", PASSWORD)
    assert response.status_code == 200
    assert response.json()["token"] == Token.objects.get(user=owner).key


def age_attempts(minutes: int):
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=minutes))


def test_an_attempt_while_locked_starts_the_cooloff_again(owner):
    for _ in range(LIMIT):
        token("olivia", WRONG)
    age_attempts(10)
    assert token("olivia", PASSWORD).status_code == 429  # refused, and the wait starts again
    age_attempts(10)
    # 20 minutes after the lockout, but only 10 after the last try: still locked.
    assert token("olivia", PASSWORD).status_code == 429
    age_attempts(16)
    assert token("olivia", PASSWORD).status_code == 200


def test_forwarded_for_does_not_escape_an_address_lock_unless_a_proxy_is_trusted(owner, settings):
    settings.AUDIT_TRUSTED_PROXY_COUNT = 0
    for number in range(LIMIT):
        token(f"guess{number}", WRONG, ip=HERE, HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
    # Without a trusted proxy the header is the client's own claim: the address is REMOTE_ADDR.
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {HERE}
    assert token("olivia", PASSWORD, ip=HERE, HTTP_X_FORWARDED_FOR="192.0.2.200").status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(owner, settings):
    settings.AUDIT_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.1"
    for number in range(LIMIT):
        token(f"guess{number}", WRONG, ip=proxy, HTTP_X_FORWARDED_FOR="192.0.2.50")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"192.0.2.50"}
    # That client is locked; another client behind the same proxy is not.
    assert token("olivia", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="192.0.2.50").status_code == 429
    assert token("olivia", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="192.0.2.51").status_code == 200
    # The audit trail names the same client address as axes.
    [first, *_] = lockout_events()
    assert first.ip_address == "192.0.2.50"


# --- The login page and the admin login ------------------------------------------------------


def test_the_login_page_locks_after_the_limit_with_a_clear_page(owner):
    for _ in range(LIMIT - 1):
        response, _ = page_login("olivia", WRONG)
        assert response.status_code == 200  # the form again, "didn't match"
    response, _ = page_login("olivia", WRONG)
    assert response.status_code == 429
    response, client = page_login("olivia", PASSWORD)
    assert response.status_code == 429
    assert response["Retry-After"] == str(int(COOLOFF.total_seconds()))
    body = response.content.decode()
    assert "Login temporarily locked" in body
    assert "15 minutes" in body
    assert "Traceback" not in body
    assert "_auth_user_id" not in client.session
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN).exists()


def test_the_page_locks_a_user_for_every_address_and_an_address_for_every_user(owner):
    for _ in range(LIMIT):
        page_login("olivia", WRONG, ip=HERE)
    assert page_login("olivia", PASSWORD, ip=THERE)[0].status_code == 429
    for number in range(LIMIT):
        page_login(f"guess{number}", WRONG, ip=THERE)
    other = owner.__class__.objects.create_user("peter", password=PASSWORD)
    assert page_login(other.username, PASSWORD, ip=THERE)[0].status_code == 429
    # HERE is locked as well (olivia's five failures came from it): peter logs in from a third.
    assert page_login(other.username, PASSWORD, ip=HERE)[0].status_code == 429
    assert page_login(other.username, PASSWORD, ip=ELSEWHERE)[0].status_code == 302


def test_the_page_works_again_after_the_cooloff(owner):
    for _ in range(LIMIT):
        page_login("olivia", WRONG)
    expire_attempts()
    response, client = page_login("olivia", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_page_api_and_admin_share_one_count(owner):
    page_login("olivia", WRONG)
    page_login("olivia", WRONG, path="/admin/login/")
    token("olivia", WRONG)
    token("olivia", WRONG)
    # The fifth failure, on the page, locks everywhere.
    assert page_login("olivia", WRONG)[0].status_code == 429
    assert token("olivia", PASSWORD).status_code == 429
    assert page_login("olivia", PASSWORD, path="/admin/login/")[0].status_code == 429


def test_an_overlong_username_is_counted_cut_not_a_server_error(owner):
    """Django's login form does not enforce the username length; axes' column is 255 long,
    which PostgreSQL enforces: the name is cut to a username's 150 characters first."""
    response, _ = page_login("m" * 400, WRONG)
    assert response.status_code == 200
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["m" * 150]
    for number in range(LIMIT - 1):
        page_login("m" * 400, WRONG, ip=f"192.0.2.{number + 1}")
    assert page_login("m" * 150 + "x", WRONG, ip=ELSEWHERE)[0].status_code == 429


# --- The audit trail --------------------------------------------------------------------------


def test_the_lockout_and_each_refused_attempt_are_audited(owner):
    for _ in range(LIMIT):
        token("olivia", WRONG)
    token("olivia", PASSWORD)
    locked, refused = lockout_events()
    assert (locked.event_type, locked.user_id, locked.ip_address) == (
        EventType.AUTHENTICATION,
        "anonymous",
        HERE,
    )
    assert locked.details == {
        "username": "olivia",
        "failures": LIMIT,
        "failureLimit": LIMIT,
        # One user guessing from one address: both counts reached the limit.
        "lockedBy": ["ip_address", "username"],
        "refusedWhileLocked": False,
        "cooloffSeconds": 900,
        "path": TOKEN_URL,
    }
    assert refused.details["refusedWhileLocked"] is True
    assert refused.details["failures"] == LIMIT + 1
    assert PASSWORD not in str(refused.details) and WRONG not in str(locked.details)
    # Every failure, the refused right password included, is a LOGIN_FAILED event as well.
    failed = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).count()
    assert failed == LIMIT + 1
    assert verify_chain().valid


def test_a_spray_lockout_is_audited_as_locked_by_address(owner):
    for number in range(LIMIT):
        page_login(f"guess{number}", WRONG)
    [event] = lockout_events()
    assert event.details["lockedBy"] == ["ip_address"]
    assert event.details["username"] == f"guess{LIMIT - 1}"
    assert event.details["path"] == "/login/"


def test_one_account_guessed_from_many_addresses_is_audited_as_locked_by_username(owner):
    for number in range(LIMIT):
        token("olivia", WRONG, ip=f"192.0.2.{10 + number}")
    [event] = lockout_events()
    assert event.details["lockedBy"] == ["username"]
    assert event.ip_address == f"192.0.2.{10 + LIMIT - 1}"
    assert token("olivia", PASSWORD, ip=ELSEWHERE).status_code == 429


# --- Administration ---------------------------------------------------------------------------


def test_an_administrator_unlocks_a_username_with_axes_reset_username(owner):
    for _ in range(LIMIT):
        token("olivia", WRONG)
    assert token("olivia", PASSWORD, ip=THERE).status_code == 429
    call_command("axes_reset_username", "olivia")
    assert token("olivia", PASSWORD, ip=THERE).status_code == 200


def test_lockout_parameters_from_the_environment_are_checked():
    assert _lockout_parameters("username,ip_address") == ["username", "ip_address"]
    assert _lockout_parameters("username+ip_address") == [["username", "ip_address"]]
    with pytest.raises(RuntimeError):
        _lockout_parameters("username,password")
    with pytest.raises(RuntimeError):
        _lockout_parameters("username,,ip_address")
