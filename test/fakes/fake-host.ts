import type { Command, ExecResult } from "../../src/core/command.js";
import { HactlError } from "../../src/core/errors.js";
import type { ExecOptions, RemoteHost, WriteFileOptions, WriteFileResult } from "../../src/core/host.js";

/**
 * A scripted RemoteHost for hermetic tests. Replies are chosen by matching a command's argv (first rule
 * that matches, in the order added); every command and every written file is recorded.
 */

/** equal: the whole argv; prefix: the first elements; regex: tested against the argv joined by spaces. */
export type ArgvMatcher = { equal: readonly string[] } | { prefix: readonly string[] } | { regex: RegExp };

export type Reply =
  Partial<ExecResult> | ((command: Command, host: FakeHost) => Partial<ExecResult> | Promise<Partial<ExecResult>>);

interface Rule {
  matcher: ArgvMatcher;
  replies: Reply[];
  /** When true, the last reply repeats after the list is used up. */
  repeatLast: boolean;
  used: number;
}

export interface RecordedCommand {
  argv: readonly string[];
  sudo: boolean;
  stdin: string | undefined;
  /** Milliseconds since the fake was created when the command started. */
  at: number;
}

export interface WrittenFile {
  path: string;
  content: string;
  options: WriteFileOptions;
}

export function matches(matcher: ArgvMatcher, argv: readonly string[]): boolean {
  if ("equal" in matcher) return matcher.equal.length === argv.length && matcher.equal.every((a, i) => a === argv[i]);
  if ("prefix" in matcher) return matcher.prefix.every((a, i) => a === argv[i]);
  return matcher.regex.test(argv.join(" "));
}

export class FakeHost implements RemoteHost {
  readonly commands: RecordedCommand[] = [];
  readonly written: WrittenFile[] = [];
  /** Current file contents: seeded with withFile, updated by writeFile (backups as PATH.hactl-bak, the first one also as PATH.hactl-orig) and `rm -f PATH`. */
  readonly files = new Map<string, string>();
  readonly reads: string[] = [];
  readonly binaries = new Map<string, Buffer>();
  private readonly rules: Rule[] = [];
  private readonly started = Date.now();
  private closed = false;

  constructor(
    readonly name: string,
    readonly address = "10.0.0.1",
    /** Reply for commands no rule matches; default: exit 127 with "command not scripted". */
    private readonly fallback: Partial<ExecResult> = { code: 127, stderr: "command not scripted" },
  ) {}

  /** Replies to matching commands; the last reply repeats when `replies` is used up. */
  on(matcher: ArgvMatcher, ...replies: Reply[]): this {
    this.rules.push({ matcher, replies, repeatLast: true, used: 0 });
    return this;
  }

  /** Replies once per listed reply, then the rule stops matching. */
  onceEach(matcher: ArgvMatcher, ...replies: Reply[]): this {
    this.rules.push({ matcher, replies, repeatLast: false, used: 0 });
    return this;
  }

  withFile(path: string, content: string): this {
    this.files.set(path, content);
    return this;
  }

  get commandCount(): number {
    return this.commands.length;
  }

  /** The argv of every command, joined by spaces (handy for ordering assertions). */
  get lines(): string[] {
    return this.commands.map((c) => c.argv.join(" "));
  }

  commandsMatching(matcher: ArgvMatcher): RecordedCommand[] {
    return this.commands.filter((c) => matches(matcher, c.argv));
  }

  async exec(command: Command, opts?: ExecOptions): Promise<ExecResult> {
    if (this.closed) throw new HactlError("SSH_DISCONNECTED", `${this.name}: connection closed`, { node: this.name });
    this.commands.push({
      argv: command.argv,
      sudo: command.sudo ?? false,
      stdin: command.stdin,
      at: Date.now() - this.started,
    });
    const removes = command.argv[0] === "rm" && command.argv[1] === "-f";
    if (removes) for (const p of command.argv.slice(2)) this.files.delete(p);
    const reply = this.replyFor(command.argv) ?? (removes ? { code: 0 } : this.fallback);
    const partial = typeof reply === "function" ? await reply(command, this) : reply;
    const result: ExecResult = { code: partial.code ?? 0, stdout: partial.stdout ?? "", stderr: partial.stderr ?? "" };
    if (result.stdout) opts?.onStdout?.(result.stdout);
    if (result.stderr) opts?.onStderr?.(result.stderr);
    return result;
  }

  async run(command: Command, opts?: ExecOptions): Promise<ExecResult> {
    const result = await this.exec(command, opts);
    const ok = command.okCodes ?? [0];
    if (!ok.includes(result.code)) {
      throw new HactlError("COMMAND_FAILED", `${command.argv[0]} exited ${result.code}`, {
        node: this.name,
        details: result.stderr.trim().split("\n").slice(-5).join("\n"),
      });
    }
    return result;
  }

  async writeFile(path: string, content: string | Buffer, opts: WriteFileOptions = {}): Promise<WriteFileResult> {
    const text = typeof content === "string" ? content : content.toString("utf8");
    this.written.push({ path, content: text, options: opts });
    const previous = this.files.get(path);
    this.files.set(path, text);
    if (previous === text) return { changed: false };
    if (!opts.backup || previous === undefined) return { changed: true };
    this.files.set(`${path}.hactl-bak`, previous);
    if (!this.files.has(`${path}.hactl-orig`)) this.files.set(`${path}.hactl-orig`, previous);
    return { changed: true, backupPath: `${path}.hactl-bak` };
  }

  async readFile(path: string): Promise<string | undefined> {
    this.reads.push(path);
    return this.files.get(path);
  }

  /** Bytes seeded with withBinary, else the text file's content. */
  async download(path: string): Promise<Buffer> {
    this.reads.push(path);
    const data =
      this.binaries.get(path) ?? (this.files.has(path) ? Buffer.from(this.files.get(path) as string) : undefined);
    if (!data)
      throw new HactlError("COMMAND_FAILED", `could not download ${path} from ${this.name}: No such file`, {
        node: this.name,
      });
    return data;
  }

  /** Local files put on this host with putFile: remote path → local path. */
  readonly puts = new Map<string, string>();

  async putFile(local: string, remote: string): Promise<{ resumedFrom: number }> {
    const already = this.puts.get(remote) === local;
    this.puts.set(remote, local);
    return { resumedFrom: already ? 1 : 0 };
  }

  withBinary(path: string, data: Buffer): this {
    this.binaries.set(path, data);
    return this;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private replyFor(argv: readonly string[]): Reply | undefined {
    for (const rule of this.rules) {
      if (!matches(rule.matcher, argv)) continue;
      if (rule.used < rule.replies.length) return rule.replies[rule.used++] as Reply;
      if (rule.repeatLast && rule.replies.length > 0) return rule.replies[rule.replies.length - 1] as Reply;
    }
    return undefined;
  }
}

/** A name → host map as the executor and gatherers take it. */
export function hostMap(...hosts: FakeHost[]): Map<string, RemoteHost> {
  return new Map(hosts.map((h) => [h.name, h]));
}
