#!/usr/bin/env python3
"""Test helper: a docker token-auth server (https://distribution.github.io/distribution/spec/auth/token/)
for docker-registry's `auth: token` mode. Listens on 127.0.0.1 only, plain HTTP.
Test-only code: standard library + the `openssl` command (signing).

  token_server.py --key K --cert C --port-file F [--service S] [--issuer I]
                  [--user U --password P] [--allow-anonymous-pull]
                  [--expires-in N] [--log F] [--lifetime SECS]

K/C: RSA key and self-signed cert (PEM); generated with `openssl req -x509` if
missing. C is the registry's rootcertbundle; tokens are RS256 JWTs whose header
carries x5c=[base64 DER of C].

GET /token?service=S&scope=repository:NAME:pull,push[&scope=...] (any path works)
with optional `Authorization: Basic`; POST /token (OAuth2 form: grant_type=password
with username/password, or grant_type=refresh_token) is accepted too.
  - no --user: everybody gets every action asked for;
  - --user/--password: right credentials get every action asked for, wrong
    credentials get 401; no credentials get 401, or with --allow-anonymous-pull
    a token granting only the `pull` actions asked for.
Answer: {"token", "access_token", "expires_in", "issued_at"} (+ "refresh_token" for
POST with credentials).

--log F: one line per request, e.g.
  GET status=200 creds=basic user=U service=S granted=repository:x:pull,push scopes=repository:x:pull,push
  creds is basic|none|bad (bad: wrong credentials or a malformed header); scopes
  lists every scope asked for, space-separated, in order (or '-').
"""
import argparse
import base64
import datetime
import json
import os
import secrets
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def ensure_key(key, cert):
    if os.path.exists(key) and os.path.exists(cert):
        return
    r = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=mkimage-test-token-issuer", "-keyout", key, "-out", cert],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("token_server.py: openssl req failed: " + r.stderr)


def cert_der_b64(cert):
    with open(cert) as f:
        pem = f.read()
    body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    der = base64.b64decode("".join(body.split()))
    return base64.b64encode(der).decode()


class Signer:
    def __init__(self, key, cert):
        self.key = key
        self.x5c = [cert_der_b64(cert)]

    def sign(self, claims):
        header = {"typ": "JWT", "alg": "RS256", "x5c": self.x5c}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        r = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key],
                           input=signing_input.encode(), capture_output=True)
        if r.returncode != 0:
            raise RuntimeError("openssl dgst -sign failed: " + r.stderr.decode(errors="replace"))
        return signing_input + "." + b64url(r.stdout)


def parse_scopes(values):
    """['repository:a:pull,push repository:b:pull', ...] -> [(type, name, [actions])]"""
    out = []
    for v in values:
        for s in v.split():
            # type:name:actions, where name may hold ':' (e.g. a registry host:port)
            typ, _, rest = s.partition(":")
            name, _, actions = rest.rpartition(":")
            if not typ or not name:
                continue
            out.append((s, typ, name, [x for x in actions.split(",") if x]))
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mkimage-test-token/1"

    def log_message(self, fmt, *args):  # quiet on stderr
        pass

    def _creds(self, form=None):
        """-> ('none'|'basic'|'bad', user)"""
        if form is not None and form.get("grant_type") == "password":
            u, p = form.get("username", ""), form.get("password", "")
            return self._check(u, p)
        if form is not None and form.get("grant_type") == "refresh_token":
            rt = form.get("refresh_token", "")
            user = self.server.refresh.get(rt)
            return ("basic", user) if user else ("bad", "")
        h = self.headers.get("Authorization")
        if not h:
            return "none", ""
        kind, _, val = h.partition(" ")
        if kind.lower() != "basic":
            return "bad", ""
        try:
            u, _, p = base64.b64decode(val.strip(), validate=True).decode().partition(":")
        except Exception:
            return "bad", ""
        return self._check(u, p)

    def _check(self, u, p):
        a = self.server.args
        if a.user is None:
            return "basic", u
        if u == a.user and p == a.password:
            return "basic", u
        return "bad", u

    def _reply(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _serve(self, params, form=None):
        a = self.server.args
        service = params.get("service", [""])[0]
        scopes = parse_scopes(params.get("scope", []))
        creds, user = self._creds(form)
        granted = []
        status = 200
        if creds == "bad" or (creds == "none" and a.user is not None and not a.allow_anonymous_pull):
            status = 401
        else:
            anonymous_only = creds == "none" and a.user is not None
            for raw, typ, name, actions in scopes:
                acts = [x for x in actions if x == "pull"] if anonymous_only else actions
                if acts:
                    granted.append({"type": typ, "name": name, "actions": acts})
        line = (f"{self.command} status={status} creds={creds} user={user or '-'} "
                f"service={service or '-'} "
                f"granted={' '.join(g['type'] + ':' + g['name'] + ':' + ','.join(g['actions']) for g in granted) or '-'} "
                f"scopes={' '.join(s[0] for s in scopes) or '-'}")
        self.server.log(line)
        if status != 200:
            self._reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                        {"WWW-Authenticate": 'Basic realm="mkimage-test-token"'})
            return
        now = int(time.time())
        claims = {
            "iss": a.issuer, "sub": user or "", "aud": service or a.service,
            "exp": now + a.expires_in, "nbf": now - 5, "iat": now,
            "jti": secrets.token_hex(12), "access": granted,
        }
        tok = self.server.signer.sign(claims)
        resp = {"token": tok, "access_token": tok, "expires_in": a.expires_in,
                "issued_at": datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
                .strftime("%Y-%m-%dT%H:%M:%SZ")}
        if form is not None and creds == "basic" and user:
            rt = secrets.token_hex(16)
            self.server.refresh[rt] = user
            resp["refresh_token"] = rt
        self._reply(200, resp, {"Cache-Control": "no-store"})

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        self._serve(urllib.parse.parse_qs(u.query))

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode(errors="replace") if n else ""
        params = urllib.parse.parse_qs(raw)
        form = {k: v[0] for k, v in params.items()}
        if "scope" not in params:
            params["scope"] = []
        self._serve(params, form)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        # HTTPServer.server_bind would resolve the address (socket.getfqdn): skip that
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def log(self, line):
        if not self.args.log:
            return
        with self.log_lock:
            with open(self.args.log, "a") as f:
                f.write(line + "\n")


def main():
    p = argparse.ArgumentParser(description="docker token-auth server for tests")
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--service", default="mkimage-test-registry")
    p.add_argument("--issuer", default="mkimage-test-issuer")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--allow-anonymous-pull", action="store_true")
    p.add_argument("--expires-in", type=int, default=300)
    p.add_argument("--log")
    p.add_argument("--lifetime", type=float, default=1800, help="exit after this many seconds")
    a = p.parse_args()
    if (a.user is None) != (a.password is None):
        p.error("--user and --password go together")
    ensure_key(a.key, a.cert)
    srv = Server(("127.0.0.1", 0), Handler)
    srv.args = a
    srv.signer = Signer(a.key, a.cert)
    srv.log_lock = threading.Lock()
    srv.refresh = {}
    if a.log:
        open(a.log, "a").close()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.replace(tmp, a.port_file)
    t = threading.Timer(a.lifetime, lambda: os._exit(3))
    t.daemon = True
    t.start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
