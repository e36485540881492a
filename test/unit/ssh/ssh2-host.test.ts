import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import type { Client } from "ssh2";
import { afterEach, describe, expect, it } from "vitest";
import { HactlError } from "../../../src/core/errors.js";
import { clearSecrets, redact } from "../../../src/core/secrets.js";
import { Ssh2Host } from "../../../src/ssh/ssh2-host.js";

/** Just enough of an ssh2 exec channel: records what hactl writes, lets the test play the server. */
class FakeChannel extends EventEmitter {
  readonly stderr = new EventEmitter();
  readonly writes: string[] = [];
  ended = false;
  write(data: string): boolean {
    this.writes.push(data);
    this.emit("wrote", data);
    return true;
  }
  end(): void {
    this.ended = true;
    this.emit("ended");
  }
  signal(): void {}
  close(): void {
    this.finish(undefined);
  }
  finish(code: number | undefined): void {
    if (code !== undefined) this.emit("exit", code);
    this.emit("close");
  }
}

type Server = (line: string, ch: FakeChannel) => void;

function fakeClient(server: Server): { client: Client; lines: string[] } {
  const lines: string[] = [];
  const emitter = new EventEmitter();
  const client = Object.assign(emitter, {
    exec(line: string, cb: (err: Error | undefined, ch: FakeChannel) => void) {
      lines.push(line);
      const ch = new FakeChannel();
      cb(undefined, ch);
      setImmediate(() => server(line, ch));
      return client;
    },
    end() {
      setImmediate(() => emitter.emit("close"));
    },
    destroy() {},
  });
  return { client: client as unknown as Client, lines };
}

function nonceOf(line: string): { prompt: string; marker: string } {
  const nonce = /hactl-sudo-started-([0-9a-f]+)/.exec(line)?.[1];
  if (!nonce) throw new Error(`no sudo marker in ${line}`);
  return { prompt: `[hactl sudo ${nonce}] password: `, marker: `hactl-sudo-started-${nonce}` };
}

afterEach(() => clearSecrets());

