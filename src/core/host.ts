import type { Command, ExecResult } from "./command.js";
import { HactlError } from "./errors.js";

/** Streaming callbacks and cancellation for one remote command. */
export interface ExecOptions {
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  signal?: AbortSignal;
}

export interface WriteFileOptions {
  /** File mode, default 0o644. */
  mode?: number;
  /** `user:group` to chown to (needs sudo when not root). */
  owner?: string;
  /** Keep the replaced file as PATH.hactl-bak (and, the first time only, as PATH.hactl-orig). */
  backup?: boolean;
  /** Write as root (via sudo when the login user is not root). */
  sudo?: boolean;
}

export interface WriteFileResult {
  /** False when the file already had exactly this content and mode (nothing was written). */
  changed: boolean;
  backupPath?: string;
}

/**
 * One node reached over one SSH connection. Everything hactl does to a node goes through this
 * interface; tests of pure logic use a fake implementation.
 */
export interface RemoteHost {
  /** The node's name in cluster.yaml. */
  readonly name: string;
  /** The address hactl connects to. */
  readonly address: string;
  /** Run a command; resolves with any exit code. Rejects (HactlError) on transport failure or timeout. */
  exec(command: Command, opts?: ExecOptions): Promise<ExecResult>;
  /** Like exec, but rejects with COMMAND_FAILED (exit code and stderr tail) unless the exit code is ok. */
  run(command: Command, opts?: ExecOptions): Promise<ExecResult>;
  /** Atomic upload: temp file, chmod/chown, rename; optional backup of the replaced file. */
  writeFile(path: string, content: string | Buffer, opts?: WriteFileOptions): Promise<WriteFileResult>;
  /** The file's content, or undefined when it does not exist. */
  readFile(path: string, opts?: { sudo?: boolean }): Promise<string | undefined>;
  /** The whole file as bytes over SFTP, as the login user (binary-safe; for archives such as backups). */
  download(path: string): Promise<Buffer>;
  /**
   * Streams a local file to `remote` over SFTP as the login user (mode 0600). When `remote` already holds
   * the first bytes of it (a cut upload), only the rest is sent. Resolves with how many bytes were there.
   */
  putFile(local: string, remote: string): Promise<{ resumedFrom: number }>;
  /** Number of remote commands run on this connection so far (for benchmarks and tests). */
  readonly commandCount: number;
  close(): Promise<void>;
}

/** The open connection to a node by its cluster.yaml name; a missing one is a bug in the caller (the session opens every node it plans for). */
export function need(hosts: ReadonlyMap<string, RemoteHost>, name: string): RemoteHost {
  const host = hosts.get(name);
  if (!host)
    throw new HactlError("INTERNAL", `no connection to ${name}`, {
      node: name,
      remedy: "This is a bug in hactl. Re-run with --log-file and report the log (secrets are redacted).",
    });
  return host;
}
