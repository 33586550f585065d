#!/usr/bin/python3
"""A registry that misbehaves on purpose, in front of a real docker-registry.

Listens on 127.0.0.1 only.  The first component of a repository picks the
behaviour; the rest is the repository on the upstream registry:

  /v2/ok/REPO/...         proxied as is
  /v2/bearer/REPO/...     needs a Bearer token from /token (anonymous tokens)
  /v2/bearerauth/REPO/... the same, but /token wants Basic credentials
  /v2/redirect/REPO/...   needs a Bearer token; blobs redirect (307) to
                          http://localhost:PORT/redirected/..., another host,
                          which logs whether an Authorization header came along
  /v2/e404, e401, e500    always that status
  /v2/e429/...            always 429 with Retry-After: 1
  /v2/flaky/...           the first request of each path gets 503, the
                          second 429 with Retry-After: 1, then proxied
  /v2/badjson/...         manifests are malformed JSON
  /v2/unknownmt/...       manifests name an unknown layer media type
  /v2/truncate/...        the first GET of each blob stops halfway (the
                          connection closes); Range requests are honoured
  /v2/wrongdigest/...     blobs have one byte changed, same size
  /v2/e403/...            always 403
Pushes (POST, PATCH, PUT are proxied too, upload Locations rewritten):
  /v2/upflaky/...         an upload's first data request (the PATCH or the PUT that
                          sends the blob) gets 500, its second 429 with
                          Retry-After: 1, each blob's; then proxied
  /v2/updrop/...          an upload's first data request reads half the body,
                          then the connection closes, once per blob
  /v2/upbaddigest/...     a blob's closing PUT answers with another digest in
                          Docker-Content-Digest (after storing it)
  /v2/upfailblob/...      every upload of the largest blob of the push gets 500
                          (the blob with "size=" largest in the PUT is the one
                          to fail: decided by a Content-Length over 100000)

State (counters, logs) goes to files in --state: tokens (a line per token
issued), redirect-auth (a line per redirected request: "auth" or "none"),
requests (a line per request: method path).
"""
import argparse
import base64
import json
import os
import re
import secrets
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
TOKENS = set()
SEEN = {}


def log(name, line):
    with LOCK:
        with open(os.path.join(ARGS.state, name), "a") as f:
            f.write(line + "\n")


