"""Imports each Lambda function's handler and invokes it the way Lambda would, before deploying it.

Run by the target runtime's Python (standard library only; 3.9 or later), isolated:

    python3.X -I -B -S lambda_check.py < spec.json > report.json

stdin, one JSON document:

    {"functions": [{"key": "api", "name": "svc-dev-api", "handler": "main.handler",
                    "root": "/tmp/.../task",           # the function's zip, unzipped (read-only)
                    "layers": ["/tmp/.../opt"],        # each layer's zip, unzipped (like /opt)
                    "environment": {"LOG_LEVEL": "info"},
                    "memorySize": 1024, "timeout": 29,    # optional: Lambda's settings
                    "events": [{"kind": "httpApi" | "http" | "alb" | "url", "method": "GET",
                                "path": "/health",
                                # optional: "query": "a=1" (or a path with ?a=1), "headers": {...},
                                # "body": "...", "routeKey": "GET /health" (httpApi),
                                # "stage": "dev", "resource": "/health" (http),
                                # "multiValueHeaders": true (alb)
                                }]}],
     "boto": "/path/to/site-packages-with-boto3" | null,
     "region": "eu-west-1",
     "expect": [[200, 399]],     # optional: the statuses that pass (inclusive ranges)
     "timeout": 30}              # optional: seconds for one function's import and invocations

stdout, one JSON document:

    {"passed": true,
     "functions": [{"key", "name", "passed": true, "imported": true, "importSeconds": 0.41,
                    "modules": 412,
                    "invocations": [{"kind", "method", "path", "status": 200, "seconds": 0.01,
                                     "passed": true, "error": {...} (when not passed)}],
                    "error": null | {"kind": "import" | "network" | "handler-missing" | "invoke"
                                             | "status" | "timeout",
                                     "message", "traceback": ["main.py:3 in <module>: ..."],
                                     "fix"},
                    "log": ["last lines the function printed", ...] (when it failed),
                    "seconds": 0.9}]}

`error` is the first failure: the import's, or the first failing invocation's. Traceback paths are
relative to the function's root (or to a layer's root). `importSeconds` is the handler module's
import, the init a cold start pays; `modules` how many modules it loaded; `seconds` the whole check
of the function, child process included. A function's `timeout` is Lambda's (what the context's
get_remaining_time_in_millis counts down from, 6 s by default); the spec's bounds the check.

Exit status: 0 when the check ran, whatever it found; 2 when the spec is invalid (the message is
on stderr).

Each function runs in its own child process (`sys.executable -I -B -S`, this file with --child),
so that one function's imports cannot leak into another's. The child gets what Lambda gives a
function: its sys.path, Lambda's environment variables, a working directory in the read-only task
root, no AWS credentials and no network: a connection opened at import time fails the check.
"""

# Everything the child needs is imported here, before sys.path puts the function's root first: a
# module of the function's named like one of these (uuid.py, logging.py) must not replace it.
import base64
import errno
import importlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from urllib.parse import parse_qsl

DEFAULT_EXPECT = [[200, 399]]
DEFAULT_TIMEOUT = 30
BODY_LIMIT = 500
TRACEBACK_FRAMES = 8
LOG_LINES = 20

# Reserved by Lambda for the execution role's keys: never passed on, even from a function's environment.
CREDENTIAL_VARIABLES = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
}

# Standard library modules a newer runtime no longer has (PEP 632, PEP 594).
REMOVED_MODULES = {
    "distutils": (3, 12),
    "imp": (3, 12),
    "asynchat": (3, 12),
    "asyncore": (3, 12),
    "smtpd": (3, 12),
    "aifc": (3, 13),
    "audioop": (3, 13),
    "cgi": (3, 13),
    "cgitb": (3, 13),
    "chunk": (3, 13),
    "crypt": (3, 13),
    "imghdr": (3, 13),
    "mailcap": (3, 13),
    "msilib": (3, 13),
    "nis": (3, 13),
    "nntplib": (3, 13),
    "ossaudiodev": (3, 13),
    "pipes": (3, 13),
    "sndhdr": (3, 13),
    "spwd": (3, 13),
    "sunau": (3, 13),
    "telnetlib": (3, 13),
    "uu": (3, 13),
    "xdrlib": (3, 13),
    "lib2to3": (3, 13),
}

ACCOUNT = "123456789012"

# What botocore raises when code calls AWS without credentials (the check never has any) or network.
AWS_CALL_ERRORS = set(
    "NoCredentialsError PartialCredentialsError CredentialRetrievalError NoRegionError "
    "EndpointConnectionError".split()
)


