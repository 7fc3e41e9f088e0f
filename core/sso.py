"""OpenID Connect login: the provider says who someone is and which groups they are in; the
registry turns the groups into roles (settings.OIDC_ROLE_MAPPING) on every login, so a group
removed at the bank is a role removed here at the next login."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from audit.choices import AuditAction, EventType
from audit.services import record_event
from core.models import SsoIdentity
from core.roles import roles_of, set_roles

USERNAME_MAX = 150
REFUSALS = {
    "no group maps to a registry role": "your account has no role in the model registry. "
    "Ask your administrator to add you to a registry group.",
    "no username claim": "the identity provider sent no username.",
    "no subject claim": "the identity provider sent no subject (sub).",
    "username belongs to a local account": "this username belongs to a local account; "
    "ask your administrator.",
    "username belongs to another sso identity": "this username belongs to another person's "
    "account; ask your administrator.",
}


def claim_groups(claims: dict) -> list[str]:
    value = claims.get(settings.OIDC_ROLE_CLAIM) or []
    if isinstance(value, str):
        value = [value]
    return sorted({str(g) for g in value})


def mapped_roles(groups: list[str]) -> list[str]:
    mapping = settings.OIDC_ROLE_MAPPING
    return sorted({role for group in groups for role in mapping.get(group, [])})


def claim_username(claims: dict) -> str:
    return str(claims.get(settings.OIDC_USERNAME_CLAIM) or "")[:USERNAME_MAX]


def claim_subject(claims: dict) -> str:
    return str(claims.get("sub") or "")[:255]


class RegistryOIDCBackend(OIDCAuthenticationBackend):
    def filter_users_by_claims(self, claims):
        # The account single sign-on made for this subject, and only that: never matched by
        # username, which the provider may reassign and local accounts share.
        subject = claim_subject(claims)
        if not subject:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(
            sso_identity__issuer=settings.OIDC_ISSUER, sso_identity__subject=subject
        )

    def verify_claims(self, claims):
        groups = claim_groups(claims)
        username = claim_username(claims)
        subject = claim_subject(claims)
        reason = ""
        if not username:
            reason = "no username claim"
        elif not subject:
            reason = "no subject claim"
        else:
            holder = (
                self.UserModel.objects.filter(username=username)
                .select_related("sso_identity")
                .first()
            )
            identity = getattr(holder, "sso_identity", None) if holder is not None else None
            if holder is not None and identity is None:
                reason = "username belongs to a local account"
            elif identity is not None and (identity.issuer, identity.subject) != (
                settings.OIDC_ISSUER,
                subject,
            ):
                reason = "username belongs to another sso identity"
            elif not mapped_roles(groups):
                reason = "no group maps to a registry role"
                self._strip_roles(claims)
        if not reason:
            return True
        # Refused at the door: audited, and the person is told why on the login page.
        record_event(
            EventType.AUTHENTICATION,
            AuditAction.LOGIN_FAILED,
            user=None,
            details={"via": "sso", "username": username, "groups": groups, "reason": reason},
        )
        if self.request is not None:
            messages.error(self.request, f"Single sign-on refused: {REFUSALS[reason]}")
        return False

    def _strip_roles(self, claims: dict) -> None:
        """Someone who lost every mapped group loses every role too, not just the login."""
        user = self.filter_users_by_claims(claims).first()
        if user is not None:
            self._set_roles_audited(user, [])

    def create_user(self, claims):
        user = self.UserModel.objects.create_user(
            username=claim_username(claims), email=claims.get("email", "")
        )
        user.set_unusable_password()  # SSO users never log in with a local password
        user.save(update_fields=["password"])
        SsoIdentity.objects.create(
            user=user, issuer=settings.OIDC_ISSUER, subject=claim_subject(claims)
        )
        record_event(
            EventType.USER_ADMIN,
            AuditAction.CREATE_USER,
            user=user,
            details={"via": "sso", "username": user.username},
        )
        return self._apply_claims(user, claims)

    def update_user(self, user, claims):
        email = claims.get("email", "")
        if email and email != user.email:
            user.email = email
            user.save(update_fields=["email"])
        return self._apply_claims(user, claims)

    def _apply_claims(self, user, claims):
        groups = claim_groups(claims)
        roles = mapped_roles(groups)
        self._set_roles_audited(user, roles)
        # The LOGIN event itself comes from audit.signals (user_logged_in); this one says what
        # the provider asserted and what it resulted in.
        record_event(
            EventType.AUTHENTICATION,
            AuditAction.SSO_CLAIMS,
            user=user,
            details={"via": "sso", "groups": groups, "roles": roles},
        )
        return user

    def _set_roles_audited(self, user, roles: list[str]) -> None:
        before = sorted(roles_of(user))
        set_roles(user, roles)
        if before != roles:
            record_event(
                EventType.USER_ADMIN,
                AuditAction.UPDATE_USER,
                user=user,
                details={
                    "via": "sso",
                    "username": user.username,
                    "roles_before": before,
                    "roles_after": roles,
                    "removed": sorted(set(before) - set(roles)),
                    "added": sorted(set(roles) - set(before)),
                },
            )
