from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from apps.channels.widget import views as widget_views
from convix import views

admin.site.site_header = "Convix operator admin"
admin.site.site_title = "Convix admin"

urlpatterns = [
    # The public widget API comes before any other /v1 include.
    path("v1/widget/", include("apps.channels.widget.urls")),
    path("widget.js", widget_views.loader_script, name="widget-loader"),
    path("widget/frame/<str:store_id>", widget_views.frame, name="widget-frame"),
    path("widget/assets/<str:name>", widget_views.frame_asset, name="widget-asset"),
    path("demo", widget_views.demo_storefront, name="demo-storefront"),
    path("", views.home, name="home"),
    path("health", views.health, name="health"),
    path("login", RedirectView.as_view(url="/accounts/login/", query_string=True), name="login"),
    path("signup", RedirectView.as_view(url="/accounts/signup/", query_string=True), name="signup"),
    path(
        "forgot-password",
        RedirectView.as_view(url="/accounts/password/reset/", query_string=True),
        name="forgot-password",
    ),
    path("accounts/", include("allauth.urls")),
    path("pricing", views.pricing, name="pricing"),
    path("features", views.features, name="features"),
    path("", include("convix.dashboard_urls")),
    path("admin/", admin.site.urls),
    # --- REST API v1 (convix/api) ---
    path("v1/", include("convix.api.urls")),
    # --- end of REST API v1 ---
]

handler404 = "convix.api.errors.not_found_view"
handler500 = "convix.api.errors.server_error_view"
