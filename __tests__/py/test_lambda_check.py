"""lambda_check.py: a function imported and invoked as Lambda would, each failure reported with its kind."""

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap

import pytest

from conftest import CHECK, ROOT, pyenv_pythons, run_check

EVENT_KINDS = ["httpApi", "http", "alb", "url"]


def load_module():
    """lambda_check.py as a module, for the parts tested without a subprocess (events)."""
    spec = importlib.util.spec_from_file_location("lambda_check", CHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lambda_check = load_module()


def task_root(folder, files, name="task"):
    """An unzipped artifact: the files, then read-only as Lambda's /var/task is."""
    root = os.path.join(folder, name)
    for path, content in files.items():
        target = os.path.join(root, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as handle:
            handle.write(textwrap.dedent(content))
    for parent, _, names in os.walk(root):
        for each in names:
            os.chmod(os.path.join(parent, each), stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return root


def layer_with(folder, site):
    """A layer root whose python/ folder is an installed site (as serverless-python-requirements' layer)."""
    layer = os.path.join(folder, "opt")
    os.makedirs(layer)
    os.symlink(site, os.path.join(layer, "python"))
    return layer


def function_spec(root, handler="main.handler", events=None, layers=(), environment=None, **extra):
    function = {
        "key": "api",
        "name": "svc-dev-api",
        "handler": handler,
        "root": root,
        "layers": list(layers),
        "environment": environment or {},
        "events": events if events is not None else [{"kind": "httpApi", "method": "GET", "path": "/health"}],
    }
    function.update(extra)
    return function


def check(functions, boto=None, timeout=60, **extra):
    spec = {"functions": functions, "boto": boto, "region": "eu-west-1", "timeout": timeout}
    spec.update(extra)
    status, report, stderr = run_check(spec)
    assert status == 0, stderr
    return report


def only(report):
    [function] = report["functions"]
    return function


FASTAPI_MAIN = """
    from fastapi import FastAPI, Response
    from mangum import Mangum

    app = FastAPI()


    @app.get("/health")
    def health():
        return {"status": "ok"}


    @app.get("/broken")
    def broken():
        return Response("database unreachable: " + "x" * 600, status_code=500)


    handler = Mangum(app, lifespan="off")
"""


def test_a_fastapi_mangum_app_answers_health_through_every_trigger(fastapi_site, scratch):
    # Packaged as serverless does without layers: the requirements beside the code at the zip's root.
    root = os.path.join(scratch, "task")
    shutil.copytree(fastapi_site, root)
    for name in ("main.py", "api.py"):
        shutil.copy(os.path.join(ROOT, "template", "src", "fastapi-lambda", name), root)
    events = [{"kind": kind, "method": "GET", "path": "/health"} for kind in EVENT_KINDS]
    events.append({"kind": "alb", "method": "GET", "path": "/health?probe=1", "multiValueHeaders": True})
    function = only(check([function_spec(root, events=events)]))
    assert function["error"] is None, function
    assert function["passed"] and function["imported"]
    assert [(each["kind"], each["status"], each["passed"]) for each in function["invocations"]] == [
        (kind, 200, True) for kind in EVENT_KINDS + ["alb"]
    ]
    assert function["importSeconds"] > 0 and function["modules"] > 50
    assert "log" not in function


def test_a_path_answering_500_fails_with_the_start_of_its_body(fastapi_site, scratch):
    root = task_root(scratch, {"main.py": FASTAPI_MAIN})
    events = [{"kind": "httpApi", "method": "GET", "path": "/health"}, {"kind": "http", "path": "/broken"}]
    report = check([function_spec(root, events=events, layers=[layer_with(scratch, fastapi_site)])])
    function = only(report)
    assert not report["passed"] and not function["passed"] and function["imported"]
    assert [each["status"] for each in function["invocations"]] == [200, 500]
    error = function["error"]
    assert error["kind"] == "status"
    assert (
        "GET /broken via http answered 500, expected 200-399: database unreachable: xxx" in error["message"]
    )
    assert error["message"].endswith("x" * (500 - len("database unreachable: ")))
    assert function["invocations"][1]["error"] == error


def test_expect_decides_which_statuses_pass(fastapi_site, scratch):
    root = task_root(scratch, {"main.py": FASTAPI_MAIN})
    events = [{"kind": "httpApi", "path": "/broken"}]
    spec = function_spec(root, events=events, layers=[layer_with(scratch, fastapi_site)])
    assert check([spec], expect=[[200, 299], [500, 500]])["passed"]


def test_an_import_that_raises_for_a_missing_dependency_fails_the_import(scratch):
    root = task_root(scratch, {"main.py": "import json\nimport requests_oauthlib\n\nhandler = None\n"})
    function = only(check([function_spec(root)]))
    assert not function["imported"] and function["invocations"] == []
    error = function["error"]
    assert error["kind"] == "import"
    assert error["message"] == "ModuleNotFoundError: No module named 'requests_oauthlib'"
    assert error["traceback"] == ["main.py:2 in <module>: import requests_oauthlib"]
    assert "requirements.txt" in error["fix"]


def test_a_missing_handler_module_names_the_handler(scratch):
    root = task_root(scratch, {"app.py": "handler = None\n"})
    error = only(check([function_spec(root, handler="src/main.handler")]))["error"]
    assert error["kind"] == "import" and "No module named 'src'" in error["message"]
    assert "handler src/main.handler" in error["fix"]


def test_a_handler_the_module_does_not_define_is_handler_missing(scratch):
    root = task_root(scratch, {"main.py": "def app(event, context):\n    return {}\n"})
    function = only(check([function_spec(root)]))
    assert function["imported"] and not function["passed"]
    assert function["error"]["kind"] == "handler-missing"
    assert function["error"]["message"] == "module main has no attribute handler"


def test_a_connection_at_import_time_fails_naming_the_host(scratch):
    source = (
        "import socket\n\nsocket.create_connection(('db.example.com', 5432), timeout=5)\nhandler = None\n"
    )
    error = only(check([function_spec(task_root(scratch, {"main.py": source}))]))["error"]
    assert error["kind"] == "network"
    assert error["message"].startswith(
        "main opened a network connection to db.example.com:5432 at import time"
    )
    assert error["traceback"][-1].startswith("main.py:3 in <module>: socket.create_connection")
    assert "verify: static" in error["fix"]


def test_a_connection_the_module_catches_still_fails_the_import(scratch):
    source = """
        import urllib.request

        try:
            urllib.request.urlopen("http://config.example.com/settings", timeout=5)
        except OSError:
            pass


        def handler(event, context):
            return {"statusCode": 200, "body": "ok"}
    """
    function = only(check([function_spec(task_root(scratch, {"main.py": source}))]))
    assert function["imported"] and not function["passed"]
    assert function["error"]["kind"] == "network"
    assert "config.example.com:80" in function["error"]["message"]


def test_the_runtimes_boto3_is_there_without_credentials(boto_site, scratch):
    source = """
        import os

        import boto3

        table = boto3.resource("dynamodb").Table(os.environ["TABLE"])


        def handler(event, context):
            return {"statusCode": 200, "body": table.name}
    """
    root = task_root(scratch, {"main.py": source})
    function = only(check([function_spec(root, environment={"TABLE": "orders"})], boto=boto_site))
    assert function["passed"], function
    assert not os.path.exists(os.path.join(root, "boto3"))
    without = only(check([function_spec(root, environment={"TABLE": "orders"})]))["error"]
    assert without["kind"] == "import" and "No module named 'boto3'" in without["message"]
    assert "boto3" in without["fix"]


def test_an_aws_call_at_import_time_is_a_network_failure(boto_site, scratch):
    source = """
        import boto3

        settings = boto3.client("ssm").get_parameter(Name="/svc/settings")
        handler = None
    """
    # Credentials in the caller's environment must not reach the function.
    os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = "AKIAEXAMPLE", "secret"
    try:
        error = only(check([function_spec(task_root(scratch, {"main.py": source}))], boto=boto_site))["error"]
    finally:
        del os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    assert error["kind"] == "network"
    assert error["message"].startswith("main called AWS at import time (NoCredentialsError")
    assert "verify: static" in error["fix"]


LAMBDA_VIEW = """
    import json
    import os
    import sys

    EXPECTED = {
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_LAMBDA_FUNCTION_NAME": "svc-dev-api",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python%d.%d" % sys.version_info[:2],
        "TZ": ":UTC",
        "_HANDLER": "main.handler",
        "AWS_EC2_METADATA_DISABLED": "true",
        "LOG_LEVEL": "info",
        "LAMBDA_TASK_ROOT": os.getcwd(),
    }
    problems = [name for name, value in EXPECTED.items() if os.environ.get(name) != value]
    credentials = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE")
    problems += [name for name in credentials if name in os.environ]
    if sys.path[0] != os.environ["LAMBDA_TASK_ROOT"] or "site-packages" in sys.path[-1]:
        problems.append("sys.path %s" % sys.path)
    python = os.path.join(os.environ["LAYER"], "python")
    site = os.path.join(python, "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
    if sys.path[1:3] != [site, python]:
        problems.append("layers on sys.path %s" % sys.path)
    if sys.flags.isolated != 1 or sys.flags.no_site != 1 or not sys.dont_write_bytecode:
        problems.append("flags %s" % (sys.flags,))
    try:
        open("cache.txt", "w")
        problems.append("wrote into the task root")
    except OSError as error:
        if error.errno != 30:
            problems.append("write failed with %s" % error)
    import tempfile
    with tempfile.NamedTemporaryFile() as scratch:
        scratch.write(b"/tmp is writable")


    def handler(event, context):
        seen = list(problems)
        for name in ("function_name", "aws_request_id", "invoked_function_arn", "log_group_name",
                     "log_stream_name", "function_version", "memory_limit_in_mb"):
            if not getattr(context, name, None):
                seen.append("context." + name)
        if not 0 < context.get_remaining_time_in_millis() <= 29000:
            seen.append("remaining time %s" % context.get_remaining_time_in_millis())
        if json.loads(json.dumps(event)) != event:
            seen.append("event is not JSON")
        return {"statusCode": 500 if seen else 200, "body": json.dumps(seen)}
"""


def test_the_function_sees_what_lambda_gives_it(scratch):
    root = task_root(scratch, {"main.py": LAMBDA_VIEW})
    layer = os.path.join(scratch, "opt")
    os.makedirs(os.path.join(layer, "python"))
    os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_PROFILE"] = "AKIAEXAMPLE", "deploy"
    try:
        function = function_spec(
            root,
            layers=[layer],
            environment={"LOG_LEVEL": "info", "LAYER": layer},
            memorySize=512,
            timeout=29,
        )
        report = check([function])
    finally:
        del os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_PROFILE"]
    assert only(report)["error"] is None, only(report)["error"]
    assert not os.path.exists(os.path.join(root, "cache.txt"))


def test_each_function_imports_in_its_own_process(scratch):
    handler = """
        import helper


        def handler(event, context):
            return {"statusCode": helper.STATUS, "body": ""}
    """
    first = task_root(scratch, {"main.py": handler, "helper.py": "STATUS = 200\n"}, "first")
    second = task_root(scratch, {"main.py": handler, "helper.py": "STATUS = 201\n"}, "second")
    report = check([function_spec(first), dict(function_spec(second), key="worker", name="svc-dev-worker")])
    assert [f["invocations"][0]["status"] for f in report["functions"]] == [200, 201]
    assert [f["key"] for f in report["functions"]] == ["api", "worker"]


def test_modules_of_the_function_named_like_the_checks_own_do_not_replace_them(scratch):
    shadows = {
        name + ".py": "raise RuntimeError('the function's own %s')\n" % name for name in ("uuid", "logging")
    }
    root = task_root(
        scratch,
        dict(shadows, **{"main.py": "def handler(event, context):\n    return {'statusCode': 200}\n"}),
    )
    assert only(check([function_spec(root)]))["passed"]


def test_the_import_time_is_measured(scratch):
    root = task_root(
        scratch, {"main.py": "import time\ntime.sleep(0.3)\nhandler = lambda e, c: {'statusCode': 200}\n"}
    )
    function = only(check([function_spec(root)]))
    assert function["passed"]
    assert 0.3 <= function["importSeconds"] < 2
    assert function["seconds"] > function["importSeconds"]


def test_an_import_that_hangs_times_out(scratch):
    root = task_root(scratch, {"main.py": "import time\ntime.sleep(60)\n"})
    function = only(check([function_spec(root)], timeout=1.5))
    assert function["error"]["kind"] == "timeout"
    assert function["error"]["message"] == "importing main.handler took longer than the check's 1.5 s"
    assert function["seconds"] < 10


def test_an_invocation_that_hangs_times_out(scratch):
    source = "import time\n\ndef handler(event, context):\n    time.sleep(60)\n"
    function = only(check([function_spec(task_root(scratch, {"main.py": source}))], timeout=1.5))
    assert function["imported"] and function["error"]["kind"] == "timeout"
    assert function["error"]["message"] == "GET /health via httpApi did not answer within the check's 1.5 s"


def test_an_exception_in_the_handler_is_an_invoke_failure(scratch):
    source = "def handler(event, context):\n    return event['queryStringParameters']['id']\n"
    function = only(check([function_spec(task_root(scratch, {"main.py": source}))]))
    error = function["error"]
    assert error["kind"] == "invoke"
    assert error["message"] == "GET /health via httpApi raised KeyError: 'queryStringParameters'"
    assert error["traceback"] == ["main.py:2 in handler: return event['queryStringParameters']['id']"]
    assert function["log"] == []


def test_what_the_function_prints_is_its_log_not_the_report(scratch):
    source = """
        import logging
        print("starting")
        logging.getLogger().error("configured")


        def handler(event, context):
            print('{"passed": true}')
            return {"statusCode": 503, "body": "down"}
    """
    function = only(check([function_spec(task_root(scratch, {"main.py": source}))]))
    assert function["error"]["kind"] == "status"
    assert function["log"][0] == "starting"
    assert function["log"][1].startswith("[ERROR]\t") and function["log"][1].endswith("\tconfigured")
    assert '{"passed": true}' in function["log"]


def test_a_response_without_status_code_passes_only_where_the_trigger_infers_one(scratch):
    source = "def handler(event, context):\n    return {'message': 'hi'}\n"
    events = [{"kind": kind, "path": "/"} for kind in EVENT_KINDS]
    function = only(check([function_spec(task_root(scratch, {"main.py": source}), events=events)]))
    assert [(each["kind"], each["passed"]) for each in function["invocations"]] == [
        ("httpApi", True),
        ("http", False),
        ("alb", False),
        ("url", True),
    ]
    assert "without a statusCode" in function["invocations"][1]["error"]["message"]


@pytest.mark.parametrize(
    "stdin, message",
    [
        ("[]", "functions list"),
        (json.dumps({"functions": [], "region": ""}), "region"),
        (
            json.dumps(
                {"functions": [{"name": "f", "handler": "m.h", "root": "/nonexistent"}], "region": "x"}
            ),
            "/nonexistent is not a folder",
        ),
        (json.dumps({"functions": [], "region": "x", "expect": [200]}), "expect"),
        (
            json.dumps(
                {
                    "functions": [{"name": "f", "handler": "m.h", "root": "/", "layers": ["/no/opt"]}],
                    "region": "x",
                }
            ),
            "/no/opt is not a folder",
        ),
    ],
)
def test_bad_input_exits_2_with_a_message(stdin, message):
    result = subprocess.run(
        [sys.executable, "-I", "-B", "-S", CHECK], input=stdin.encode(), capture_output=True
    )
    assert result.returncode == 2 and message in result.stderr.decode()


def test_an_unknown_event_kind_is_bad_input(scratch):
    spec = {"functions": [function_spec(scratch, events=[{"kind": "sqs"}])], "region": "x"}
    status, _, stderr = run_check(spec)
    assert status == 2 and "httpApi" in stderr


# --- events, against the documented shapes --------------------------------------------------------


def build(kind, **event):
    event = dict({"kind": kind, "method": "GET", "path": "/items/7?tag=a&tag=b"}, **event)
    return lambda_check.EVENT_BUILDERS[kind](
        event, {"region": "eu-west-1", "now": 1700000000.0, "request_id": "r1"}
    )


def test_http_api_events_are_payload_2_0():
    event = build("httpApi")
    assert (event["version"], event["routeKey"], event["rawPath"], event["rawQueryString"]) == (
        "2.0",
        "$default",
        "/items/7",
        "tag=a&tag=b",
    )
    assert event["queryStringParameters"] == {"tag": "a,b"}
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/items/7",
        "protocol": "HTTP/1.1",
        "sourceIp": "203.0.113.10",
        "userAgent": "lambda-check",
    }
    assert context["domainName"] == "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
    assert (context["stage"], context["time"], context["timeEpoch"]) == (
        "$default",
        "14/Nov/2023:22:13:20 +0000",
        1700000000000,
    )
    assert event["isBase64Encoded"] is False and "multiValueHeaders" not in event and "body" not in event
    assert all(name == name.lower() for name in event["headers"])
    assert "queryStringParameters" not in build("httpApi", path="/")


def test_function_url_events_are_payload_2_0_from_a_lambda_url_domain():
    event = build("url")
    context = event["requestContext"]
    assert event["version"] == "2.0" and context["domainName"].endswith(".lambda-url.eu-west-1.on.aws")
    assert context["domainPrefix"] == context["apiId"] == context["domainName"].split(".")[0]
    assert (context["accountId"], context["routeKey"], context["stage"]) == (
        "anonymous",
        "$default",
        "$default",
    )
    assert event["headers"]["host"] == context["domainName"]


def test_rest_api_events_are_proxy_payload_1_0():
    event = build("http", stage="prod")
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/{proxy+}", "/items/7", "GET")
    assert event["pathParameters"] == {"proxy": "items/7"}
    assert event["queryStringParameters"] == {"tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"]}
    assert event["multiValueHeaders"]["Host"] == [event["headers"]["Host"]]
    context = event["requestContext"]
    assert (context["path"], context["stage"], context["resourcePath"]) == (
        "/prod/items/7",
        "prod",
        "/{proxy+}",
    )
    assert context["identity"]["sourceIp"] == "203.0.113.10" and context["identity"]["accessKey"] is None
    root = build("http", path="/")
    assert (root["resource"], root["pathParameters"], root["queryStringParameters"]) == ("/", None, None)
    assert root["body"] is None and root["isBase64Encoded"] is False


def test_alb_events_carry_single_or_multi_value_fields_never_both():
    event = build("alb")
    assert event["requestContext"]["elb"]["targetGroupArn"].startswith(
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/"
    )
    assert event["queryStringParameters"] == {"tag": "b"} and event["body"] == ""
    assert "multiValueHeaders" not in event and "multiValueQueryStringParameters" not in event
    multi = build("alb", multiValueHeaders=True)
    assert multi["multiValueQueryStringParameters"] == {"tag": ["a", "b"]}
    assert "headers" not in multi and "queryStringParameters" not in multi


def test_a_request_body_and_headers_are_passed_on():
    event = build("httpApi", method="post", body='{"a": 1}', headers={"Content-Type": "application/json"})
    assert event["body"] == '{"a": 1}' and event["headers"]["content-type"] == "application/json"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["headers"]["content-length"] == "8"


# --- each runtime's Python ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", sorted(pyenv_pythons()))
def test_it_runs_on_each_runtime_python(scratch, version):
    source = """
        import sys


        def handler(event, context):
            return {"statusCode": 200 if "%d.%d" % sys.version_info[:2] == VERSION else 500, "body": ""}
    """
    root = task_root(scratch, {"main.py": "VERSION = %r\n" % version + textwrap.dedent(source)})
    events = [{"kind": kind, "path": "/"} for kind in EVENT_KINDS]
    spec = {"functions": [function_spec(root, events=events)], "region": "eu-west-1", "boto": None}
    status, report, stderr = run_check(spec, python=pyenv_pythons()[version])
    assert status == 0, stderr
    assert report["passed"], report
