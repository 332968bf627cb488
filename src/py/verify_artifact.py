"""Static verification of the zips `serverless package` wrote, before any of them is uploaded.

Run by the target runtime's Python (standard library only; 3.9 or later), so that a handler module
is parsed with the grammar Lambda will compile it with:

    python3.X -I -S verify_artifact.py < spec.json > report.json

(-I -S: nothing from the runner's environment or site-packages; it also starts faster.)

stdin, one JSON document:

    {"runtime": "python3.11", "architecture": "x86_64" | "arm64",
     "functions": [{"name": "svc-dev-api", "key": "api", "handler": "main.handler",
                    "artifact": "/abs/.serverless/svc.zip",
                    "layers": ["/abs/.serverless/pythonRequirements.zip"]}],
     "limits": {"unzipped": 262144000}}

`key` and `layers` are optional; `limits` too (Lambda's 250 MB for a function and its layers).

stdout, one JSON document:

    {"problems": [{"kind", "function", "functions", "zip", "file", "package", "version",
                   "found", "needed", "fix", "files"}],
     "notes": [{"kind", "function", "zip", "file", "message"}],
     "packages": [{"name", "version", "tags", "zip"}],
     "zips": [{"zip", "path", "entries", "bytes", "unzipped"}],
     "seconds": 0.05}

`kind` is one of architecture, python-abi, musl, glibc, handler-module, handler-name, size.
`package` and `version` are null when the file belongs to no installed distribution (the
service's own code). `files` counts the files of the same distribution with the same problem (the
problem names the first one). `functions` lists every function whose package contains the zip
(a shared layer is checked once); `function` is the first of them. Notes are informational, of
kind handler-unverifiable (a handler that cannot be verified without importing it: a compiled
module, `from x import *`, globals(), a module __getattr__), foreign-binary (binaries a pure-Python
distribution bundles for other machines beside the target's) or local-build (a wheel built from
source on the packaging machine, tag linux_*, whose glibc needs are unknown).

Exit status: 0 when the check ran, whatever it found (the caller decides); 2 when the input is not
a valid spec or a zip cannot be read (the message is on stderr).

Only zip metadata, dist-info files, the handler's module and the first 64 bytes of each file are
read; nothing is extracted to disk.
"""

import ast
import csv
import io
import json
import posixpath
import re
import struct
import sys
import time
import zipfile

DEFAULT_UNZIPPED_LIMIT = 262144000

# e_machine values (System V ABI, "ELF header") of the machines a wheel may have been built for.
ELF_MACHINES = {
    3: "i386",
    8: "mips",
    20: "ppc",
    21: "ppc64",
    22: "s390x",
    40: "arm",
    62: "x86_64",
    183: "aarch64",
    243: "riscv",
}
TARGET_MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}
LAMBDA_ARCHITECTURE = {"x86_64": "x86_64", "aarch64": "arm64"}

# The legacy manylinux aliases and the glibc they stand for (PEP 513, 571, 599).
LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}

# Files that are read as source or data, never loaded as machine code: their first bytes need no
# look. Everything else (extension modules, shared libraries, executables without a suffix) is.
NOT_BINARY_SUFFIXES = tuple(
    ".py .pyc .pyi .pyx .pxd .c .h .txt .md .rst .json .typed .toml .cfg .ini .yaml .yml .html .css .js .csv "
    ".pem".split()
)
NOT_BINARY_NAMES = {"RECORD", "METADATA", "WHEEL", "LICENSE", "INSTALLER", "REQUESTED"}

EXTENSION_TAG = re.compile(r"\.cpython-(\d)(\d+)([a-z]*)-(.+)\.so$")
ABI3 = re.compile(r"\.abi3\.so$")
DIST_INFO = re.compile(r"^(?:(.*)/)?([^/]+)\.dist-info/WHEEL$")
MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(.+)$")
MUSLLINUX = re.compile(r"^musllinux_(\d+)_(\d+)_(.+)$")


class BadInput(Exception):
    """The spec, or a zip it names, cannot be used: exit 2."""


# --- the spec ---------------------------------------------------------------------------------


