import type { RunContext } from "../../src/core/context.js";
import { createReporter } from "../../src/core/output.js";

/**
 * A RunContext for tests that prints nothing: non-interactive with --yes unless `interactive`, JSON
 * progress lines handed to `out` when given.
 */
export function quietContext(opts: { interactive?: boolean; out?: (line: string) => void } = {}): RunContext {
  const interactive = opts.interactive ?? false;
  return {
    reporter: createReporter({
      mode: "json",
      isTTY: false,
      color: false,
      out: opts.out ?? (() => undefined),
      err: () => undefined,
    }),
    interactive,
    yes: !interactive,
    acceptNewHostKeys: false,
    commandTimeoutMs: undefined,
    signal: new AbortController().signal,
  };
}
