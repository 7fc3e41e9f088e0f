"""Single sign-on through the bank's OpenID Connect provider: settings read from the
environment. Off (no backend, no routes used) unless OIDC_ISSUER and OIDC_RP_CLIENT_ID are set.

Endpoints are required in the environment (no discovery at start-up): a web process should not
fail to boot, or boot differently, because the provider was briefly unreachable. docs/sso.md
lists the names.
"""

from __future__ import annotations

import json

from config.env import env, envbool


def _known_roles() -> set[str]:
    from core.choices import Role

    return set(Role.values)


def parse_role_mapping(raw: str, known_roles: set[str] | None = None) -> dict[str, list[str]]:
    """Provider group -> registry roles. Accepts JSON ({"group": "Role"} or {"group": ["Role",
    ...]}) or "group=Role,group2=Role2". A role the registry does not know stops start-up:
    a typo would otherwise silently give nobody that role."""
    known = _known_roles() if known_roles is None else known_roles
    raw = (raw or "").strip()
    mapping: dict[str, list[str]] = {}
    if not raw:
        return mapping
    if raw.startswith("{"):
        try:
            loaded = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"OIDC_ROLE_MAPPING is not valid JSON: {exc}") from exc
        for group, roles in loaded.items():
            roles = [roles] if isinstance(roles, str) else roles
            if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                raise RuntimeError(
                    f"OIDC_ROLE_MAPPING: group {group!r} must map to a role or a list of roles"
                )
            mapping.setdefault(str(group), []).extend(roles)
    else:
        for item in raw.split(","):
            item = item.strip()
            if not item:
                continue
            group, sep, role = item.rpartition("=")
            if not sep or not group.strip() or not role.strip():
                raise RuntimeError(f"OIDC_ROLE_MAPPING: {item!r} is not group=Role (or use JSON)")
            mapping.setdefault(group.strip(), []).append(role.strip())
    unknown = sorted({r for roles in mapping.values() for r in roles} - known)
    if unknown:
        raise RuntimeError(
            f"OIDC_ROLE_MAPPING names unknown role(s): {', '.join(unknown)}; "
            f"roles are {', '.join(sorted(known))}"
        )
    return {group: sorted(set(roles)) for group, roles in mapping.items()}


OIDC_ISSUER = env("OIDC_ISSUER")
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET")
OIDC_ENABLED = bool(OIDC_ISSUER and OIDC_RP_CLIENT_ID)
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", "your identity provider")

OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", "openid email profile groups")
OIDC_USE_PKCE = envbool("OIDC_USE_PKCE", True)
OIDC_VERIFY_SSL = envbool("OIDC_VERIFY_SSL", True)

OIDC_USERNAME_CLAIM = env("OIDC_USERNAME_CLAIM", "preferred_username")
OIDC_ROLE_CLAIM = env("OIDC_ROLE_CLAIM", "groups")
OIDC_ROLE_MAPPING: dict[str, list[str]] = {}

OIDC_AUTHENTICATION_BACKENDS: list[str] = []
if OIDC_ENABLED:
    _missing = [
        name
        for name in (
            "OIDC_RP_CLIENT_SECRET",
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
            "OIDC_OP_JWKS_ENDPOINT",
        )
        if not globals()[name]
    ]
    if _missing:
        raise RuntimeError(f"OIDC is on (OIDC_ISSUER is set) but missing: {', '.join(_missing)}")
    OIDC_ROLE_MAPPING = parse_role_mapping(env("OIDC_ROLE_MAPPING"))
    OIDC_AUTHENTICATION_BACKENDS = ["core.sso.RegistryOIDCBackend"]
    # Back to the login page, with the backend's message, when the provider or the mapping
    # refuses someone.
    LOGIN_REDIRECT_URL_FAILURE = "/login/"
