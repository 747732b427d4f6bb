"""Operator admin for training documents and their chunks.

A document can have thousands of chunks, so they are never inlined: the document links to its
chunks' list instead. A chunk's embedding is never loaded or rendered; its size is shown.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import F, Func, IntegerField
from django.urls import reverse
from django.utils.html import format_html

from apps.stores.admin import StoreOwnedAdmin, ViewOnlyAdminMixin
from apps.training.models import TrainingChunk, TrainingDoc


@admin.register(TrainingDoc)
class TrainingDocAdmin(StoreOwnedAdmin):
    list_display = (
        "title",
        "store",
        "type",
        "status",
        "progress",
        "chunk_count",
        "is_active",
        "indexed_at",
        "created_at",
    )
    list_filter = ("type", "status", "is_active", "store", "created_at")
    list_select_related = ("store",)
    search_fields = ("title", "source_url", "file_name", "content_hash")
    autocomplete_fields = ("store", "created_by")
    readonly_fields = (
        "status",
        "status_reason",
        "progress",
        "chunks_link",
        "content_hash",
        "indexed_at",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("store", "type", "title", "content", "is_active", "created_by")}),
        ("Source", {"fields": ("source_url", "file_name", "content_type", "metadata")}),
        (
            "Indexing",
            {"fields": ("status", "status_reason", "progress", "chunks_link", "content_hash", "indexed_at")},
        ),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )
    date_hierarchy = "created_at"
    ordering = ("-created_at",)

    @admin.display(description="Chunks")
    def chunks_link(self, obj):
        if obj.pk is None:
            return "-"
        url = reverse("admin:training_trainingchunk_changelist")
        return format_html('<a href="{}?doc__id__exact={}">{} chunks</a>', url, obj.pk, obj.chunk_count)


class VectorDims(Func):
    """pgvector's ``vector_dims(embedding)``: the size of a vector, computed in the database."""

    function = "vector_dims"
    output_field = IntegerField()


@admin.register(TrainingChunk)
class TrainingChunkAdmin(ViewOnlyAdminMixin, StoreOwnedAdmin):
    exclude = ("embedding", "search_vector")
    fields = (
        "store",
        "doc",
        "ordinal",
        "title",
        "section",
        "text",
        "token_count",
        "content_hash",
        "embedding_dimensions",
        "is_active",
        "created_at",
    )
    readonly_fields = ("embedding_dimensions", "created_at")
    list_display = (
        "__str__",
        "document",
        "store",
        "ordinal",
        "token_count",
        "embedding_dimensions",
        "is_active",
    )
    list_filter = ("is_active", "store", "created_at")
    # Not select_related("doc"): that would load every document's full content for each row.
    list_select_related = ("store",)
    search_fields = ("title", "section", "content_hash", "doc__title")
    raw_id_fields = ("doc",)
    ordering = ("doc", "ordinal")
    show_full_result_count = False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .defer("embedding", "search_vector")
            .annotate(embedding_size=VectorDims("embedding"), doc_title=F("doc__title"))
        )

    @admin.display(description="Document", ordering="doc_title")
    def document(self, obj):
        return getattr(obj, "doc_title", None) or "-"

    @admin.display(description="Embedding", ordering="embedding_size")
    def embedding_dimensions(self, obj):
        size = getattr(obj, "embedding_size", None)
        return f"{size} dimensions" if size is not None else "-"
