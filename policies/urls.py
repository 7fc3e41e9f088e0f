from django.urls import path

from policies import views

urlpatterns = [
    path("policies/", views.policy_list, name="policy-list"),
    path("policies/new/", views.policy_edit, name="policy-create"),
    path("policies/<str:policy_id>/", views.policy_detail, name="policy-detail"),
    path("policies/<str:policy_id>/edit/", views.policy_edit, name="policy-edit"),
]