def upstream(path, accept=None, method="GET", body=None, ctype=None):
    req = urllib.request.Request(ARGS.upstream + path, data=body, method=method)
    if accept:
        req.add_header("Accept", accept)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, msg, headers=None):
        if self.command not in ("GET", "HEAD") and not getattr(self, "body_read", False):
            self.read_body()  # What the client sent must not be read as its next request.
        body = json.dumps({"errors": [{"code": code, "message": msg}]}).encode()
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        self.send(status, body, h)

    def first_time(self, key):
        with LOCK:
            n = SEEN.get(key, 0)
            SEEN[key] = n + 1
        return n

    def token_ok(self):
        auth = self.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[7:] in TOKENS

    def challenge(self, mode, repo):
        realm = "http://127.0.0.1:%d/token%s" % (ARGS.port, "?auth=1" if mode == "bearerauth" else "")
        h = {"WWW-Authenticate": 'Bearer realm="%s",service="husk \\"test\\"",scope="repository:%s/%s:pull"'
             % (realm, mode, repo)}
        self.error(401, "UNAUTHORIZED", "authentication required", h)

    def do_token(self):
        q = dict(p.split("=", 1) for p in self.path.split("?", 1)[1].split("&") if "=" in p) \
            if "?" in self.path else {}
        if q.get("auth") == "1":
            want = "Basic " + base64.b64encode(("%s:%s" % (ARGS.user, ARGS.password)).encode()).decode()
            if self.headers.get("Authorization") != want:
                return self.error(401, "UNAUTHORIZED", "bad credentials")
        if q.get("service") != "husk%20%22test%22":
            return self.error(400, "DENIED", "wrong service: %s" % self.path)
        tok = secrets.token_hex(16)
        with LOCK:
            TOKENS.add(tok)
        log("tokens", tok)
        self.send(200, json.dumps({"token": tok, "expires_in": 300}).encode(),
                  {"Content-Type": "application/json"})

    def read_body(self):
        n = int(self.headers.get("Content-Length", "0") or "0")
        self.body_read = True
        return self.rfile.read(n) if n > 0 else b""

    def proxy_write(self, rest, mode):
        """A push's POST, PATCH or PUT, passed on; Location points back here."""
        n = int(self.headers.get("Content-Length", "0") or "0")
        data = "/blobs/uploads/" in rest and self.command in ("PATCH", "PUT") and n > 0
        # Per blob, across upload sessions (each has its own path): by its repository and size.
        key = "%s size=%d" % (re.sub(r"/blobs/.*$", "", rest), n)
        if data and mode == "upflaky":
            k = self.first_time("data " + key)
            if k < 2:
                self.read_body()
                if k == 0:
                    return self.error(500, "UNKNOWN", "upload trouble")
                return self.error(429, "TOOMANYREQUESTS", "slow down", {"Retry-After": "1"})
        if data and mode == "updrop" and self.first_time("drop " + key) == 0:
            self.rfile.read(n // 2)
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if data and mode == "upfailblob" and n > 100000:
            self.read_body()
            return self.error(500, "UNKNOWN", "this blob never goes in")
        body = self.read_body()
        # A mount's source is a repository of this proxy: the upstream knows it without MODE/.
        rest = re.sub(r"([?&]from=)%s(%%2F|/)" % mode, r"\1", rest)
        status, headers, rbody = upstream("/v2/" + rest, None, self.command, body,
                                          self.headers.get("Content-Type"))
        h = {k: v for k, v in headers.items()
             if k.lower() in ("content-type", "docker-content-digest", "location",
                              "docker-upload-uuid", "range")}
        for k in list(h):
            if k.lower() == "location":
                loc = re.sub(r"^https?://[^/]+", "", h[k])
                h[k] = loc.replace("/v2/", "/v2/%s/" % mode, 1)
            if (k.lower() == "docker-content-digest" and mode == "upbaddigest"
                    and "/blobs/uploads/" in rest and self.command == "PUT"):
                h[k] = "sha256:" + "0" * 64
        return self.send(status, rbody, h)

    def proxy(self, rest, mode):
        if self.command not in ("GET", "HEAD"):
            return self.proxy_write(rest, mode)
        status, headers, body = upstream("/v2/" + rest, self.headers.get("Accept"))
        h = {k: v for k, v in headers.items()
             if k.lower() in ("content-type", "docker-content-digest")}
        if status != 200:
            return self.send(status, body, h)
        is_blob = "/blobs/" in rest
        if mode == "badjson" and not is_blob:
            return self.send(200, b'{"schemaVersion": 2, "layers": [', h)
        if mode == "unknownmt" and not is_blob:
            doc = json.loads(body)
            for layer in doc.get("layers", []):
                layer["mediaType"] = "application/x-husk-unknown"
            h.pop("Docker-Content-Digest", None)
            return self.send(200, json.dumps(doc).encode(), h)
        if mode == "wrongdigest" and is_blob and len(body) > 0:
            b = bytearray(body)
            b[len(b) // 2] ^= 0xFF
            return self.send(200, bytes(b), h)
        if mode == "truncate" and is_blob:
            rng = self.headers.get("Range")
            if rng:
                m = re.match(r"bytes=(\d+)-$", rng)
                start = int(m.group(1))
                h["Content-Range"] = "bytes %d-%d/%d" % (start, len(body) - 1, len(body))
                return self.send(206, body[start:], h)
            if self.first_time("cut " + rest) == 0 and len(body) > 1:
                self.send_response(200)
                for k, v in h.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
        return self.send(200, body, h)

    def do_GET(self):
        self.body_read = False
        log("requests", "%s %s range=%s" % (self.command, self.path, self.headers.get("Range", "")))
        path = self.path
        if path.startswith("/token"):
            return self.do_token()
        if path.startswith("/redirected/"):
            log("redirect-auth", "auth" if self.headers.get("Authorization") else "none")
            return self.proxy(path[len("/redirected/"):], "ok")
        if path == "/v2/" or path == "/v2":
            # As a registry behind a token service answers: log in to get in.
            if not self.token_ok():
                realm = "http://127.0.0.1:%d/token?auth=1" % ARGS.port
                return self.error(401, "UNAUTHORIZED", "authentication required",
                                  {"WWW-Authenticate": 'Bearer realm="%s",service="husk \\"test\\""' % realm})
            return self.send(200, b"{}", {"Content-Type": "application/json"})
        m = re.match(r"^/v2/([a-z0-9]+)/(.*)$", path)
        if not m:
            return self.error(404, "NAME_UNKNOWN", "no such path")
        mode, rest = m.group(1), m.group(2)
        repo = re.sub(r"/(manifests|blobs)/.*$", "", rest)
        if mode in ("bearer", "bearerauth", "redirect") and not self.token_ok():
            return self.challenge(mode, repo)
        if mode == "e404":
            return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        if mode == "e401":
            return self.error(401, "UNAUTHORIZED", "authentication required",
                              {"WWW-Authenticate": 'Basic realm="husk-test"'})
        if mode == "e403":
            return self.error(403, "DENIED", "requested access to the resource is denied")
        if mode == "e500":
            return self.error(500, "UNKNOWN", "internal trouble")
        if mode == "e429":
            return self.error(429, "TOOMANYREQUESTS", "slow down", {"Retry-After": "1"})
        if mode == "flaky":
            n = self.first_time(path)
            if n == 0:
                return self.error(503, "UNAVAILABLE", "try again")
            if n == 1:
                return self.error(429, "TOOMANYREQUESTS", "slow down", {"Retry-After": "1"})
        if mode == "redirect" and "/blobs/" in rest:
            return self.send(307, b"", {"Location": "http://localhost:%d/redirected/%s" % (ARGS.port, rest)})
        return self.proxy(rest, mode)

    do_HEAD = do_GET
    do_POST = do_GET
    do_PUT = do_GET
    do_PATCH = do_GET
    do_DELETE = do_GET


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--state", required=True)
    p.add_argument("--user", default="husk")
    p.add_argument("--password", default="s3cret-pass")
    ARGS = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
