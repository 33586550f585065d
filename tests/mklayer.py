#!/usr/bin/python3
"""mklayer.py: write an uncompressed layer tar from a spec, for husk's tests.

Unlike tar(1) on a staged tree, this writes exactly the entries asked for:
whiteout markers, owners without root, setuid bits, xattrs and hostile names
("../x", "/abs", a symlink then a file through it).

usage: mklayer.py OUT.tar < SPEC

SPEC has one entry a line (fields split on spaces; "#" lines are comments):
  dir PATH [MODE [UID [GID]]]
  file PATH [MODE [UID [GID [CONTENT...]]]]     MODE is octal, e.g. 4755
  symlink PATH TARGET
  hardlink PATH TARGET
  fifo PATH [MODE]
  char PATH MAJOR MINOR [MODE]                  MODE defaults to 0666
  block PATH MAJOR MINOR [MODE]
  xattr NAME VALUE                             on the entry before it
  xattrhex NAME HEX                            the same, a binary value
Every entry gets mtime 1000000000 unless "mtime N" follows it.
"""
import io
import sys
import tarfile

MTIME = 1000000000


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    entries = []
    for lineno, line in enumerate(sys.stdin, 1):
        line = line.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        f = line.split(" ")
        kind = f[0]
        if kind in ("xattr", "xattrhex", "mtime"):
            if not entries:
                sys.exit("mklayer.py: line %d: %s before any entry" % (lineno, kind))
            ti = entries[-1][0]
            if kind == "xattr":
                ti.pax_headers["SCHILY.xattr." + f[1]] = " ".join(f[2:])
            elif kind == "xattrhex":
                # tarfile writes a value that is not UTF-8 as hdrcharset=BINARY.
                ti.pax_headers["SCHILY.xattr." + f[1]] = bytes.fromhex(f[2]).decode(
                    "utf-8", "surrogateescape")
            else:
                ti.mtime = int(f[1])
            continue
        ti = tarfile.TarInfo(f[1])
        ti.mtime = MTIME
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        data = None
        if kind == "dir":
            ti.type = tarfile.DIRTYPE
            ti.mode = int(f[2], 8) if len(f) > 2 else 0o755
        elif kind == "file":
            ti.type = tarfile.REGTYPE
            ti.mode = int(f[2], 8) if len(f) > 2 else 0o644
            data = (" ".join(f[5:]) + "\n").encode() if len(f) > 5 else b""
            ti.size = len(data)
        elif kind == "symlink":
            ti.type = tarfile.SYMTYPE
            ti.linkname = f[2]
            ti.mode = 0o777
        elif kind == "hardlink":
            ti.type = tarfile.LNKTYPE
            ti.linkname = f[2]
            ti.mode = 0o644
        elif kind == "fifo":
            ti.type = tarfile.FIFOTYPE
            ti.mode = int(f[2], 8) if len(f) > 2 else 0o644
        elif kind in ("char", "block"):
            ti.type = tarfile.CHRTYPE if kind == "char" else tarfile.BLKTYPE
            ti.devmajor, ti.devminor = int(f[2]), int(f[3])
            ti.mode = int(f[4], 8) if len(f) > 4 else 0o666
        else:
            sys.exit("mklayer.py: line %d: unknown entry kind %r" % (lineno, kind))
        if kind in ("dir", "file") and len(f) > 3:
            ti.uid = int(f[3])
            ti.gid = int(f[4]) if len(f) > 4 else ti.uid
        entries.append((ti, data))
    with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)


main()
