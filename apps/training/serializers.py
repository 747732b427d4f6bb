from __future__ import annotations

from rest_framework import serializers

from apps.training.models import DocType, TrainingDoc, TrainingJob
from convix.api.serializers import Serializer


class TrainingDocSerializer(serializers.ModelSerializer):
    has_file = serializers.SerializerMethodField()
    source_url = serializers.CharField(read_only=True, help_text="The web page (URL documents), or blank.")

    class Meta:
        model = TrainingDoc
        fields = [
            "id",
            "type",
            "title",
            "content",
            "source_url",
            "file_name",
            "file_size",
            "has_file",
            "content_type",
            "metadata",
            "is_active",
            "status",
            "status_reason",
            "progress",
            "chunk_count",
            "indexed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_has_file(self, doc) -> bool:
        return bool(doc.file)


class TrainingDocFilterSerializer(Serializer):
    type = serializers.ChoiceField(choices=DocType.choices, required=False)


CREATE_TYPES = [DocType.FAQ, DocType.POLICY, DocType.URL, DocType.MANUAL]


class TrainingDocCreateSerializer(Serializer):
    """FAQ: ``title`` is the question, ``content`` the answer. POLICY: ``title`` and ``content``
    (Markdown). URL: ``source_url`` (the page is fetched). MANUAL: ``title`` and ``content``, or
    upload a file as multipart/form-data."""

    type = serializers.ChoiceField(choices=CREATE_TYPES)
    title = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    content = serializers.CharField(max_length=1_000_000, required=False, allow_blank=True, default="")
    source_url = serializers.URLField(max_length=2000, required=False, allow_blank=True, default="")
    metadata = serializers.DictField(required=False, default=dict)


class TrainingDocUploadSerializer(Serializer):
    """A file (.txt, .md, .html, .pdf, .docx) becomes a MANUAL document."""

    file = serializers.FileField()
    title = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class TrainingDocUpdateSerializer(Serializer):
    title = serializers.CharField(max_length=500, required=False)
    content = serializers.CharField(max_length=1_000_000, required=False, allow_blank=True)
    source_url = serializers.URLField(max_length=2000, required=False)
    metadata = serializers.DictField(required=False)
    is_active = serializers.BooleanField(required=False)


class TrainingJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingJob
        fields = ["id", "status", "result", "error", "created_at", "started_at", "finished_at"]
        read_only_fields = fields