def read_spec(text):
    """The validated spec, or BadInput naming what is wrong."""
    try:
        spec = json.loads(text)
    except ValueError as error:
        raise BadInput("stdin is not JSON: %s" % error)
    if not isinstance(spec, dict):
        raise BadInput("stdin must be a JSON object")
    runtime = spec.get("runtime")
    match = re.match(r"^python3\.(\d+)$", runtime) if isinstance(runtime, str) else None
    if not match:
        raise BadInput("runtime must look like python3.11, got %r" % (runtime,))
    if spec.get("architecture") not in TARGET_MACHINE:
        raise BadInput("architecture must be x86_64 or arm64, got %r" % (spec.get("architecture"),))
    functions = spec.get("functions")
    if not isinstance(functions, list) or not functions:
        raise BadInput("functions must be a non-empty list")
    for function in functions:
        if not isinstance(function, dict):
            raise BadInput("each function must be an object")
        for field in ("name", "handler", "artifact"):
            if not isinstance(function.get(field), str) or not function[field]:
                raise BadInput("function %r: %s must be a non-empty string" % (function.get("name"), field))
        layers = function.setdefault("layers", [])
        if not isinstance(layers, list) or not all(isinstance(layer, str) for layer in layers):
            raise BadInput("function %r: layers must be a list of paths" % function["name"])
    limits = spec.get("limits") or {}
    unzipped = limits.get("unzipped", DEFAULT_UNZIPPED_LIMIT) if isinstance(limits, dict) else None
    if not isinstance(unzipped, int) or isinstance(unzipped, bool) or unzipped <= 0:
        raise BadInput("limits.unzipped must be a positive number of bytes")
    spec["limits"] = {"unzipped": unzipped}
    spec["python"] = (3, int(match.group(1)))
    return spec


def glibc_of(python):
    """The glibc of the runtime's OS: Amazon Linux 2 up to python3.11, Amazon Linux 2023 from python3.12.

    Runtimes and their OS: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html. The
    same mapping decides which wheels pip installs (src/wheels.ts, glibcMinor).
    """
    return (2, 26) if python <= (3, 11) else (2, 34)


def amazon_linux(python):
    return "Amazon Linux 2" if python <= (3, 11) else "Amazon Linux 2023"


# --- reading a zip ----------------------------------------------------------------------------


class Distribution:
    """One *.dist-info in a zip: its name, version, wheel tags and the files its RECORD lists."""

    def __init__(self, folder):
        stem = folder.rsplit("/", 1)[-1][: -len(".dist-info")]
        name, _, version = stem.partition("-")
        self.folder = folder
        # PEP 503 normalisation: what pip and the summary call it.
        self.name = re.sub(r"[-_.]+", "-", name).lower()
        self.version = version.split("-")[0]
        self.tags = []
        self.files = set()

    def platforms(self):
        return [tag.split("-")[2] for tag in self.tags if tag.count("-") == 2]

    def is_pure(self):
        return "any" in self.platforms()

    def abi3_minimum(self):
        """The oldest CPython its abi3 extension modules load in (the cp3Y of a cp3Y-abi3 tag)."""
        minimums = []
        for tag in self.tags:
            parts = tag.split("-")
            if len(parts) == 3 and parts[1] == "abi3":
                found = re.match(r"^cp(\d)(\d+)$", parts[0])
                if found:
                    minimums.append((int(found.group(1)), int(found.group(2))))
        return min(minimums) if minimums else None


def expand_tags(value):
    """A WHEEL `Tag:` value, compressed tag sets (py2.py3-none-any) expanded (PEP 425)."""
    parts = value.strip().split("-")
    if len(parts) != 3:
        return []
    return [
        "%s-%s-%s" % (python, abi, platform)
        for python in parts[0].split(".")
        for abi in parts[1].split(".")
        for platform in parts[2].split(".")
    ]


