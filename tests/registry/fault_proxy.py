#!/usr/bin/env python3
"""Test helper: an HTTP/1.1 reverse proxy on 127.0.0.1 in front of a registry that
injects faults. Threaded, streams bodies both ways (Content-Length or chunked),
passes every end-to-end header (Host too, so the registry's absolute Location
URLs already name the proxy; a Location naming the upstream is rewritten to the
proxy anyway). Test-only code; standard library only.

  fault_proxy.py --upstream 127.0.0.1:PORT --port-file F [--mode M]... [--log F]
                 [--match REGEX] [--lifetime SECS]

Modes (repeatable; none = a plain logging proxy). Optional :N counts make a
fault hit only the first N matching requests, so a retrying client succeeds.
  500:N            the first N requests (matching --match) get 500
  429:N:SECS       the first N requests (matching --match) get 429, Retry-After: SECS
  cut-blob[:N]     the first N (default 1) blob GETs answered 200/206 send the full
                   Content-Length header but only half the body, then the
                   connection closes. Later GETs pass (Range goes upstream).
  corrupt-blob[:N] blob GET bodies get the byte at len/2 flipped (xor 0xff), same
                   length; every blob GET, or the first N
  stall[:N]        blob GETs send headers and 16 bytes, then nothing for 600 s
                   (--stall-seconds); every blob GET, or the first N
  redirect-blobs-401  as redirect-blobs, but the storage host answers 401 with a
                   Bearer challenge whose realm is itself; a token request
                   there is logged AUTH-LEAK (credentials must not follow)
  redirect-blobs[:FRONT]
                   blob GETs that upstream answers 200/206 get instead
                   `307 Location: http://FRONT:OTHERPORT/r/<key>/v2/<name>/blobs/<digest>`
                   (FRONT defaults to 127.0.0.1; it must resolve to 127.0.0.1).
                   A second listener on 127.0.0.1:OTHERPORT serves those URLs like
                   a pre-signed storage URL: it fetches the blob from upstream with
                   the Authorization of the request that was redirected (kept
                   server-side under <key>), forwarding Range. A request to it that
                   carries an Authorization header is logged AUTH-LEAK and gets 403.
--match REGEX: which requests the 500/429 modes count, searched in "METHOD PATH"
  (default: all), e.g. --match 'GET /v2/.*/blobs/sha256:'.
A "blob GET" is GET /v2/<name>/blobs/sha256:<hex> (not .../blobs/uploads/).

--log F: one line per request, written when the response headers go out:
  <listener> <METHOD> <PATH> <STATUS> auth=yes|no range=<Range or -> [fault=<what>]
  listener is `proxy` or `redirect`; AUTH-LEAK lines start with `AUTH-LEAK`.
  e.g. `proxy GET /v2/x/blobs/sha256:ab.. 200 auth=yes range=- fault=cut-blob`
       `proxy GET /v2/x/blobs/sha256:ab.. 206 auth=yes range=bytes=524288-`
--port-file F gets the main port; F.redirect gets the second listener's port
  (redirect-blobs only).
"""
import argparse
import http.client
import os
import re
import secrets
import socket
import socketserver
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
       "trailer", "trailers", "transfer-encoding", "upgrade", "expect", "proxy-connection"}
