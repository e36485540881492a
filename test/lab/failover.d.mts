// Types of test/lab/failover.mjs for TypeScript tests.
import type { LabNode } from "./lab.d.mts";

export interface Target {
  scheme?: "https" | "http";
  host: string;
  port: number;
  /** default /livez */
  path?: string;
  /** default GET */
  method?: string;
}

export interface Probe {
  ok: boolean;
  status?: number;
  error?: string;
  ms: number;
}

export interface TimedProbe extends Probe {
  /** ms after the stop began */
  at: number;
}

export interface FailoverResult {
  /** From the start of the stop to the answer of the first of `count` successes in a row (0 when nothing failed); undefined when never steady. */
  recoveredMs: number | undefined;
  steady: boolean;
  failed: number;
  probes: number;
  firstFailureMs: number | undefined;
  lastFailureMs: number | undefined;
  /** The slowest request from the steady point on. */
  slowestOkMs: number;
  errors: string[];
  /** How long the stop itself took. */
  stopMs: number;
}

/** One request on a fresh connection: ok when it answers 200 within timeoutMs. */
export function probeOnce(target: Target, timeoutMs: number): Promise<Probe>;
/** Probe until `count` requests in a row succeed (true) or `withinMs` passes (false). */
export function waitSteady(
  target: Target,
  opts?: { count?: number; withinMs?: number; timeoutMs?: number; gapMs?: number },
): Promise<boolean>;
/** When the first request of the first run of `count` successes in a row was answered, in ms after the stop (0 when it is the first request). */
export function steadyPoint(
  probes: readonly TimedProbe[],
  count: number,
): { steady: boolean; recoveredMs: number | undefined; firstSteadyIndex: number | undefined };
/** Checks the target is steady, runs `stop` and probes from that instant until `count` successes in a row. */
export function measureFailover(opts: {
  target: Target;
  stop: () => Promise<unknown>;
  count?: number;
  timeoutMs?: number;
  gapMs?: number;
  limitMs?: number;
}): Promise<FailoverResult>;
/** The names of the nodes that hold `vip` now. */
export function vipHolders(nodes: readonly LabNode[], vip: string): Promise<string[]>;
/** "3.2 s", or "not steady" */
export function seconds(ms: number | undefined): string;
/** One line for a report. */
export function describeFailover(r: FailoverResult): string;
