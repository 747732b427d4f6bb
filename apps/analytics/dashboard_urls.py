from django.urls import path

from apps.analytics import views

urlpatterns = [
    path("dashboard/analytics", views.analytics, name="dashboard-analytics"),
]
