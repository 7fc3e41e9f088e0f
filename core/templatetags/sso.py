"""Whether the login page offers single sign-on, and under which provider name."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def sso_provider():
    """The provider's display name when SSO is configured, else an empty string."""
    if not getattr(settings, "OIDC_ENABLED", False):
        return ""
    return getattr(settings, "OIDC_PROVIDER_NAME", "") or "your identity provider"
