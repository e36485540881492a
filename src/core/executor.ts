import { HactlError, MultiNodeError, asHactlError, interruptedError } from "./errors.js";
import { forEachNode } from "./parallel.js";
import { stagesOf, type Phase, type Plan, type Step, type StepContext, type StepOutcome } from "./plan.js";
import type { RemoteHost } from "./host.js";
import { RunValues } from "./run-values.js";

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

/** One stage's bookkeeping: when each step finished (true) or failed (false), and whether to stop. */
interface StageRun {
  readonly finished: Map<string, Promise<boolean>>;
  readonly settle: Map<string, (ok: boolean) => void>;
  failed: boolean;
  /** The apply's values, shared by every stage of it. */
  readonly values: RunValues;
}

/**
 * Runs a plan phase by phase. Parallel phases run every node's steps at once (a node's own steps in
 * order); serial phases run one step at a time. A phase marked `alongsidePrevious` runs at the same
 * time as the phase before it, its steps waiting for the steps they name in `after`. A failure stops
 * every phase of its stage before its next step (steps already running, on any node, finish and are
 * reported); a Ctrl-C (signal) stops before the next step starts.
 */
export async function applyPlan(plan: Plan, opts: ApplyOptions): Promise<ApplySummary> {
  const summary: ApplySummary = { changed: 0, unchanged: 0 };
  const values = new RunValues();
  for (const stage of stagesOf(plan)) {
    const phases = stage.filter((p) => p.steps.length > 0);
    if (phases.length === 0) continue;
    checkAbort(opts.signal);
    const title = phases.map((p) => p.title).join(" · ");
    opts.reporter.phase(title);
    const run: StageRun = { finished: new Map(), settle: new Map(), failed: false, values };
    for (const step of phases.flatMap((p) => p.steps)) {
      run.finished.set(step.id, new Promise((resolve) => run.settle.set(step.id, resolve)));
    }
    const results = await Promise.allSettled(phases.map((p) => runPhase(p, run, opts, summary)));
    const failures = results.flatMap((r) => (r.status === "rejected" ? [asHactlError(r.reason)] : []));
    if (failures.length > 0) throw stageFailure(title, failures);
  }
  return summary;
}

/**
 * One error for a stage whose phases failed: per node the first failure in plan order (a node that died
 * fails its join and its load-balancer step alike; the rest go to the details), and a MultiNodeError only
 * when several nodes failed. Phases stopped by Ctrl-C say so on their own and add nothing to a real failure.
 */
function stageFailure(title: string, failures: readonly HactlError[]): HactlError {
  const real = failures.filter((f) => f.code !== "INTERRUPTED");
  if (real.length === 0) return failures[0] as HactlError;
  const byNode = new Map<string, HactlError[]>();
  for (const f of real.flatMap((e) => (e instanceof MultiNodeError ? e.failures : [e]))) {
    const key = f.node ?? "";
    byNode.set(key, [...(byNode.get(key) ?? []), f]);
  }
  const perNode = [...byNode.values()].map(([first, ...rest]) =>
    (first as HactlError).withDetails(
      rest.map((r) => `also failed on ${r.node ?? "?"}: ${r.step ?? "?"}: ${r.message}`),
    ),
  );
  if (perNode.length === 1) return perNode[0] as HactlError;
  return real.length === 1 ? (real[0] as HactlError) : new MultiNodeError(title, perNode);
}

async function runPhase(phase: Phase, run: StageRun, opts: ApplyOptions, summary: ApplySummary): Promise<void> {
  try {
    if (phase.mode === "serial") {
      for (const step of phase.steps) if (!(await runStep(step, run, opts, summary))) break;
    } else {
      await forEachNode(phase.title, groupByNode(phase.steps), async (group) => {
        for (const step of group.steps) if (!(await runStep(step, run, opts, summary))) break;
      });
    }
  } catch (err) {
    run.failed = true;
    throw err;
  } finally {
    // Steps of this phase that never ran (skipped, or after a failure) must not keep another phase
    // waiting; steps that finished were settled already and keep their result.
    for (const step of phase.steps) run.settle.get(step.id)?.(false);
  }
}

/** Runs one step once the steps it waits for finished; false when it was not started (one of them failed). */
async function runStep(step: Step, run: StageRun, opts: ApplyOptions, summary: ApplySummary): Promise<boolean> {
  const waitedOk = await Promise.all((step.after ?? []).map((id) => run.finished.get(id) ?? true));
  checkAbort(opts.signal);
  if (run.failed || !waitedOk.every(Boolean)) {
    opts.reporter.step(step.node, `${step.title}: not started (an earlier step failed)`, "skipped");
    run.settle.get(step.id)?.(false);
    return false;
  }
  opts.reporter.step(step.node, step.title, "start");
  await opts.onStep?.(step, "started");
  const ctx: StepContext = {
    hosts: opts.hosts,
    signal: opts.signal,
    log: (line) => opts.reporter.log(step.node, line),
    values: run.values,
  };
  try {
    const outcome = await step.run(ctx);
    summary[outcome] += 1;
    opts.reporter.step(
      step.node,
      outcome === "changed" ? step.title : `${step.title} (already done)`,
      outcome === "changed" ? "done" : "unchanged",
    );
    await opts.onStep?.(step, outcome);
    run.settle.get(step.id)?.(true);
    return true;
  } catch (err) {
    // Every phase of the stage stops before its next step; whatever waited for this step gives up now.
    run.failed = true;
    run.settle.get(step.id)?.(false);
    const e = asHactlError(err);
    await Promise.resolve(opts.onStep?.(step, "failed")).catch(() => undefined);
    opts.reporter.step(step.node, `${step.title}: ${e.message}`, "failed");
    // A read-only wait cut short by Ctrl-C: report the interruption itself, with its resume hint.
    if (e.code === "INTERRUPTED" && opts.signal.aborted && opts.signal.reason instanceof HactlError)
      throw opts.signal.reason;
    throw e.node
      ? e.inStep(step.title)
      : new HactlError(e.code, e.message, {
          node: step.node,
          step: step.title,
          remedy: e.remedy,
          details: e.details,
          retryable: e.retryable,
          cause: e,
        });
  }
}

function groupByNode(steps: readonly Step[]): { name: string; steps: Step[] }[] {
  const groups = new Map<string, Step[]>();
  for (const s of steps) groups.set(s.node, [...(groups.get(s.node) ?? []), s]);
  return [...groups].map(([name, list]) => ({ name, steps: list }));
}

function checkAbort(signal: AbortSignal): void {
  if (signal.aborted) throw interruptedError(signal);
}