class BadInput(Exception):
    """The spec cannot be used: exit 2."""


# --- the spec ---------------------------------------------------------------------------------


def read_spec(text):
    """The validated spec, with defaults filled in, or BadInput naming what is wrong."""
    try:
        spec = json.loads(text)
    except ValueError as error:
        raise BadInput("stdin is not JSON: %s" % error)
    if not isinstance(spec, dict) or not isinstance(spec.get("functions"), list):
        raise BadInput("stdin must be an object with a functions list")
    if not isinstance(spec.get("region"), str) or not spec["region"]:
        raise BadInput("region must be a non-empty string")
    if spec.get("boto") is not None and not isinstance(spec["boto"], str):
        raise BadInput("boto must be a folder path or null")
    expect = spec.setdefault("expect", DEFAULT_EXPECT)
    if (
        not isinstance(expect, list)
        or not expect
        or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(n, int) for n in pair)
            for pair in expect
        )
    ):
        raise BadInput("expect must be a list of [lowest, highest] status pairs")
    timeout = spec.setdefault("timeout", DEFAULT_TIMEOUT)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise BadInput("timeout must be a positive number of seconds")
    for function in spec["functions"]:
        if not isinstance(function, dict):
            raise BadInput("each function must be an object")
        for field in ("name", "handler", "root"):
            if not isinstance(function.get(field), str) or not function[field]:
                raise BadInput("function %r: %s must be a non-empty string" % (function.get("name"), field))
        for folder in [function["root"]] + list(function.get("layers") or []):
            if not isinstance(folder, str) or not os.path.isdir(folder):
                raise BadInput("function %r: %s is not a folder" % (function["name"], folder))
        function.setdefault("key", function["name"])
        function.setdefault("layers", [])
        function.setdefault("environment", {})
        function.setdefault("events", [])
        if not isinstance(function["environment"], dict):
            raise BadInput("function %r: environment must be an object" % function["name"])
        for event in function["events"]:
            if not isinstance(event, dict) or event.get("kind") not in EVENT_BUILDERS:
                raise BadInput(
                    "function %r: each event needs a kind among %s"
                    % (function["name"], ", ".join(sorted(EVENT_BUILDERS)))
                )
            if not isinstance(event.get("path", "/"), str) or not event.get("path", "/").startswith("/"):
                raise BadInput("function %r: an event's path must start with /" % function["name"])
    return spec


# --- events, as Lambda's triggers send them ----------------------------------------------------


def split_path(event):
    """(path, raw query string) of an event spec: its path may carry the query after `?`."""
    path, _, query = event.get("path", "/").partition("?")
    return path or "/", event.get("query", query)


def parse_query(raw):
    """{name: [values]} of a raw query string, in order, undecoded (API Gateway passes values decoded)."""

    pairs = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        pairs.setdefault(name, []).append(value)
    return pairs


def request_time(now):
    """API Gateway's `time` format: 12/Mar/2020:19:03:58 +0000."""
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))


def trace_id(now):
    return "Root=1-%08x-%s" % (int(now), os.urandom(12).hex())


def http_api_event(event, context):
    """API Gateway HTTP API, payload format 2.0.

    Shape: https://docs.aws.amazon.com/apigateway/latest/developerguide/
    http-api-develop-integrations-lambda.html
    (section "Payload format version"): lower-case headers, duplicates joined with commas, no
    multiValue* fields, queryStringParameters only when there is a query, body only when there is one.
    """
    api = "a1b2c3d4e5"
    domain = "%s.execute-api.%s.amazonaws.com" % (api, context["region"])
    return payload_v2(event, context, api, domain, ACCOUNT, event.get("routeKey", "$default"))


def function_url_event(event, context):
    """Lambda function URL: the HTTP API's payload 2.0, from <url-id>.lambda-url.<region>.on.aws.

    Shape: https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html (section "Request payload
    format"): routeKey and stage are the placeholder $default; with the NONE auth type the account is
    "anonymous" and there is no authorizer; TLS details come as x-amzn-tls-* headers.
    """
    url_id = "abcdefghijklmnopqrstuvwxyz012345"
    domain = "%s.lambda-url.%s.on.aws" % (url_id, context["region"])
    built = payload_v2(event, context, url_id, domain, "anonymous", "$default")
    built["headers"].update(
        {"x-amzn-tls-version": "TLSv1.3", "x-amzn-tls-cipher-suite": "TLS_AES_128_GCM_SHA256"}
    )
    return built


