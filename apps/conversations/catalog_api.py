"""``POST /v1/stores/<store_id>/catalog/import``: the custom platform's products, orders and
customers, as JSON or CSV (see the serializers for the columns)."""

from __future__ import annotations

import csv
import io

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from apps.conversations.imports import catalog_import
from apps.stores.models import OrderStatus
from convix.api.serializers import NUL_MESSAGE, Serializer
from convix.api.uploads import check_upload_size
from convix.api.views import StoreAPIView

MAX_ROWS = 1000


class PriceTierSerializer(Serializer):
    min_quantity = serializers.IntegerField(min_value=1)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)


class VariantImportSerializer(Serializer):
    sku = serializers.CharField(max_length=100)
    title = serializers.CharField(max_length=200, required=False, default="Default")
    options = serializers.DictField(child=serializers.CharField(max_length=100), required=False, default=dict)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    stock = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)


class ProductImportSerializer(Serializer):
    sku = serializers.CharField(max_length=100)
    title = serializers.CharField(max_length=300)
    description = serializers.CharField(required=False, allow_blank=True, max_length=100_000)
    category = serializers.CharField(required=False, allow_blank=True, max_length=120)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)
    url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    image_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    is_active = serializers.BooleanField(required=False)
    stock = serializers.IntegerField(
        min_value=0, max_value=10_000_000, required=False, help_text="Stock when the product has no variants."
    )
    variants = VariantImportSerializer(many=True, required=False, max_length=200)
    b2b_price_tiers = PriceTierSerializer(many=True, required=False, max_length=20)

    def validate_b2b_price_tiers(self, tiers):
        return [{"min_quantity": t["min_quantity"], "price": str(t["price"])} for t in tiers]


class OrderItemSerializer(Serializer):
    sku = serializers.CharField(max_length=100)
    title = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        return {**value, "unit_price": str(value["unit_price"])}


class OrderImportSerializer(Serializer):
    number = serializers.CharField(max_length=50)
    email = serializers.EmailField()
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)
    items = OrderItemSerializer(many=True, required=False, max_length=500)
    total = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)
    carrier = serializers.CharField(max_length=40, required=False, allow_blank=True)
    tracking_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tracking_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    placed_at = serializers.DateTimeField()


class CustomerImportSerializer(Serializer):
    email = serializers.EmailField()
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    is_b2b = serializers.BooleanField(required=False)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    account_rep_email = serializers.EmailField(
        required=False, allow_blank=True, help_text="A member of the store who looks after this B2B account."
    )


class CatalogImportSerializer(Serializer):
    """The JSON import. Every list is optional; at most 1000 rows of each per request."""

    products = ProductImportSerializer(many=True, required=False, max_length=MAX_ROWS)
    orders = OrderImportSerializer(many=True, required=False, max_length=MAX_ROWS)
    customers = CustomerImportSerializer(many=True, required=False, max_length=MAX_ROWS)

    def validate(self, attrs):
        if not any(attrs.get(kind) for kind in ("products", "orders", "customers")):
            raise serializers.ValidationError("Send at least one product, order or customer.")
        for kind, key in (("products", "sku"), ("orders", "number"), ("customers", "email")):
            seen = set()
            for index, row in enumerate(attrs.get(kind, [])):
                value = str(row[key]).lower()
                if value in seen:
                    raise serializers.ValidationError(
                        {f"{kind}.{index}.{key}": ["Appears twice in this import."]}
                    )
                seen.add(value)
        return attrs


class CsvUploadSerializer(Serializer):
    kind = serializers.ChoiceField(choices=["products", "orders", "customers"])
    file = serializers.FileField(help_text="UTF-8 CSV with a header row.")


class CountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()


class ImportResultSerializer(serializers.Serializer):
    products = CountsSerializer()
    orders = CountsSerializer()
    customers = CountsSerializer()
    catalog_doc_id = serializers.UUIDField(
        allow_null=True,
        help_text="The catalog training document queued for re-indexing, when products were imported.",
    )


class CSVParser(BaseParser):
    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        if b"\x00" in raw:
            raise ParseError(NUL_MESSAGE)
        return {"__csv__": raw}


# --- CSV rows to the JSON shape ---------------------------------------------------------------


