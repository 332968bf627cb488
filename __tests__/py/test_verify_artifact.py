"""verify_artifact.py: each faulty zip yields exactly its one problem, a sound one none."""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from conftest import (
    AARCH64,
    HANDLER,
    ROOT,
    VERIFY,
    X86_64,
    distribution,
    make_zip,
    pyenv_pythons,
    real_elf,
    run_verify,
    with_machine,
)

ELF = real_elf()


def spec_for(
    artifact, runtime="python3.11", architecture="x86_64", layers=(), handler="main.handler", **extra
):
    spec = {
        "runtime": runtime,
        "architecture": architecture,
        "functions": [
            {
                "name": "svc-dev-api",
                "key": "api",
                "handler": handler,
                "artifact": artifact,
                "layers": list(layers),
            }
        ],
    }
    spec.update(extra)
    return spec


def verify(spec, python=None):
    status, report, stderr = run_verify(spec, python)
    assert status == 0, stderr
    return report


def only_problem(report):
    assert len(report["problems"]) == 1, json.dumps(report["problems"], indent=1)
    return report["problems"][0]


def extension(name, version_tag, machine):
    """An installed distribution with one extension module: a real ELF for `machine`, tagged `version_tag`."""
    return distribution(
        "fastcore",
        "1.2.3",
        ["%s-%s-manylinux_2_17_%s" % (version_tag, version_tag, name)],
        {
            "fastcore/__init__.py": "",
            "fastcore/_speed.%s-%s-linux-gnu.so"
            % (version_tag.replace("cp", "cpython-"), name): with_machine(ELF, machine),
        },
    )


def test_a_sound_artifact_has_no_problem_and_lists_its_packages_and_sizes(scratch):
    files = {"main.py": HANDLER}
    files.update(extension("x86_64", "cp311", X86_64))
    artifact = make_zip(os.path.join(scratch, "svc.zip"), files)
    report = verify(spec_for(artifact))
    assert report["problems"] == []
    assert report["packages"] == [
        {
            "name": "fastcore",
            "version": "1.2.3",
            "tags": ["cp311-cp311-manylinux_2_17_x86_64"],
            "zip": "svc.zip",
        }
    ]
    [listed] = report["zips"]
    with zipfile.ZipFile(artifact) as archive:
        assert listed["entries"] == len(archive.infolist())
        assert listed["unzipped"] == sum(info.file_size for info in archive.infolist())
    assert listed["bytes"] > 0 and listed["zip"] == "svc.zip"
    assert 0 <= report["seconds"] < 5


def test_x86_64_code_for_an_arm64_function_is_an_architecture_problem(scratch):
    files = {"main.py": HANDLER}
    files.update(extension("x86_64", "cp311", X86_64))
    report = verify(spec_for(make_zip(os.path.join(scratch, "svc.zip"), files), architecture="arm64"))
    problem = only_problem(report)
    assert problem["kind"] == "architecture"
    assert problem["file"] == "fastcore/_speed.cpython-311-x86_64-linux-gnu.so"
    assert (problem["package"], problem["version"], problem["zip"]) == ("fastcore", "1.2.3", "svc.zip")
    assert problem["function"] == "svc-dev-api"
    assert problem["found"] == "x86_64 code" and problem["needed"] == "aarch64 code"
    assert "the wheel was built for the runner" in problem["fix"]
    assert "provider.architecture: x86_64" in problem["fix"]


def test_aarch64_code_without_a_python_tag_is_checked_by_its_elf_header(scratch):
    files = {"main.py": HANDLER, "vendor/libthing.so": with_machine(ELF, AARCH64)}
    report = verify(spec_for(make_zip(os.path.join(scratch, "svc.zip"), files)))
    problem = only_problem(report)
    assert (problem["kind"], problem["file"], problem["package"]) == (
        "architecture",
        "vendor/libthing.so",
        None,
    )
    assert problem["found"] == "aarch64 code"
    assert "provider.architecture: arm64" in problem["fix"]
    # A file in no package is named once, and the fix is to rebuild it.
    assert problem["fix"].startswith("vendor/libthing.so ships aarch64 code but the function runs on x86_64.")
    assert problem["fix"].count("vendor/libthing.so") == 1
    assert "Rebuild it for Linux x86_64" in problem["fix"]


def test_an_extension_for_another_python_in_no_package_is_rebuilt_not_pinned(scratch):
    files = {"main.py": HANDLER, "vendor/_speed.cpython-312-x86_64-linux-gnu.so": with_machine(ELF, X86_64)}
    problem = only_problem(verify(spec_for(make_zip(os.path.join(scratch, "svc.zip"), files))))
    assert (problem["kind"], problem["package"]) == ("python-abi", None)
    assert problem["fix"] == (
        "vendor/_speed.cpython-312-x86_64-linux-gnu.so is an extension module for CPython 3.12 but "
        "the function runs python3.11: rebuild it with python3.11 (the runtime's version)."
    )


