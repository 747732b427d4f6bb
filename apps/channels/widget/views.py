"""The public widget API (no login) and the widget's pages: loader script, frame, demo storefront.

Views are thin: parse → find the store and switch its scope on → call a widget service → render.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status as http_status
from rest_framework.exceptions import ParseError, Throttled, UnsupportedMediaType
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from apps.channels.widget import services
from apps.channels.widget.serializers import (
    ConversationStartResponseSerializer,
    ConversationStartSerializer,
    MessageSendResponseSerializer,
    MessageSendSerializer,
    WidgetErrorSerializer,
)
from apps.channels.widget.services import WidgetError
from apps.conversations import events
from apps.stores.models import Store
from convix.tenancy import store_scope

WIDGET_JS_DIR = Path(settings.BASE_DIR) / "widget_js"


def client_ip(request) -> str:
    """The shopper's IP: the socket peer, or the proxy's last hop when Convix runs behind one."""
    if settings.SECURE_PROXY_SSL_HEADER and request.META.get("HTTP_X_FORWARDED_FOR"):
        return request.META["HTTP_X_FORWARDED_FOR"].split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


class WidgetIPThrottle(SimpleRateThrottle):
    """Per-IP rate limit (shared by all web processes through the cache)."""

    setting_name = ""

    def get_rate(self):
        return getattr(settings, self.setting_name)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}


class WidgetMessageThrottle(WidgetIPThrottle):
    scope = "widget_message"
    setting_name = "WIDGET_RATE_MESSAGES"


class WidgetConversationThrottle(WidgetIPThrottle):
    scope = "widget_conversation"
    setting_name = "WIDGET_RATE_CONVERSATIONS"


class WidgetConfigThrottle(WidgetIPThrottle):
    scope = "widget_config"
    setting_name = "WIDGET_RATE_CONFIG"


def error_response(code: str, message: str, status: int) -> Response:
    return Response({"error": {"code": code, "message": message}}, status=status)


class WidgetView(APIView):
    """Base of the public widget endpoints: no login, JSON only, size-limited, CORS per store."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    def initial(self, request, *args, **kwargs):
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > settings.WIDGET_MAX_BODY_BYTES:
            raise WidgetError(
                "too_large", f"The request body is larger than {settings.WIDGET_MAX_BODY_BYTES} bytes.", 413
            )
        self.store = services.store_for_widget(kwargs.get("store_id"))
        origin = request.META.get("HTTP_ORIGIN")
        self.cors_origin = None
        if origin:
            with store_scope(self.store):
                is_allowed = services.origin_allowed(self.store, origin, own_host=request.get_host())
            if not is_allowed:
                raise WidgetError(
                    "origin_not_allowed", f"{origin} may not use this store's chat widget.", 403
                )
            self.cors_origin = origin
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc):
        if isinstance(exc, WidgetError):
            return error_response(exc.code, exc.message, exc.status)
        if isinstance(exc, Throttled):
            response = error_response(
                "rate_limited", "Too many requests from this address; please wait a moment.", 429
            )
            if exc.wait:
                response["Retry-After"] = str(int(exc.wait) + 1)
            return response
        if isinstance(exc, ParseError):
            return error_response("invalid_json", "The request body is not valid JSON.", 400)
        if isinstance(exc, UnsupportedMediaType):
            return error_response(
                "unsupported_media_type", "Send JSON (Content-Type: application/json).", 415
            )
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        origin = getattr(self, "cors_origin", None)
        if origin:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Content-Type"
            response["Access-Control-Max-Age"] = "600"
        response["Vary"] = "Origin"
        response["Cache-Control"] = "no-store"
        return response

    def options(self, request, *args, **kwargs):
        return Response(status=http_status.HTTP_204_NO_CONTENT)

    def validated(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        if not isinstance(self.request.data, dict) or not serializer.is_valid():
            errors = (
                serializer.errors
                if isinstance(self.request.data, dict)
                else {"body": ["Send a JSON object."]}
            )
            field, problems = next(iter(errors.items()))
            detail = problems[0] if isinstance(problems, list) and problems else problems
            raise WidgetError("invalid", f"{field}: {detail}", 400)
        return serializer.validated_data


ERRORS = {
    400: OpenApiResponse(WidgetErrorSerializer, description="Invalid input"),
    401: OpenApiResponse(WidgetErrorSerializer, description="Missing, forged or expired conversation token"),
    403: OpenApiResponse(WidgetErrorSerializer, description="Origin not allowed or chat channel inactive"),
    404: OpenApiResponse(WidgetErrorSerializer, description="Unknown or inactive store"),
    413: OpenApiResponse(WidgetErrorSerializer, description="Request body too large"),
    429: OpenApiResponse(
        WidgetErrorSerializer, description="Rate limited, or the plan's monthly limit reached"
    ),
}


class WidgetConfigView(WidgetView):
    throttle_classes = [WidgetConfigThrottle]

    @extend_schema(
        tags=["widget"], auth=[], summary="The widget's appearance and business-hours state", responses=ERRORS
    )
    def get(self, request, store_id):
        with store_scope(self.store):
            return Response(services.widget_config(store=self.store))


class WidgetConversationView(WidgetView):
    throttle_classes = [WidgetConversationThrottle]

    @extend_schema(
        tags=["widget"],
        auth=[],
        summary="Start a conversation (or resume the one a token opens)",
        request=ConversationStartSerializer,
        responses={
            200: ConversationStartResponseSerializer,
            201: ConversationStartResponseSerializer,
            **ERRORS,
        },
    )
    def post(self, request, store_id):
        data = self.validated(ConversationStartSerializer)
        with store_scope(self.store):
            started = services.widget_conversation_start(
                store=self.store,
                token=data.get("conversation") or None,
                customer=data.get("customer"),
                claimed_hash=data.get("identity_hash"),
                page_url=data.get("page_url", ""),
            )
            body = {
                "conversation": started.token,
                "is_new": started.is_new,
                "state": services.widget_state(conversation=started.conversation),
                "messages": services.widget_history(store=self.store, conversation=started.conversation),
            }
        return Response(body, status=201 if started.is_new else 200)


class WidgetMessageView(WidgetView):
    throttle_classes = [WidgetMessageThrottle]

    @extend_schema(
        tags=["widget"],
        auth=[],
        summary="Send the shopper's message; with wait, the reply (or the handoff) in the response",
        request=MessageSendSerializer,
        responses={200: MessageSendResponseSerializer, 202: MessageSendResponseSerializer, **ERRORS},
    )
    def post(self, request, store_id):
        data = self.validated(MessageSendSerializer)
        with store_scope(self.store):
            conversation = services.conversation_from_token(store=self.store, token=data["conversation"])
            message, _ = services.widget_message_send(
                store=self.store,
                conversation=conversation,
                text=data["text"],
                client_id=data.get("client_id"),
            )
            reply = None
            if data["wait"]:
                reply = services.reply_wait(
                    store=self.store, message=message, timeout=settings.WIDGET_WAIT_SECONDS
                )
            conversation.refresh_from_db(fields=["status"])
            body = {
                "message": events.widget_message(message),
                "reply": events.widget_message(reply) if reply else None,
                "status": conversation.status,
                "trigger": (reply.metadata or {}).get("handoff_trigger") if reply else None,
                "pending": reply is None,
            }
        return Response(body, status=200 if reply else 202)


# --- pages -----------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _widget_file(name: str) -> bytes:
    return (WIDGET_JS_DIR / name).read_bytes()


@require_GET
def loader_script(request):
    """``/widget.js``: the one script a merchant puts on their pages."""
    response = HttpResponse(_widget_file("widget.js"), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def frame_asset(request, name):
    """The widget frame's own script and stylesheet (served from Convix, so the CSP can say 'self')."""
    types = {"frame.js": "application/javascript", "frame.css": "text/css"}
    if name not in types:
        raise Http404("No such widget file.")
    response = HttpResponse(_widget_file(name), content_type=f"{types[name]}; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response


@xframe_options_exempt  # frame-ancestors (below) says who may embed it
@require_GET
def frame(request, store_id):
    """The widget itself, inside an iframe: isolated from the host page's CSS and JS.

    Strict CSP (no inline script or style), and ``frame-ancestors`` limited to the store's allowed
    domains, so another site cannot embed this store's chat.
    """
    try:
        store = services.store_for_widget(store_id)
    except WidgetError as error:
        raise Http404(error.message) from error
    with store_scope(store):
        ancestors = services.frame_ancestors(store)
    host = request.get_host()
    ws_scheme = "wss" if request.is_secure() else "ws"
    response = render(request, "widget/frame.html", {"store_id": str(store.id)})
    response["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
        f"connect-src 'self' {ws_scheme}://{host}; frame-ancestors {ancestors}; base-uri 'none'; form-action 'none'"
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


def demo_storefront(request):
    """A mock storefront of the demo store with the widget embedded: the shoppers' landing."""
    from apps.conversations.evaluation import DEMO_SLUG

    store = Store.objects.filter(slug=DEMO_SLUG, is_active=True).first()
    if store is None:
        return render(request, "widget/demo_missing.html", status=404)
    with store_scope(store):
        from apps.stores.models import Product

        # One featured product per category, the dearest of each.
        featured = {}
        for product in Product.objects.filter(store=store, is_active=True).order_by("category", "-price"):
            featured.setdefault(product.category, product)
        products = list(featured.values())[:8]
    response = render(request, "widget/demo.html", {"store": store, "products": products})
    response["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
        "frame-src 'self'; connect-src 'self'"
    )
    return response
