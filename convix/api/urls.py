"""Routes of the REST API v1 (mounted at ``/v1/``)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from apps.accounts import api as accounts
from apps.analytics import api as analytics
from apps.channels import api as channels
from apps.conversations import api as conversations
from apps.conversations import catalog_api
from apps.stores import api as stores
from apps.training import api as training
from convix.api.throttles import PublicRateThrottle


class SchemaView(SpectacularAPIView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [PublicRateThrottle]


class DocsView(SpectacularSwaggerView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [PublicRateThrottle]


class RedocView(SpectacularRedocView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [PublicRateThrottle]


S = "stores/<uuid:store_id>"

urlpatterns = [
    path("schema", SchemaView.as_view(), name="api-schema"),
    path("docs", DocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("docs/redoc", RedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # auth
    path("auth/register", accounts.RegisterView.as_view(), name="api-register"),
    path("auth/login", accounts.LoginView.as_view(), name="api-login"),
    path("auth/refresh", accounts.RefreshView.as_view(), name="api-refresh"),
    path("auth/logout", accounts.LogoutView.as_view(), name="api-logout"),
    path("auth/forgot-password", accounts.ForgotPasswordView.as_view(), name="api-forgot-password"),
    path("auth/reset-password", accounts.ResetPasswordView.as_view(), name="api-reset-password"),
    path("auth/me", accounts.MeView.as_view(), name="api-me"),
    # stores
    path("stores", stores.StoreListView.as_view(), name="api-stores"),
    path(S, stores.StoreDetailView.as_view(), name="api-store"),
    path(f"{S}/settings", stores.StoreSettingsView.as_view(), name="api-store-settings"),
    path(f"{S}/api-keys", stores.ApiKeyListView.as_view(), name="api-keys"),
    path(f"{S}/api-keys/<uuid:key_id>", stores.ApiKeyDetailView.as_view(), name="api-key"),
    path(f"{S}/catalog/import", catalog_api.CatalogImportView.as_view(), name="api-catalog-import"),
    # conversations
    path(f"{S}/conversations", conversations.ConversationListView.as_view(), name="api-conversations"),
    path(
        f"{S}/conversations/<uuid:conversation_id>",
        conversations.ConversationDetailView.as_view(),
        name="api-conversation",
    ),
    path(
        f"{S}/conversations/<uuid:conversation_id>/handoff",
        conversations.ConversationHandoffView.as_view(),
        name="api-conversation-handoff",
    ),
    # analytics
    path(f"{S}/analytics/overview", analytics.OverviewView.as_view(), name="api-analytics-overview"),
    path(f"{S}/analytics/volume", analytics.VolumeView.as_view(), name="api-analytics-volume"),
    path(f"{S}/analytics/channels", analytics.ChannelsView.as_view(), name="api-analytics-channels"),
    path(f"{S}/analytics/questions", analytics.QuestionsView.as_view(), name="api-analytics-questions"),
    path(f"{S}/analytics/handoffs", analytics.HandoffsView.as_view(), name="api-analytics-handoffs"),
    # channels
    path(f"{S}/channels", channels.ChannelListView.as_view(), name="api-channels"),
    path(f"{S}/channels/<uuid:channel_id>", channels.ChannelDetailView.as_view(), name="api-channel"),
    path(f"{S}/channels/<uuid:channel_id>/test", channels.ChannelTestView.as_view(), name="api-channel-test"),
    # training
    path(f"{S}/training", training.TrainingDocListView.as_view(), name="api-training"),
    path(f"{S}/training/retrain", training.RetrainView.as_view(), name="api-training-retrain"),
    path(f"{S}/training/jobs/<uuid:job_id>", training.TrainingJobView.as_view(), name="api-training-job"),
    path(f"{S}/training/<uuid:doc_id>", training.TrainingDocDetailView.as_view(), name="api-training-doc"),
]
