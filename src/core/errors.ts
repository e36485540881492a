/**
 * Every failure a user can meet is a HactlError: a stable code, a message, the node it concerns and a
 * remedy that names a concrete command or cluster.yaml field. Low-level errors are classified once, at
 * the boundary that sees them (SSH layer, spec loader); nothing above matches on error text.
 */

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  preflight: 3,
  connection: 4,
  locked: 5,
  unhealthy: 6,
  notImplemented: 10,
  interrupted: 130,
} as const;

export type ErrorCode =
  | "USAGE"
  | "SPEC_INVALID"
  | "SPEC_NOT_FOUND"
  | "SECRET_UNRESOLVED"
  | "NOT_IMPLEMENTED"
  | "SSH_AUTH_FAILED"
  | "SSH_REFUSED"
  | "SSH_TIMEOUT"
  | "SSH_UNREACHABLE"
  | "SSH_HOST_KEY_CHANGED"
  | "SSH_HOST_KEY_UNKNOWN"
  | "SSH_DISCONNECTED"
  | "SUDO_NEEDS_PASSWORD"
  | "SUDO_FAILED"
  | "COMMAND_FAILED"
  | "COMMAND_TIMEOUT"
  | "UNEXPECTED_OUTPUT"
  | "UPLOAD_FAILED"
  | "PREFLIGHT_FAILED"
  | "CONFIG_INVALID"
  | "JOIN_FAILED"
  | "QUORUM_RISK"
  | "UPGRADE_REFUSED"
  | "LOCKED"
  | "UNHEALTHY"
  | "USER_ABORTED"
  | "INTERRUPTED"
  | "INTERNAL";

const exitByCode: Partial<Record<ErrorCode, number>> = {
  USAGE: EXIT.usage,
  SPEC_INVALID: EXIT.usage,
  SPEC_NOT_FOUND: EXIT.usage,
  SECRET_UNRESOLVED: EXIT.usage,
  NOT_IMPLEMENTED: EXIT.notImplemented,
  SSH_AUTH_FAILED: EXIT.connection,
  SSH_REFUSED: EXIT.connection,
  SSH_TIMEOUT: EXIT.connection,
  SSH_UNREACHABLE: EXIT.connection,
  SSH_HOST_KEY_CHANGED: EXIT.connection,
  SSH_HOST_KEY_UNKNOWN: EXIT.connection,
  SSH_DISCONNECTED: EXIT.connection,
  PREFLIGHT_FAILED: EXIT.preflight,
  QUORUM_RISK: EXIT.preflight,
  UPGRADE_REFUSED: EXIT.usage,
  LOCKED: EXIT.locked,
  UNHEALTHY: EXIT.unhealthy,
  USER_ABORTED: EXIT.interrupted,
  INTERRUPTED: EXIT.interrupted,
};

export interface HactlErrorOptions {
  /** What the operator should do next: a command or a cluster.yaml field. */
  remedy?: string;
  /** The node this error concerns, by its cluster.yaml name. */
  node?: string;
  /** The workflow step that failed, e.g. "join node-2". */
  step?: string;
  /** True when running the same step again may succeed (timeouts, refused while booting). */
  retryable?: boolean;
  /** Extra lines shown under the message (validator output, a stderr tail). Already redacted. */
  details?: string;
  cause?: unknown;
}

export class HactlError extends Error {
  readonly code: ErrorCode;
  readonly remedy: string | undefined;
  readonly node: string | undefined;
  readonly step: string | undefined;
  readonly retryable: boolean;
  readonly details: string | undefined;

  constructor(code: ErrorCode, message: string, opts: HactlErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "HactlError";
    this.code = code;
    this.remedy = opts.remedy;
    this.node = opts.node;
    this.step = opts.step;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details;
  }

  get exitCode(): number {
    return exitByCode[this.code] ?? EXIT.failed;
  }

  /** A copy that names the step it happened in, keeping everything else. */
  inStep(step: string): HactlError {
    if (this.step) return this;
    return new HactlError(this.code, this.message, { ...this.fields(), step });
  }

  /** A copy with more lines of details (kept after the existing ones). */
  withDetails(lines: readonly string[]): HactlError {
    if (lines.length === 0) return this;
    return new HactlError(this.code, this.message, {
      ...this.fields(),
      details: [this.details, ...lines].filter(Boolean).join("\n"),
    });
  }

  private fields(): HactlErrorOptions {
    return {
      remedy: this.remedy,
      node: this.node,
      step: this.step,
      retryable: this.retryable,
      details: this.details,
      cause: this.cause,
    };
  }
}

/** Several nodes failed in one parallel step; each failure keeps its own code and remedy. */
export class MultiNodeError extends HactlError {
  readonly failures: readonly HactlError[];

  constructor(step: string, failures: readonly HactlError[]) {
    const first = failures[0];
    super(first?.code ?? "INTERNAL", `${step} failed on ${failures.length} node(s)`, {
      step,
      remedy: first?.remedy,
    });
    this.failures = failures;
  }

  override get exitCode(): number {
    return Math.max(...this.failures.map((f) => f.exitCode));
  }
}

/** Why an aborted run stopped: the signal's reason when hactl gave one (Ctrl-C), else a plain INTERRUPTED. */
export function interruptedError(signal: AbortSignal): HactlError {
  const reason: unknown = signal.reason;
  return reason instanceof HactlError
    ? reason
    : new HactlError("INTERRUPTED", "interrupted", { remedy: "Run the same command again to finish the job." });
}

/** Turns anything thrown into a HactlError; unknown errors are bugs and say so. */
export function asHactlError(err: unknown): HactlError {
  if (err instanceof HactlError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new HactlError("INTERNAL", `unexpected error: ${message}`, {
    remedy: "This is a bug in hactl. Re-run with --log-file and report the log (secrets are redacted).",
    cause: err,
  });
}

/** The `code` of a Node.js system error ("ENOENT", "EACCES", ...), or undefined for anything else. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String(err.code) : undefined;
}
