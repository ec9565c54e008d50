#!/usr/bin/env python3
"""http_stub.py PORT MODE - a misbehaving OCSP responder on 127.0.0.1 for tests.

MODE: 500 (HTTP error), garbage (200, application/ocsp-response, random bytes), html (200,
text/html), trylater (200, an OCSPResponse with status tryLater), drop (read the request, close
without answering), hang (read the request, never answer). Exits after 120 s at the latest."""
import os
import socket
import sys
import threading
import time

port, mode = int(sys.argv[1]), sys.argv[2]
BODIES = {
    "garbage": ("200 OK", "application/ocsp-response", os.urandom(300)),
    "html": ("200 OK", "text/html", b"<html><body>Service unavailable</body></html>"),
    "trylater": ("200 OK", "application/ocsp-response", bytes([0x30, 0x03, 0x0A, 0x01, 0x03])),
    "500": ("500 Internal Server Error", "text/plain", b"internal error\n"),
}


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            return
        body += chunk


def serve(conn):
    try:
        conn.settimeout(10)
        read_request(conn)
        if mode == "drop":
            return
        if mode == "hang":
            time.sleep(30)
            return
        status, ctype, body = BODIES[mode]
        conn.sendall(("HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                      % (status, ctype, len(body))).encode() + body)
    except OSError:
        pass
    finally:
        conn.close()


srv = socket.create_server(("127.0.0.1", port))
srv.settimeout(1.0)
deadline = time.time() + 120
while time.time() < deadline:
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
