"""bytecode.py: the zip written over two processes equals the one a single process writes."""

import importlib.util
import marshal
import os
import sys
import zipfile

import pytest

from conftest import SRC

spec = importlib.util.spec_from_file_location("bytecode", os.path.join(SRC, "bytecode.py"))
bytecode = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bytecode)


def service_zip(folder, compression):
    """A function zip with enough modules for the work to be shared, one that does not compile, a
    stale timestamp .pyc, a folder entry and an empty file."""
    path = os.path.join(folder, "api.zip")
    with zipfile.ZipFile(path, "w", compression) as z:
        z.writestr(zipfile.ZipInfo("pkg/", (1980, 1, 1, 0, 0, 0)), b"")
        for i in range(120):
            body = "".join(f"def f{j}(x):\n    return x * {j} + {i}\n" for j in range(i % 17 + 1))
            z.writestr(zipfile.ZipInfo(f"pkg/m{i}.py", (1980, 1, 1, 0, 0, 0)), body)
            z.writestr(zipfile.ZipInfo(f"pkg/data{i}.txt", (1980, 1, 1, 0, 0, 0)), os.urandom(64) * i)
        z.writestr(zipfile.ZipInfo("pkg/broken.py", (1980, 1, 1, 0, 0, 0)), "def broken(:\n")
        z.writestr(zipfile.ZipInfo("pkg/empty.txt", (1980, 1, 1, 0, 0, 0)), b"")
        z.writestr(zipfile.ZipInfo("pkg/__pycache__/m1.cpython-39.pyc", (1980, 1, 1, 0, 0, 0)), b"stale")
    return path


def entries(path):
    """Each entry's name, kind, attributes and content; a .pyc as its header and its code."""
    found = []
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        for info in z.infolist():
            data = z.read(info)
            if info.filename.endswith(".pyc"):
                data = (data[:16], marshal.loads(data[16:]))
            found.append((info.filename, info.compress_type, info.external_attr, data))
    return found


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_two_processes_write_what_one_does(scratch, monkeypatch, compression):
    source = service_zip(scratch, compression)
    shared = os.path.join(scratch, "shared.zip")
    report = bytecode.transform(source, shared)
    monkeypatch.setattr(bytecode.os, "cpu_count", lambda: 1)
    alone = os.path.join(scratch, "alone.zip")
    assert bytecode.transform(source, alone) == report
    assert report["compiled"] == 120
    assert entries(shared) == entries(alone)
    names = [name for name, *_ in entries(shared)]
    assert "pkg/__pycache__/m1.cpython-39.pyc" not in names
    assert f"pkg/__pycache__/m1.{sys.implementation.cache_tag}.pyc" in names
    assert all(kind == zipfile.ZIP_DEFLATED for name, kind, _, _ in entries(shared) if not name.endswith("/"))


def test_without_zipfile_compressor_hook_it_compresses_as_zipfile_does(scratch, monkeypatch):
    source = service_zip(scratch, zipfile.ZIP_STORED)
    hooked = os.path.join(scratch, "hooked.zip")
    bytecode.transform(source, hooked)
    monkeypatch.setattr(bytecode, "COMPRESSOR", None)
    plain = os.path.join(scratch, "plain.zip")
    bytecode.transform(source, plain)
    assert entries(hooked) == entries(plain)
    with open(hooked, "rb") as a, open(plain, "rb") as b:
        assert a.read() == b.read()


def test_a_failed_child_fails_the_run(scratch, monkeypatch):
    source = service_zip(scratch, zipfile.ZIP_STORED)

    def failing(jobs, entries_, prefix, rewrite):
        if os.getpid() != parent:
            raise RuntimeError("the child breaks")
        return {}

    parent = os.getpid()
    monkeypatch.setattr(bytecode, "work", failing)
    with pytest.raises(SystemExit, match="compiling child process failed"):
        bytecode.transform(source, os.path.join(scratch, "out.zip"))
