"""The OpenAPI document tells the truth about errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from segmentd.api.app import create_app
from segmentd.api.common.schema_parts import TEXT_PATTERN
from segmentd.domain.ids import MAX_ID


def test_no_operation_documents_422_and_bad_input_is_a_400() -> None:
    document = create_app().openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            if operation.get("parameters") or operation.get("requestBody"):
                assert "400" in responses, (method, path)


def _schemas_of_request_bodies(document: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    components = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                continue
            schema = next((c for c in schema.get("anyOf", []) if "$ref" in c), schema)
            if "$ref" in schema:
                schema = components[schema["$ref"].rsplit("/", 1)[-1]]
            yield f"{method.upper()} {path}", schema


def test_every_body_field_states_its_type() -> None:
    """No request field is left untyped (``{}``): each says what the server accepts."""
    document = create_app().openapi()
    for label, schema in _schemas_of_request_bodies(document):
        for name, field in schema.get("properties", {}).items():
            stated = {"type", "anyOf", "oneOf", "allOf", "$ref", "enum", "const"}
            assert stated & set(field), (label, name, field)
        assert schema["propertyNames"] == {"pattern": TEXT_PATTERN}, label


def test_ranges_of_ids_and_offsets_are_stated() -> None:
    document = create_app().openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                if parameter["name"] in ("offset", "list_id", "site_id", "job_id"):
                    ranged = schema.get("anyOf", [schema])[0]
                    assert ranged["maximum"] == MAX_ID == 2**53 - 1, (method, path, parameter)
                    assert ranged["minimum"] in (0, 1), (method, path, parameter)
                if parameter["name"] == "limit":
                    # The history's feeds page by 1,000: consumers read them in bulk.
                    most = 1000 if path.endswith("/changes") else 100
                    assert (schema["minimum"], schema["maximum"]) == (1, most), path


def test_required_bodies_do_not_offer_null() -> None:
    document = create_app().openapi()
    body = document["paths"]["/v1/marketing/lists/segments"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SegmentCreate"
    }
