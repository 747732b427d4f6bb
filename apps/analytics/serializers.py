from __future__ import annotations

from rest_framework import serializers

from apps.channels.models import ChannelType
from apps.handoff.models import HandoffTrigger
from convix.api.serializers import Serializer


class PeriodQuerySerializer(Serializer):
    since = serializers.DateTimeField(
        required=False, help_text="Start (ISO 8601); default 30 days before until."
    )
    until = serializers.DateTimeField(required=False, help_text="End, exclusive (ISO 8601); default now.")

    def validate(self, attrs):
        if attrs.get("since") and attrs.get("until") and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return attrs


class IntervalQuerySerializer(PeriodQuerySerializer):
    interval = serializers.ChoiceField(choices=["day", "week"], default="day")


class QuestionsQuerySerializer(PeriodQuerySerializer):
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)


class OverviewSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    conversations = serializers.IntegerField()
    messages = serializers.IntegerField()
    shopper_messages = serializers.IntegerField()
    ai_messages = serializers.IntegerField()
    resolved = serializers.IntegerField()
    resolved_by_ai = serializers.IntegerField()
    handed_off = serializers.IntegerField()
    ai_resolution_rate = serializers.FloatField()
    handoff_rate = serializers.FloatField()
    average_confidence = serializers.FloatField(allow_null=True)
    average_sentiment = serializers.FloatField(allow_null=True)
    revenue_attributed = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()


class VolumeBucketSerializer(serializers.Serializer):
    period_start = serializers.DateTimeField()
    conversations = serializers.IntegerField()
    messages = serializers.IntegerField()


class ChannelFiguresSerializer(serializers.Serializer):
    channel_type = serializers.ChoiceField(choices=ChannelType.choices)
    conversations = serializers.IntegerField()
    handed_off = serializers.IntegerField()
    handoff_rate = serializers.FloatField()
    resolution_rate = serializers.FloatField()
    revenue_attributed = serializers.DecimalField(max_digits=14, decimal_places=2)


class QuestionTopicSerializer(serializers.Serializer):
    topic = serializers.CharField()
    intent = serializers.CharField()
    count = serializers.IntegerField()
    share = serializers.FloatField()
    terms = serializers.ListField(child=serializers.CharField())
    examples = serializers.ListField(child=serializers.CharField())


class HandoffTrendSerializer(serializers.Serializer):
    period_start = serializers.DateTimeField()
    conversations = serializers.IntegerField()
    handoffs = serializers.IntegerField()
    rate = serializers.FloatField()


class TriggerCountSerializer(serializers.Serializer):
    trigger = serializers.ChoiceField(choices=HandoffTrigger.choices)
    count = serializers.IntegerField()


class HandoffReportSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    total = serializers.IntegerField()
    trend = HandoffTrendSerializer(many=True)
    triggers = TriggerCountSerializer(many=True)
