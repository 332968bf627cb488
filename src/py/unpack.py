"""Unzips Lambda artifacts into read-only folders, as Lambda lays them out (serverless-python-deploy).

    python3 -I -S unpack.py ZIP DEST [ZIP DEST ...]

Each DEST is created fresh; files are made read-only (0444) and folders 0555, as /var/task and /opt
are on Lambda, so that a handler that writes beside its code fails here as it would there. Symlinks
in a zip are refused: Lambda's own unpacking keeps them, but none of the packages pip installs needs
one, and one that points outside the folder would let the check read the runner's files.
"""
import os
import stat
import sys
import zipfile


def unpack(archive, dest):
    os.makedirs(dest)
    root = os.path.realpath(dest)
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            target = os.path.realpath(os.path.join(dest, info.filename))
            if not (target == root or target.startswith(root + os.sep)):
                raise SystemExit(f"{archive}: {info.filename} would unpack outside its folder")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise SystemExit(f"{archive}: {info.filename} is a symbolic link")
        z.extractall(dest)
    for folder, dirs, files in os.walk(dest, topdown=False):
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)
        os.chmod(folder, 0o555)


def main(argv):
    pairs = argv[1:]
    if not pairs or len(pairs) % 2:
        print("usage: unpack.py ZIP DEST [ZIP DEST ...]", file=sys.stderr)
        return 2
    for archive, dest in zip(pairs[::2], pairs[1::2]):
        unpack(archive, dest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
