from django.contrib.auth import views as auth_views
from django.urls import path

from governance import inventory_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("approvals/", views.approval_dashboard, name="approvals"),
    path("notifications/", views.notifications, name="notifications"),
    path("workflow/", views.workflow, name="workflow"),
    path("inventory/", inventory_views.inventory, name="inventory"),
    path("versions/<int:pk>/do/<slug:name>/", views.version_action, name="version-action"),
    path("models/<int:pk>/tier-change/", views.tier_change_request, name="tier-change-request"),
    path(
        "tier-changes/<int:pk>/<str:decision>/",
        views.tier_change_decide,
        name="tier-change-decide",
    ),
]
