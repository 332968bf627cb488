"""pip install for the Lambda platform (serverless-python-deploy).

The action's python3.X shim hands serverless-python-requirements' `-m pip install` to this program
while it packages: binary wheels only, for Lambda's platform (SPD_PIP_PLATFORMS) and Python
(SPD_PIP_PYTHON_VERSION), as pip requires with --platform. A requirement that has only a source
distribution is built into a wheel here, and used when that wheel is pure Python (it runs anywhere).
One that builds native code, or has neither, ends the install with a line that names the package,
its version and the platform.
"""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PREFIX = "serverless-python-deploy:"


def pip(*args):
    cmd = [sys.executable, "-m", "pip", *args]
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return result.returncode, result.stdout


def version_of(filename):
    # name-version-....whl, or name-version.tar.gz / .zip
    stem = re.sub(r"\.(whl|tar\.gz|zip|tar\.bz2)$", "", filename)
    parts = stem.split("-")
    return parts[1] if len(parts) > 1 else "?"


def say(text):
    """Prints for the plugin's log, and keeps a copy (SPD_PIP_LOG) for the action's diagnosis: some
    serverless-python-requirements releases (5.x) print none of pip's output when it fails."""
    sys.stdout.write(text)
    sys.stdout.flush()
    log = os.environ.get("SPD_PIP_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(text)


def main(args):
    platforms = os.environ["SPD_PIP_PLATFORMS"].split()
    version = os.environ["SPD_PIP_PYTHON_VERSION"]
    label = os.environ.get("SPD_PIP_LABEL", platforms[0])
    target = [a for p in platforms for a in ("--platform", p)]
    target += ["--implementation", "cp", "--python-version", version, "--only-binary=:all:"]
    where = f"{label} (CPython {version})"
    work = Path(tempfile.mkdtemp(prefix="spd-wheels-"))
    wheelhouse = work / "wheels"
    wheelhouse.mkdir()
    tried = set()
    try:
        for _ in range(20):
            code, output = pip("install", *args, *target, "--find-links", str(wheelhouse))
            say(output)
            if code == 0:
                return 0
            missing = re.findall(r"No matching distribution found for (\S+)", output)
            if not missing or missing[-1] in tried:
                return code
            spec = missing[-1]
            tried.add(spec)
            name = re.split(r"[<>=!~;\[\s]", spec, maxsplit=1)[0]
            # What this runner would install for it tells the version, and whether only a source exists.
            download = work / "download"
            code, _ = pip("download", "--no-deps", "--dest", str(download), spec)
            files = sorted(download.iterdir()) if download.exists() else []
            if code != 0 or not files:
                say(f"{PREFIX} {name} {spec[len(name):] or '(any version)'} has no wheel for {where}, and no version of it installs here at all." + "\n")
                return 1
            found = files[0]
            exact = version_of(found.name)
            if found.name.endswith(".whl"):
                tag = "-".join(found.name[:-4].split("-")[-3:])
                say(f"{PREFIX} {name} {exact} has no wheel for {where}: only for other platforms ({tag}). Pin a version that publishes one, or replace the package." + "\n")
                return 1
            # A source distribution: built here, for this runner, it is fine only when pure Python.
            before = set(wheelhouse.iterdir())
            code, _ = pip("wheel", "--no-deps", "--quiet", "-w", str(wheelhouse), str(found))
            for f in files:
                f.unlink()
            new = [w for w in set(wheelhouse.iterdir()) - before if w.suffix == ".whl"]
            if code != 0 or not new:
                say(f"{PREFIX} {name} {exact} has no wheel for {where}, and its source distribution does not build here." + "\n")
                return 1
            if not new[0].name.endswith("-none-any.whl"):
                new[0].unlink()
                say(f"{PREFIX} {name} {exact} has no wheel for {where}; its source distribution builds native code, which would be built for this runner, not for Lambda." + "\n")
                return 1
            say(f"{PREFIX} built {new[0].name} from its source distribution (pure Python, runs on {label})." + "\n")
        return 1
    finally:
        for f in sorted(work.rglob("*"), reverse=True):
            f.rmdir() if f.is_dir() else f.unlink()
        work.rmdir()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
