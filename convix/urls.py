from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from convix import views

admin.site.site_header = "Convix operator admin"
admin.site.site_title = "Convix admin"

urlpatterns = [
    path("", views.home, name="home"),
    path("health", views.health, name="health"),
    path("login", RedirectView.as_view(url="/accounts/login/", query_string=True), name="login"),
    path("signup", RedirectView.as_view(url="/accounts/signup/", query_string=True), name="signup"),
    path("accounts/", include("allauth.urls")),
    path("dashboard", views.dashboard, name="dashboard"),
    path("admin/", admin.site.urls),
    # --- REST API v1 (convix/api) ---
    path("v1/", include("convix.api.urls")),
    # --- end of REST API v1 ---
]

handler404 = "convix.api.errors.not_found_view"
handler500 = "convix.api.errors.server_error_view"
