#!/usr/bin/env python3
"""ftps_session.py - one FTPS session kept open across a response replacement.

Usage: ftps_session.py PORT OUTDIR

Logs in anonymously over explicit TLS (AUTH TLS, PROT P) on 127.0.0.1:PORT, then opens
passive data channels whose TLS handshake is made by `openssl s_client -status` (Python's ssl
module cannot ask for a staple), all within the same FTP session (the same server process):

1. one data channel; what s_client said goes to OUTDIR/data.before, then OUTDIR/ready is
   created;
2. waits (up to 120 s) for OUTDIR/go;
3. data channels, one every 0.25 s for up to 10 s, until one carries no "good" staple; the
   last answer goes to OUTDIR/data.after.

Exit status: 0 when a data channel after OUTDIR/go stapled no "good" response, 3 when every
one still did, 2 on a protocol error (described on stderr).
"""

import ftplib
import os
import ssl
import subprocess
import sys
import time


def data_channel(ftp):
    """LIST over a new passive data channel; return what s_client printed."""
    host, port = ftplib.parse227(ftp.sendcmd("PASV"))
    # vsftpd accepts the data connection once it has the command, then answers 150 and
    # starts TLS on it: send the command, connect, and read the answers afterwards.
    ftp.putcmd("LIST")
    proc = subprocess.run(
        ["timeout", "20", "openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
         "-status", "-ign_eof"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, check=False)
    for _ in range(2):  # 150 then 226 (or an error reply; either way the channel is done)
        try:
            if ftp.getresp().startswith("2"):
                break
        except ftplib.Error:
            break
    return proc.stdout


def main():
    port, outdir = int(sys.argv[1]), sys.argv[2]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ftp = ftplib.FTP_TLS(context=ctx, timeout=20)
    try:
        ftp.connect("127.0.0.1", port)
        ftp.auth()
        ftp.login()
        ftp.prot_p()
        with open(os.path.join(outdir, "data.before"), "w") as f:
            f.write(data_channel(ftp))
        open(os.path.join(outdir, "ready"), "w").close()
        go = os.path.join(outdir, "go")
        deadline = time.monotonic() + 120
        while not os.path.exists(go):
            if time.monotonic() > deadline:
                print("no %s within 120 s" % go, file=sys.stderr)
                return 2
            time.sleep(0.1)
        deadline = time.monotonic() + 10
        while True:
            out = data_channel(ftp)
            with open(os.path.join(outdir, "data.after"), "w") as f:
                f.write(out)
            if "Cert Status: good" not in out:
                return 0
            if time.monotonic() > deadline:
                return 3
            time.sleep(0.25)
    except (OSError, ftplib.Error, EOFError) as e:
        print("ftps session: %s" % e, file=sys.stderr)
        return 2
    finally:
        try:
            ftp.quit()
        except (OSError, ftplib.Error, EOFError):
            pass


if __name__ == "__main__":
    sys.exit(main())