def test_any_elf_file_is_checked_not_only_shared_objects(scratch):
    files = {"main.py": HANDLER, "bin/tool": with_machine(ELF, AARCH64), "bin/script": "#!/bin/sh\necho hi\n"}
    problem = only_problem(verify(spec_for(make_zip(os.path.join(scratch, "svc.zip"), files))))
    assert (problem["kind"], problem["file"]) == ("architecture", "bin/tool")


def test_an_extension_for_cpython_3_12_in_a_python3_11_function_is_a_python_abi_problem(scratch):
    files = {"main.py": HANDLER}
    files.update(extension("x86_64", "cp312", X86_64))
    problem = only_problem(verify(spec_for(make_zip(os.path.join(scratch, "svc.zip"), files))))
    assert problem["kind"] == "python-abi"
    assert problem["file"] == "fastcore/_speed.cpython-312-x86_64-linux-gnu.so"
    assert problem["found"] == "an extension module for CPython 3.12"
    assert problem["needed"] == "CPython 3.11 (cpython-311)"
    assert "Package with python3.11" in problem["fix"]


def test_an_abi3_module_fits_from_its_wheels_minimum_python(scratch):
    files = {"main.py": HANDLER}
    files.update(
        distribution(
            "stable",
            "4.0",
            ["cp312-abi3-manylinux_2_17_x86_64"],
            {"stable/_core.abi3.so": with_machine(ELF, X86_64)},
        )
    )
    artifact = make_zip(os.path.join(scratch, "svc.zip"), files)
    problem = only_problem(verify(spec_for(artifact, runtime="python3.11")))
    assert (problem["kind"], problem["package"]) == ("python-abi", "stable")
    assert "3.12 or later" in problem["found"]
    assert verify(spec_for(artifact, runtime="python3.12"))["problems"] == []


def test_a_musl_extension_is_refused(scratch):
    files = {"main.py": HANDLER}
    files.update(
        distribution(
            "alpine",
            "1.0",
            ["cp311-cp311-musllinux_1_2_x86_64"],
            {"alpine/_c.cpython-311-x86_64-linux-musl.so": with_machine(ELF, X86_64)},
        )
    )
    problem = only_problem(verify(spec_for(make_zip(os.path.join(scratch, "svc.zip"), files))))
    assert (problem["kind"], problem["package"]) == ("musl", "alpine")
    assert "--platform manylinux2014_x86_64" in problem["fix"]


def test_a_manylinux_2_28_wheel_needs_a_newer_glibc_than_amazon_linux_2(scratch):
    files = {"main.py": HANDLER}
    files.update(
        distribution(
            "newglibc",
            "2.0",
            ["cp311-cp311-manylinux_2_28_x86_64"],
            {
                "newglibc/__init__.py": "",
                "newglibc/_c.cpython-311-x86_64-linux-gnu.so": with_machine(ELF, X86_64),
            },
        )
    )
    artifact = make_zip(os.path.join(scratch, "svc.zip"), files)
    problem = only_problem(verify(spec_for(artifact, runtime="python3.11")))
    assert problem["kind"] == "glibc"
    assert problem["file"] == "newglibc/_c.cpython-311-x86_64-linux-gnu.so"
    assert (problem["package"], problem["version"]) == ("newglibc", "2.0")
    assert problem["found"].startswith("glibc 2.28")
    assert problem["needed"] == "glibc 2.26 or older (Amazon Linux 2)"
    assert "python3.12 or later" in problem["fix"]
    # python3.12 runs on Amazon Linux 2023, glibc 2.34: the same wheel loads there.
    spec = spec_for(artifact, runtime="python3.12")
    files["newglibc-2.0.dist-info/WHEEL"] = files["newglibc-2.0.dist-info/WHEEL"].replace("cp311", "cp312")
    assert [p["kind"] for p in verify(spec)["problems"]] == ["python-abi"]


def test_a_distribution_fits_when_any_of_its_tags_does_including_legacy_aliases(scratch):
    files = {"main.py": HANDLER}
    files.update(
        distribution(
            "dual",
            "1.0",
            ["cp311-cp311-manylinux_2_28_x86_64", "cp311-cp311-manylinux2014_x86_64"],
            {"dual/_c.cpython-311-x86_64-linux-gnu.so": with_machine(ELF, X86_64)},
        )
    )
    assert verify(spec_for(make_zip(os.path.join(scratch, "svc.zip"), files)))["problems"] == []


