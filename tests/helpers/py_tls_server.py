#!/usr/bin/env python3
"""py_tls_server.py PORT CERT KEY - a TLS server in Python's ssl module, whose _ssl extension
loads libssl privately (RTLD_LOCAL): the case where dlsym(RTLD_NEXT) finds no libssl.
Serves "hello" to each connection, forever (the test stops it)."""
import socket
import ssl
import sys

port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
with socket.create_server(("127.0.0.1", port)) as srv:
    while True:
        conn, _ = srv.accept()
        try:
            conn.settimeout(5)
            with ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"hello\n")
                # Read until the client closes, so that closing here sends no reset.
                while tls.recv(4096):
                    pass
        except (ssl.SSLError, OSError):
            pass
