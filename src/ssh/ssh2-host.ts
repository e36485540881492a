/**
 * RemoteHost over one ssh2 connection: commands as argv (quoted in quote.ts), sudo with or without a
 * password, at most 8 concurrent exec channels (OpenSSH's MaxSessions is 10), and one long-lived SFTP
 * channel for uploads.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createHash, randomBytes } from "node:crypto";
import { constants as osConstants } from "node:os";
import { posix } from "node:path";
import { pipeline } from "node:stream/promises";
import { StringDecoder } from "node:string_decoder";
import type { Client, ClientChannel, SFTPWrapper } from "ssh2";
import type { Command, ExecResult } from "../core/command.js";
import { HactlError } from "../core/errors.js";
import type { ExecOptions, RemoteHost, WriteFileOptions, WriteFileResult } from "../core/host.js";
import { redact, registerSecret } from "../core/secrets.js";
import { channelError, commandAbortedError, commandFailedError, commandTimeoutError, sudoError } from "./classify.js";
import { describeArgv, quote } from "./quote.js";
import { Semaphore } from "./semaphore.js";

/** Exec channels per connection; one more session stays free for the SFTP channel. */
export const MAX_CHANNELS = 8;

/** Runs argv after printing a marker on stderr, so hactl knows sudo let the command start. */
const SUDO_SHIM = `printf '%s\\n' "$1" >&2; shift; exec "$@"`;

/** Prints `<sha256> <mode> <user> <group>` of $1, or `absent` (creating the parent directory). */
const CHECK_SCRIPT = [
  `if [ -e "$1" ]; then`,
  `  h=$(sha256sum < "$1") || exit 1`,
  `  s=$(stat -c '%a %U %G' -- "$1") || exit 1`,
  `  printf '%s %s\\n' "\${h%% *}" "$s"`,
  `else`,
  `  mkdir -p -- "$(dirname -- "$1")" && echo absent`,
  `fi`,
].join("\n");

/** Moves an uploaded file into place: copy next to the target, chmod/chown, optional backup, rename. */
const INSTALL_SCRIPT = [
  `set -e`,
  `umask 077`,
  `src=$1 tmp=$2 dst=$3 mode=$4 owner=$5 backup=$6`,
  `trap 'rm -f -- "$tmp"; if [ "$src" != "$tmp" ]; then rm -f -- "$src"; fi' EXIT`,
  `if [ "$src" != "$tmp" ]; then cp -- "$src" "$tmp"; fi`,
  `chmod -- "$mode" "$tmp"`,
  `if [ -n "$owner" ]; then chown -- "$owner" "$tmp"; fi`,
  // PATH.hactl-bak is the file this write replaced; PATH.hactl-orig, made once, is the one hactl first
  // found there (hactl reset puts it back).
  `if [ "$backup" = 1 ] && [ -e "$dst" ]; then cp -p -- "$dst" "$dst.hactl-bak"; if [ ! -e "$dst.hactl-orig" ]; then cp -p -- "$dst" "$dst.hactl-orig"; fi; echo backup-made; fi`,
  `mv -f -- "$tmp" "$dst"`,
].join("\n");

const READ_MISSING = 66;
const READ_SCRIPT = `[ -e "$1" ] || exit ${READ_MISSING}; exec cat -- "$1"`;

export interface Ssh2HostInit {
  readonly name: string;
  readonly address: string;
  /** The login user; `root` runs sudo commands directly. */
  readonly user: string;
  /** Password for `sudo -S`; without it sudo runs with `-n`. */
  readonly sudoPassword?: string;
  readonly log?: (node: string, line: string) => void;
  /** Runs after this connection closed (closes a jump host). */
  readonly afterClose?: () => Promise<void>;
}

interface OpenedChannel {
  readonly channel: ClientChannel;
  /** What happened before anyone else could listen: the exit status and whether the channel closed. */
  readonly early: { exit?: number; closed: boolean };
}

/** How long a polite SSH disconnect may take before the socket is destroyed. */
const END_TIMEOUT_MS = 2000;

/**
 * Sends SSH's disconnect and resolves when the socket has closed (at most END_TIMEOUT_MS). Call it once
 * per client: a client that has already closed emits no second "close", so the timer would run out.
 */
export function endClient(client: Client): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.destroy();
      resolve();
    }, END_TIMEOUT_MS);
    client.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    client.end();
  });
}

/** Resolves when a readable stream has delivered all of its data. */
function ended(stream: NodeJS.ReadableStream & { readableEnded?: boolean }): Promise<void> {
  return new Promise((resolve) => {
    if (stream.readableEnded) resolve();
    else stream.once("end", () => resolve());
  });
}

interface Prepared {
  readonly line: string;
  /** Set when the command runs through sudo: the marker line that says the command started. */
  readonly marker?: string;
  readonly prompt?: string;
}