def payload_v2(event, context, api, domain, account, route_key):
    path, query = split_path(event)
    method = event.get("method", "GET").upper()
    now = context["now"]
    headers = {
        "accept": "application/json",
        "content-length": str(len(event.get("body") or "")),
        "host": domain,
        "user-agent": "lambda-check",
        "x-amzn-trace-id": trace_id(now),
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    headers.update({name.lower(): value for name, value in (event.get("headers") or {}).items()})
    built = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": account,
            "apiId": api,
            "domainName": domain,
            "domainPrefix": api,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "lambda-check",
            },
            "requestId": context["request_id"],
            "routeKey": route_key,
            "stage": "$default",
            "time": request_time(now),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        built["queryStringParameters"] = {
            name: ",".join(values) for name, values in parse_query(query).items()
        }
    if event.get("body") is not None:
        built["body"] = event["body"]
    return built


def rest_api_event(event, context):
    """API Gateway REST API, Lambda proxy integration (payload format 1.0).

    Shape: https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
    (section "Input format of a Lambda function for proxy integration"): headers as the client sent
    them plus CloudFront's, with multiValueHeaders beside them; query and path parameters null when
    there are none; `path` without the stage, requestContext.path with it. Serverless routes an
    `http` event with a path of `{proxy+}`, or `/`, to the function.
    """
    path, query = split_path(event)
    method = event.get("method", "GET").upper()
    stage = event.get("stage", "dev")
    api = "a1b2c3d4e5"
    domain = "%s.execute-api.%s.amazonaws.com" % (api, context["region"])
    now = context["now"]
    headers = {
        "Accept": "application/json",
        "CloudFront-Forwarded-Proto": "https",
        "CloudFront-Is-Desktop-Viewer": "true",
        "CloudFront-Is-Mobile-Viewer": "false",
        "CloudFront-Is-SmartTV-Viewer": "false",
        "CloudFront-Is-Tablet-Viewer": "false",
        "CloudFront-Viewer-Country": "US",
        "Host": domain,
        "User-Agent": "lambda-check",
        "Via": "1.1 0123456789abcdef0123456789abcdef.cloudfront.net (CloudFront)",
        "X-Amz-Cf-Id": "lambda-check-" + context["request_id"],
        "X-Amzn-Trace-Id": trace_id(now),
        "X-Forwarded-For": "203.0.113.10, 130.176.0.1",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    headers.update(event.get("headers") or {})
    values = parse_query(query)
    resource = event.get("resource", "/" if path == "/" else "/{proxy+}")
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {name: found[-1] for name, found in values.items()} or None,
        "multiValueQueryStringParameters": values or None,
        "pathParameters": {"proxy": path.lstrip("/")} if resource.endswith("{proxy+}") else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": "lambda-check=",
            "requestTime": request_time(now),
            "path": "/%s%s" % (stage, path),
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": api,
            "requestTimeEpoch": int(now * 1000),
            "requestId": context["request_id"],
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": "203.0.113.10",
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": "lambda-check",
                "user": None,
            },
            "domainName": domain,
            "apiId": api,
        },
        "body": event.get("body"),
        "isBase64Encoded": False,
    }


