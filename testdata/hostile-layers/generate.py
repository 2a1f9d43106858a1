#!/usr/bin/env python3
"""Generates the hostile layer tars in this directory (python3 stdlib only).

Each NN-name.tar must be refused by `store::apply_layer` (flat and snapshot
mode, devices not allowed) with an error, leaving the target and everything
around it untouched. EXPECT lists a substring of the error each one must give.
Run: python3 generate.py   (rewrites the .tar files; output is deterministic)
"""
import io
import os
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
MTIME = 1700000000

# name -> substring of the expected error message
EXPECT = {}


def info(name, kind=tarfile.REGTYPE, data=b"", **kw):
    t = tarfile.TarInfo(name)
    t.type = kind
    t.mtime = MTIME
    t.mode = kw.pop("mode", 0o755 if kind == tarfile.DIRTYPE else 0o644)
    t.uid = t.gid = 0
    t.uname = t.gname = ""
    for k, v in kw.items():
        setattr(t, k, v)
    if kind == tarfile.REGTYPE:
        t.size = len(data)
    return t, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def write(name, expect, members, fmt=tarfile.PAX_FORMAT, raw=None):
    path = os.path.join(HERE, name)
    EXPECT[name] = expect
    if raw is not None:
        with open(path, "wb") as f:
            f.write(raw)
        return
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for t, data in members:
            tf.addfile(t, data)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def main():
    write("01-dotdot.tar", '".." component',
          [info("ok.txt", data=b"ok\n"), info("../escape.txt", data=b"escaped\n")])
    write("02-absolute.tar", "absolute path",
          [info("ok.txt", data=b"ok\n"), info("/tmp/mkimage-hostile-absolute.txt", data=b"escaped\n")])
    write("03-nested-dotdot.tar", '".." component',
          [info("a/", tarfile.DIRTYPE), info("a/../../escape.txt", data=b"escaped\n")])
    write("04-symlink-then-write.tar", 'symlink "evil"',
          [info("evil", tarfile.SYMTYPE, linkname="/tmp"),
           info("evil/mkimage-hostile-through-symlink.txt", data=b"escaped\n")])
    write("05-symlink-dotdot-then-write.tar", 'symlink "up"',
          [info("up", tarfile.SYMTYPE, linkname=".."), info("up/outside/escape.txt", data=b"escaped\n")])
    write("06-hardlink-dotdot.tar", '".." component',
          [info("h", tarfile.LNKTYPE, linkname="../outside/secret.txt")])
    write("07-hardlink-absolute.tar", "absolute path",
          [info("h", tarfile.LNKTYPE, linkname="/etc/passwd")])
    write("08-hardlink-through-symlink.tar", 'symlink "s"',
          [info("s", tarfile.SYMTYPE, linkname="../outside"), info("h", tarfile.LNKTYPE, linkname="s/secret.txt")])
    write("09-whiteout-dotdot.tar", 'whiteout of ".."',
          [info("ok.txt", data=b"ok\n"), info(".wh...", mode=0)])
    write("10-whiteout-dotdot-nested.tar", 'whiteout of ".."',
          [info("a/", tarfile.DIRTYPE), info("a/.wh...", mode=0)])
    # 1 MiB pax path: libarchive itself refuses it ("Special header too large")
    write("11-huge-path.tar", "too large",
          [info("a" * 200 + "/" + "b" * (1 << 20), data=b"x")])
    write("12-huge-symlink-target.tar", "longer than 4096 bytes",
          [info("link", tarfile.SYMTYPE, linkname="x" * 65536)])
    write("13-device-node.tar", "device node",
          [info("dev/", tarfile.DIRTYPE), info("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0, mode=0o660)])
    write("14-whiteout-through-symlink.tar", 'symlink "s"',
          [info("s", tarfile.SYMTYPE, linkname="../outside"), info("s/.wh.secret.txt", mode=0)])
    write("15-huge-uid.tar", "uid/gid out of range",
          [info("ok.txt", data=b"ok\n", pax_headers={"uid": "99999999999"})])
    write("16-long-component.tar", "component longer than 255 bytes",
          [info("c" * 300, data=b"x")])
    write("17-symlink-dir-then-dir-entry.tar", 'symlink "etc"',
          [info("etc", tarfile.SYMTYPE, linkname="/etc"), info("etc/cron.d/", tarfile.DIRTYPE),
           info("etc/cron.d/evil", data=b"* * * * * root echo pwned\n")])
    # a valid header whose data is cut short: detected before anything is written
    good = io.BytesIO()
    with tarfile.open(fileobj=good, mode="w", format=tarfile.PAX_FORMAT) as tf:
        t, d = info("first.txt", data=b"first\n")
        tf.addfile(t, d)
        t, d = info("big.bin", data=b"z" * 100000)
        tf.addfile(t, d)
    write("18-truncated.tar", "runcated", None, raw=good.getvalue()[:1536 + 4096])
    write("19-reserved-whiteout.tar", "reserved whiteout name",
          [info("a/", tarfile.DIRTYPE), info("a/.wh..wh.plnk", mode=0)])
    write("20-opaque-in-symlink.tar", 'opaque whiteout in a symlink',
          [info("s", tarfile.SYMTYPE, linkname="/"), info("s/.wh..wh..opq", mode=0)])
    # below libarchive's limit, above ours
    write("21-long-path.tar", "longer than 4096 bytes", [info("d/" * 2500 + "f", data=b"x")])
    with open(os.path.join(HERE, "expected-errors.txt"), "w") as f:
        for name in sorted(EXPECT):
            f.write(f"{name}\t{EXPECT[name]}\n")


if __name__ == "__main__":
    main()
