#!/usr/bin/env python3
"""http_stub.py PORT MODE [options] - an OCSP responder on 127.0.0.1 for tests: a real one
(backed by `openssl ocsp`, which then needs no listening socket of its own), a canned one, or a
misbehaving one.

MODE: ocsp (each request answered by `openssl ocsp -reqin ... -respout ...` run in --dir with
--index and --signer), canned (the bytes of --file as application/ocsp-response), 500 (HTTP
error), garbage (200, application/ocsp-response, random bytes), html (200, text/html),
trylater (200, an OCSPResponse with status tryLater), drop (read the request, close without
answering), hang (read the request, never answer).

Options: --latency MS (added before each answer), --log FILE (one JSON line per accepted
connection and per request: method, path, HTTP version, Host, User-Agent, body in base64),
--refuse-get [STATUS] (answer GET with STATUS: 405, the default, 414 or 501), --max-age N (Cache-Control: max-age=N, public on answers to
GET), --lifetime S (exit after S seconds, default 120). HTTP/1.1 with keep-alive when the client
asks for it. Listens on 127.0.0.1 only."""
import argparse
import base64
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
from urllib.parse import unquote
from email.utils import formatdate

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("mode")
ap.add_argument("--dir", default=".")
ap.add_argument("--index", default="index.txt")
ap.add_argument("--signer", default="ca")
ap.add_argument("--file")
ap.add_argument("--latency", type=float, default=0.0)
ap.add_argument("--log")
ap.add_argument("--refuse-get", nargs="?", type=int, const=405, default=0,
                choices=[405, 414, 501])
ap.add_argument("--max-age", type=int, default=0)
ap.add_argument("--lifetime", type=float, default=120.0)
args = ap.parse_args()

BODIES = {
    "garbage": ("200 OK", "application/ocsp-response", os.urandom(300)),
    "html": ("200 OK", "text/html", b"<html><body>Service unavailable</body></html>"),
    "trylater": ("200 OK", "application/ocsp-response", bytes([0x30, 0x03, 0x0A, 0x01, 0x03])),
    "500": ("500 Internal Server Error", "text/plain", b"internal error\n"),
}
REFUSALS = {
    405: ("405 Method Not Allowed", "text/plain"),
    414: ("414 URI Too Long", "text/plain"),
    501: ("501 Not Implemented", "text/plain"),
}
log_lock = threading.Lock()
connections = 0


def log(event):
    if args.log is None:
        return
    with log_lock, open(args.log, "a") as f:
        f.write(json.dumps(event) + "\n")


def read_request(conn, buf):
    """One request from conn: (method, path, version, headers, body, rest) or None."""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, version = (lines[0].split(" ") + ["", "", ""])[:3]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        rest += chunk
    return method, path, version, headers, rest[:length], rest[length:]


def ocsp_answer(der):
    """The answer of `openssl ocsp` to the DER request `der`."""
    with tempfile.TemporaryDirectory() as tmp:
        req, resp = os.path.join(tmp, "req.der"), os.path.join(tmp, "resp.der")
        with open(req, "wb") as f:
            f.write(der)
        subprocess.run(["openssl", "ocsp", "-index", args.index, "-CA", "ca.pem",
                        "-rsigner", args.signer + ".pem", "-rkey", args.signer + ".key",
                        "-ndays", "7", "-reqin", req, "-respout", resp],
                       cwd=args.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
        with open(resp, "rb") as f:
            return f.read()


def request_der(method, path, body):
    if method == "POST":
        return body
    return base64.b64decode(unquote(path.rsplit("/", 1)[-1].split("?", 1)[0]))


def answer(method, path, body):
    """(status, content type, body, extra headers) for one request."""
    if args.refuse_get and method == "GET":
        return REFUSALS[args.refuse_get] + (b"GET refused\n", ["Allow: POST"])
    extra = []
    if args.max_age > 0 and method == "GET":
        extra = ["Cache-Control: max-age=%d, public" % args.max_age,
                 "Last-Modified: " + formatdate(time.time() - 60, usegmt=True)]
    if args.mode == "ocsp":
        der = ocsp_answer(request_der(method, path, body))
        return "200 OK", "application/ocsp-response", der, extra
    if args.mode == "canned":
        with open(args.file, "rb") as f:
            return "200 OK", "application/ocsp-response", f.read(), extra
    status, ctype, data = BODIES[args.mode]
    return status, ctype, data, []


def serve(conn, number):
    buf = b""
    try:
        conn.settimeout(10)
        while True:
            got = read_request(conn, buf)
            if got is None:
                return
            method, path, version, headers, body, buf = got
            log({"event": "request", "conn": number, "method": method, "path": path,
                 "version": version, "host": headers.get("host"),
                 "user_agent": headers.get("user-agent"),
                 "body": base64.b64encode(body).decode()})
            if args.mode == "drop":
                return
            if args.mode == "hang":
                time.sleep(30)
                return
            if args.latency > 0:
                time.sleep(args.latency / 1000.0)
            status, ctype, data, extra = answer(method, path, body)
            connection = headers.get("connection", "").lower()
            keep = args.mode in ("ocsp", "canned") and (
                connection == "keep-alive" or (version == "HTTP/1.1" and connection != "close"))
            head = ["HTTP/1.1 " + status, "Content-Type: " + ctype,
                    "Content-Length: %d" % len(data), "Date: " + formatdate(usegmt=True),
                    "Connection: " + ("keep-alive" if keep else "close")] + extra
            conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data)
            if not keep:
                return
    except OSError:
        pass
    finally:
        conn.close()


srv = socket.create_server(("127.0.0.1", args.port))
srv.settimeout(1.0)
deadline = time.time() + args.lifetime
while time.time() < deadline:
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        continue
    connections += 1
    log({"event": "accept", "conn": connections})
    threading.Thread(target=serve, args=(conn, connections), daemon=True).start()
