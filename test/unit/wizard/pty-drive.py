#!/usr/bin/env python3
"""Drive a program through a pseudo-terminal like a person at a keyboard.

Usage: pty-drive.py STEPS.json -- PROGRAM [ARGS...]

STEPS.json is a list of {"expect": REGEX, "send": TEXT}: wait until REGEX appears in the screen output
(ANSI escapes removed) after the previous match, then type TEXT. When the steps are done, the program's
remaining output is read until it exits. Prints the transcript (escapes removed) and exits with the
program's exit code; 98 when an expected text did not appear in time (the transcript says where).

A step may also have "settle": SECONDS and "snapshot": NAME: after the match, output is read for that
long, and the terminal's visible rows at that moment (as a small VT100 screen draws them: cursor
moves, line and screen erases, scrolling) are recorded under NAME. With --snapshots FILE (before the
"--") the recorded screens are written there as a JSON object of lists of rows.
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

ROWS, COLS = 60, 300


class Screen:
    """The visible rows of a terminal fed with the program's output (enough of VT100 for prompts and spinners)."""

    CSI = re.compile(r"\x1b\[([0-9;?]*)([ -/]*)([@-~])")
    OTHER = re.compile(r"\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]|\x1b[=>78]")

    def __init__(self) -> None:
        self.rows = [[" "] * COLS for _ in range(ROWS)]
        self.y = 0
        self.x = 0

    def newline(self) -> None:
        if self.y == ROWS - 1:
            self.rows.pop(0)
            self.rows.append([" "] * COLS)
        else:
            self.y += 1

    def feed(self, text: str) -> None:
        i = 0
        while i < len(text):
            c = text[i]
            if c == "\x1b":
                m = self.CSI.match(text, i)
                if m:
                    self.csi(m.group(1), m.group(3))
                    i = m.end()
                    continue
                m = self.OTHER.match(text, i)
                i = m.end() if m else i + 1
                continue
            if c == "\r":
                self.x = 0
            elif c == "\n":
                self.newline()
            elif c == "\b":
                self.x = max(0, self.x - 1)
            elif c >= " ":
                if self.x >= COLS:
                    self.x = 0
                    self.newline()
                self.rows[self.y][self.x] = c
                self.x += 1
            i += 1

    def csi(self, params: str, final: str) -> None:
        if params.startswith("?"):
            return
        nums = [int(p) if p else 0 for p in params.split(";")] if params else []
        n = nums[0] if nums and nums[0] > 0 else 1
        if final == "A":
            self.y = max(0, self.y - n)
        elif final == "B":
            self.y = min(ROWS - 1, self.y + n)
        elif final == "C":
            self.x = min(COLS - 1, self.x + n)
        elif final == "D":
            self.x = max(0, self.x - n)
        elif final == "G":
            self.x = min(COLS - 1, n - 1)
        elif final in "Hf":
            self.y = min(ROWS - 1, (nums[0] if nums and nums[0] else 1) - 1)
            self.x = min(COLS - 1, (nums[1] if len(nums) > 1 and nums[1] else 1) - 1)
        elif final == "K":
            mode = nums[0] if nums else 0
            row = self.rows[self.y]
            lo, hi = {0: (self.x, COLS), 1: (0, self.x + 1), 2: (0, COLS)}.get(mode, (0, 0))
            for k in range(lo, hi):
                row[k] = " "
        elif final == "J":
            mode = nums[0] if nums else 0
            if mode == 0:
                self.csi("0", "K")
                for r in range(self.y + 1, ROWS):
                    self.rows[r] = [" "] * COLS
            elif mode in (2, 3):
                self.rows = [[" "] * COLS for _ in range(ROWS)]

    def text(self) -> list:
        lines = ["".join(r).rstrip() for r in self.rows]
        while lines and lines[-1] == "":
            lines.pop()
        return lines


ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]|\x1b[=>78]")
STEP_TIMEOUT = 30.0


def main() -> int:
    steps_file = sys.argv[1]
    head = sys.argv[: sys.argv.index("--")]
    snapshots_file = head[head.index("--snapshots") + 1] if "--snapshots" in head else None
    argv = sys.argv[sys.argv.index("--") + 1 :]
    with open(steps_file, encoding="utf-8") as f:
        steps = json.load(f)

    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    # wide enough that no question is wrapped onto two lines
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))

    raw = b""
    searched = 0
    snapshots = {}

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
        settle_until = time.monotonic() + float(step.get("settle", 0))
        while time.monotonic() < settle_until and read_some(0.05):
            pass
        if "snapshot" in step:
            screen_now = Screen()
            screen_now.feed(raw.decode("utf-8", "replace"))
            snapshots[step["snapshot"]] = screen_now.text()
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
    if snapshots_file:
        with open(snapshots_file, "w", encoding="utf-8") as f:
            json.dump(snapshots, f, ensure_ascii=False, indent=1)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
