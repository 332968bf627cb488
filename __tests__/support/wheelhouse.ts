import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * A find-links wheelhouse of test-made packages, for platform targeting without the public index:
 * - spdnative 1.0: a wheel for manylinux2014_x86_64 and one for manylinux2014_aarch64, each saying
 *   which platform it was built for (ARCH);
 * - spdx86only 1.0: a wheel for manylinux2014_x86_64 only, and no source distribution;
 * - spdpure 1.0: a source distribution only, pure Python (flit_core builds it).
 */
export function buildWheelhouse(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wheelhouse-'))
  const script = String.raw`
import base64, hashlib, io, os, sys, tarfile, zipfile
out = sys.argv[1]

def wheel(name, version, tag, files):
    dist = f"{name}-{version}.dist-info"
    entries = dict(files)
    entries[f"{dist}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    entries[f"{dist}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: {tag}\n"
    record = []
    for path, text in entries.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    entries[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(os.path.join(out, f"{name}-{version}-{tag}.whl"), "w") as z:
        for path, text in entries.items():
            z.writestr(path, text)

for machine in ("x86_64", "aarch64"):
    wheel("spdnative", "1.0", f"cp311-cp311-manylinux2014_{machine}", {"spdnative/__init__.py": f"ARCH = {machine!r}\n"})
wheel("spdx86only", "1.0", "cp311-cp311-manylinux2014_x86_64", {"spdx86only/__init__.py": "ARCH = 'x86_64'\n"})

sdist = {
    "spdpure-1.0/pyproject.toml": '[build-system]\nrequires = ["flit_core>=3.2"]\nbuild-backend = "flit_core.buildapi"\n\n[project]\nname = "spdpure"\nversion = "1.0"\ndescription = "pure"\n',
    "spdpure-1.0/spdpure.py": "PURE = True\n",
    "spdpure-1.0/PKG-INFO": "Metadata-Version: 2.1\nName: spdpure\nVersion: 1.0\n",
}
with tarfile.open(os.path.join(out, "spdpure-1.0.tar.gz"), "w:gz") as t:
    for path, text in sdist.items():
        data = text.encode()
        info = tarfile.TarInfo(path)
        info.size = len(data)
        info.mtime = 1700000000
        t.addfile(info, io.BytesIO(data))
`
  mkdirSync(dir, { recursive: true })
  const file = path.join(dir, 'build.py')
  writeFileSync(file, script)
  execFileSync('python3', [file, dir])
  return dir
}
