"""The Lambda handler, invoked the way API Gateway's HTTP API does (payload format 2.0)."""

import base64
import json

from main import handler


class FakeContext:
    function_name = "api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:api"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 29_000


def http_api_event(method: str, path: str, query: str = "") -> dict:
    """An API Gateway HTTP API v2 event for the `$default` route that `httpApi: '*'` creates."""
    host = "abc123.execute-api.us-east-1.amazonaws.com"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "cookies": [],
        "headers": {
            "accept": "*/*",
            "host": host,
            "user-agent": "pytest",
            "x-forwarded-for": "203.0.113.7",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": host,
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "pytest",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2025:00:00:00 +0000",
            "timeEpoch": 1735689600000,
        },
        "isBase64Encoded": False,
    }


def invoke(method: str, path: str) -> tuple[int, str]:
    response = handler(http_api_event(method, path), FakeContext())
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return response["statusCode"], body


def test_handler_root() -> None:
    status, body = invoke("GET", "/")
    assert status == 200
    assert json.loads(body) == {"message": "Hello from FastAPI on AWS Lambda"}


def test_handler_health() -> None:
    status, body = invoke("GET", "/health")
    assert status == 200
    assert json.loads(body) == {"status": "ok"}


def test_handler_docs_and_openapi() -> None:
    status, body = invoke("GET", "/docs")
    assert status == 200
    assert "/openapi.json" in body
    status, body = invoke("GET", "/openapi.json")
    assert status == 200
    assert "/health" in json.loads(body)["paths"]


def test_handler_unknown_path() -> None:
    status, _ = invoke("GET", "/no-such-route")
    assert status == 404
