"""Single sign-on through the bank's OpenID Connect provider: settings read from the
environment. Off (no backend, no routes used) unless OIDC_ISSUER is set."""

OIDC_ENABLED = False
OIDC_AUTHENTICATION_BACKENDS: list[str] = []
