from django.urls import path

from convix import views

urlpatterns = [
    path("dashboard", views.dashboard, name="dashboard"),
]