class Archive:
    """What the checks need from one zip, read once however many functions use it."""

    def __init__(self, path, spec):
        self.path = path
        self.python = spec["python"]
        self.machine = TARGET_MACHINE[spec["architecture"]]
        self.name = posixpath.basename(path.replace("\\", "/"))
        self.functions = []
        try:
            with zipfile.ZipFile(path) as archive:
                self._read(archive)
        except (OSError, zipfile.BadZipFile) as error:
            raise BadInput("cannot read %s: %s" % (path, error))

    def _read(self, archive):
        infos = [info for info in archive.infolist() if not info.is_dir()]
        self.names = {info.filename for info in infos}
        self.entries = len(infos)
        self.bytes = sum(info.compress_size for info in infos)
        self.unzipped = sum(info.file_size for info in infos)
        self.sizes = {info.filename: info.file_size for info in infos}
        self.distributions = []
        self.owner = {}
        for info in infos:
            found = DIST_INFO.match(info.filename)
            if found:
                self._read_distribution(archive, found.group(1) or "", info.filename)
        self.heads = {}
        for info in infos:
            if info.file_size >= 4 and not self._never_binary(info.filename):
                with archive.open(info) as stream:
                    self.heads[info.filename] = stream.read(64)

    @staticmethod
    def _never_binary(name):
        base = name.rsplit("/", 1)[-1]
        return base.endswith(NOT_BINARY_SUFFIXES) or base in NOT_BINARY_NAMES

    def _read_distribution(self, archive, base, wheel):
        folder = wheel[: -len("/WHEEL")]
        distribution = Distribution(folder)
        text = archive.read(wheel).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.startswith("Tag:"):
                distribution.tags.extend(expand_tags(line[len("Tag:") :]))
        record = folder + "/RECORD"
        if record in self.names:
            rows = csv.reader(io.StringIO(archive.read(record).decode("utf-8", "replace")))
            for row in rows:
                if row and row[0]:
                    path = posixpath.normpath(posixpath.join(base, row[0]))
                    distribution.files.add(path)
                    self.owner[path] = distribution
        self.distributions.append(distribution)

    def read(self, name):
        with zipfile.ZipFile(self.path) as archive:
            return archive.read(name)


# --- binaries ---------------------------------------------------------------------------------


def elf_header(head):
    """(64-bit, little-endian, machine name) of an ELF file's first bytes, or None if not ELF."""
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    little = head[5] == 1
    machine = struct.unpack(("<" if little else ">") + "H", head[18:20])[0]
    return head[4] == 2, little, ELF_MACHINES.get(machine, "machine %d" % machine)


def describe_elf(header):
    """`x86_64`, or `i386 (32-bit)`: equal to the target machine's name only when it loads there."""
    is64, little, machine = header
    extras = [] if is64 else ["32-bit"]
    if not little:
        extras.append("big-endian")
    return machine + (" (%s)" % ", ".join(extras) if extras else "")


def foreign_binary(head):
    """The OS a non-ELF binary was built for, when its first bytes say so."""
    if head[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"\xfe\xed\xfa\xcf"):
        return "macOS (Mach-O)"
    if head[:2] == b"MZ":
        return "Windows (PE)"
    return None


class Finding:
    """Why one file cannot load on the target. `machine` is the machine it was built for, if known."""

    def __init__(self, kind, found, needed, machine=None):
        self.kind = kind
        self.found = found
        self.needed = needed
        self.machine = machine


def file_finding(archive, name, head, spec):
    """The most fundamental reason one file cannot load on the target, or None.

    One per file: an x86_64 extension module for another Python on arm64 is an architecture
    problem first (the other Python's module would not load either).
    """
    machine = TARGET_MACHINE[spec["architecture"]]
    python = spec["python"]
    base = name.rsplit("/", 1)[-1]
    header = elf_header(head)
    built_for = describe_elf(header) if header else None
    tag = EXTENSION_TAG.search(base)
    if tag:
        platform = tag.group(4)
        if platform.endswith("-linux-musl"):
            return Finding("musl", "a musl (Alpine Linux) build", "a glibc (manylinux) build")
        if not platform.endswith("-linux-gnu"):
            return Finding("architecture", "an extension module for %s" % platform, "Linux " + machine)
        if built_for and built_for != machine:
            return Finding("architecture", built_for + " code", machine + " code", built_for)
        named_for = platform[: -len("-linux-gnu")]
        if named_for != machine:
            # The importer looks for the target's own suffix only: it never sees a module named for another.
            found = "an extension module named for %s" % named_for
            return Finding("architecture", found, machine + " code", named_for)
        version = (int(tag.group(1)), int(tag.group(2)))
        if version != python or tag.group(3):
            found = "an extension module for CPython %d.%d%s" % (version + (tag.group(3),))
            return Finding("python-abi", found, "CPython %d.%d (cpython-%d%d)" % (python + python))
        return None
    if header is None:
        foreign = foreign_binary(head) if base.endswith(".so") else None
        return Finding("architecture", foreign + " code", "Linux " + machine) if foreign else None
    if built_for != machine:
        return Finding("architecture", built_for + " code", machine + " code", built_for)
    if ABI3.search(base):
        distribution = archive.owner.get(name)
        minimum = distribution.abi3_minimum() if distribution else None
        if minimum and minimum > python:
            found = "a stable-ABI (abi3) module for CPython %d.%d or later" % minimum
            return Finding("python-abi", found, "CPython %d.%d" % python)
    return None


