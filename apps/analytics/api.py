"""``/v1/stores/<store_id>/analytics/...``: reports (admin). They call ``apps.analytics.selectors``,
as the dashboard does."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from apps.accounts.models import UserRole
from apps.analytics import selectors
from apps.analytics.serializers import (
    ChannelFiguresSerializer,
    HandoffReportSerializer,
    IntervalQuerySerializer,
    OverviewSerializer,
    PeriodQuerySerializer,
    QuestionsQuerySerializer,
    QuestionTopicSerializer,
    VolumeBucketSerializer,
)
from convix.api.serializers import validate_query
from convix.api.views import StoreAPIView

TAG = ["analytics"]


class AnalyticsView(StoreAPIView):
    roles = {"GET": UserRole.ADMIN}
    pagination_class = None
    query_serializer = PeriodQuerySerializer

    def query(self, request) -> dict:
        return validate_query(self.query_serializer, request, allowed=())


class OverviewView(AnalyticsView):
    serializer_class = OverviewSerializer

    @extend_schema(
        tags=TAG,
        summary="Headline figures",
        parameters=[PeriodQuerySerializer],
        responses={200: OverviewSerializer},
    )
    def get(self, request, store_id):
        return Response(OverviewSerializer(selectors.overview(store=self.store, **self.query(request))).data)


class VolumeView(AnalyticsView):
    serializer_class = VolumeBucketSerializer
    query_serializer = IntervalQuerySerializer

    @extend_schema(
        tags=TAG,
        summary="Conversations and messages per day or week",
        parameters=[IntervalQuerySerializer],
        responses={200: VolumeBucketSerializer(many=True)},
    )
    def get(self, request, store_id):
        return Response(
            VolumeBucketSerializer(selectors.volume(store=self.store, **self.query(request)), many=True).data
        )


class ChannelsView(AnalyticsView):
    serializer_class = ChannelFiguresSerializer

    @extend_schema(
        tags=TAG,
        summary="Figures per channel",
        parameters=[PeriodQuerySerializer],
        responses={200: ChannelFiguresSerializer(many=True)},
    )
    def get(self, request, store_id):
        rows = selectors.channels(store=self.store, **self.query(request))
        return Response(ChannelFiguresSerializer(rows, many=True).data)


class QuestionsView(AnalyticsView):
    serializer_class = QuestionTopicSerializer
    query_serializer = QuestionsQuerySerializer

    @extend_schema(
        tags=TAG,
        summary="Top shopper questions, clustered by topic",
        parameters=[QuestionsQuerySerializer],
        responses={200: QuestionTopicSerializer(many=True)},
    )
    def get(self, request, store_id):
        rows = selectors.questions(store=self.store, **self.query(request))
        return Response(QuestionTopicSerializer(rows, many=True).data)


class HandoffsView(AnalyticsView):
    serializer_class = HandoffReportSerializer
    query_serializer = IntervalQuerySerializer

    @extend_schema(
        tags=TAG,
        summary="Handoff rate over time and the breakdown by trigger",
        parameters=[IntervalQuerySerializer],
        responses={200: HandoffReportSerializer},
    )
    def get(self, request, store_id):
        return Response(
            HandoffReportSerializer(selectors.handoffs(store=self.store, **self.query(request))).data
        )
