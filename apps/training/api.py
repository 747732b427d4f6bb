"""``/v1/stores/<store_id>/training``: the agent's knowledge documents and retraining jobs."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from apps.training import selectors, services
from apps.training.serializers import (
    TrainingDocCreateSerializer,
    TrainingDocFilterSerializer,
    TrainingDocSerializer,
    TrainingDocUpdateSerializer,
    TrainingDocUploadSerializer,
    TrainingJobSerializer,
)
from convix.api.serializers import NoFilters, validate_query
from convix.api.uploads import check_upload_size
from convix.api.views import StoreAPIView

TAG = ["training"]


def _user(request):
    return None if getattr(request.user, "api_key", None) else request.user


class TrainingDocListView(StoreAPIView):
    serializer_class = TrainingDocCreateSerializer
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        tags=TAG,
        summary="The store's training documents, newest first",
        parameters=[TrainingDocFilterSerializer],
        responses={200: TrainingDocSerializer(many=True)},
    )
    def get(self, request, store_id):
        filters = validate_query(TrainingDocFilterSerializer, request)
        docs = selectors.doc_list(store=self.store, type=filters.get("type")).order_by("-created_at", "-id")
        page = self.paginate_queryset(docs)
        return self.get_paginated_response(TrainingDocSerializer(page, many=True).data)

    @extend_schema(
        tags=TAG,
        summary="Add a document: FAQ, policy, web page (JSON), or a file (multipart) (admin)",
        request={
            "application/json": TrainingDocCreateSerializer,
            "multipart/form-data": TrainingDocUploadSerializer,
        },
        responses={201: TrainingDocSerializer},
    )
    def post(self, request, store_id):
        if request.content_type.startswith("multipart/"):
            serializer = TrainingDocUploadSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            upload = serializer.validated_data["file"]
            check_upload_size(upload)
            doc = services.doc_create_from_upload(
                store=self.store,
                file_name=upload.name,
                file_bytes=upload.read(),
                content_type=upload.content_type or "",
                title=serializer.validated_data["title"],
                created_by=_user(request),
            )
        else:
            serializer = TrainingDocCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            doc = services.doc_create(
                store=self.store, created_by=_user(request), **serializer.validated_data
            )
        return Response(TrainingDocSerializer(doc).data, status=status.HTTP_201_CREATED)


class TrainingDocDetailView(StoreAPIView):
    serializer_class = TrainingDocUpdateSerializer

    @extend_schema(tags=TAG, summary="One training document", responses={200: TrainingDocSerializer})
    def get(self, request, store_id, doc_id):
        return Response(TrainingDocSerializer(selectors.doc_get(store=self.store, doc_id=doc_id)).data)

    @extend_schema(
        tags=TAG,
        summary="Change a document; changed text is re-indexed (admin)",
        responses={200: TrainingDocSerializer},
    )
    def patch(self, request, store_id, doc_id):
        doc = selectors.doc_get(store=self.store, doc_id=doc_id)
        serializer = TrainingDocUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        doc = services.doc_update(store=self.store, doc=doc, **serializer.validated_data)
        doc.refresh_from_db()  # indexing may have run on commit (eager Celery)
        return Response(TrainingDocSerializer(doc).data)

    @extend_schema(tags=TAG, summary="Delete a document and its chunks (admin)", responses={204: None})
    def delete(self, request, store_id, doc_id):
        services.doc_delete(store=self.store, doc=selectors.doc_get(store=self.store, doc_id=doc_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RetrainView(StoreAPIView):
    serializer_class = NoFilters

    @extend_schema(
        tags=TAG,
        summary="Retrain on every document; returns a job to poll (admin)",
        request=None,
        responses={202: TrainingJobSerializer},
    )
    def post(self, request, store_id):
        job = services.training_job_request(store=self.store, requested_by=_user(request))
        return Response(TrainingJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class TrainingJobView(StoreAPIView):
    serializer_class = TrainingJobSerializer

    @extend_schema(
        tags=TAG, summary="A retraining job's status and outcome", responses={200: TrainingJobSerializer}
    )
    def get(self, request, store_id, job_id):
        return Response(
            TrainingJobSerializer(selectors.training_job_get(store=self.store, job_id=job_id)).data
        )
