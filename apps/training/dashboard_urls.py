from django.urls import path

from apps.training import views

urlpatterns = [
    path("dashboard/training", views.training_index, name="dashboard-training"),
    path("dashboard/training/status", views.training_status, name="dashboard-training-status"),
    path("dashboard/training/retrain", views.training_retrain, name="dashboard-training-retrain"),
    path("dashboard/training/add/<slug:kind>", views.training_add, name="dashboard-training-add"),
    path("dashboard/training/<uuid:doc_id>/edit", views.training_edit, name="dashboard-training-edit"),
    path(
        "dashboard/training/<uuid:doc_id>/active", views.training_set_active, name="dashboard-training-active"
    ),
    path("dashboard/training/<uuid:doc_id>/delete", views.training_delete, name="dashboard-training-delete"),
    path(
        "dashboard/training/<uuid:doc_id>/retrain", views.training_reindex, name="dashboard-training-reindex"
    ),
]
