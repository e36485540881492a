/**
 * A remote command is an argv, never a shell string. Quoting for the remote shell happens in exactly
 * one place (src/ssh/quote.ts). Secrets travel on stdin, never in argv, so they cannot show in `ps`.
 */
export interface Command {
  readonly argv: readonly [string, ...string[]];
  /** Run as root: `sudo -n` (or password sudo when the node has a sudo password reference). */
  readonly sudo?: boolean;
  /** Bytes written to the command's stdin; the place for secrets. */
  readonly stdin?: string;
  /** Kill the command and fail the step after this long. */
  readonly timeoutMs?: number;
  /** Exit codes that count as success for run(); default [0]. */
  readonly okCodes?: readonly number[];
  /**
   * For an inline script (`sh -c SCRIPT ...`): what it does, in a few words. The dry run shows
   * `<script: SUMMARY>` in place of the script's text; the command run is the argv alone.
   */
  readonly summary?: string;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function cmd(...argv: [string, ...string[]]): Command {
  return { argv };
}

export function sudo(...argv: [string, ...string[]]): Command {
  return { argv, sudo: true };
}