def glibc_finding(distribution, spec):
    """A Finding when every wheel tag for the target machine needs a newer C library than Lambda's."""
    machine = TARGET_MACHINE[spec["architecture"]]
    glibc = glibc_of(spec["python"])
    needs = []
    musl = False
    for platform in distribution.platforms():
        if platform == "any":
            return None
        manylinux = MANYLINUX.match(platform)
        legacy = platform.split("_", 1)
        if manylinux and manylinux.group(3) == machine:
            needs.append((int(manylinux.group(1)), int(manylinux.group(2))))
        elif legacy[0] in LEGACY_MANYLINUX and legacy[1:] == [machine]:
            needs.append(LEGACY_MANYLINUX[legacy[0]])
        elif MUSLLINUX.match(platform):
            musl = True
    if needs:
        if min(needs) <= glibc:
            return None
        tags = ", ".join(distribution.platforms())
        return Finding(
            "glibc",
            "glibc %d.%d (wheel tags: %s)" % (min(needs) + (tags,)),
            "glibc %d.%d or older (%s)" % (glibc + (amazon_linux(spec["python"]),)),
        )
    if musl:
        return Finding("musl", "a musllinux (Alpine Linux) wheel", "a manylinux (glibc) wheel")
    return None


# --- messages ---------------------------------------------------------------------------------


def binary_fix(problem, finding, spec):
    """The concrete fix for a file that will not load on the target: what happened, what to do."""
    runtime = spec["runtime"]
    machine = TARGET_MACHINE[spec["architecture"]]
    owned = problem["package"] is not None
    label = "%s %s" % (problem["package"], problem["version"]) if owned else problem["file"]
    pin = "pin %s to a version" % problem["package"]
    platform = "pip install --platform manylinux2014_%s --only-binary=:all:" % machine
    if finding.kind == "architecture":
        # A file in no package is its own label: it is not named twice.
        where = " (%s)" % problem["file"] if owned else ""
        text = "%s ships %s%s but the function runs on %s" % (
            label,
            finding.found,
            where,
            spec["architecture"],
        )
        if owned:
            text += (
                ": the wheel was built for the runner, not for Lambda. Pin a version with a manylinux %s "
                "wheel (%s)" % (machine, platform)
            )
        else:
            text += ". Rebuild it for Linux %s (e.g. in the public.ecr.aws/sam/build-%s image)" % (
                machine,
                runtime,
            )
        other = LAMBDA_ARCHITECTURE.get(finding.machine)
        if other and other != spec["architecture"]:
            text += ", or set provider.architecture: %s" % other
        return text + "."
    if finding.kind == "python-abi":
        if not owned:
            return "%s is %s but the function runs %s: rebuild it with %s (the runtime's version)." % (
                label,
                finding.found,
                runtime,
                runtime,
            )
        return (
            "%s ships %s (%s) but the function runs %s: pip installed it for another Python. Package with "
            "%s (the runtime's version), or %s that has a wheel for it."
            % (label, finding.found, problem["file"], runtime, runtime, pin)
        )
    if finding.kind == "musl":
        return "%s ships %s (%s); Lambda's %s uses glibc. Install the manylinux wheel instead (%s)." % (
            label,
            finding.found,
            problem["file"],
            amazon_linux(spec["python"]),
            platform,
        )
    glibc = glibc_of(spec["python"])
    # Only a wheel's tags say what glibc it needs: a glibc finding always has its package.
    text = (
        "%s needs %s but %s runs on %s, whose glibc is %d.%d: %s will not load. %s with a manylinux "
        "wheel for glibc %d.%d or older (manylinux2014 is 2.17)"
        % (
            label,
            finding.found.split(" (")[0],
            runtime,
            amazon_linux(spec["python"]),
            glibc[0],
            glibc[1],
            problem["file"],
            pin[0].upper() + pin[1:],
            glibc[0],
            glibc[1],
        )
    )
    if spec["python"] <= (3, 11):
        text += ", or move to python3.12 or later (Amazon Linux 2023, glibc 2.34)"
    return text + "."


