"""The OpenAPI document tells the truth about errors."""

from __future__ import annotations

from segmentd.api.app import create_app


def test_no_operation_documents_422_and_bad_input_is_a_400() -> None:
    document = create_app().openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            if operation.get("parameters") or operation.get("requestBody"):
                assert "400" in responses, (method, path)