BLOB_RE = re.compile(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$")
CHUNK = 64 * 1024
UPSTREAM_TIMEOUT = 120


class Faults:
    def __init__(self, modes, match):
        self.lock = threading.Lock()
        self.match = re.compile(match) if match else None
        self.counted = []       # [kind, remaining, arg]  for 500 / 429
        self.body = {}          # kind -> remaining (None = unlimited) for cut/corrupt/stall
        self.redirect = None    # FRONT host
        self.storage_401 = False
        for m in modes:
            parts = m.split(":")
            kind = parts[0]
            if kind == "none":
                continue
            if kind == "500":
                self.counted.append(["500", int(parts[1]) if len(parts) > 1 else 1, None])
            elif kind == "429":
                n = int(parts[1]) if len(parts) > 1 else 1
                secs = parts[2] if len(parts) > 2 else "1"
                self.counted.append(["429", n, secs])
            elif kind in ("cut-blob", "corrupt-blob", "stall"):
                default = 1 if kind == "cut-blob" else None
                self.body[kind] = int(parts[1]) if len(parts) > 1 else default
            elif kind == "redirect-blobs":
                self.redirect = parts[1] if len(parts) > 1 and parts[1] else "127.0.0.1"
            elif kind == "redirect-blobs-401":
                # as redirect-blobs, but the storage host asks for credentials
                # with a Bearer challenge whose realm is itself (a token thief)
                self.redirect = "127.0.0.1"
                self.storage_401 = True
            else:
                raise SystemExit(f"fault_proxy.py: unknown mode {m!r}")

    def take_counted(self, method, path):
        if self.match and not self.match.search(f"{method} {path}"):
            return None
        with self.lock:
            for f in self.counted:
                if f[1] > 0:
                    f[1] -= 1
                    return f[0], f[2]
        return None

    def take_body(self, kind):
        with self.lock:
            if kind not in self.body:
                return False
            n = self.body[kind]
            if n is None:
                return True
            if n > 0:
                self.body[kind] = n - 1
                return True
            return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 900  # idle client connections (stall waits 600 s)

    def log_message(self, fmt, *args):
        pass

    # --- plumbing ---
    def log_line(self, status, fault=None, prefix=None):
        srv = self.server
        parts = [prefix or srv.listener, self.command, self.path, str(status),
                 "auth=" + ("yes" if self.headers.get("Authorization") else "no"),
                 "range=" + (self.headers.get("Range") or "-").replace(" ", "")]
        if fault:
            parts.append("fault=" + fault)
        srv.log(" ".join(parts))

    def read_body_chunks(self):
        """Yields the request body (Content-Length or chunked)."""
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("client closed in chunked body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            return
                    return
                left = size
                while left:
                    b = self.rfile.read(min(left, CHUNK))
                    if not b:
                        raise ConnectionError("client closed in chunk")
                    left -= len(b)
                    yield b
                self.rfile.readline(3)
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left > 0:
                b = self.rfile.read(min(left, CHUNK))
                if not b:
                    raise ConnectionError("client closed in body")
                left -= len(b)
                yield b

    def has_body(self):
        return bool(self.headers.get("Content-Length") not in (None, "0")
                    or "chunked" in (self.headers.get("Transfer-Encoding") or "").lower())

    def drain(self):
        for _ in self.read_body_chunks():
            pass

    def simple(self, status, body, extra=(), fault=None):
        self.drain()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.log_line(status, fault)
        if self.command != "HEAD":
            self.wfile.write(body)

    def upstream(self, method, path, headers, with_body):
        """Sends the request upstream; returns (conn, response)."""
        host, port = self.server.upstream
        conn = http.client.HTTPConnection(host, port, timeout=UPSTREAM_TIMEOUT)
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        chunked = with_body and "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        for k, v in headers:
            conn.putheader(k, v)
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        if with_body:
            for b in self.read_body_chunks():
                conn.send(b"%x\r\n%s\r\n" % (len(b), b) if chunked else b)
            if chunked:
                conn.send(b"0\r\n\r\n")
        return conn, conn.getresponse()

    def fwd_headers(self, drop_auth=False):
        out = []
        for k, v in self.headers.items():
            lk = k.lower()
            if lk in HOP or (drop_auth and lk == "authorization"):
                continue
            out.append((k, v))
        return out

    def rewrite_location(self, v):
        host, port = self.server.upstream
        for h in (host, "localhost", "127.0.0.1"):
            pre = f"http://{h}:{port}"
            if v.startswith(pre + "/") or v == pre:
                return f"http://127.0.0.1:{self.server.server_address[1]}" + v[len(pre):]
        return v

    def relay(self, resp, fault=None, cut=False, corrupt=False, stall=False):
        """Sends upstream's response to the client, streaming, with body faults."""
        status = resp.status
        self.send_response_only(status, resp.reason)
        length = resp.getheader("Content-Length")
        for k, v in resp.msg.items():
            lk = k.lower()
            if lk in HOP:
                continue
            if lk == "location":
                v = self.rewrite_location(v)
            self.send_header(k, v)
        no_body = self.command == "HEAD" or status in (204, 304) or 100 <= status < 200
        chunked = not no_body and length is None
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.log_line(status, fault)
        if no_body:
            return
        total = int(length) if length is not None else None
        limit = total // 2 if (cut and total is not None) else None
        flip_at = total // 2 if (corrupt and total) else None
        sent = 0
        while True:
            want = CHUNK
            if limit is not None:
                want = min(want, limit - sent)
                if want <= 0:
                    break
            if stall and sent >= 16:
                self.server.stop_event.wait(self.server.args.stall_seconds)
                break
            if stall:
                want = 16 - sent
            b = resp.read1(want) if want else b""
            if not b:
                break
            if flip_at is not None and sent <= flip_at < sent + len(b):
                i = flip_at - sent
                b = b[:i] + bytes([b[i] ^ 0xFF]) + b[i + 1:]
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
            else:
                self.wfile.write(b)
            sent += len(b)
        if cut or stall:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    # --- main listener ---
    def handle_any(self):
        srv = self.server
        if srv.listener == "redirect":
            return self.handle_redirected()
        path_only = urllib.parse.urlsplit(self.path).path
        f = srv.faults.take_counted(self.command, self.path)
        if f and f[0] == "500":
            return self.simple(500, b'{"errors":[{"code":"UNKNOWN","message":"injected fault: 500"}]}',
                               fault="500")
        if f and f[0] == "429":
            return self.simple(429, b'{"errors":[{"code":"TOOMANYREQUESTS","message":"injected fault: 429"}]}',
                               [("Retry-After", f[1])], fault="429")
        is_blob_get = self.command == "GET" and BLOB_RE.match(path_only) is not None
        try:
            conn, resp = self.upstream(self.command, self.path, self.fwd_headers(), self.has_body())
        except (OSError, http.client.HTTPException) as e:
            return self.simple(502, b'{"errors":[{"code":"UNKNOWN","message":"proxy: upstream unreachable"}]}',
                               fault="upstream-error:" + type(e).__name__)
        try:
            ok = resp.status in (200, 206)
            if is_blob_get and ok and srv.faults.redirect:
                key = secrets.token_hex(12)
                with srv.lock:
                    srv.presigned[key] = self.headers.get("Authorization")
                loc = (f"http://{srv.faults.redirect}:{srv.redirect_port}/r/{key}{path_only}")
                body = b""
                self.send_response_only(307)
                self.send_header("Location", loc)
                self.send_header("Content-Length", "0")
                self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
                self.end_headers()
                self.log_line(307, "redirect-blobs")
                self.wfile.write(body)
                return
            cut = is_blob_get and ok and srv.faults.take_body("cut-blob")
            corrupt = is_blob_get and ok and not cut and srv.faults.take_body("corrupt-blob")
            stall = is_blob_get and ok and not cut and not corrupt and srv.faults.take_body("stall")
            fault = "cut-blob" if cut else "corrupt-blob" if corrupt else "stall" if stall else None
            self.relay(resp, fault, cut=cut, corrupt=corrupt, stall=stall)
        finally:
            conn.close()

    # --- second listener: "pre-signed" blob URLs ---
    def handle_redirected(self):
        srv = self.server.main
        if self.path.startswith("/tokensteal"):
            self.server.log(f"AUTH-LEAK token request to the storage host {self.path} "
                            f"authorization={(self.headers.get('Authorization') or 'none').split(' ')[0]}")
            return self.simple(200, b'{"token":"stolen","expires_in":300}', fault="tokensteal")
        if srv.faults.storage_401 and not self.headers.get("Authorization"):
            realm = "http://127.0.0.1:%d/tokensteal" % self.server.server_address[1]
            return self.simple(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                               extra=[("WWW-Authenticate", f'Bearer realm="{realm}",service="storage"')],
                               fault="storage-401")
        m = re.match(r"^/r/([0-9a-f]+)(/v2/.+)$", urllib.parse.urlsplit(self.path).path)
        if self.headers.get("Authorization"):
            self.server.log(f"AUTH-LEAK {self.command} {self.path} "
                            f"authorization={self.headers.get('Authorization').split(' ')[0]}")
            return self.simple(403, b'{"errors":[{"code":"DENIED","message":"Authorization sent to the storage host"}]}',
                               fault="auth-leak")
        with srv.lock:
            auth = srv.presigned.get(m.group(1)) if m else None
            known = m is not None and m.group(1) in srv.presigned
        if not known or self.command not in ("GET", "HEAD"):
            return self.simple(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"no such pre-signed URL"}]}')
        headers = [(k, v) for k, v in self.fwd_headers(drop_auth=True) if k.lower() != "host"]
        headers.append(("Host", "%s:%d" % self.server.upstream))
        if auth:
            headers.append(("Authorization", auth))
        try:
            conn, resp = self.upstream(self.command, m.group(2), headers, False)
        except (OSError, http.client.HTTPException) as e:
            return self.simple(502, b'{"errors":[{"code":"UNKNOWN","message":"proxy: upstream unreachable"}]}',
                               fault="upstream-error:" + type(e).__name__)
        try:
            ok = resp.status in (200, 206)
            cut = ok and self.command == "GET" and srv.faults.take_body("cut-blob")
            corrupt = ok and self.command == "GET" and not cut and srv.faults.take_body("corrupt-blob")
            fault = "cut-blob" if cut else "corrupt-blob" if corrupt else None
            self.relay(resp, fault, cut=cut, corrupt=corrupt)
        finally:
            conn.close()

    def handle_safely(self):
        try:
            self.handle_any()
        except (ConnectionError, BrokenPipeError, socket.timeout, TimeoutError) as e:
            self.close_connection = True
            self.server.log(f"{self.server.listener} {self.command} {self.path} - "
                            f"connection-error={type(e).__name__}")

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = handle_safely


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    request_queue_size = 64

    def server_bind(self):
        # HTTPServer.server_bind would resolve the address (socket.getfqdn): skip that
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def handle_error(self, request, client_address):
        # a client that hangs up between requests is normal; other errors are printed
        if isinstance(sys.exc_info()[1], (ConnectionError, socket.timeout, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def log(self, line):
        if not self.args.log:
            return
        with self.log_lock:
            with open(self.args.log, "a") as f:
                f.write(line + "\n")
                f.flush()


def main():
    p = argparse.ArgumentParser(description="fault-injecting registry proxy for tests")
    p.add_argument("--upstream", required=True, help="127.0.0.1:PORT")
    p.add_argument("--port-file", required=True)
    p.add_argument("--mode", action="append", default=[])
    p.add_argument("--match")
    p.add_argument("--log")
    p.add_argument("--stall-seconds", type=float, default=600)
    p.add_argument("--lifetime", type=float, default=1800, help="exit after this many seconds")
    a = p.parse_args()
    host, _, port = a.upstream.rpartition(":")
    if host not in ("127.0.0.1", "localhost"):
        p.error("--upstream must be on 127.0.0.1")
    faults = Faults(a.mode, a.match)
    log_lock = threading.Lock()
    stop_event = threading.Event()

    def mk(listener):
        s = Server(("127.0.0.1", 0), Handler)
        s.args, s.listener, s.upstream = a, listener, ("127.0.0.1", int(port))
        s.faults, s.log_lock, s.stop_event = faults, log_lock, stop_event
        s.lock, s.presigned = threading.Lock(), {}
        return s

    main_srv = mk("proxy")
    main_srv.redirect_port = None
    servers = [main_srv]
    if faults.redirect:
        red = mk("redirect")
        red.main = main_srv
        main_srv.redirect_port = red.server_address[1]
        servers.append(red)
        with open(a.port_file + ".redirect.tmp", "w") as f:
            f.write(f"{main_srv.redirect_port}\n")
        os.replace(a.port_file + ".redirect.tmp", a.port_file + ".redirect")
    if a.log:
        open(a.log, "a").close()
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    with open(a.port_file + ".tmp", "w") as f:
        f.write(f"{main_srv.server_address[1]}\n")
    os.replace(a.port_file + ".tmp", a.port_file)
    t = threading.Timer(a.lifetime, lambda: os._exit(3))
    t.daemon = True
    t.start()
    try:
        main_srv.serve_forever()
    except KeyboardInterrupt:
        pass
    stop_event.set()
    sys.exit(0)


if __name__ == "__main__":
    main()
