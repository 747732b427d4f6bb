"""For every store endpoint: no credentials → 401, an outsider → 404, a too-low role → 403,
another store's object → 404; and after every denial nothing changed."""

from __future__ import annotations

import pytest

from apps.accounts.models import UserRole
from apps.channels.models import Channel
from apps.conversations.models import Conversation, Customer, Message
from apps.handoff.models import Handoff
from apps.stores.models import ApiKey, Order, Product, Store, StoreSettings
from apps.training.models import TrainingDoc, TrainingJob
from convix.tenancy import unscoped
from tests.api.conftest import client_for, error_of
from tests.factories import ChannelFactory, ConversationFactory, MessageFactory, TrainingDocFactory

A, OWN = UserRole.ADMIN, UserRole.OWNER
AG = UserRole.AGENT

# (method, path under /v1/stores/{store}/, least role, body, kind of object in the path)
ENDPOINTS = [
    ("get", "", AG, None, None),
    ("patch", "", A, {"name": "Renamed"}, None),
    ("delete", "?confirm={slug}", OWN, None, None),
    ("get", "settings", A, None, None),
    ("patch", "settings", A, {"greeting": "Hello there"}, None),
    ("get", "api-keys", A, None, None),
    ("post", "api-keys", A, {"name": "CI"}, None),
    ("delete", "api-keys/{obj}", A, None, "api_key"),
    ("post", "catalog/import", A, {"customers": [{"email": "new@example.com"}]}, None),
    ("get", "conversations", AG, None, None),
    ("get", "conversations/{obj}", AG, None, "conversation"),
    ("patch", "conversations/{obj}", AG, {"status": "RESOLVED"}, "conversation"),
    ("post", "conversations/{obj}/handoff", AG, {}, "conversation"),
    ("get", "analytics/overview", A, None, None),
    ("get", "analytics/volume", A, None, None),
    ("get", "analytics/channels", A, None, None),
    ("get", "analytics/questions", A, None, None),
    ("get", "analytics/handoffs", A, None, None),
    ("get", "channels", A, None, None),
    ("post", "channels", A, {"type": "SLACK", "config": {"team_id": "T0NEW", "bot_token": "xoxb-1"}}, None),
    ("get", "channels/{obj}", A, None, "channel"),
    ("patch", "channels/{obj}", A, {"name": "Renamed"}, "channel"),
    ("delete", "channels/{obj}", A, None, "channel"),
    ("post", "channels/{obj}/test", A, {}, "channel"),
    ("get", "training", AG, None, None),
    ("post", "training", A, {"type": "FAQ", "title": "Q?", "content": "A."}, None),
    ("get", "training/{obj}", AG, None, "doc"),
    ("patch", "training/{obj}", A, {"title": "New title"}, "doc"),
    ("delete", "training/{obj}", A, None, "doc"),
    ("post", "training/retrain", A, {}, None),
    ("get", "training/jobs/{obj}", AG, None, "job"),
]
IDS = [f"{method.upper()} {path or '/'}" for method, path, *_ in ENDPOINTS]


def _objects(store):
    with unscoped("tests"):
        conversation = ConversationFactory(store=store)
        MessageFactory(conversation=conversation, content="Where is my order?")
        return {
            "conversation": conversation,
            "channel": ChannelFactory(store=store),
            "doc": TrainingDocFactory(store=store),
            "job": TrainingJob.objects.create(store=store),
            "api_key": ApiKey.objects.create(store=store, name="k", prefix="cvx_x", key_hash=f"h-{store.pk}"),
        }


@pytest.fixture
def world(store, other_store, owner, admin, agent):
    return {"a": _objects(store), "b": _objects(other_store)}


MODELS = [
    Store,
    StoreSettings,
    ApiKey,
    Conversation,
    Message,
    Handoff,
    Customer,
    Channel,
    TrainingDoc,
    TrainingJob,
    Product,
    Order,
]


def snapshot() -> dict:
    with unscoped("tests"):
        return {
            model.__name__: sorted(
                (tuple(sorted((k, str(v)) for k, v in row.items())) for row in model.objects.all().values()),
            )
            for model in MODELS
        }


def _url(store, path, obj=None):
    path = path.replace("{slug}", store.slug).replace("{obj}", str(obj.pk) if obj else "")
    return f"/v1/stores/{store.pk}/{path}".replace("/?", "?").rstrip("/")


def _call(client, method, url, body):
    return (
        getattr(client, method)(url, body, format="json")
        if body is not None
        else getattr(client, method)(url)
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "role", "body", "kind"), ENDPOINTS, ids=IDS)
def test_unauthenticated_gets_401(world, store, anonymous_client, method, path, role, body, kind):
    before = snapshot()
    response = _call(anonymous_client, method, _url(store, path, world["a"].get(kind)), body)
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "role", "body", "kind"), ENDPOINTS, ids=IDS)
def test_outsider_gets_404(world, store, outsider_client, method, path, role, body, kind):
    before = snapshot()
    response = _call(outsider_client, method, _url(store, path, world["a"].get(kind)), body)
    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found", "message": "No such store.", "fields": {}}
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "role", "body", "kind"), ENDPOINTS, ids=IDS)
def test_member_of_another_store_gets_404_for_it(
    world, other_store, owner_client, method, path, role, body, kind
):
    before = snapshot()
    response = _call(owner_client, method, _url(other_store, path, world["b"].get(kind)), body)
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "role", "body", "kind"),
    [e for e in ENDPOINTS if e[2] != AG],
    ids=[i for i, e in zip(IDS, ENDPOINTS, strict=True) if e[2] != AG],
)
def test_too_low_role_gets_403(world, store, agent, admin, method, path, role, body, kind):
    user = agent if role == A else admin
    before = snapshot()
    response = _call(client_for(user), method, _url(store, path, world["a"].get(kind)), body)
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert snapshot() == before


OBJECT_ENDPOINTS = [e for e in ENDPOINTS if e[4]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "role", "body", "kind"),
    OBJECT_ENDPOINTS,
    ids=[i for i, e in zip(IDS, ENDPOINTS, strict=True) if e[4]],
)
def test_other_stores_object_is_404_and_unchanged(world, store, owner_client, method, path, role, body, kind):
    before = snapshot()
    response = _call(owner_client, method, _url(store, path, world["b"][kind]), body)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "role", "body", "kind"), ENDPOINTS, ids=IDS)
def test_least_role_succeeds(
    world, store, owner, admin, agent, method, path, role, body, kind, django_capture_on_commit_callbacks
):
    user = {AG: agent, A: admin, OWN: owner}[role]
    response = _call(client_for(user), method, _url(store, path, world["a"].get(kind)), body)
    assert response.status_code in (200, 201, 202, 204), response.content
