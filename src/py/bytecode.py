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
import marshal
import os
import shutil
import sys
import zipfile
import zlib
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


def raw_deflate(data):
    """The DEFLATE stream zipfile itself would write for this data, at LEVEL."""
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def work(jobs, entries, prefix, rewrite):
    """Compiles (and, for a zip written again, compresses) one share of the entries.

    Returns {name: (data, deflated)}: data is None for an entry of the source zip, the bytecode for a
    .pyc made here; deflated is None where the entry is not compressed here.
    """
    done = {}
    for name in jobs:
        if rewrite:
            done[name] = (None, raw_deflate(entries[name]))
        if name.endswith(".py"):
            pyc = compile_source(name, entries[name], prefix)
            if pyc is not None:
                done[pyc_name(name)] = (pyc, raw_deflate(pyc))
    return done


def shares(names, entries, count):
    """The entries split into count shares of about equal work, biggest first.

    Measured on the starter's zip: compiling a source costs about four times compressing it, and its
    bytecode is about as long as it, so a source weighs six times its bytes and any other file once.
    """
    cost = {n: len(entries[n]) * (6 if n.endswith(".py") else 1) + 256 for n in names}
    split = [[] for _ in range(count)]
    loads = [0] * count
    for name in sorted(names, key=lambda n: -cost[n]):
        least = loads.index(min(loads))
        split[least].append(name)
        loads[least] += cost[name]
    return split


def in_parallel(jobs, entries, prefix, rewrite):
    """work() over the runner's cores: a forked child does one share and sends it back by a pipe.

    Compiling holds the interpreter's lock, so threads would take turns; a forked child has the
    entries already in memory. Where fork is missing or fails, one process does it all.
    """
    if len(jobs) < 64 or (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        return work(jobs, entries, prefix, rewrite)
    mine, theirs = shares(jobs, entries, 2)
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return work(jobs, entries, prefix, rewrite)
    if pid == 0:
        os.close(read)
        status = 0
        try:
            with os.fdopen(write, "wb") as out:
                out.write(marshal.dumps(work(theirs, entries, prefix, rewrite)))
        except BaseException:
            status = 1
        os._exit(status)
    os.close(write)
    done = work(mine, entries, prefix, rewrite)
    with os.fdopen(read, "rb") as pipe:
        received = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise SystemExit("bytecode.py: the compiling child process failed")
    done.update(marshal.loads(received))
    return done


class Replay:
    """A compressor that hands zipfile the DEFLATE stream already made for the entry it writes."""

    def __init__(self, deflated):
        self.deflated = deflated

    def compress(self, data):
        deflated, self.deflated = self.deflated, b""
        return deflated

    def flush(self):
        return b""


# zipfile's per-entry compressor factory: private, and present in every version the runtimes use.
COMPRESSOR = getattr(zipfile, "_get_compressor", None)


def write_entry(out, info, data, deflated):
    """Writes one entry compressed: with its DEFLATE stream made earlier where zipfile lets us."""
    if deflated is None or COMPRESSOR is None:
        out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=LEVEL)
        return
    # zipfile has no public way to write a stream compressed elsewhere; its compressor factory is
    # swapped for this one write (zipfile still computes the CRC and the sizes).
    # Whatever arguments a zipfile version passes it, the entry's stream is the one made earlier.
    zipfile._get_compressor = lambda *_args, **_kwargs: Replay(deflated)
    try:
        out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=LEVEL)
    finally:
        zipfile._get_compressor = COMPRESSOR


def transform(source, target):
    with zipfile.ZipFile(source) as z:
        infos = z.infolist()
        files = [i.filename for i in infos if not i.is_dir()]
        prefix = root_of(files)
        # pip's timestamp-based bytecode: the zip's 1980 dates invalidate it, so it goes.
        stale = [n for n in files if n.endswith(".pyc")]
        stored = sum(
            1 for i in infos if i.compress_type == zipfile.ZIP_STORED and i.file_size and not i.is_dir()
        )
        rewrite = bool(stale or stored)
        entries = {n: z.read(n) for n in files if not n.endswith(".pyc") and (rewrite or n.endswith(".py"))}
    # Sources to compile; every kept entry to compress as well when the zip is written again.
    done = in_parallel(list(entries), entries, prefix, rewrite)
    pycs = {n: v for n, v in done.items() if v[0] is not None}
    if rewrite:
        with zipfile.ZipFile(target, "w") as out:
            for info in infos:
                if info.filename.endswith(".pyc"):
                    continue
                if info.is_dir():
                    out.writestr(info, b"")
                else:
                    write_entry(out, info, entries[info.filename], done[info.filename][1])
    else:
        # Already compressed, nothing to drop: copied as it is, and only the bytecode is added.
        shutil.copyfile(source, target)
    with zipfile.ZipFile(target, "a") as out:
        for name in sorted(pycs):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            write_entry(out, info, pycs[name][0], pycs[name][1])
    return {"compiled": len(pycs), "compressed": stored, "distributions": distribution_sizes(target)}


def main(argv):
    if len(argv) != 3:
        print("usage: bytecode.py SOURCE.zip TARGET.zip", file=sys.stderr)
        return 2
    print(json.dumps(transform(argv[1], argv[2])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
