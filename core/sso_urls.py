"""Routes of OpenID Connect single sign-on (under /oidc/)."""

urlpatterns: list = []
