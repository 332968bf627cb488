"""Shared helpers for the tests of src/py: zips built in private temp folders, the programs run as the
caller runs them (a subprocess fed JSON on stdin), and pip installs from the machine's local index.

Every folder a test creates comes from `scratch` (or a session fixture below) and is removed after
it, also on failure; pip never writes to the user's cache (--no-cache-dir).
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SRC = os.path.join(ROOT, "src", "py")
VERIFY = os.path.join(SRC, "verify_artifact.py")
CHECK = os.path.join(SRC, "lambda_check.py")
# The find-links wheelhouse beside the repository that holds what the local index lacks (mangum), as
# __tests__/support/pip-index.mjs finds it.
SHARED_WHEELS = os.path.abspath(os.path.join(ROOT, "..", "shared", "wheels"))

X86_64 = 62
AARCH64 = 183


def make_temp(prefix):
    return tempfile.mkdtemp(prefix=prefix)


@pytest.fixture
def scratch():
    folder = make_temp("py-verify-")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- binaries ------------------------------------------------------------------------------------


def real_elf():
    """A real shared object from this Python's installation (its standard library's extension modules)."""
    candidates = sorted(glob.glob(os.path.join(sysconfig.get_config_var("DESTSHARED") or "", "*.so")))
    path = candidates[0] if candidates else os.path.realpath(sys.executable)
    with open(path, "rb") as handle:
        data = handle.read()
    assert data[:4] == b"\x7fELF", path
    return data


def with_machine(data, machine):
    """A copy of an ELF file claiming another e_machine (little-endian, offset 18)."""
    return data[:18] + machine.to_bytes(2, "little") + data[20:]


# --- zips -----------------------------------------------------------------------------------------


def make_zip(path, files):
    """A zip of {name: bytes | str}, deflated like serverless' own."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content.encode() if isinstance(content, str) else content)
    return path


def distribution(name, version, tags, files, prefix=""):
    """The files of an installed wheel: its own plus a dist-info whose WHEEL and RECORD describe them."""
    folder = "%s%s-%s.dist-info" % (prefix, re.sub(r"[-.]+", "_", name), version)
    entries = {prefix + path: content for path, content in files.items()}
    entries[folder + "/WHEEL"] = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\n" + "".join(
        "Tag: %s\n" % tag for tag in tags
    )
    entries[folder + "/METADATA"] = "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version)
    listed = [path for path in files] + [
        folder[len(prefix) :] + "/" + each for each in ("WHEEL", "METADATA", "RECORD")
    ]
    entries[folder + "/RECORD"] = "".join("%s,,\n" % path for path in listed)
    return entries


HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"


# --- running the programs -------------------------------------------------------------------------


def run_verify(spec, python=None):
    """(exit status, report or None, stderr) of verify_artifact.py for a spec."""
    result = subprocess.run(
        [python or sys.executable, VERIFY], input=json.dumps(spec).encode(), capture_output=True, timeout=60
    )
    report = json.loads(result.stdout) if result.returncode == 0 else None
    return result.returncode, report, result.stderr.decode()


def run_check(spec, python=None, timeout=180):
    """(exit status, report or None, stderr) of lambda_check.py, started as the caller starts it."""
    result = subprocess.run(
        [python or sys.executable, "-I", "-B", "-S", CHECK],
        input=json.dumps(spec).encode(),
        capture_output=True,
        timeout=timeout,
    )
    report = json.loads(result.stdout) if result.returncode == 0 else None
    return result.returncode, report, result.stderr.decode()


def pyenv_pythons():
    """{"3.12": path} of the CPython versions pyenv has here (3.10 and later), for the version matrix."""
    found = {}
    for path in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3"))):
        version = re.search(r"versions/(3\.\d+)\.", path)
        if version and tuple(int(n) for n in version.group(1).split(".")) >= (3, 10):
            found[version.group(1)] = path
    return found


# --- pip, from the machine's local index ------------------------------------------------------------


def pip_env():
    """pip's environment here: the first local index, if pip's configuration has one (the public index is
    unreachable and pip would wait out its retries), and the shared wheelhouse as find-links."""
    env = dict(os.environ, PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    ).stdout
    for line in listed.splitlines():
        match = re.search(r"index-url='([^']*)'", line)
        local = [url for url in match.group(1).split() if url.startswith("file:")] if match else []
        if local:
            env["PIP_INDEX_URL"] = local[0]
            break
    if os.path.isdir(SHARED_WHEELS):
        configured = re.findall(r"find-links='([^']*)'", listed)
        env["PIP_FIND_LINKS"] = " ".join([SHARED_WHEELS] + " ".join(configured).split())
    return env


def pip_install(target, *requirements):
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-cache-dir", "--target", target]
        + list(requirements),
        check=True,
        env=pip_env(),
        capture_output=True,
        timeout=600,
    )
    return target


@pytest.fixture(scope="session")
def fastapi_site():
    """fastapi, pydantic and mangum installed once, as serverless-python-requirements would."""
    folder = make_temp("py-verify-site-")
    try:
        yield pip_install(os.path.join(folder, "site"), "fastapi", "pydantic", "mangum")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def boto_site():
    """boto3 installed once for the session: what Lambda's runtime provides beside the function."""
    folder = make_temp("py-verify-boto-")
    try:
        yield pip_install(os.path.join(folder, "site"), "boto3")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
