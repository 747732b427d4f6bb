"""WebSocket consumers: the shopper's widget socket and the team's dashboard socket.

Both are thin: parse a frame → authorize → call a service (in a worker thread) → answer. What
they forward comes from ``apps.conversations.events`` only, and each socket joins exactly one
audience group: a widget socket its own conversation's, a dashboard socket its own store's.

Frames are JSON objects with a ``type``. Anything else (not JSON, not an object, unknown type,
too large, too many) gets ``{"type": "error", "code": ...}``; a socket that floods is closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from apps.conversations import events
from convix.tenancy import store_scope

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 16_384
JOIN_TIMEOUT_SECONDS = 20
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_FLOOD = 4429


class JsonFrameConsumer(AsyncWebsocketConsumer):
    """Frame parsing, flood control and error replies shared by both sockets."""

    group: str | None = None

    async def connect(self):
        self.frame_times: list[float] = []
        await self.open()

    async def open(self):  # pragma: no cover - overridden
        raise NotImplementedError

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        now = time.monotonic()
        self.frame_times = [t for t in self.frame_times if now - t < 10.0] + [now]
        if len(self.frame_times) > settings.WIDGET_SOCKET_FRAMES_PER_10S:
            await self.send_error("rate_limited", "Too many frames; this socket is closed.")
            await self.close(code=CLOSE_FLOOD)
            return
        if text_data is None or len(text_data) > MAX_FRAME_BYTES:
            await self.send_error("invalid_frame", "Send JSON text frames of at most 16 KB.")
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self.send_error("invalid_json", "The frame is not valid JSON.")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error("invalid_frame", 'Send a JSON object with a "type".')
            return
        await self.handle(frame)

    async def handle(self, frame: dict):  # pragma: no cover - overridden
        raise NotImplementedError

    async def send_json(self, content: dict):
        await self.send(text_data=json.dumps(content, separators=(",", ":")))

    async def send_error(self, code: str, message: str, **extra):
        await self.send_json({"type": "error", "code": code, "message": message, **extra})

    async def realtime_event(self, message):
        """An event from ``apps.conversations.events`` for this socket's group."""
        await self.send_json(message["event"])


class WidgetConsumer(JsonFrameConsumer):
    """``/ws/widget/<store_id>/``: one shopper, one conversation.

    The first frame must be ``{"type": "join", "conversation": TOKEN}`` (a token in the URL would
    end up in access logs). Then: ``message`` {text, client_id}, ``ping``. Server frames: ``joined``
    (state and the messages, for resuming), ``message``, ``typing``, ``conversation`` (status and
    the agent's name), ``ack``, ``pong``, ``error``.
    """

    async def open(self):
        from apps.channels.widget import services

        self.store = None
        self.conversation_id = None
        try:
            self.store = await database_sync_to_async(services.store_for_widget)(
                self.scope["url_route"]["kwargs"]["store_id"]
            )
        except services.WidgetError:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        origin = dict(self.scope.get("headers", [])).get(b"origin", b"").decode("latin-1")
        host = dict(self.scope.get("headers", [])).get(b"host", b"").decode("latin-1")
        if origin and not await database_sync_to_async(self._origin_allowed)(origin, host):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.accept()
        self.join_timer = asyncio.get_running_loop().call_later(
            JOIN_TIMEOUT_SECONDS, lambda: asyncio.ensure_future(self._join_timeout())
        )

    def _origin_allowed(self, origin: str, host: str) -> bool:
        from apps.channels.widget import services

        with store_scope(self.store):
            return services.origin_allowed(self.store, origin, own_host=host)

    async def _join_timeout(self):
        if self.conversation_id is None:
            await self.send_error("join_timeout", "No conversation joined; closing.")
            await self.close(code=CLOSE_UNAUTHORIZED)

    async def disconnect(self, code):
        timer = getattr(self, "join_timer", None)
        if timer:
            timer.cancel()
        await super().disconnect(code)

    async def handle(self, frame: dict):
        kind = frame["type"]
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "join":
            await self.join(frame)
        elif self.conversation_id is None:
            await self.send_error("not_joined", 'Send {"type": "join", "conversation": TOKEN} first.')
        elif kind == "message":
            await self.message(frame)
        else:
            await self.send_error("unknown_type", f"Unknown frame type {kind[:40]!r}.")

    def _conversation_id(self, token):
        from apps.channels.widget import services

        with store_scope(self.store):
            return services.conversation_from_token(store=self.store, token=token).id

    def _snapshot(self):
        from apps.channels.widget import services
        from apps.conversations.models import Conversation

        with store_scope(self.store):
            conversation = Conversation.objects.select_related("assigned_agent").get(
                store=self.store, pk=self.conversation_id
            )
            return (
                services.widget_state(conversation=conversation),
                services.widget_history(store=self.store, conversation=conversation),
            )

    async def join(self, frame: dict):
        from apps.channels.widget import services

        try:
            conversation_id = await database_sync_to_async(self._conversation_id)(frame.get("conversation"))
        except services.WidgetError as error:
            await self.send_error(error.code, error.message)
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        if self.group and self.group != events.widget_group(conversation_id):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        self.conversation_id = conversation_id
        self.group = events.widget_group(conversation_id)
        # Listen first, then read: an event raised in between arrives twice (the widget dedupes by
        # id) rather than never.
        await self.channel_layer.group_add(self.group, self.channel_name)
        state, history = await database_sync_to_async(self._snapshot)()
        await self.send_json({"type": "joined", "state": state, "messages": history})

    def _send_message(self, text, client_id):
        from apps.channels.widget import services
        from apps.conversations.models import Conversation

        with store_scope(self.store):
            conversation = Conversation.objects.get(store=self.store, pk=self.conversation_id)
            message, _ = services.widget_message_send(
                store=self.store, conversation=conversation, text=text, client_id=client_id
            )
            return str(message.id)

    async def message(self, frame: dict):
        from apps.channels.widget import services

        client_id = frame.get("client_id")
        try:
            message_id = await database_sync_to_async(self._send_message)(frame.get("text"), client_id)
        except services.WidgetError as error:
            await self.send_error(error.code, error.message, client_id=client_id)
            return
        await self.send_json({"type": "ack", "client_id": client_id, "message_id": message_id})


