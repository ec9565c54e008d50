#!/usr/bin/env python3
"""syslog_sink.py SOCKET OUTFILE - a stand-in syslog daemon for tests: receive datagrams on a
UNIX socket and append each as a line to OUTFILE. Exits after 120 s at the latest."""
import os
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
if os.path.exists(path):
    os.unlink(path)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
os.chmod(path, 0o666)
sock.settimeout(1.0)
deadline = time.time() + 120
with open(out, "a", buffering=1) as f:
    while time.time() < deadline:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        f.write(data.decode("utf-8", "replace").rstrip("\n") + "\n")