def test_a_missing_handler_module_is_a_problem(scratch):
    artifact = make_zip(os.path.join(scratch, "svc.zip"), {"app.py": HANDLER})
    problem = only_problem(verify(spec_for(artifact, handler="src/main.handler")))
    assert (problem["kind"], problem["file"], problem["zip"]) == ("handler-module", "src/main.py", "svc.zip")
    assert "functions.api" in problem["fix"] and "package.patterns" in problem["fix"]


def test_a_missing_handler_name_is_a_problem(scratch):
    source = "from mangum import Mangum\nfrom api import app\n\napp_handler = Mangum(app)\n"
    artifact = make_zip(os.path.join(scratch, "svc.zip"), {"main.py": source})
    problem = only_problem(verify(spec_for(artifact)))
    assert (problem["kind"], problem["file"]) == ("handler-name", "main.py")
    assert "app_handler" in problem["found"]


@pytest.mark.parametrize(
    "source",
    [
        "def handler(event, context):\n    pass\n",
        "async def handler(event, context):\n    pass\n",
        "class handler:\n    pass\n",
        "handler = object()\n",
        "handler: object = object()\n",
        "from mangum import Mangum as handler\n",
        "import handler\n",
        "import os.path as handler\n",
        "try:\n    from fast import handler\nexcept ImportError:\n    handler = None\n",
        "if True:\n    handler, other = 1, 2\n",
    ],
)
def test_every_way_of_binding_the_handler_at_top_level_counts(scratch, source):
    artifact = make_zip(os.path.join(scratch, "svc.zip"), {"main.py": source})
    assert verify(spec_for(artifact))["problems"] == []


@pytest.mark.parametrize(
    "source",
    [
        "handler: object\n",
        "def make():\n    handler = 1\n",
        "class App:\n    handler = 1\n",
    ],
)
def test_bindings_that_are_not_the_modules_own_do_not_count(scratch, source):
    artifact = make_zip(os.path.join(scratch, "svc.zip"), {"main.py": source})
    assert only_problem(verify(spec_for(artifact)))["kind"] == "handler-name"


@pytest.mark.parametrize(
    "source",
    [
        "from api import *\n",
        "globals()['handler'] = lambda event, context: None\n",
        "def __getattr__(name):\n    return None\n",
    ],
)
def test_a_handler_the_module_may_bind_dynamically_is_a_note_not_a_problem(scratch, source):
    artifact = make_zip(os.path.join(scratch, "svc.zip"), {"main.py": source})
    report = verify(spec_for(artifact))
    assert report["problems"] == []
    [note] = report["notes"]
    assert note["kind"] == "handler-unverifiable" and note["file"] == "main.py"
    assert "unverifiable statically" in note["message"]


def test_a_handler_module_that_does_not_compile_is_a_handler_module_problem(scratch):
    artifact = make_zip(os.path.join(scratch, "svc.zip"), {"main.py": "def handler(event, context:\n"})
    problem = only_problem(verify(spec_for(artifact)))
    assert (problem["kind"], problem["file"]) == ("handler-module", "main.py")
    assert "syntax error at line 1" in problem["found"]


@pytest.mark.parametrize("folder", ["python/", "python/lib/python3.11/site-packages/"])
def test_a_layer_can_provide_the_handler_module(scratch, folder):
    artifact = make_zip(os.path.join(scratch, "svc.zip"), {"README.txt": "code in the layer\n"})
    layer = make_zip(
        os.path.join(scratch, "pythonRequirements.zip"),
        {folder + "handlers/__init__.py": "", folder + "handlers/api.py": HANDLER},
    )
    assert (
        only_problem(verify(spec_for(artifact, handler="handlers.api.handler")))["kind"] == "handler-module"
    )
    assert verify(spec_for(artifact, handler="handlers.api.handler", layers=[layer]))["problems"] == []


def test_a_handler_in_a_compiled_module_is_a_note(scratch):
    artifact = make_zip(
        os.path.join(scratch, "svc.zip"), {"main.cpython-311-x86_64-linux-gnu.so": with_machine(ELF, X86_64)}
    )
    report = verify(spec_for(artifact))
    assert report["problems"] == []
    assert [note["kind"] for note in report["notes"]] == ["handler-unverifiable"]


