from django.urls import path

from evaluations import views

urlpatterns = [
    path("evaluations/<int:pk>/", views.run_detail, name="evaluation-detail"),
    path("versions/<int:pk>/evaluations/", views.version_history, name="evaluation-history"),
    path("versions/<int:pk>/evaluations/new/", views.run_create, name="evaluation-create"),
    path("versions/<int:pk>/monitoring/", views.version_monitoring, name="version-monitoring"),
]