# --- the checks -------------------------------------------------------------------------------


def check_binaries(archive, spec, problems, notes):
    """Every file's machine code and tags, and every wheel's glibc: one problem per distribution and kind."""
    machine = TARGET_MACHINE[spec["architecture"]]
    grouped = {}
    target_built = set()
    for name in sorted(archive.heads):
        header = elf_header(archive.heads[name])
        distribution = archive.owner.get(name)
        if header and describe_elf(header) == machine and distribution:
            target_built.add(distribution.folder)
        finding = file_finding(archive, name, archive.heads[name], spec)
        if finding:
            owner = distribution.folder if distribution else name
            grouped.setdefault((owner, finding.kind), []).append((name, distribution, finding))
    reported = set((owner, kind) for owner, kind in grouped)
    for findings in sorted(grouped.values(), key=lambda each: each[0][0]):
        name, distribution, finding = findings[0]
        if distribution and distribution.is_pure() and distribution.folder in target_built:
            # A pure-Python distribution bundling tools for several machines picks the right one at run time.
            notes.append(
                note(
                    archive,
                    "foreign-binary",
                    name,
                    "%s %s bundles %s (%d file(s)) next to its %s build; "
                    "only the latter runs on Lambda."
                    % (distribution.name, distribution.version, finding.found, len(findings), machine),
                )
            )
            continue
        problems.append(binary_problem(archive, name, distribution, finding, len(findings), spec))
    for distribution in archive.distributions:
        binaries = sorted(path for path in distribution.files if elf_header(archive.heads.get(path, b"")))
        if not binaries:
            continue
        finding = glibc_finding(distribution, spec)
        if finding and (distribution.folder, finding.kind) not in reported:
            problems.append(binary_problem(archive, binaries[0], distribution, finding, len(binaries), spec))
        elif any(platform.startswith("linux_") for platform in distribution.platforms()):
            notes.append(
                note(
                    archive,
                    "local-build",
                    binaries[0],
                    "%s %s was built from source on the packaging "
                    "machine (%s): which glibc it needs is unknown until it runs."
                    % (distribution.name, distribution.version, ", ".join(distribution.platforms())),
                )
            )


def binary_problem(archive, name, distribution, finding, count, spec):
    found = finding.found + (" (and %d more files)" % (count - 1) if count > 1 else "")
    made = problem(
        finding.kind, archive.functions, archive.name, name, found, finding.needed, "", distribution, count
    )
    made["fix"] = binary_fix(made, finding, spec)
    return made


def note(archive, kind, name, message, function=None):
    return {
        "kind": kind,
        "function": function or archive.functions[0],
        "zip": archive.name,
        "file": name,
        "message": message,
    }


def site_roots(spec, is_layer):
    """Where Lambda's Python finds modules in a zip: its root, or a layer's python folders under /opt."""
    if not is_layer:
        return [""]
    return ["python/lib/python%d.%d/site-packages/" % spec["python"], "python/"]


def find_module(archive, roots, module):
    """(path in the zip, "source" | "package" | "compiled") of a dotted module, or None."""
    relative = module.replace(".", "/")
    suffixes = [".cpython-%d%d-%s-linux-gnu.so" % (archive.python + (archive.machine,)), ".abi3.so", ".so"]
    for root in roots:
        for candidate, form in ((relative + ".py", "source"), (relative + "/__init__.py", "package")):
            if root + candidate in archive.names:
                return root + candidate, form
        for suffix in suffixes:
            if root + relative + suffix in archive.names:
                return root + relative + suffix, "compiled"
        for candidate in (relative + ".pyc", relative + "/__init__.pyc"):
            if root + candidate in archive.names:
                return root + candidate, "compiled"
    return None


