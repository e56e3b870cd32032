"""docs/backend-openapi.yaml parses and documents exactly the routes of the app.

(Every answer the API tests receive is also validated against it: `conftest.call`.)
"""
from __future__ import annotations

import yaml

from standins.gov_backend.app import create_app
from tests.fixtures.gov_backend import OPENAPI_PATH, _deref

METHODS = {"get", "post", "put", "patch", "delete"}


def _documented(doc):
    return {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }


def test_openapi_lists_every_route_of_the_app(tmp_path):
    doc = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    assert str(doc["openapi"]).startswith("3.")
    app = create_app(f"sqlite:///{tmp_path / 'unused.db'}", ["x"])
    routes = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD"
    }
    assert routes == _documented(doc)


def test_openapi_is_self_consistent():
    doc = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    assert "bearer" == doc["components"]["securitySchemes"]["serviceToken"]["scheme"]
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            public = operation.get("security") == []
            assert public == (path == "/healthz"), path
            if not public:
                assert "401" in operation["responses"], (method, path)
            assert "200" in operation["responses"], (method, path)
            names = {
                _deref(doc, p)["name"] for p in operation.get("parameters", [])
                if _deref(doc, p)["in"] == "path"
            }
            assert names == {part[1:-1] for part in path.split("/") if part.startswith("{")}
            for response in operation["responses"].values():
                _deref(doc, response)  # every reference resolves

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                _deref(doc, node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)


def test_backend_doc_lists_the_demo_data_credential_and_outbox():
    from standins.gov_backend import DEV_TOKEN
    from standins.gov_backend import seed as demo

    text = (OPENAPI_PATH.parent / "backend.md").read_text(encoding="utf-8")
    assert DEV_TOKEN in text and "var/sms-outbox.jsonl" in text
    for person in demo.PEOPLE:
        assert person["id_number"] in text and person["phone"] in text, person["name"]
    for enterprise in demo.ENTERPRISES:
        assert enterprise["credit_code"] in text, enterprise["name"]
    for application in demo.APPLICATIONS:
        row = application["row"]
        assert f"`{row['number']}` | {row['matter_code']}" in text, row["number"]
