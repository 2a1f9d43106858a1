#!/usr/bin/env python3
"""Test helper: a throwaway docker-registry (distribution 2.8, Debian's
/usr/bin/docker-registry) listening on 127.0.0.1 only, plus a maker of small
OCI layouts to seed it with (via skopeo). Test-only code; standard library only.

  registry.py start --dir D --auth none|htpasswd|token [options]
      Writes D/config.yml (storage under D/data), starts the registry on
      127.0.0.1:<free port>, waits until GET /v2/ answers 200 or 401, prints the
      port on stdout. D/registry.pid: the registry's pid; D/registry.log: its log.
      htpasswd: --user U --password P (bcrypt file D/htpasswd via `htpasswd -Bbn`).
      token: --token-realm URL --token-issuer I --token-service S --token-cert PEM.
      --tls: serve HTTPS with a self-signed cert for 127.0.0.1/localhost
             (D/tls.crt, D/tls.key; D/tls.crt is also the CA to trust).
      --lifetime SECS (default 1800): the registry is killed after this long
             even if nobody calls stop (runs under coreutils `timeout`).
  registry.py stop --dir D
      Stops the registry (SIGTERM, then SIGKILL after 5 s) and waits for it.
  registry.py mkoci --out DIR --tag T [--platforms linux/amd64,linux/arm64]
                    [--pad-mib N] [--marker TEXT]
      Writes an OCI image layout DIR (deterministic bytes) with a busybox rootfs
      layer (from /bin/busybox) and a small second layer (/platform, and
      /padding of N MiB of incompressible bytes if --pad-mib). One platform: the
      tag names an image manifest; several: an image index. Prints the digest
      of the tagged manifest/index. Push it with
      `skopeo copy --all --dest-tls-verify=false oci:DIR:T docker://127.0.0.1:PORT/repo:T`.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request

REGISTRY_BIN = os.environ.get("MKIMAGE_TEST_REGISTRY_BIN", "/usr/bin/docker-registry")


def die(msg):
    print(f"registry.py: {msg}", file=sys.stderr)
    sys.exit(1)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def q(s):
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(str(s))


def write_config(d, port, a):
    data = os.path.join(d, "data")
    os.makedirs(data, exist_ok=True)
    lines = [
        "version: 0.1",
        "log:",
        "  level: info",
        "  formatter: text",
        "  accesslog:",
        "    disabled: false",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {q(data)}",
        "  delete:",
        "    enabled: true",
        "  maintenance:",
        "    uploadpurging:",
        "      enabled: false",
        "http:",
        f"  addr: {q('127.0.0.1:%d' % port)}",
        f"  secret: {q(secrets.token_hex(16))}",
        "  headers:",
        "    X-Content-Type-Options: [nosniff]",
    ]
    if a.tls:
        lines += [
            "  tls:",
            f"    certificate: {q(os.path.join(d, 'tls.crt'))}",
            f"    key: {q(os.path.join(d, 'tls.key'))}",
        ]
    if a.auth == "htpasswd":
        lines += [
            "auth:",
            "  htpasswd:",
            "    realm: mkimage-test",
            f"    path: {q(os.path.join(d, 'htpasswd'))}",
        ]
    elif a.auth == "token":
        lines += [
            "auth:",
            "  token:",
            f"    realm: {q(a.token_realm)}",
            f"    service: {q(a.token_service)}",
            f"    issuer: {q(a.token_issuer)}",
            f"    rootcertbundle: {q(os.path.abspath(a.token_cert))}",
        ]
    with open(os.path.join(d, "config.yml"), "w") as f:
        f.write("\n".join(lines) + "\n")


def make_tls_cert(d):
    crt, key = os.path.join(d, "tls.crt"), os.path.join(d, "tls.key")
    if os.path.exists(crt) and os.path.exists(key):
        return
    r = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", key, "-out", crt],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        die("openssl req (TLS cert) failed: " + r.stderr.strip())


def probe(port, tls):
    """Status of GET /v2/, or None if nothing answers yet."""
    scheme = "https" if tls else "http"
    handlers = [urllib.request.ProxyHandler({})]  # never through a proxy
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        handlers.append(urllib.request.HTTPSHandler(context=ctx))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(f"{scheme}://127.0.0.1:{port}/v2/", timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ssl.SSLError):
        return None


def children_of(pid):
    kids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, split after the last ')'
        fields = st[st.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            kids.append(int(p))
    return kids


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rfind(")") + 2:].split()[0] != "Z"


def cmd_start(a):
    d = os.path.abspath(a.dir)
    os.makedirs(d, exist_ok=True)
    old = read_pid(os.path.join(d, "registry.pid"))
    if old and alive(old):
        die(f"a registry (pid {old}) is already running in {d}; stop it first")
    if not os.access(REGISTRY_BIN, os.X_OK):
        die(f"{REGISTRY_BIN} is missing (apt-get install docker-registry)")
    if a.auth == "htpasswd":
        if not a.user or a.password is None:
            die("--auth htpasswd needs --user and --password")
        r = subprocess.run(["htpasswd", "-Bbn", a.user, a.password],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if r.returncode != 0:
            die("htpasswd -Bbn failed: " + r.stderr.strip())
        with open(os.path.join(d, "htpasswd"), "w") as f:
            f.write(r.stdout.strip() + "\n")
    elif a.auth == "token":
        for opt in ("token_realm", "token_issuer", "token_service", "token_cert"):
            if not getattr(a, opt):
                die(f"--auth token needs --{opt.replace('_', '-')}")
        if not os.path.exists(a.token_cert):
            die(f"{a.token_cert} is missing")
    if a.tls:
        make_tls_cert(d)

    # The registry reads REGISTRY_* variables as config overrides: keep them out.
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    log_path = os.path.join(d, "registry.log")
    for attempt in range(5):  # another process may grab the port between probe and bind
        port = free_port()
        write_config(d, port, a)
        log = open(log_path, "ab")
        proc = subprocess.Popen(
            ["timeout", "-s", "KILL", str(a.lifetime), REGISTRY_BIN, "serve",
             os.path.join(d, "config.yml")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=d)
        log.close()
        reg_pid = None
        deadline = time.monotonic() + a.wait
        status = None
        while time.monotonic() < deadline:
            if reg_pid is None:
                kids = children_of(proc.pid)
                if kids:
                    reg_pid = kids[0]
            if proc.poll() is not None:
                break
            status = probe(port, a.tls)
            if status in (200, 401) and reg_pid is not None:
                break
            time.sleep(0.1)
        if status in (200, 401) and proc.poll() is None and reg_pid is not None:
            with open(os.path.join(d, "registry.pid"), "w") as f:
                f.write(f"{reg_pid}\n")
            with open(os.path.join(d, "watchdog.pid"), "w") as f:
                f.write(f"{proc.pid}\n")
            with open(os.path.join(d, "port"), "w") as f:
                f.write(f"{port}\n")
            print(port)
            return
        # not up: stop what we started, retry only if the port was taken
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with open(log_path, errors="replace") as f:
            tail = f.read()[-2000:]
        if "address already in use" in tail and attempt < 4:
            continue
        die(f"docker-registry did not come up on 127.0.0.1:{port} within {a.wait}s "
            f"(last /v2/ status {status}); log {log_path}:\n{tail}")


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def cmd_stop(a):
    d = os.path.abspath(a.dir)
    reg = read_pid(os.path.join(d, "registry.pid"))
    wd = read_pid(os.path.join(d, "watchdog.pid"))
    pids = [p for p in (reg, wd) if p]
    # only signal processes that still look like ours
    def ours(p):
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                return os.path.join(d, "config.yml").encode() in f.read()
        except OSError:
            return False
    pids = [p for p in pids if alive(p) and ours(p)]
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    for p in pids:
        if alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    left = [p for p in pids if alive(p)]
    for f in ("registry.pid", "watchdog.pid"):
        try:
            os.unlink(os.path.join(d, f))
        except FileNotFoundError:
            pass
    if left:
        die(f"processes {left} did not exit")


# ---- mkoci: a small deterministic OCI layout ----

def tar_bytes(entries):
    """entries: (name, kind, data_or_target, mode); deterministic ustar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data, mode in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            ti.mode = mode
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            elif kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = data
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def gz(data):
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=6) as g:
        g.write(data)
    return out.getvalue()


