"""Adds bytecode to a Lambda zip, compiled in this run from the zip's own sources.

Lambda's /var/task is read-only, so Python cannot keep the bytecode it compiles: an artifact without
__pycache__ compiles every module it imports on every cold start. This writes the zip again with
unchecked-hash .pyc files (valid whatever the zip's timestamps, never stat'ed at import) compiled by
the runtime's own Python version, and compresses the entries serverless-python-requirements stored.

Nothing is reused from an earlier run: a .pyc that Python loads without checking it against its
source must come from that very source, so every one is compiled here.

Usage: python3.X bytecode.py SOURCE.zip TARGET.zip  (prints a JSON report on stdout)
"""
import importlib.util
import json
import os
import shutil
import sys
import zipfile
from importlib import _bootstrap_external

TAG = sys.implementation.cache_tag
# The zip's entries are compressed once, here: zlib at 6 is within 1% of 9 at half the time.
LEVEL = 6


def pyc_name(name):
    folder, base = os.path.split(name)
    return (folder + "/" if folder else "") + "__pycache__/" + base[:-3] + "." + TAG + ".pyc"


def compile_source(name, data, prefix):
    """Unchecked-hash bytecode of one module, or None for a file Python cannot compile."""
    try:
        code = compile(data, prefix + "/" + name, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        # A template, or another Python version's syntax: it stays source only, as pip left it.
        return None
    return _bootstrap_external._code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False)


def root_of(files):
    """Layers unpack under /opt (their content sits in python/), functions under /var/task."""
    return "/opt" if files and all(n.startswith("python/") for n in files) else "/var/task"


def distribution_sizes(target):
    """What each distribution adds to the zip: the files its RECORD names, and their bytecode."""
    with zipfile.ZipFile(target) as z:
        sizes = {i.filename: i.compress_size for i in z.infolist()}
        distributions = {}
        for name in sizes:
            if not name.endswith(".dist-info/RECORD"):
                continue
            folder = name.split("/")[-2]
            dist = folder[: -len(".dist-info")].rsplit("-", 1)[0]
            base = name[: -len(folder) - len("/RECORD")]
            owned = set()
            for line in z.read(name).decode("utf-8", "replace").splitlines():
                path = base + line.split(",")[0]
                owned.add(path)
                if path.endswith(".py"):
                    owned.add(pyc_name(path))
            distributions[dist] = sum(sizes.get(p, 0) for p in owned)
    return distributions


def transform(source, target):
    with zipfile.ZipFile(source) as z:
        infos = z.infolist()
        files = [i.filename for i in infos if not i.is_dir()]
        prefix = root_of(files)
        pycs = {}
        for name in sorted(files):
            if name.endswith(".py"):
                pyc = compile_source(name, z.read(name), prefix)
                if pyc is not None:
                    pycs[pyc_name(name)] = pyc
        # pip's timestamp-based bytecode: the zip's 1980 dates invalidate it, so it goes.
        stale = [n for n in files if n.endswith(".pyc")]
        stored = sum(
            1 for i in infos if i.compress_type == zipfile.ZIP_STORED and i.file_size and not i.is_dir()
        )
        if stale or stored:
            with zipfile.ZipFile(target, "w") as out:
                for info in infos:
                    if info.filename.endswith(".pyc"):
                        continue
                    data = z.read(info.filename)
                    if info.is_dir():
                        out.writestr(info, data)
                    else:
                        out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=LEVEL)
        else:
            # Already compressed, nothing to drop: copied as it is, and only the bytecode is added.
            shutil.copyfile(source, target)
        with zipfile.ZipFile(target, "a") as out:
            for name in sorted(pycs):
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                out.writestr(info, pycs[name], compresslevel=LEVEL)
    return {"compiled": len(pycs), "compressed": stored, "distributions": distribution_sizes(target)}


def main(argv):
    if len(argv) != 3:
        print("usage: bytecode.py SOURCE.zip TARGET.zip", file=sys.stderr)
        return 2
    print(json.dumps(transform(argv[1], argv[2])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
