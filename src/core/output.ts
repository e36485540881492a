import { appendFileSync, mkdirSync, openSync, closeSync } from "node:fs";
import { dirname } from "node:path";
import { Chalk } from "chalk";
import type { Ora } from "ora";
import { redact } from "./secrets.js";

export type OutputMode = "text" | "json";

/**
 * What --output json prints on stdout. `events`: a command that changes things streams one JSON event
 * per line (progress, then a result or an error). `document`: a read-only report prints exactly one
 * JSON document, its result or its error, when it ends; progress goes only to the log file and
 * warnings to stderr.
 */
export type JsonShape = "events" | "document";

/** One progress event; --output json prints these as ndjson. */
export interface ProgressEvent {
  readonly type: "phase" | "step" | "info" | "warn" | "result" | "error";
  readonly phase?: string;
  readonly node?: string;
  readonly status?: "start" | "done" | "unchanged" | "failed" | "skipped";
  readonly message: string;
  readonly data?: unknown;
}

/**
 * Everything hactl tells the operator goes through here: a line per node per step (with a spinner on a
 * terminal, plain lines otherwise, ndjson with --output json) and a full log file (mode 0600). Every
 * string is redacted before it is written anywhere.
 */
export interface Reporter {
  phase(title: string): void;
  /** Ends the current phase's spinner with ✓ or ✗ (and a note), so nothing spins under the next prompt. */
  endPhase(ok: boolean, note?: string): void;
  /** Runs a prompt with the spinner stopped, and restarts it afterwards. */
  pause<T>(prompt: () => Promise<T>): Promise<T>;
  step(node: string, message: string, status: NonNullable<ProgressEvent["status"]>): void;
  info(message: string): void;
  warn(message: string): void;
  /** A final machine-readable result (json mode) or nothing (text mode prints its own summary). */
  result(data: unknown): void;
  /** The run failed: json mode prints this error object (an event, or the document); text mode nothing. */
  failed(error: Readonly<Record<string, unknown>>): void;
  /** Remote output and details: log file only. */
  log(node: string, line: string): void;
  /** Plain text for the operator (tables, plans); suppressed in json mode. */
  print(text: string): void;
  readonly mode: OutputMode;
  readonly logFile: string | undefined;
  /** Stops the spinner; a `document` in json mode is written here, once. */
  close(): void;
}

export interface ReporterOptions {
  mode: OutputMode;
  /** How json mode prints (default `events`); the command's declaration chooses it. */
  json?: JsonShape;
  logFile?: string;
  isTTY: boolean;
  color: boolean;
  /** Starts a spinner (ora) for a phase on a terminal; loaded by the caller only when one is shown. */
  spinner?: (text: string) => Ora;
  /** Where text goes; default process.stdout / process.stderr. */
  out?: (text: string) => void;
  err?: (text: string) => void;
}

const symbols = { start: "…", done: "✓", unchanged: "=", failed: "✗", skipped: "-" } as const;

export function createReporter(opts: ReporterOptions): Reporter {
  const out = opts.out ?? ((t: string) => process.stdout.write(t));
  const err = opts.err ?? ((t: string) => process.stderr.write(t));
  const logFile = opts.logFile ? openLog(opts.logFile) : undefined;
  const colors = new Chalk({ level: opts.color ? 1 : 0 });
  let spinner: Ora | undefined;
  let phaseTitle = "";
  const makeSpinner = opts.mode === "text" && opts.isTTY ? opts.spinner : undefined;
  const streaming = opts.mode === "json" && opts.json !== "document";
  const documentMode = opts.mode === "json" && opts.json === "document";
  let document: { result?: unknown; error?: Readonly<Record<string, unknown>> } = {};
  const above = (text: string): void => {
    spinner?.clear();
    out(text);
    spinner?.render();
  };

  const writeLog = (line: string): void => {
    if (logFile) appendFileSync(logFile, `${new Date().toISOString()} ${redact(line)}\n`, { mode: 0o600 });
  };
  const emit = (event: ProgressEvent): void => {
    writeLog(
      `${event.type}${event.node ? ` [${event.node}]` : ""}${event.status ? ` ${event.status}` : ""}: ${event.message}`,
    );
    if (streaming) out(`${redact(JSON.stringify({ time: new Date().toISOString(), ...event }))}\n`);
  };

  return {
    mode: opts.mode,
    logFile,
    phase(title) {
      emit({ type: "phase", message: title });
      phaseTitle = title;
      if (opts.mode !== "text") return;
      spinner?.stop();
      out(`\n${colors.bold(`==> ${redact(title)}`)}\n`);
      spinner = makeSpinner?.(redact(title));
    },
    endPhase(ok, note) {
      const text = `${phaseTitle}${note ? `: ${note}` : ""}`;
      writeLog(`phase ${ok ? "done" : "failed"}: ${text}`);
      spinner?.stopAndPersist({
        symbol: ok ? colors.green(symbols.done) : colors.red(symbols.failed),
        text: redact(text),
      });
      spinner = undefined;
    },
    async pause(prompt) {
      const paused = spinner?.isSpinning ? spinner : undefined;
      paused?.stop();
      try {
        return await prompt();
      } finally {
        if (paused && spinner === paused) paused.start();
      }
    },
    step(node, message, status) {
      emit({ type: "step", node, status, message });
      if (opts.mode !== "text") return;
      if (status === "start" && !opts.isTTY) return;
      const mark =
        status === "failed"
          ? colors.red(symbols[status])
          : status === "done"
            ? colors.green(symbols[status])
            : symbols[status];
      if (status === "start") {
        if (spinner) spinner.text = `${redact(node)}: ${redact(message)}`;
        return;
      }
      above(`  ${mark} ${colors.cyan(node.padEnd(12))} ${redact(message)}\n`);
    },
    info(message) {
      emit({ type: "info", message });
      if (opts.mode === "text") above(`${redact(message)}\n`);
    },
    warn(message) {
      emit({ type: "warn", message });
      if (documentMode) err(`warning: ${redact(message)}\n`);
      if (opts.mode !== "text") return;
      spinner?.clear();
      err(`${colors.yellow("warning:")} ${redact(message)}\n`);
      spinner?.render();
    },
    result(data) {
      writeLog(`result: ${JSON.stringify(data)}`);
      if (streaming) out(`${redact(JSON.stringify({ type: "result", data }))}\n`);
      if (documentMode) document = { ...document, result: data };
    },
    failed(error) {
      if (streaming) out(`${redact(JSON.stringify(error))}\n`);
      if (documentMode) document = { ...document, error };
    },
    log(node, line) {
      writeLog(`[${node}] ${line}`);
    },
    print(text) {
      writeLog(text);
      if (opts.mode === "text") above(`${redact(text)}\n`);
    },
    close() {
      spinner?.stop();
      spinner = undefined;
      const { result, error } = document;
      document = {};
      // A report that failed after recording its result (validate's problems) keeps it under `data`.
      const body = error ? { ...error, ...(result !== undefined ? { data: result } : {}) } : result;
      if (body !== undefined) out(`${redact(JSON.stringify(body, null, 2))}\n`);
    },
  };
}

function openLog(path: string): string {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, "a", 0o600));
  return path;
}