def alb_event(event, context):
    """Application Load Balancer target group.

    Shape: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html
    (section "Receive events from the load balancer") and
    https://docs.aws.amazon.com/lambda/latest/dg/services-alb.html: lower-case headers, the query
    as sent (not decoded), an empty body as "". With multi-value headers enabled on the target group
    the load balancer sends multiValueHeaders and multiValueQueryStringParameters instead of headers
    and queryStringParameters, never both.
    """
    path, query = split_path(event)
    region = context["region"]
    headers = {
        "accept": "application/json",
        "host": "lambda-check-123456789.%s.elb.amazonaws.com" % region,
        "user-agent": "lambda-check",
        "x-amzn-trace-id": trace_id(context["now"]),
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    headers.update({name.lower(): value for name, value in (event.get("headers") or {}).items()})

    pairs = parse_qsl(query, keep_blank_values=True) if query else []
    built = {
        "requestContext": {
            "elb": {
                "targetGroupArn": "arn:aws:elasticloadbalancing:%s:%s:targetgroup/"
                "lambda-check/0123456789abcdef" % (region, ACCOUNT)
            }
        },
        "httpMethod": event.get("method", "GET").upper(),
        "path": path,
    }
    if event.get("multiValueHeaders"):
        values = {}
        for name, value in pairs:
            values.setdefault(name, []).append(value)
        built["multiValueQueryStringParameters"] = values
        built["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
    else:
        built["queryStringParameters"] = dict(pairs)
        built["headers"] = headers
    built["body"] = event.get("body") or ""
    built["isBase64Encoded"] = False
    return built


EVENT_BUILDERS = {
    "httpApi": http_api_event,
    "http": rest_api_event,
    "alb": alb_event,
    "url": function_url_event,
}


# --- the parent: one child per function ----------------------------------------------------------


def lambda_environment(function, spec, scratch):
    """What Lambda sets in a Python function's environment, minus the execution role's credentials.

    Variables: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html (section
    "Defined runtime environment variables"). HOME and the AWS config files point into an empty
    scratch folder so that botocore cannot find the runner's credentials either, and IMDS is off.
    """
    version = "%d.%d" % sys.version_info[:2]
    root = os.path.abspath(function["root"])
    runtime_dir = os.path.abspath(spec["boto"]) if spec.get("boto") else os.path.join(scratch, "runtime")
    os.makedirs(runtime_dir, exist_ok=True)
    environment = {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in function["environment"].items()
        if name not in CREDENTIAL_VARIABLES
    }
    libraries = [root, os.path.join(root, "lib")] + [
        os.path.join(layer, "lib") for layer in function["layers"]
    ]
    inherited = os.environ.get("LD_LIBRARY_PATH")
    environment.setdefault("LANG", "en_US.UTF-8")
    environment.setdefault("PATH", os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"))
    environment.setdefault("LD_LIBRARY_PATH", ":".join(([inherited] if inherited else []) + libraries))
    environment.setdefault("PYTHONPATH", runtime_dir)
    environment.setdefault("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR")
    environment.update(
        {
            "AWS_REGION": spec["region"],
            "AWS_DEFAULT_REGION": spec["region"],
            "AWS_EXECUTION_ENV": "AWS_Lambda_python" + version,
            "AWS_LAMBDA_FUNCTION_NAME": function["name"],
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.get("memorySize") or 1024),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/" + function["name"],
            "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime())
            + os.urandom(16).hex(),
            "LAMBDA_TASK_ROOT": root,
            "LAMBDA_RUNTIME_DIR": runtime_dir,
            "TZ": ":UTC",
            "_HANDLER": function["handler"],
            "AWS_EC2_METADATA_DISABLED": "true",
            "HOME": os.path.join(scratch, "home"),
            "TMPDIR": os.path.join(scratch, "tmp"),
            "AWS_CONFIG_FILE": os.path.join(scratch, "home", ".aws", "config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(scratch, "home", ".aws", "credentials"),
        }
    )
    os.makedirs(environment["HOME"], exist_ok=True)
    os.makedirs(environment["TMPDIR"], exist_ok=True)
    return environment


def check_function(function, spec):
    """The report of one function, from a child process that imports and invokes it."""
    started = time.perf_counter()
    scratch = tempfile.mkdtemp(prefix="lambda-check-")
    records, log = [], []
    try:
        child_spec = {
            "function": function,
            "boto": spec.get("boto"),
            "region": spec["region"],
            "expect": spec["expect"],
        }
        process = subprocess.Popen(
            [sys.executable, "-I", "-B", "-S", os.path.abspath(__file__), "--child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=lambda_environment(function, spec, scratch),
            cwd=os.path.abspath(function["root"]),
            start_new_session=True,
        )
        timed_out = False
        try:
            out, err = process.communicate(json.dumps(child_spec).encode(), timeout=spec["timeout"])
        except subprocess.TimeoutExpired:
            timed_out = True
            # The whole session: a handler's own subprocesses must not keep the pipes open.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = process.communicate()
        for line in out.decode("utf-8", "replace").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                pass
        log = err.decode("utf-8", "replace").splitlines()
        report = assemble(function, records, timed_out, process.returncode, spec)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not report["passed"]:
        report["log"] = log[-LOG_LINES:]
    report["seconds"] = round(time.perf_counter() - started, 4)
    return report


def assemble(function, records, timed_out, returncode, spec):
    """A function's report from the records its child wrote, however far it got."""
    report = {
        "key": function["key"],
        "name": function["name"],
        "passed": False,
        "imported": False,
        "importSeconds": None,
        "modules": None,
        "invocations": [],
        "error": None,
    }
    stage = None
    for record in records:
        if "stage" in record:
            stage = record
        if record.get("stage") == "imported":
            report.update(imported=True, importSeconds=record["seconds"], modules=record["modules"])
        if "invocation" in record:
            report["invocations"].append(record["invocation"])
        if "error" in record and report["error"] is None:
            report["error"] = record["error"]
    if report["error"] is None:
        failed = [each for each in report["invocations"] if not each["passed"]]
        if failed:
            report["error"] = failed[0]["error"]
    if timed_out and report["error"] is None:
        report["error"] = timeout_error(function, stage, spec)
    elif report["error"] is None and (stage is None or stage.get("stage") != "done"):
        report["error"] = {
            "kind": "import" if not report["imported"] else "invoke",
            "message": "the check's process for %s ended early (exit status %s)"
            % (function["name"], returncode),
            "traceback": [],
            "fix": "The function's code ended the Python process (os._exit, a crash in a compiled module, or "
            "running out of memory): see the log lines, and run the handler locally with the same "
            "artifact.",
        }
    report["passed"] = report["error"] is None and report["imported"]
    return report


def timeout_error(function, stage, spec):
    seconds = spec["timeout"]
    if stage and stage.get("stage") == "invoking":
        event = stage["event"]
        return {
            "kind": "timeout",
            "message": "%s %s via %s did not answer within the check's %s s"
            % (event.get("method", "GET"), event.get("path", "/"), event["kind"], seconds),
            "traceback": [],
            "fix": "The handler hangs or waits on something the check does not have (network, AWS): make the "
            "checked path answer without them (a /health route), or set verify: static.",
        }
    return {
        "kind": "timeout",
        "message": "importing %s took longer than the check's %s s" % (function["handler"], seconds),
        "traceback": [],
        "fix": "Lambda gives a function's initialization 10 s: find what the module does at import time (a "
        "network call that waits, a large model loaded eagerly) and move it into the handler or make "
        "it lazy. Or set verify: static.",
    }


def run(spec):
    reports = [check_function(function, spec) for function in spec["functions"]]
    return {"passed": all(report["passed"] for report in reports), "functions": reports}


# --- the child: Lambda's view of one function --------------------------------------------------


class NetworkBlocked(OSError):
    """A connection the check refused: it runs without network, as a deploy check should."""


def block_network(attempts):
    """Every way Python code reaches the network, refused, each attempt recorded as host:port."""

    def refuse(host, port):
        target = "%s:%s" % (host, port) if port is not None else str(host)
        attempts.append(target)
        raise NetworkBlocked(
            errno.ENETUNREACH,
            "opened a network connection to %s (the check runs without network)" % target,
        )

    def address_of(address):
        if isinstance(address, tuple) and len(address) >= 2:
            return address[0], address[1]
        return address, None

    def connect(self, address):
        refuse(*address_of(address))

    def sendto(self, data, *args):
        refuse(*address_of(args[-1]))

    socket.socket.connect = connect
    socket.socket.connect_ex = connect
    socket.socket.sendto = sendto
    socket.create_connection = lambda address, *args, **kwargs: refuse(*address_of(address))
    socket.getaddrinfo = lambda host, port, *args, **kwargs: refuse(host, port)
    socket.gethostbyname = lambda host: refuse(host, None)
    socket.gethostbyname_ex = lambda host: refuse(host, None)


def forbid_writes(roots):
    """Writes into the task root or the layers fail as they do on Lambda: a read-only file system."""
    protected = tuple(os.path.join(os.path.realpath(root), "") for root in roots)
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    path_events = set(
        "os.mkdir os.remove os.rmdir os.rename os.truncate os.symlink os.link os.chmod os.utime".split()
    )

    def refuse(path):
        if isinstance(path, (str, bytes, os.PathLike)):
            target = os.path.join(
                os.path.realpath(os.path.dirname(os.path.abspath(os.fsdecode(path)))),
                os.path.basename(os.fsdecode(path)),
            )
            if target.startswith(protected):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            if (mode and any(letter in mode for letter in "wax+")) or (not mode and flags & write_flags):
                refuse(path)
        elif event in path_events:
            refuse(args[0])
            if event in ("os.rename", "os.symlink", "os.link"):
                refuse(args[1])

    sys.addaudithook(hook)


class Identity:
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __init__(self):
        self.cognito_identity_id = None
        self.cognito_identity_pool_id = None


class LambdaContext:
    """The attributes of the Python runtime's context object (awslambdaric's lambda_context.py)."""

    def __init__(self, request_id, region, deadline):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        # A string, as Lambda's own context has it.
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = "arn:aws:lambda:%s:%s:function:%s" % (region, ACCOUNT, self.function_name)
        self.tenant_id = None
        self.client_context = None
        self.identity = Identity()
        self._deadline = deadline

    def get_remaining_time_in_millis(self):
        return max(int((self._deadline - time.time()) * 1000), 0)

    def log(self, message):
        sys.stdout.write(str(message))


def lambda_logging():
    """The root log handler Lambda's runtime installs before the import: basicConfig is then a no-op."""

    class RequestId(logging.Filter):
        request_id = ""

        def filter(self, record):
            record.aws_request_id = RequestId.request_id
            return True

    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.terminator = ""
    handler.addFilter(RequestId())
    logging.getLogger().addHandler(handler)
    return RequestId


def lambda_sys_path(function, boto):
    """Lambda's module search path: the task root, the layers' python folders, the standard library, boto3.

    Lambda extracts every layer into the same /opt, a later layer's files replacing an earlier one's:
    here each layer has its own folder, so the later ones come first. Layer paths:
    https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html
    (python, python/lib/python3.x/site-packages).
    """
    version = "python%d.%d" % sys.version_info[:2]
    layers = [os.path.abspath(layer) for layer in reversed(function["layers"])]
    paths = [os.path.abspath(function["root"])]
    paths += [os.path.join(layer, "python", "lib", version, "site-packages") for layer in layers]
    paths += [os.path.join(layer, "python") for layer in layers]
    # -I -S: what is left on sys.path is the standard library alone.
    paths += [path for path in sys.path if path]
    if boto:
        paths.append(os.path.abspath(boto))
    return paths


def relative_frames(tb, function, boto):
    """The traceback's last frames in the function's code, as `main.py:3 in <module>: import x`."""

    roots = [os.path.abspath(function["root"])] + [os.path.abspath(layer) for layer in function["layers"]]
    if boto:
        roots.append(os.path.abspath(boto))
    frames = []
    for frame in traceback.extract_tb(tb):
        filename = frame.filename
        # The check's own frames and the import machinery's are noise: Lambda's start with the user's code.
        if filename in (os.path.abspath(__file__), importlib.__file__) or filename.startswith("<frozen"):
            continue
        for root in roots:
            if filename.startswith(os.path.join(root, "")):
                filename = os.path.relpath(filename, root)
                break
        frames.append("%s:%s in %s: %s" % (filename, frame.lineno, frame.name, (frame.line or "").strip()))
    return frames[-TRACEBACK_FRAMES:]


def exception_chain(error):
    seen = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def aws_call(error):
    """The botocore error that says the code called AWS (it has no credentials here), if any."""
    for each in exception_chain(error):
        if AWS_CALL_ERRORS.intersection(cls.__name__ for cls in type(each).__mro__):
            return each
    return None


def import_error(error, function, attempts, boto):
    """The error record of a module that raised while Lambda imports it, with the fix that applies."""
    module = function["handler"].rpartition(".")[0].replace("/", ".")
    message = "%s: %s" % (type(error).__name__, error)
    record = {
        "kind": "import",
        "message": message,
        "traceback": relative_frames(error.__traceback__, function, boto),
    }
    runtime = "python%d.%d" % sys.version_info[:2]
    missing = getattr(error, "name", None) if isinstance(error, ModuleNotFoundError) else None
    if attempts or any(isinstance(each, NetworkBlocked) for each in exception_chain(error)):
        record["kind"] = "network"
        record["message"] = "%s opened a network connection to %s at import time" % (
            module,
            attempts[0] if attempts else "the network",
        )
        record["fix"] = (
            "The module reaches the network while Lambda imports it, before any request: that slows "
            "every cold start and fails it when the service is down. Create clients at import time but make "
            "calls inside the handler. The check runs without network or AWS credentials; to deploy without "
            "importing the handler, set verify: static."
        )
    elif aws_call(error) is not None:
        record["kind"] = "network"
        record["message"] = "%s called AWS at import time (%s)" % (module, message)
        record["fix"] = (
            "The module calls an AWS API while Lambda imports it (boto3 has no credentials in the "
            "check, which never uses the deploy role's). Create clients at import time but make calls inside "
            "the handler; to deploy without importing the handler, set verify: static."
        )
    elif missing and (missing == module or module.startswith(missing + ".")):
        record["fix"] = (
            "Lambda finds no module %s for handler %s in the function's root or layers: fix the "
            "handler in serverless.yml, or the package.patterns that leave %s out."
            % (missing, function["handler"], missing.replace(".", "/") + ".py")
        )
    elif (
        missing
        and missing.split(".")[0] in REMOVED_MODULES
        and sys.version_info[:2] >= REMOVED_MODULES[missing.split(".")[0]]
    ):
        record["fix"] = (
            "%s is no longer in the standard library of %s (removed in Python %d.%d): upgrade the "
            "dependency that imports it, or add the package that replaces it to requirements.txt."
            % ((missing.split(".")[0], runtime) + REMOVED_MODULES[missing.split(".")[0]])
        )
    elif missing and missing.split(".")[0] in ("boto3", "botocore", "s3transfer"):
        record["fix"] = (
            "Lambda's runtime provides boto3, but this check was given none: pass the runtime's boto3 "
            "folder (boto), or add boto3 to requirements.txt."
        )
    elif missing:
        record["fix"] = (
            "The code imports %s, which is neither in the artifact nor in %s: add the distribution "
            "that provides it to requirements.txt (serverless-python-requirements installs it into the "
            "package), or remove the import." % (missing, runtime)
        )
    elif isinstance(error, ImportError) and any(
        text in str(error)
        for text in ("GLIBC", "cannot open shared object", "undefined symbol", "ELF", "wrong ELF class")
    ):
        record["fix"] = (
            "A compiled dependency does not load on %s: it was built for another machine, Python "
            "or C library. The static check (verify_artifact) names the distribution; install the manylinux "
            "wheel for Lambda's platform." % runtime
        )
    elif isinstance(error, SyntaxError):
        record["fix"] = (
            "%s cannot compile this file (line %s): is it written for a newer Python than the "
            "runtime?" % (runtime, error.lineno)
        )
    elif isinstance(error, OSError) and error.errno == errno.EROFS:
        record["fix"] = (
            "Lambda's task root and layers are read-only: write to /tmp (tempfile.gettempdir()) "
            "instead of %s." % error.filename
        )
    elif isinstance(error, KeyError) and any("os.py" in frame for frame in record["traceback"][-1:]):
        record["fix"] = (
            "The module reads environment variable %s at import time and the function does not set "
            "it: add it under provider.environment or functions.%s.environment in serverless.yml."
            % (error, function["key"])
        )
    else:
        record["fix"] = (
            "The module raises while Lambda imports it, so every cold start fails "
            "(Runtime.ImportModuleError): see the traceback, and run `python -c 'import %s'` in the unzipped "
            "artifact." % module
        )
    return record


def invoke_error(error, event, function, boto):
    message = "%s: %s" % (type(error).__name__, error)
    record = {
        "kind": "invoke",
        "message": "%s %s via %s raised %s"
        % (event.get("method", "GET"), event.get("path", "/"), event["kind"], message),
        "traceback": relative_frames(error.__traceback__, function, boto),
    }
    if (
        any(isinstance(each, NetworkBlocked) for each in exception_chain(error))
        or aws_call(error) is not None
    ):
        record["kind"] = "network"
        record["fix"] = (
            "The handler called the network or AWS to answer this request; the check has neither "
            "(no credentials, no connections). Check a path that needs neither (a /health route), or set "
            "verify: static."
        )
    else:
        record["fix"] = (
            "The handler raises for this request, so Lambda answers it with an error (API Gateway "
            "502): see the traceback."
        )
    return record


def status_of(response, event):
    """(status, body text) Lambda's trigger makes of a handler's return value, or raises ValueError."""

    if isinstance(response, dict) and "statusCode" in response:
        body = response.get("body")
        if body is not None and response.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        return int(response["statusCode"]), "" if body is None else str(body)
    if event["kind"] in ("httpApi", "url"):
        # Payload 2.0 infers a 200 from a response without statusCode: the whole value is the body.
        return 200, json.dumps(response)
    raise ValueError(
        "the handler returned %s without a statusCode: %s answers 502"
        % (type(response).__name__, "API Gateway" if event["kind"] == "http" else "the load balancer")
    )


def invoke(handler, event, function, spec, request_id_filter):
    """One invocation's record: its status and time, and the error when it fails."""

    now = time.time()
    request_id = str(uuid.uuid4())
    lambda_timeout = function.get("timeout") or 6
    context = LambdaContext(request_id, spec["region"], now + lambda_timeout)
    built = EVENT_BUILDERS[event["kind"]](
        event, {"region": spec["region"], "now": now, "request_id": request_id}
    )
    # Lambda hands the function a fresh, JSON-decoded event.
    payload = json.loads(json.dumps(built))
    os.environ["_X_AMZN_TRACE_ID"] = built.get("headers", {}).get("x-amzn-trace-id", trace_id(now))
    request_id_filter.request_id = request_id
    record = {
        "kind": event["kind"],
        "method": event.get("method", "GET").upper(),
        "path": event.get("path", "/"),
        "status": None,
        "seconds": None,
        "passed": False,
    }
    started = time.perf_counter()
    try:
        response = handler(payload, context)
    except Exception as error:
        record["seconds"] = round(time.perf_counter() - started, 4)
        record["error"] = invoke_error(error, event, function, spec.get("boto"))
        return record
    record["seconds"] = round(time.perf_counter() - started, 4)
    try:
        # What Lambda does with the return value: JSON for the trigger, which reads statusCode from it.
        json.dumps(response)
        status, body = status_of(response, event)
    except (TypeError, ValueError) as error:
        record["error"] = {
            "kind": "invoke",
            "message": "%s %s via %s: %s" % (record["method"], record["path"], event["kind"], error),
            "traceback": [],
            "fix": "Lambda serializes the handler's return value as JSON for the trigger: return a dict with "
            "statusCode, headers and a string body (Mangum does; an async def handler returns a coroutine "
            "instead).",
        }
        return record
    record["status"] = status
    if any(low <= status <= high for low, high in spec["expect"]):
        record["passed"] = True
        return record
    record["error"] = {
        "kind": "status",
        "message": "%s %s via %s answered %d, expected %s: %s"
        % (
            record["method"],
            record["path"],
            event["kind"],
            status,
            " or ".join("%d-%d" % (low, high) for low, high in spec["expect"]),
            body[:BODY_LIMIT],
        ),
        "traceback": [],
        "fix": "The deployed function would answer this request with %d: see the response body and the log "
        "lines, fix the route, or check a path that answers without AWS resources (a /health route)."
        % status,
    }
    return record


def child():
    """Imports and invokes one function as Lambda would; writes one JSON record per line to stdout."""
    spec = json.loads(sys.stdin.read())
    function = spec["function"]
    channel = os.fdopen(os.dup(1), "w")
    # What the function prints goes to stderr, with its logs: stdout carries the records alone.
    os.dup2(2, 1)
    # Unbuffered, as Lambda's runtime makes both: the log keeps the order things happened in.
    sys.stdout.reconfigure(line_buffering=True, write_through=True)

    def emit(record):
        channel.write(json.dumps(record) + "\n")
        channel.flush()

    sys.path[:] = lambda_sys_path(function, spec.get("boto"))
    forbid_writes([function["root"]] + function["layers"])
    attempts = []
    block_network(attempts)
    request_id_filter = lambda_logging()

    module_name, _, attribute = function["handler"].rpartition(".")
    module_name = module_name.replace("/", ".")
    emit({"stage": "importing"})
    before = len(sys.modules)
    started = time.perf_counter()
    try:
        if not module_name:
            raise ModuleNotFoundError(
                "handler %r names no module (module.function)" % function["handler"], name=function["handler"]
            )
        module = importlib.import_module(module_name)
    except BaseException as error:  # noqa: B036 - SystemExit at import time fails a cold start too
        emit({"error": import_error(error, function, attempts, spec.get("boto"))})
        emit({"stage": "done"})
        return 0
    seconds = round(time.perf_counter() - started, 4)
    if attempts:
        emit(
            {
                "error": import_error(
                    NetworkBlocked(errno.ENETUNREACH, "the module caught the refusal"),
                    function,
                    attempts,
                    spec.get("boto"),
                )
            }
        )
    emit({"stage": "imported", "seconds": seconds, "modules": len(sys.modules) - before})
    missing = object()
    handler = getattr(module, attribute, missing)
    if not callable(handler):
        emit(
            {
                "error": {
                    "kind": "handler-missing",
                    "message": "module %s has %s %s"
                    % (module_name, "no attribute" if handler is missing else "a non-callable", attribute),
                    "traceback": [],
                    "fix": "Lambda calls %s(event, context): define it at the top level of %s (e.g. "
                    "handler = Mangum(app)), or fix the handler of functions.%s in serverless.yml."
                    % (
                        function["handler"],
                        module.__file__ and os.path.relpath(module.__file__, function["root"]),
                        function["key"],
                    ),
                }
            }
        )
        emit({"stage": "done"})
        return 0
    for event in function["events"]:
        emit({"stage": "invoking", "event": event})
        emit({"invocation": invoke(handler, event, function, spec, request_id_filter)})
    emit({"stage": "done"})
    return 0


def main(argv):
    if argv[1:2] == ["--child"]:
        return child()
    try:
        spec = read_spec(sys.stdin.read())
    except BadInput as error:
        sys.stderr.write("lambda_check: %s\n" % error)
        return 2
    sys.stdout.write(json.dumps(run(spec), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
