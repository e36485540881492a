// The reporter's spinner around prompts, with the real ora writing to a fake terminal stream.
import { Writable } from "node:stream";
import ora from "ora";
import { describe, expect, it } from "vitest";
import { createReporter } from "../../../src/core/output.js";

class Terminal extends Writable {
  text = "";
  isTTY = true;
  columns = 120;
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
  // what ora asks of a TTY stream besides write
  cursorTo(x: number): boolean {
    this.text += `\u001b[${x + 1}G`;
    return true;
  }
  moveCursor(_dx: number, dy: number): boolean {
    if (dy < 0) this.text += `\u001b[${-dy}A`;
    return true;
  }
  clearLine(): boolean {
    this.text += "\u001b[2K";
    return true;
  }
}

const FRAMES = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

function reporterOn(term: Terminal) {
  return createReporter({
    mode: "text",
    isTTY: true,
    color: false,
    out: (t) => term.write(t),
    err: (t) => term.write(t),
    spinner: (text) =>
      ora({ text, stream: term as unknown as NodeJS.WriteStream, isEnabled: true, discardStdin: false }).start(),
  });
}

describe("the reporter's spinner", () => {
  it("endPhase leaves a ✗ or ✓ line and nothing spins afterwards", async () => {
    const term = new Terminal();
    const r = reporterOn(term);
    r.phase("Connect to 3 machines");
    await new Promise((res) => setTimeout(res, 250));
    expect(term.text).toMatch(FRAMES);
    r.endPhase(false, "3 of 3 not reachable");
    const after = term.text.length;
    await new Promise((res) => setTimeout(res, 250));
    expect(term.text.slice(after)).toBe("");
    expect(term.text).toContain("✗ Connect to 3 machines: 3 of 3 not reachable\n");
    r.phase("Install");
    r.endPhase(true);
    expect(term.text).toContain("✓ Install\n");
    r.close();
  });

  it("pause stops the spinner while a prompt runs and starts it again after", async () => {
    const term = new Terminal();
    const r = reporterOn(term);
    r.phase("Connect to 3 machines");
    let during = "";
    const answer = await r.pause(async () => {
      const mark = term.text.length;
      await new Promise((res) => setTimeout(res, 250));
      during = term.text.slice(mark);
      return "yes";
    });
    expect(answer).toBe("yes");
    expect(during).toBe("");
    const mark = term.text.length;
    await new Promise((res) => setTimeout(res, 250));
    expect(term.text.slice(mark)).toMatch(FRAMES);
    r.close();
  });
});
