"""The routes, through FastAPI's TestClient (no Lambda, no Mangum)."""

from fastapi.testclient import TestClient

from api import app, create_app

client = TestClient(app)


def test_root_returns_greeting() -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.json() == {"message": "Hello from FastAPI on AWS Lambda"}


def test_health() -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_unknown_path_is_404() -> None:
    assert client.get("/no-such-route").status_code == 404


def test_docs_load_the_openapi_document() -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {"/", "/health"}


def test_docs_behind_a_stage_prefix() -> None:
    # A REST API stage puts /dev in front of every path: /docs must then fetch /dev/openapi.json.
    staged = TestClient(create_app(root_path="/dev"))
    docs = staged.get("/docs")
    assert docs.status_code == 200
    assert "'/dev/openapi.json'" in docs.text or '"/dev/openapi.json"' in docs.text
    assert staged.get("/health").json() == {"status": "ok"}