def cmd_mkoci(a):
    out = os.path.abspath(a.out)
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)

    def put(data):
        h = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, h), "wb") as f:
            f.write(data)
        return "sha256:" + h

    with open(a.busybox, "rb") as f:
        bb = f.read()
    base_tar = tar_bytes([
        ("bin", "dir", None, 0o755),
        ("bin/busybox", "file", bb, 0o755),
        ("bin/sh", "symlink", "busybox", 0o777),
        ("etc", "dir", None, 0o755),
        ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n", 0o644),
    ])
    base_gz = gz(base_tar)
    base = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": put(base_gz), "size": len(base_gz)}
    base_diff = "sha256:" + hashlib.sha256(base_tar).hexdigest()

    manifests = []
    platforms = [p for p in a.platforms.split(",") if p]
    for plat in platforms:
        parts = plat.split("/")
        os_, arch = parts[0], parts[1]
        variant = parts[2] if len(parts) > 2 else None
        entries = [("platform", "file", f"{plat}{a.marker}\n".encode(), 0o644)]
        if a.pad_mib:
            rnd = random.Random(plat + a.marker)  # deterministic, incompressible
            entries.append(("padding", "file", rnd.randbytes(a.pad_mib << 20), 0o644))
        top_tar = tar_bytes(entries)
        top_gz = gz(top_tar)
        top = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
               "digest": put(top_gz), "size": len(top_gz)}
        pl = {"architecture": arch, "os": os_}
        if variant:
            pl["variant"] = variant
        cfg = dict(pl)
        cfg.update({
            "created": "2024-01-01T00:00:00Z",
            "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin", f"PLATFORM={plat}"]},
            "rootfs": {"type": "layers",
                       "diff_ids": [base_diff, "sha256:" + hashlib.sha256(top_tar).hexdigest()]},
            "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "registry.py mkoci base"},
                        {"created": "2024-01-01T00:00:00Z", "created_by": "registry.py mkoci " + plat}],
        })
        cfg_b = json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()
        man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                          "digest": put(cfg_b), "size": len(cfg_b)},
               "layers": [base, top]}
        man_b = json.dumps(man, sort_keys=True, separators=(",", ":")).encode()
        manifests.append({"mediaType": man["mediaType"], "digest": put(man_b),
                          "size": len(man_b), "platform": pl})
    if len(manifests) == 1:
        top_desc = dict(manifests[0])
        del top_desc["platform"]
    else:
        idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
               "manifests": manifests}
        idx_b = json.dumps(idx, sort_keys=True, separators=(",", ":")).encode()
        top_desc = {"mediaType": idx["mediaType"], "digest": put(idx_b), "size": len(idx_b)}
    top_desc["annotations"] = {"org.opencontainers.image.ref.name": a.tag}
    index_path = os.path.join(out, "index.json")
    index = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    index["manifests"] = [m for m in index.get("manifests", [])
                          if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != a.tag]
    index["manifests"].append(top_desc)
    with open(index_path, "w") as f:
        json.dump(index, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    print(top_desc["digest"])


def main():
    p = argparse.ArgumentParser(description="docker-registry test helper")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start")
    s.add_argument("--dir", required=True)
    s.add_argument("--auth", choices=["none", "htpasswd", "token"], default="none")
    s.add_argument("--user")
    s.add_argument("--password")
    s.add_argument("--token-realm")
    s.add_argument("--token-issuer")
    s.add_argument("--token-service")
    s.add_argument("--token-cert")
    s.add_argument("--tls", action="store_true")
    s.add_argument("--wait", type=float, default=20.0, help="seconds to wait for /v2/")
    s.add_argument("--lifetime", type=int, default=1800)
    t = sub.add_parser("stop")
    t.add_argument("--dir", required=True)
    m = sub.add_parser("mkoci")
    m.add_argument("--out", required=True)
    m.add_argument("--tag", required=True)
    m.add_argument("--platforms", default="linux/amd64")
    m.add_argument("--pad-mib", type=int, default=0)
    m.add_argument("--marker", default="", help="text that makes the top layer (and digests) unique")
    m.add_argument("--busybox", default="/bin/busybox")
    a = p.parse_args()
    {"start": cmd_start, "stop": cmd_stop, "mkoci": cmd_mkoci}[a.cmd](a)


if __name__ == "__main__":
    main()
