from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from audit.api.views import AuditEventViewSet
from governance.api.views import MeView, ObtainTokenView
from registry.api.views import ArtifactViewSet, ModelViewSet, VersionViewSet

router = DefaultRouter()
router.register("models", ModelViewSet, basename="model")
router.register("versions", VersionViewSet, basename="version")
router.register("artifacts", ArtifactViewSet, basename="artifact")
router.register("audit-events", AuditEventViewSet, basename="auditevent")

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("me/", MeView.as_view(), name="api-me"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include(router.urls)),
]
