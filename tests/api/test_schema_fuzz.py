"""The OpenAPI schema, fuzzed: schemathesis sends generated requests to every operation of the
live schema (in process, through the WSGI app, on the test database) and every answer must be
a non-5xx response that the schema documents (status, content type, headers and body).

Bounded: a few examples per operation, so the run stays in the suite's budget.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken

from apps.stores.models import ApiKey
from apps.training.models import TrainingJob
from convix.tenancy import unscoped
from tests.factories import ChannelFactory, ConversationFactory, MessageFactory, TrainingDocFactory

EXAMPLES_PER_OPERATION = 6

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]


def _live_schema():
    """The schema served at /v1/schema, fetched through the WSGI app (no database needed)."""
    from convix.wsgi import application

    return schemathesis.openapi.from_wsgi("/v1/schema", application)


@pytest.fixture
def _keep_test_connection():
    """As Django's test client does: the WSGI handler must not close the test's connection (and
    its open transaction) at the end of each request."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


schema = _live_schema()


def test_schema_documents_every_route():
    """Every route of convix/api/urls.py is in the schema, with a summary and its errors."""
    from django.urls import URLPattern
    from drf_spectacular.generators import SchemaGenerator

    from convix.api import urls

    generated = SchemaGenerator().get_schema(request=None, public=True)
    documented = {path.replace("{", "<").replace("}", ">") for path in generated["paths"]}
    routes = {
        "/v1/" + str(pattern.pattern).replace("<uuid:", "<")
        for pattern in urls.urlpatterns
        if isinstance(pattern, URLPattern) and not str(pattern.pattern).startswith(("schema", "docs"))
    }
    assert routes - documented == set()
    for path, operations in generated["paths"].items():
        if not path.startswith(("/v1/auth/", "/v1/stores")):
            continue  # the widget's endpoints belong to their own issue
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
            assert "400" in operation["responses"] and "429" in operation["responses"], path


@pytest.fixture
def fuzz_world(store, owner, settings):
    settings.API_THROTTLE_RATES = {
        "auth": "100000/min",
        "public": "100000/min",
        "store": "100000/min",
        "user": "100000/min",
    }
    settings.ALLOW_PRIVATE_URLS = False
    with unscoped("tests"):
        conversation = ConversationFactory(store=store)
        MessageFactory(conversation=conversation)
        ids = {
            "store_id": store.pk,
            "conversation_id": conversation.pk,
            "channel_id": ChannelFactory(store=store).pk,
            "doc_id": TrainingDocFactory(store=store).pk,
            "job_id": TrainingJob.objects.create(store=store).pk,
            "key_id": ApiKey.objects.create(store=store, name="k", prefix="cvx_x", key_hash="fuzz").pk,
        }
    return {
        "ids": {k: str(v) for k, v in ids.items()},
        "token": str(RefreshToken.for_user(owner).access_token),
    }


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case, fuzz_world, _keep_test_connection):
    for name in list(case.path_parameters or {}):
        if name in fuzz_world["ids"]:
            case.path_parameters[name] = fuzz_world["ids"][name]
    headers = {"Authorization": f"Bearer {fuzz_world['token']}"}
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS)


@pytest.mark.django_db
def test_schema_and_docs_pages_are_public(client):
    schema_response = client.get("/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema_response.status_code == 200
    assert schema_response.json()["info"]["title"] == "Convix API"
    docs = client.get("/v1/docs")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content and b"/static/drf_spectacular_sidecar/" in docs.content
    assert client.get("/v1/docs/redoc").status_code == 200


@pytest.mark.django_db
def test_unknown_v1_path_is_a_json_404(client):
    response = client.get("/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "Not found.", "fields": {}}