def test_a_function_and_its_layers_over_the_unzipped_limit_is_a_size_problem(scratch):
    artifact = make_zip(os.path.join(scratch, "svc.zip"), {"main.py": HANDLER})
    layer = os.path.join(scratch, "pythonRequirements.zip")
    # 251 MB of zeros: a few hundred kilobytes deflated, the full size in the zip's metadata.
    with zipfile.ZipFile(layer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("python/big/model.bin", "w") as stream:
            chunk = bytes(1 << 20)
            for _ in range(251):
                stream.write(chunk)
    problem = only_problem(verify(spec_for(artifact, layers=[layer])))
    assert (problem["kind"], problem["zip"], problem["file"]) == (
        "size",
        "pythonRequirements.zip",
        "python/big/model.bin",
    )
    assert problem["found"].startswith("%d bytes unzipped" % (251 * (1 << 20) + len(HANDLER)))
    assert "big 251.0 MB" in problem["fix"]
    assert verify(spec_for(artifact, layers=[layer], limits={"unzipped": 300 * (1 << 20)}))["problems"] == []


def test_a_zip_shared_by_functions_is_checked_once_and_names_them_all(scratch):
    artifact = make_zip(os.path.join(scratch, "svc.zip"), {"main.py": HANDLER})
    layer = make_zip(
        os.path.join(scratch, "pythonRequirements.zip"), {"python/libx.so": with_machine(ELF, AARCH64)}
    )
    spec = spec_for(artifact, layers=[layer])
    spec["functions"].append(dict(spec["functions"][0], name="svc-dev-worker", key="worker"))
    report = verify(spec)
    problem = only_problem(report)
    assert (
        problem["functions"] == ["svc-dev-api", "svc-dev-worker"]
        and problem["zip"] == "pythonRequirements.zip"
    )
    assert [each["zip"] for each in report["zips"]] == ["svc.zip", "pythonRequirements.zip"]


def test_a_pure_distribution_bundling_tools_for_several_machines_is_a_note(scratch):
    files = {"main.py": HANDLER}
    files.update(
        distribution(
            "multitool",
            "1.0",
            ["py3-none-any"],
            {
                "multitool/bin/x86_64/tool": with_machine(ELF, X86_64),
                "multitool/bin/aarch64/tool": with_machine(ELF, AARCH64),
            },
        )
    )
    report = verify(spec_for(make_zip(os.path.join(scratch, "svc.zip"), files)))
    assert report["problems"] == []
    assert [note["kind"] for note in report["notes"]] == ["foreign-binary"]


@pytest.mark.parametrize(
    "stdin, message",
    [
        ("not json", "stdin is not JSON"),
        (json.dumps({"runtime": "python3.11", "architecture": "mips", "functions": []}), "architecture"),
        (json.dumps({"runtime": "node20", "architecture": "x86_64", "functions": []}), "runtime"),
        (json.dumps({"runtime": "python3.11", "architecture": "x86_64", "functions": []}), "functions"),
        (
            json.dumps(
                {
                    "runtime": "python3.11",
                    "architecture": "x86_64",
                    "functions": [
                        {"name": "f", "handler": "main.handler", "artifact": "/nonexistent/svc.zip"}
                    ],
                }
            ),
            "cannot read /nonexistent/svc.zip",
        ),
    ],
)
def test_bad_input_exits_2_with_a_message(stdin, message):
    result = subprocess.run([sys.executable, VERIFY], input=stdin.encode(), capture_output=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr.decode()
    assert result.stdout == b""


def starter_artifact(site, folder):
    """The starter service packaged as serverless does: its code and its requirements at the zip's root."""
    source = os.path.join(folder, "service")
    shutil.copytree(site, source)
    for name in ("main.py", "api.py"):
        shutil.copy(os.path.join(ROOT, "template", "src", "fastapi-lambda", name), source)
    artifact = os.path.join(folder, "svc.zip")
    with zipfile.ZipFile(artifact, "w", zipfile.ZIP_DEFLATED) as archive:
        for parent, _, names in os.walk(source):
            for name in names:
                path = os.path.join(parent, name)
                archive.write(path, os.path.relpath(path, source))
    return artifact


def test_the_starter_artifact_passes_well_under_a_second(fastapi_site, scratch):
    artifact = starter_artifact(fastapi_site, scratch)
    report = verify(spec_for(artifact))
    assert report["problems"] == [] and report["notes"] == []
    names = {package["name"] for package in report["packages"]}
    assert {"fastapi", "pydantic", "pydantic-core", "mangum", "starlette"} <= names
    assert report["zips"][0]["entries"] > 300
    assert report["seconds"] < 0.5, report["seconds"]
    # The same wheels for an arm64 function: pydantic-core's extension module is x86_64.
    problem = only_problem(verify(spec_for(artifact, architecture="arm64")))
    assert (problem["kind"], problem["package"]) == ("architecture", "pydantic-core")


@pytest.mark.parametrize("version", sorted(pyenv_pythons()))
def test_it_runs_on_each_runtime_python(scratch, version):
    python = pyenv_pythons()[version]
    tag = "cp" + version.replace(".", "")
    files = {"main.py": HANDLER}
    files.update(extension("x86_64", tag, X86_64))
    artifact = make_zip(os.path.join(scratch, "svc.zip"), files)
    assert verify(spec_for(artifact, runtime="python" + version), python)["problems"] == []
    other = "3.11" if version != "3.11" else "3.12"
    problem = only_problem(verify(spec_for(artifact, runtime="python" + other), python))
    assert problem["kind"] == "python-abi"