class DashboardConsumer(JsonFrameConsumer):
    """``/ws/dashboard/<store_id>/``: the store's members (session login), nobody else.

    Server frames: ``conversation:new``, ``conversation:updated``, ``message:new``,
    ``handoff:triggered``, ``analytics:update``, ``ack``, ``error``. Client frames:
    ``agent:join-conversation`` {conversation_id}, ``agent:message`` {conversation_id, text},
    ``agent:resolve`` {conversation_id, learning_note}.
    """

    ACTIONS = ("agent:join-conversation", "agent:message", "agent:resolve")

    async def open(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.user = user
        self.membership = await database_sync_to_async(self._membership)()
        if self.membership is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.store = self.membership.store
        self.group = events.dashboard_group(self.store.id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    def _membership(self):
        from django.http import Http404

        from apps.stores.selectors import membership_get

        try:
            return membership_get(user=self.user, store_id=self.scope["url_route"]["kwargs"]["store_id"])
        except (Http404, PermissionError):
            return None

    def _act(self, kind: str, frame: dict) -> dict:
        from apps.handoff import services

        conversation_id = frame.get("conversation_id")
        with store_scope(self.store):
            if kind == "agent:join-conversation":
                conversation = services.conversation_join(
                    store=self.store, conversation_id=conversation_id, agent=self.user
                )
                return {"conversation_id": str(conversation.id), "status": conversation.status}
            if kind == "agent:message":
                message = services.agent_message_send(
                    store=self.store, conversation_id=conversation_id, agent=self.user, text=frame.get("text")
                )
                return {"conversation_id": str(message.conversation_id), "message_id": str(message.id)}
            conversation = services.conversation_resolve(
                store=self.store,
                conversation_id=conversation_id,
                agent=self.user,
                learning_note=str(frame.get("learning_note") or ""),
            )
            return {"conversation_id": str(conversation.id), "status": conversation.status}

    async def handle(self, frame: dict):
        from apps.handoff.services import AgentActionError

        kind = frame["type"]
        if kind not in self.ACTIONS:
            await self.send_error("unknown_type", f"Unknown frame type {kind[:40]!r}.")
            return
        # A membership removed while connected ends the session's rights at the next action.
        if await database_sync_to_async(self._membership)() is None:
            await self.send_error("forbidden", "You are no longer a member of this store.")
            await self.close(code=CLOSE_FORBIDDEN)
            return
        try:
            result = await database_sync_to_async(self._act)(kind, frame)
        except AgentActionError as error:
            await self.send_error(error.code, error.message, action=kind, request_id=frame.get("request_id"))
            return
        await self.send_json({"type": "ack", "action": kind, "request_id": frame.get("request_id"), **result})
