"""Routes of OpenID Connect single sign-on (under /oidc/): authenticate, callback, logout.

They answer 404 while SSO is off, instead of redirecting to an empty provider URL or failing
on missing settings (the settings are read per request, so turning SSO on needs no reload)."""

from django.conf import settings
from django.http import Http404
from django.urls import path
from mozilla_django_oidc import views


def _only_when_enabled(view_class):
    view = view_class.as_view()

    def guarded(request, *args, **kwargs):
        if not getattr(settings, "OIDC_ENABLED", False):
            raise Http404("single sign-on is not configured")
        return view(request, *args, **kwargs)

    return guarded


urlpatterns = [
    path(
        "authenticate/",
        _only_when_enabled(views.OIDCAuthenticationRequestView),
        name="oidc_authentication_init",
    ),
    path(
        "callback/",
        _only_when_enabled(views.OIDCAuthenticationCallbackView),
        name="oidc_authentication_callback",
    ),
    path("logout/", _only_when_enabled(views.OIDCLogoutView), name="oidc_logout"),
]
