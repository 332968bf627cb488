"""Invokes a Lambda handler from a Serverless artifact with an API Gateway HTTP API (payload 2.0) event.

Usage: python3 -S -B invoke.py ARTIFACT.zip MODULE.FUNCTION PATH...
-S keeps site-packages out, so the handler runs on the zip's contents and the standard library only;
-B and a read-only copy make it run as on Lambda, whose /var/task Python cannot write bytecode to.
Prints one JSON line per path: {"path", "statusCode", "body"}.
"""
import atexit
import importlib
import json
import os
import shutil
import sys
import tempfile
import zipfile

artifact, handler_name, *paths = sys.argv[1:]
root = tempfile.mkdtemp(prefix="artifact-")
atexit.register(shutil.rmtree, root, ignore_errors=True)
zipfile.ZipFile(artifact).extractall(root)
for folder, _, files in os.walk(root):
    for name in files:
        os.chmod(os.path.join(folder, name), 0o444)
atexit.register(lambda: [os.chmod(os.path.join(f, n), 0o644) for f, _, ns in os.walk(root) for n in ns])
sys.path.insert(0, root)
module_name, function_name = handler_name.rsplit(".", 1)
handler = getattr(importlib.import_module(module_name), function_name)
assert importlib.import_module("fastapi").__file__.startswith(root), "fastapi must come from the artifact"

for path in paths:
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "example.execute-api.us-east-1.amazonaws.com", "accept": "application/json"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "example",
            "domainName": "example.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "example",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1", "userAgent": "test"},
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "24/Nov/2026:08:00:00 +0000",
            "timeEpoch": 1795507200000,
        },
        "isBase64Encoded": False,
    }
    response = handler(event, None)
    print(json.dumps({"path": path, "statusCode": response["statusCode"], "body": response["body"]}))