class TopLevelNames(ast.NodeVisitor):
    """The names a module binds at import time, and whether it may bind others we cannot see."""

    def __init__(self):
        self.names = set()
        self.dynamic = []

    def visit_FunctionDef(self, node):
        self.names.add(node.name)
        if node.name == "__getattr__":
            self.dynamic.append("defines a module __getattr__ (line %d)" % node.lineno)
        for decorator in node.decorator_list:
            self.visit(decorator)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self.names.add(node.name)
        for expression in node.decorator_list + node.bases:
            self.visit(expression)

    def visit_Lambda(self, node):
        pass

    def visit_AnnAssign(self, node):
        # `handler: Handler` alone binds nothing: only an annotated assignment with a value does.
        if node.value is not None:
            self.visit(node.target)
            self.visit(node.value)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Store):
            self.names.add(node.id)

    def visit_Import(self, node):
        for alias in node.names:
            self.names.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node):
        for alias in node.names:
            if alias.name == "*":
                self.dynamic.append(
                    "does `from %s import *` (line %d)"
                    % ("." * node.level + (node.module or ""), node.lineno)
                )
            else:
                self.names.add(alias.asname or alias.name)

    def visit_Call(self, node):
        function = node.func
        if isinstance(function, ast.Name) and function.id in ("globals", "exec", "setattr", "vars"):
            self.dynamic.append("calls %s() (line %d)" % (function.id, node.lineno))
        self.generic_visit(node)


def problem(kind, functions, archive_name, file, found, needed, fix, distribution=None, files=1):
    """A problem as the report lists it (see the module's docstring)."""
    return {
        "kind": kind,
        "function": functions[0],
        "functions": list(functions),
        "zip": archive_name,
        "file": file,
        "package": distribution.name if distribution else None,
        "version": distribution.version if distribution else None,
        "found": found,
        "needed": needed,
        "fix": fix,
        "files": files,
    }


def locate_handler(function, archive, layers, spec):
    """(zip, path in it, form) of the handler's module where Lambda's Python looks first, or None."""
    module = function["handler"].rpartition(".")[0].replace("/", ".")
    if not module:
        return None
    for candidate, roots in [(archive, site_roots(spec, False))] + [
        (layer, site_roots(spec, True)) for layer in layers
    ]:
        location = find_module(candidate, roots, module)
        if location:
            return (candidate,) + location
    return None


def check_handler(function, archive, layers, spec, problems, notes):
    """The handler's module exists where Lambda looks, and defines the handler at its top level."""
    handler = function["handler"]
    module, _, attribute = handler.rpartition(".")
    key = function.get("key") or function["name"]
    names = [function["name"]]
    located = locate_handler(function, archive, layers, spec)
    if not located:
        relative = module.replace(".", "/") or handler
        where = " or in its layers' python/ folders" if layers else ""
        fix = (
            "Lambda imports %s for handler %s and finds no such module in %s%s. Check the handler of "
            "functions.%s in serverless.yml (the module's path from the service folder, then the function's "
            "name), and that package.patterns does not exclude the file."
            % (module or handler, handler, archive.name, " or its layers" if layers else "", key)
        )
        found = "no %s.py or %s/__init__.py at the zip's root%s" % (relative, relative, where)
        needed = "the module of handler %s" % handler
        problems.append(problem("handler-module", names, archive.name, relative + ".py", found, needed, fix))
        return
    holder, path, form = located
    if form == "compiled":
        message = "%s is compiled: whether it defines %s is unverifiable statically." % (path, attribute)
        notes.append(note(holder, "handler-unverifiable", path, message, function["name"]))
        return
    try:
        tree = ast.parse(holder.read(path), filename=path)
    except (SyntaxError, ValueError) as error:
        line = getattr(error, "lineno", "?")
        found = "a syntax error at line %s: %s" % (line, getattr(error, "msg", error))
        fix = (
            "%s does not compile with %s, so Lambda cannot import handler %s: fix line %s (is it written for "
            "a newer Python than the runtime?)." % (path, spec["runtime"], handler, line)
        )
        needed = "a module %s can import" % spec["runtime"]
        problems.append(problem("handler-module", names, holder.name, path, found, needed, fix))
        return
    visitor = TopLevelNames()
    for statement in tree.body:
        visitor.visit(statement)
    if attribute in visitor.names:
        return
    if visitor.dynamic:
        message = (
            "%s does not define %s itself but %s: whether handler %s exists is unverifiable statically."
            % (path, attribute, "; ".join(visitor.dynamic), handler)
        )
        notes.append(note(holder, "handler-unverifiable", path, message, function["name"]))
        return
    defined = sorted(name for name in visitor.names if not name.startswith("_"))
    found = "no top-level %s in %s%s" % (
        attribute,
        path,
        " (it defines %s)" % ", ".join(defined[:8]) if defined else "",
    )
    needed = "a top-level %s (def, class, assignment or import)" % attribute
    fix = (
        "Lambda imports %s and looks up %s, which it does not define at module level: define it there (e.g. "
        "handler = Mangum(app)) or fix the handler of functions.%s in serverless.yml."
        % (path, attribute, key)
    )
    problems.append(problem("handler-name", names, holder.name, path, found, needed, fix))