describe("Ssh2Host sudo", () => {
  it("answers a password prompt split across packets, then sends stdin after sudo let the command start", async () => {
    const { client, lines } = fakeClient((line, ch) => {
      const { prompt, marker } = nonceOf(line);
      ch.once("wrote", () => {
        ch.once("ended", () => {
          ch.emit("data", Buffer.from("0\n"));
          ch.finish(0);
        });
        ch.stderr.emit("data", Buffer.from(`${marker}\nwarning\n`));
      });
      ch.stderr.emit("data", Buffer.from(prompt.slice(0, 5)));
      ch.stderr.emit("data", Buffer.from(prompt.slice(5)));
    });
    const host = new Ssh2Host(client, {
      name: "node-1",
      address: "10.0.0.1",
      user: "ops",
      sudoPassword: "hunter2-long",
    });
    const seen: string[] = [];
    const res = await host.exec(
      { argv: ["id", "-u"], sudo: true, stdin: "payload" },
      { onStderr: (c) => seen.push(c) },
    );
    expect(res).toEqual({ code: 0, stdout: "0\n", stderr: "warning\n" });
    expect(seen.join("")).toBe("warning\n");
    expect(lines[0]).toMatch(/^sudo -S -p '\[hactl sudo [0-9a-f]+\] password: ' -- \/bin\/sh -c /);
    expect(lines[0]).not.toContain("hunter2-long");
    expect(redact("pw hunter2-long")).toBe("pw «redacted»");
  });

  it("does not send the password when sudo runs without asking (NOPASSWD or cached)", async () => {
    let channel: FakeChannel | undefined;
    const { client } = fakeClient((line, ch) => {
      channel = ch;
      ch.once("ended", () => {
        ch.emit("data", Buffer.from(ch.writes.join("")));
        ch.finish(0);
      });
      ch.stderr.emit("data", Buffer.from(`${nonceOf(line).marker}\n`));
    });
    const host = new Ssh2Host(client, {
      name: "node-1",
      address: "10.0.0.1",
      user: "ops",
      sudoPassword: "hunter2-long",
    });
    const res = await host.exec({ argv: ["cat"], sudo: true, stdin: "only this" });
    expect(res.stdout).toBe("only this");
    expect(channel?.writes).toEqual(["only this"]);
  });

  it("gives up after a second prompt (wrong password) with SUDO_FAILED", async () => {
    const { client } = fakeClient((line, ch) => {
      const { prompt } = nonceOf(line);
      ch.once("ended", () => {
        ch.stderr.emit("data", Buffer.from("sudo: 1 incorrect password attempt\n"));
        ch.finish(1);
      });
      ch.once("wrote", () => ch.stderr.emit("data", Buffer.from(`Sorry, try again.\n${prompt}`)));
      ch.stderr.emit("data", Buffer.from(prompt));
    });
    const host = new Ssh2Host(client, {
      name: "node-1",
      address: "10.0.0.1",
      user: "ops",
      sudoPassword: "wrong-password",
    });
    const err = await host.exec({ argv: ["true"], sudo: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HactlError);
    expect((err as HactlError).code).toBe("SUDO_FAILED");
    expect((err as HactlError).details).not.toContain("[hactl sudo");
  });

  it("uses sudo -n without a password and reports SUDO_NEEDS_PASSWORD", async () => {
    const { client, lines } = fakeClient((_line, ch) => {
      ch.stderr.emit("data", Buffer.from("sudo: a password is required\n"));
      ch.finish(1);
    });
    const host = new Ssh2Host(client, { name: "node-2", address: "10.0.0.2", user: "ops" });
    const err = await host.exec({ argv: ["true"], sudo: true }).catch((e: unknown) => e);
    expect((err as HactlError).code).toBe("SUDO_NEEDS_PASSWORD");
    expect((err as HactlError).node).toBe("node-2");
    expect(lines[0]).toMatch(/^sudo -n -- \/bin\/sh -c /);
  });

  it("runs sudo commands directly when logged in as root, and counts commands", async () => {
    const { client, lines } = fakeClient((_line, ch) => ch.finish(0));
    const host = new Ssh2Host(client, { name: "node-3", address: "10.0.0.3", user: "root" });
    await host.exec({ argv: ["systemctl", "restart", "haproxy"], sudo: true });
    await host.exec({ argv: ["echo", "it's"] });
    expect(lines).toEqual(["systemctl restart haproxy", `echo 'it'\\''s'`]);
    expect(host.commandCount).toBe(2);
  });
});

/** A channel with real streams, for the ordering of ssh2's events. */
class StreamChannel extends PassThrough {
  readonly stderr = new PassThrough();
  signal(): void {}
}

describe("Ssh2Host channel events", () => {
  it("keeps the exit status and output of a command that finished in the same read as its channel opened", async () => {
    const emitter = new EventEmitter();
    const client = Object.assign(emitter, {
      exec(_line: string, cb: (err: Error | undefined, ch: StreamChannel) => void) {
        const ch = new StreamChannel();
        cb(undefined, ch);
        // ssh2 parses CHANNEL_SUCCESS, data, exit-status and close from one TCP read synchronously
        ch.push("hello\n");
        ch.push(null);
        ch.stderr.push(null);
        ch.emit("exit", 3);
        ch.emit("close");
        return client;
      },
      end() {},
      destroy() {},
    });
    const host = new Ssh2Host(client as unknown as Client, { name: "node-1", address: "10.0.0.1", user: "root" });
    await expect(host.exec({ argv: ["true"], stdin: "ignored" })).resolves.toEqual({
      code: 3,
      stdout: "hello\n",
      stderr: "",
    });
  });
});

describe("Ssh2Host close", () => {
  it("ends its client once, then runs afterClose (which must not end the client again)", async () => {
    const { client } = fakeClient(() => undefined);
    let ends = 0;
    const end = client.end.bind(client);
    client.end = () => {
      ends += 1;
      return end();
    };
    const order: string[] = [];
    client.once("close", () => order.push("client closed"));
    const host = new Ssh2Host(client, {
      name: "node-1",
      address: "10.0.0.1",
      user: "root",
      afterClose: async () => {
        order.push("afterClose");
      },
    });
    await Promise.all([host.close(), host.close()]);
    expect(ends).toBe(1);
    expect(order).toEqual(["client closed", "afterClose"]);
  });
});
