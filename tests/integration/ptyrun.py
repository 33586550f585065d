#!/usr/bin/env python3
"""ptyrun.py: run a command on a new pseudo-terminal, as a user's shell would.

  ptyrun.py [--modes FILE] [--expect TEXT --send TEXT]... [--timeout S] -- CMD [ARG...]

CMD gets the terminal's slave as its stdin, stdout and stderr, and as its
controlling terminal (a new session).  What it writes there is printed on
stdout ("\\r\\n" as "\\n") once it has exited.  Each --expect waits (in order)
until TEXT has appeared in the output since the previous one, then writes its
--send TEXT (backslash escapes such as \\n understood) to the terminal as if
typed.  --modes FILE records the terminal's ECHO and ICANON flags before CMD
starts and after it has exited, as "before: echo icanon" and "after: -echo
icanon".  Exits with CMD's status (128+N for signal N), or 124 when CMD ran
past --timeout seconds (default 60; its whole session is killed).
"""
import argparse
import os
import select
import signal
import sys
import termios
import time


def modes(fd):
    lflag = termios.tcgetattr(fd)[3]
    return " ".join(
        ("" if lflag & bit else "-") + name
        for name, bit in (("echo", termios.ECHO), ("icanon", termios.ICANON))
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes")
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--send", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("cmd", nargs="+")
    a = ap.parse_args()
    if len(a.expect) != len(a.send):
        ap.error("each --expect needs its --send")
    steps = [
        (e.encode(), s.encode().decode("unicode_escape").encode("latin-1"))
        for e, s in zip(a.expect, a.send)
    ]

    master, slave = os.openpty()
    before = modes(slave)
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os.setsid()
        import fcntl

        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        if slave > 2:
            os.close(slave)
        try:
            os.execvp(a.cmd[0], a.cmd)
        finally:
            os._exit(127)

    out = b""
    seen = 0  # Where the next --expect starts looking.
    status = None
    deadline = time.monotonic() + a.timeout
    quiet_until = None  # After the exit: read until nothing came for a moment.
    while True:
        if status is None:
            p, st = os.waitpid(pid, os.WNOHANG)
            if p == pid:
                status = st
                quiet_until = time.monotonic() + 0.3
        now = time.monotonic()
        if status is None and now > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            sys.stdout.write(out.decode(errors="replace").replace("\r\n", "\n"))
            print("ptyrun: timed out", file=sys.stderr)
            sys.exit(124)
        if status is not None and now > quiet_until:
            break
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if data:
                out += data
                if status is not None:
                    quiet_until = time.monotonic() + 0.3
        while steps and steps[0][0] in out[seen:]:
            seen = out.index(steps[0][0], seen) + len(steps[0][0])
            os.write(master, steps[0][1])
            steps.pop(0)

    after = modes(slave)
    if a.modes:
        with open(a.modes, "w") as f:
            f.write("before: %s\nafter: %s\n" % (before, after))
    sys.stdout.write(out.decode(errors="replace").replace("\r\n", "\n"))
    sys.stdout.flush()
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