def megabytes(size):
    """Lambda's MB: 2**20 bytes (its 250 MB limit is 262,144,000 bytes)."""
    return "%.1f MB" % (size / 1048576.0)


def largest_folders(archives, count):
    """The biggest top-level folders (packages) of some zips, unzipped, for the size message."""
    sizes = {}
    for archive in archives:
        for name, size in archive.sizes.items():
            for prefix in ("python/lib/python%d.%d/site-packages/" % archive.python, "python/"):
                if name.startswith(prefix):
                    name = name[len(prefix) :]
                    break
            top = name.split("/", 1)[0]
            sizes[top] = sizes.get(top, 0) + size
    ranked = sorted(sizes.items(), key=lambda item: -item[1])[:count]
    return ", ".join("%s %s" % (name, megabytes(size)) for name, size in ranked)


def check_size(function, archive, layers, spec, problems):
    """A function's zip and its layers, unzipped, within Lambda's limit (they share it)."""
    limit = spec["limits"]["unzipped"]
    archives = [archive] + layers
    total = sum(each.unzipped for each in archives)
    if total <= limit:
        return
    biggest = max(archives, key=lambda each: each.unzipped)
    largest_file = max(biggest.sizes.items(), key=lambda item: item[1])[0] if biggest.sizes else ""
    parts = " + ".join("%s %s" % (each.name, megabytes(each.unzipped)) for each in archives)
    found = "%d bytes unzipped (%s: %s)" % (total, megabytes(total), parts)
    needed = "at most %d bytes (%s) for the function and its layers" % (limit, megabytes(limit))
    fix = (
        "Lambda refuses a function whose code and layers exceed %s unzipped. The largest: %s. Leave out "
        "what Lambda provides (boto3, botocore), tests and caches (pythonRequirements.slim: true, "
        "package.patterns), split the function, or deploy it as a container image."
        % (megabytes(limit), largest_folders(archives, 5))
    )
    problems.append(problem("size", [function["name"]], biggest.name, largest_file, found, needed, fix))


def verify(spec):
    """The report for a validated spec."""
    started = time.perf_counter()
    archives = {}

    def archive_of(path, function_name):
        if path not in archives:
            archives[path] = Archive(path, spec)
        if function_name not in archives[path].functions:
            archives[path].functions.append(function_name)
        return archives[path]

    resolved = []
    for function in spec["functions"]:
        own = archive_of(function["artifact"], function["name"])
        layers = [archive_of(layer, function["name"]) for layer in function["layers"]]
        resolved.append((function, own, layers))
    problems, notes = [], []
    for archive in archives.values():
        check_binaries(archive, spec, problems, notes)
    for function, own, layers in resolved:
        check_handler(function, own, layers, spec, problems, notes)
        check_size(function, own, layers, spec, problems)
    packages = [
        {
            "name": distribution.name,
            "version": distribution.version,
            "tags": distribution.tags,
            "zip": archive.name,
        }
        for archive in archives.values()
        for distribution in sorted(archive.distributions, key=lambda each: each.name)
    ]
    zips = [
        {
            "zip": archive.name,
            "path": archive.path,
            "entries": archive.entries,
            "bytes": archive.bytes,
            "unzipped": archive.unzipped,
        }
        for archive in archives.values()
    ]
    return {
        "problems": problems,
        "notes": notes,
        "packages": packages,
        "zips": zips,
        "seconds": round(time.perf_counter() - started, 4),
    }


def main():
    try:
        spec = read_spec(sys.stdin.read())
        report = verify(spec)
    except BadInput as error:
        sys.stderr.write("verify_artifact: %s\n" % error)
        return 2
    sys.stdout.write(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