/** The command as logged: hactl's own multi-line helper scripts are shown as `<script>`. */
function logLine(argv: readonly string[]): string {
  return quote(argv.map((word) => (word.includes("\n") ? "<script>" : word)));
}

function signalExitCode(signal: string | undefined): number {
  const num = signal ? (osConstants.signals as Record<string, number | undefined>)[`SIG${signal}`] : undefined;
  return 128 + (num ?? 0);
}

export class Ssh2Host implements RemoteHost {
  readonly name: string;
  readonly address: string;
  private readonly user: string;
  private readonly sudoPassword: string | undefined;
  private readonly log: ((node: string, line: string) => void) | undefined;
  private readonly afterClose: (() => Promise<void>) | undefined;
  private readonly slots = new Semaphore(MAX_CHANNELS);
  private sftpChannel: Promise<SFTPWrapper> | undefined;
  private count = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  private lost: HactlError | undefined;

  constructor(
    private readonly client: Client,
    init: Ssh2HostInit,
  ) {
    this.name = init.name;
    this.address = init.address;
    this.user = init.user;
    this.sudoPassword = init.sudoPassword;
    registerSecret(init.sudoPassword);
    this.log = init.log;
    this.afterClose = init.afterClose;
    client.on("error", (err: Error) => {
      this.lost = new HactlError("SSH_DISCONNECTED", `the connection to ${this.name} broke: ${redact(err.message)}`, {
        node: this.name,
        retryable: true,
        cause: err,
        remedy: `Run again; if ${this.name} keeps dropping the connection, check its sshd log and network.`,
      });
      this.log?.(this.name, `connection error: ${redact(err.message)}`);
    });
    client.on("close", () => {
      if (!this.closed && !this.closing) this.log?.(this.name, "connection closed by the remote side");
      this.closed = true;
    });
  }

  get commandCount(): number {
    return this.count;
  }

  /** Concurrent exec channels in use right now plus those waiting (for tests and diagnostics). */
  get queuedCommands(): number {
    return this.slots.queued;
  }

  async exec(command: Command, opts: ExecOptions = {}): Promise<ExecResult> {
    this.assertOpen(command.argv);
    const prepared = this.prepare(command);
    await this.slots.acquire(opts.signal).catch(() => {
      throw commandAbortedError(this.name, command.argv);
    });
    try {
      this.assertOpen(command.argv);
      this.count += 1;
      this.log?.(this.name, `$ ${redact(logLine(command.argv))}${prepared.marker ? " (sudo)" : ""}`);
      return await this.runChannel(command, prepared, opts);
    } finally {
      this.slots.release();
    }
  }

  async run(command: Command, opts: ExecOptions = {}): Promise<ExecResult> {
    const result = await this.exec(command, opts);
    const ok = command.okCodes ?? [0];
    if (!ok.includes(result.code)) throw commandFailedError(this.name, command.argv, result);
    return result;
  }

  async writeFile(path: string, content: string | Buffer, opts: WriteFileOptions = {}): Promise<WriteFileResult> {
    if (!path.startsWith("/")) {
      throw new HactlError("INTERNAL", `writeFile needs an absolute path on ${this.name}, got ${path}`);
    }
    const data = typeof content === "string" ? Buffer.from(content, "utf8") : content;
    const mode = (opts.mode ?? 0o644).toString(8);
    const sudo = opts.sudo ?? false;
    const check = await this.run({ argv: ["sh", "-c", CHECK_SCRIPT, "hactl-check", path], sudo });
    const [hash, curMode, curUser, curGroup] = check.stdout.trim().split(" ");
    const sameOwner = opts.owner === undefined || [curUser, `${curUser}:${curGroup}`].includes(opts.owner);
    if (hash === createHash("sha256").update(data).digest("hex") && curMode === mode && sameOwner) {
      return { changed: false };
    }
    const rand = randomBytes(6).toString("hex");
    const tmp = posix.join(posix.dirname(path), `.${posix.basename(path)}.hactl-tmp-${rand}`);
    const viaSudo = sudo && this.user !== "root";
    const upload = viaSudo ? `/tmp/.hactl-upload-${rand}` : tmp;
    await this.upload(upload, data, path);
    const install = await this.run({
      argv: [
        "sh",
        "-c",
        INSTALL_SCRIPT,
        "hactl-install",
        upload,
        tmp,
        path,
        mode,
        opts.owner ?? "",
        opts.backup ? "1" : "0",
      ],
      sudo,
    });
    return install.stdout.includes("backup-made")
      ? { changed: true, backupPath: `${path}.hactl-bak` }
      : { changed: true };
  }