def _blank_to_none(row: dict) -> dict:
    return {k.strip(): v.strip() for k, v in row.items() if k and v is not None and v.strip() != ""}


def _pairs(text: str, names: tuple[str, ...]) -> list[dict]:
    """``"10:199.00;50:179.00"`` → ``[{"min_quantity": "10", "price": "199.00"}, ...]``."""
    result = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        values = part.split(":")
        result.append(dict(zip(names, values, strict=False)))
    return result


def csv_rows(kind: str, raw: bytes) -> list[dict]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise serializers.ValidationError({"file": ["The CSV must be UTF-8 text."]}) from None
    if "\x00" in text:
        raise serializers.ValidationError({"file": [NUL_MESSAGE]})
    reader = csv.DictReader(io.StringIO(text))
    rows = [_blank_to_none(row) for row in reader]
    if len(rows) > MAX_ROWS * 10:
        raise serializers.ValidationError({"file": [f"At most {MAX_ROWS} rows per import."]})
    if kind == "products":
        products: dict[str, dict] = {}
        for row in rows:
            variant = {
                key.removeprefix("variant_"): row.pop(key) for key in list(row) if key.startswith("variant_")
            }
            if "b2b_price_tiers" in row:
                row["b2b_price_tiers"] = _pairs(row["b2b_price_tiers"], ("min_quantity", "price"))
            product = products.setdefault(row.get("sku", f"?{len(products)}"), row)
            if variant:
                product.setdefault("variants", []).append(variant)
        return list(products.values())
    if kind == "orders":
        for row in rows:
            if "items" in row:
                row["items"] = [
                    {**item, "title": ""} for item in _pairs(row["items"], ("sku", "quantity", "unit_price"))
                ]
        return rows
    return rows


class CatalogImportView(StoreAPIView):
    serializer_class = CatalogImportSerializer
    parser_classes = [JSONParser, CSVParser, MultiPartParser]

    @extend_schema(
        tags=["catalog"],
        summary="Import products, orders and customers (custom platform; admin)",
        description=(
            "Idempotent: products by SKU, orders by number, customers by email. All or nothing. "
            "Imported products are indexed into the agent's knowledge.\n\n"
            "**CSV**: send `text/csv` with `?kind=products|orders|customers`, or multipart with "
            "`kind` and `file`. Columns are the JSON fields; products may add `variant_sku`, "
            "`variant_title`, `variant_price`, `variant_stock` (one row per variant, same `sku`) "
            "and `b2b_price_tiers` as `10:199.00;50:179.00`; orders give `items` as "
            "`SKU:quantity:unit_price;...`."
        ),
        parameters=[
            OpenApiParameter(
                "kind",
                str,
                enum=["products", "orders", "customers"],
                required=False,
                description="For a text/csv body.",
            )
        ],
        request={
            "application/json": CatalogImportSerializer,
            "text/csv": {"type": "string"},
            "multipart/form-data": CsvUploadSerializer,
        },
        responses={200: ImportResultSerializer},
        examples=[
            OpenApiExample(
                "Products",
                request_only=True,
                media_type="application/json",
                value={
                    "products": [
                        {
                            "sku": "TENT-2P",
                            "title": "Two-person tent",
                            "price": "249.00",
                            "category": "Tents",
                            "stock": 12,
                        }
                    ]
                },
            )
        ],
    )
    def post(self, request, store_id):
        if request.content_type.startswith("text/csv"):
            kind = request.query_params.get("kind")
            if kind not in ("products", "orders", "customers"):
                raise serializers.ValidationError({"kind": ["Give ?kind=products, orders or customers."]})
            raw = request.data["__csv__"]
            payload = {kind: csv_rows(kind, raw)}
        elif request.content_type.startswith("multipart/"):
            upload = CsvUploadSerializer(data=request.data)
            upload.is_valid(raise_exception=True)
            file = upload.validated_data["file"]
            check_upload_size(file)
            kind = upload.validated_data["kind"]
            payload = {kind: csv_rows(kind, file.read())}
        else:
            payload = request.data
        serializer = CatalogImportSerializer(data=payload)
        serializer.is_valid(raise_exception=True)
        result = catalog_import(store=self.store, **serializer.validated_data)
        return Response(ImportResultSerializer(result).data, status=status.HTTP_200_OK)
