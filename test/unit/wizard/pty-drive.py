#!/usr/bin/env python3
"""Drive a program through a pseudo-terminal like a person at a keyboard.

Usage: pty-drive.py STEPS.json -- PROGRAM [ARGS...]

STEPS.json is a list of {"expect": REGEX, "send": TEXT}: wait until REGEX appears in the screen output
(ANSI escapes removed) after the previous match, then type TEXT. When the steps are done, the program's
remaining output is read until it exits. Prints the transcript (escapes removed) and exits with the
program's exit code; 98 when an expected text did not appear in time (the transcript says where).
"""
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]|\x1b[=>78]")
STEP_TIMEOUT = 30.0


def main() -> int:
    steps_file = sys.argv[1]
    argv = sys.argv[sys.argv.index("--") + 1 :]
    with open(steps_file, encoding="utf-8") as f:
        steps = json.load(f)

    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    # wide enough that no question is wrapped onto two lines
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 300, 0, 0))

    raw = b""
    searched = 0

    def screen() -> str:
        return ANSI.sub("", raw.decode("utf-8", "replace")).replace("\r", "")

    def read_some(timeout: float) -> bool:
        nonlocal raw
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return False
        if not chunk:
            return False
        raw += chunk
        return True

    for i, step in enumerate(steps):
        pattern = re.compile(step["expect"])
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            match = pattern.search(screen(), searched)
            if match:
                searched = match.end()
                break
            if time.monotonic() > deadline or not read_some(0.2):
                sys.stdout.write(screen())
                sys.stderr.write(f"\npty-drive: step {i}: {step['expect']!r} did not appear\n")
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return 98
        # let the prompt finish drawing and start listening before typing
        time.sleep(0.15)
        os.write(fd, step["send"].encode("utf-8"))

    # the program closes the terminal when it exits: read until then
    deadline = time.monotonic() + STEP_TIMEOUT
    while read_some(0.2):
        if time.monotonic() > deadline:
            sys.stdout.write(screen())
            sys.stderr.write("\npty-drive: the program did not exit after the last step\n")
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return 98
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(screen())
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
