from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("config.api_urls")),
    path("admin/", admin.site.urls),
    path("oidc/", include("core.sso_urls")),
    path("", include("governance.urls")),
    path("", include("registry.urls")),
    path("", include("audit.urls")),
    path("", include("policies.urls")),
    path("", include("evaluations.urls")),
]

# Addresses no route matches: JSON under /api/, the site's page elsewhere.
handler404 = "core.api.exception_handler.not_found"