  async readFile(path: string, opts: { sudo?: boolean } = {}): Promise<string | undefined> {
    const result = await this.exec({ argv: ["sh", "-c", READ_SCRIPT, "hactl-read", path], sudo: opts.sudo ?? false });
    if (result.code === READ_MISSING) return undefined;
    if (result.code !== 0) throw commandFailedError(this.name, ["cat", path], result);
    return result.stdout;
  }

  async download(path: string): Promise<Buffer> {
    this.assertOpen(["sftp", path]);
    this.count += 1;
    this.log?.(this.name, `sftp get ${path}`);
    try {
      const sftp = await this.sftp();
      return await new Promise<Buffer>((resolve, reject) => {
        sftp.readFile(path, (err, data) => (err ? reject(err) : resolve(data)));
      });
    } catch (err) {
      throw new HactlError(
        "COMMAND_FAILED",
        `could not download ${path} from ${this.name}: ${redact((err as Error).message)}`,
        {
          node: this.name,
          retryable: true,
          cause: err,
          remedy: `Check that ${path} exists on ${this.name} and is readable by ${this.user}.`,
        },
      );
    }
  }

  async putFile(local: string, remote: string): Promise<{ resumedFrom: number }> {
    this.assertOpen(["sftp", remote]);
    this.count += 1;
    try {
      const sftp = await this.sftp();
      const size = (await stat(local)).size;
      const there = await new Promise<number>((resolve) => sftp.stat(remote, (err, st) => resolve(err ? 0 : st.size)));
      const from = there <= size ? there : 0;
      this.log?.(this.name, `sftp put ${remote} (${size} bytes${from > 0 ? `, resuming at ${from}` : ""})`);
      if (from < size || size === 0) {
        await pipeline(
          createReadStream(local, { start: from }),
          sftp.createWriteStream(remote, { flags: from > 0 ? "r+" : "w", start: from, mode: 0o600 }),
        );
      }
      return { resumedFrom: from };
    } catch (err) {
      throw new HactlError(
        "UPLOAD_FAILED",
        `could not upload ${local} to ${remote} on ${this.name}: ${redact((err as Error).message)}`,
        {
          node: this.name,
          retryable: true,
          cause: err,
          remedy: `Run the command again: the upload continues where it stopped. Check that ${posix.dirname(remote)} on ${this.name} has room (df -h).`,
        },
      );
    }
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const sftp = this.sftpChannel;
    this.sftpChannel = undefined;
    if (sftp) {
      await sftp.then((s) => s.end()).catch(() => undefined);
    }
    if (!this.closed) await endClient(this.client);
    this.closed = true;
    await this.afterClose?.();
  }

  private assertOpen(argv: readonly string[]): void {
    if (this.closed || this.closing) {
      throw (
        this.lost ??
        new HactlError(
          "SSH_DISCONNECTED",
          `the connection to ${this.name} is closed; cannot run ${redact(describeArgv(argv))}`,
          {
            node: this.name,
            retryable: true,
            remedy: `Run again; if ${this.name} keeps dropping the connection, check its sshd log and network.`,
          },
        )
      );
    }
  }

  private prepare(command: Command): Prepared {
    if (!command.sudo || this.user === "root") return { line: quote(command.argv) };
    const nonce = randomBytes(8).toString("hex");
    const marker = `hactl-sudo-started-${nonce}`;
    const shim = ["/bin/sh", "-c", SUDO_SHIM, "hactl-sudo", marker, ...command.argv];
    if (this.sudoPassword === undefined) {
      return { line: quote(["sudo", "-n", "--", ...shim]), marker };
    }
    const prompt = `[hactl sudo ${nonce}] password: `;
    return { line: quote(["sudo", "-S", "-p", prompt, "--", ...shim]), marker, prompt };
  }

