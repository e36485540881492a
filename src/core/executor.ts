import { HactlError, asHactlError } from "./errors.js";
import { forEachNode } from "./parallel.js";
import type { Plan, Step, StepContext, StepOutcome } from "./plan.js";
import type { RemoteHost } from "./host.js";

/** Progress callbacks the executor reports to (the CLI's Reporter satisfies it). */
export interface ExecutorReporter {
  phase(title: string): void;
  step(node: string, message: string, status: "start" | "done" | "unchanged" | "failed" | "skipped"): void;
  log(node: string, line: string): void;
}

export interface ApplyOptions {
  readonly hosts: ReadonlyMap<string, RemoteHost>;
  readonly reporter: ExecutorReporter;
  readonly signal: AbortSignal;
  /** Called when a step starts, completes or fails (the run journal records it). */
  readonly onStep?: (step: Step, outcome: StepOutcome | "started" | "failed") => void | Promise<void>;
}

export interface ApplySummary {
  changed: number;
  unchanged: number;
}

/**
 * Runs a plan phase by phase. Parallel phases run every node's steps at once (a node's own steps in
 * order); serial phases run one step at a time. A Ctrl-C (signal) stops before the next step starts.
 */
export async function applyPlan(plan: Plan, opts: ApplyOptions): Promise<ApplySummary> {
  const summary: ApplySummary = { changed: 0, unchanged: 0 };
  for (const phase of plan) {
    if (phase.steps.length === 0) continue;
    checkAbort(opts.signal);
    opts.reporter.phase(phase.title);
    if (phase.mode === "serial") {
      for (const step of phase.steps) await runStep(step, opts, summary);
    } else {
      const byNode = groupByNode(phase.steps);
      await forEachNode(phase.title, byNode, async (group) => {
        for (const step of group.steps) await runStep(step, opts, summary);
      });
    }
  }
  return summary;
}

async function runStep(step: Step, opts: ApplyOptions, summary: ApplySummary): Promise<void> {
  checkAbort(opts.signal);
  opts.reporter.step(step.node, step.title, "start");
  await opts.onStep?.(step, "started");
  const ctx: StepContext = { hosts: opts.hosts, signal: opts.signal, log: (line) => opts.reporter.log(step.node, line) };
  try {
    const outcome = await step.run(ctx);
    summary[outcome] += 1;
    opts.reporter.step(step.node, outcome === "changed" ? step.title : `${step.title} (already done)`, outcome === "changed" ? "done" : "unchanged");
    await opts.onStep?.(step, outcome);
  } catch (err) {
    const e = asHactlError(err);
    await Promise.resolve(opts.onStep?.(step, "failed")).catch(() => undefined);
    opts.reporter.step(step.node, `${step.title}: ${e.message}`, "failed");
    // A read-only wait cut short by Ctrl-C: report the interruption itself, with its resume hint.
    if (e.code === "INTERRUPTED" && opts.signal.aborted && opts.signal.reason instanceof HactlError) throw opts.signal.reason;
    throw e.node ? e.inStep(step.title) : new HactlError(e.code, e.message, { node: step.node, step: step.title, remedy: e.remedy, details: e.details, retryable: e.retryable, cause: e });
  }
}

function groupByNode(steps: readonly Step[]): { name: string; steps: Step[] }[] {
  const groups = new Map<string, Step[]>();
  for (const s of steps) groups.set(s.node, [...(groups.get(s.node) ?? []), s]);
  return [...groups].map(([name, list]) => ({ name, steps: list }));
}

function checkAbort(signal: AbortSignal): void {
  if (!signal.aborted) return;
  const reason: unknown = signal.reason;
  throw reason instanceof HactlError
    ? reason
    : new HactlError("INTERRUPTED", "interrupted", { remedy: "Run the same command again to finish the job." });
}
