#!/bin/sh
# hundred.sh - 100 commands that never use TLS, for benchmark 4 of tests/bench/README.md: what
# LD_PRELOAD=libocspstaple.so costs the processes around a server (shell scripts, cron jobs).
# Ten rounds of ten different small programs, each one exec'ed (no shell built-ins).
i=0
while [ "$i" -lt 10 ]; do
    /bin/true
    /bin/cat /dev/null
    /bin/ls / > /dev/null
    /bin/date > /dev/null
    /usr/bin/env > /dev/null
    /usr/bin/id > /dev/null
    /bin/uname -a > /dev/null
    /usr/bin/basename /a/b > /dev/null
    /usr/bin/dirname /a/b > /dev/null
    /bin/echo x > /dev/null
    i=$((i + 1))
done