  /**
   * Opens an exec channel. Its exit status and close are recorded by listeners attached inside ssh2's
   * callback itself: ssh2 can parse the channel's confirmation, exit status and close from one TCP read
   * and emit them before an awaiting caller attaches anything, and a plain event, unlike stream data,
   * is not buffered.
   *
   * sshd frees a session slightly after the client sees it close, so even under the channel cap a new
   * channel can race MaxSessions and be refused ("Channel open failure"); that refusal is retried
   * briefly, anything else fails at once.
   */
  private async openChannel(line: string): Promise<OpenedChannel> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await new Promise<OpenedChannel>((resolve, reject) => {
          try {
            this.client.exec(line, (err, channel) => {
              if (err) return reject(err);
              const early: OpenedChannel["early"] = { closed: false };
              channel.on("exit", (code: number | null, signal?: string) => {
                early.exit = code ?? signalExitCode(signal);
              });
              channel.once("close", () => {
                early.closed = true;
              });
              resolve({ channel, early });
            });
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      } catch (err) {
        const refused = err instanceof Error && /Channel open failure/i.test(err.message);
        if (!refused || attempt >= 6) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  private async runChannel(command: Command, prepared: Prepared, opts: ExecOptions): Promise<ExecResult> {
    const { argv } = command;
    const { channel, early } = await this.openChannel(prepared.line).catch((err: unknown) => {
      throw channelError(this.name, argv, err);
    });
    return new Promise<ExecResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: string[] = [];
      const outText = new StringDecoder("utf8");
      const errText = new StringDecoder("utf8");
      let started = prepared.marker === undefined;
      let preamble = "";
      let passwordSent = false;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;

      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        fn();
      };
      const kill = (error: HactlError): void => {
        finish(() => reject(error));
        try {
          channel.signal("KILL");
        } catch {
          // the channel may already be gone; closing below is what matters
        }
        channel.close();
      };
      const onAbort = (): void => kill(commandAbortedError(this.name, argv));
      const writeStdin = (): void => {
        if (early.closed) return;
        if (command.stdin !== undefined && command.stdin.length > 0) channel.write(command.stdin);
        channel.end();
      };
      const emitStderr = (text: string): void => {
        if (text.length === 0) return;
        err.push(text);
        opts.onStderr?.(text);
      };
      const onPreamble = (text: string): void => {
        preamble += text;
        const { prompt, marker } = prepared;
        if (prompt !== undefined && this.sudoPassword !== undefined) {
          const prompts = preamble.split(prompt).length - 1;
          if (prompts === 1 && !passwordSent) {
            passwordSent = true;
            channel.write(`${this.sudoPassword}\n`);
          } else if (prompts > 1) {
            channel.end();
          }
        }
        const at = marker === undefined ? -1 : preamble.indexOf(`${marker}\n`);
        if (marker !== undefined && at >= 0) {
          started = true;
          const rest = preamble.slice(at + marker.length + 1);
          preamble = preamble.slice(0, at);
          emitStderr(rest);
          writeStdin();
        }
      };

      if (command.timeoutMs !== undefined && command.timeoutMs > 0) {
        const ms = command.timeoutMs;
        timer = setTimeout(() => kill(commandTimeoutError(this.name, argv, ms)), ms);
      }
      if (opts.signal?.aborted) {
        kill(commandAbortedError(this.name, argv));
        return;
      }
      opts.signal?.addEventListener("abort", onAbort, { once: true });

      channel.on("data", (chunk: Buffer) => {
        out.push(chunk);
        if (opts.onStdout) {
          const text = outText.write(chunk);
          if (text.length > 0) opts.onStdout(text);
        }
      });
      channel.stderr.on("data", (chunk: Buffer) => {
        const text = errText.write(chunk);
        if (started) emitStderr(text);
        else onPreamble(text);
      });
      channel.on("error", (e: Error) => kill(channelError(this.name, argv, e)));
      const onClose = (): void => {
        const tailOut = outText.end();
        if (tailOut.length > 0) opts.onStdout?.(tailOut);
        const tailErr = errText.end();
        if (started) emitStderr(tailErr);
        else preamble += tailErr;
        finish(() => {
          if (!started) {
            const said = prepared.prompt ? preamble.split(prepared.prompt).join("\n") : preamble;
            reject(sudoError(this.name, this.user, said, prepared.prompt !== undefined));
          } else if (early.exit === undefined) {
            reject(channelError(this.name, argv, new Error("the channel closed without an exit status")));
          } else {
            resolve({ code: early.exit, stdout: Buffer.concat(out).toString("utf8"), stderr: err.join("") });
          }
        });
      };
      // A command that already finished: its output is still buffered and flows to the listeners
      // above; the close is handled once both streams have been read to their end.
      if (early.closed) void Promise.all([ended(channel), ended(channel.stderr)]).then(onClose);
      else channel.on("close", onClose);
      if (started) writeStdin();
    });
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpChannel ??= new Promise<SFTPWrapper>((resolve, reject) => {
      this.client.sftp((err, sftp) => {
        if (err) {
          this.sftpChannel = undefined;
          reject(err);
          return;
        }
        sftp.on("close", () => {
          this.sftpChannel = undefined;
        });
        resolve(sftp);
      });
    });
    return this.sftpChannel;
  }

  private async upload(remote: string, data: Buffer, target: string): Promise<void> {
    this.assertOpen(["sftp", remote]);
    try {
      const sftp = await this.sftp();
      await new Promise<void>((resolve, reject) => {
        sftp.writeFile(remote, data, { mode: 0o600, flag: "wx" }, (err) => (err ? reject(err) : resolve()));
      });
    } catch (err) {
      throw new HactlError(
        "UPLOAD_FAILED",
        `could not upload ${target} to ${this.name}: ${redact((err as Error).message)}`,
        {
          node: this.name,
          retryable: true,
          cause: err,
          remedy: `Check that ${posix.dirname(remote)} on ${this.name} exists, is writable by ${this.user} and has free space (df -h).`,
        },
      );
    }
  }
}
