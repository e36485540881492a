import { need } from "../core/host.js";
import type { RunContext } from "../core/context.js";
import { applyPlan, type ApplySummary } from "../core/executor.js";
import type { Plan } from "../core/plan.js";
import type { ClusterSpec } from "../spec/schema.js";
import { RunJournal } from "./journal.js";
import { acquireClusterLock } from "./lock.js";
import type { Session } from "./session.js";

export interface LockedApplyOptions {
  command: string;
  /** The node that holds the cluster lock meanwhile (none: no lock). */
  lockOn: string | undefined;
  /** The node that keeps a copy of the journal (none: the local journal only, e.g. when the plan wipes hactl's state). */
  journalOn: string | undefined;
}

/** Applies a plan under the cluster lock, recording every step in the run journal. */
export async function applyLocked(
  plan: Plan,
  spec: ClusterSpec,
  session: Session,
  opts: LockedApplyOptions,
  ctx: RunContext,
): Promise<ApplySummary> {
  const lock = opts.lockOn
    ? await acquireClusterLock(need(session.hosts, opts.lockOn), opts.command, ctx.reporter)
    : undefined;
  try {
    const journal = new RunJournal(
      spec.metadata.name,
      opts.command,
      opts.journalOn ? session.hosts.get(opts.journalOn) : undefined,
    );
    return await applyPlan(plan, {
      hosts: session.hosts,
      reporter: ctx.reporter,
      signal: ctx.signal,
      onStep: (step, outcome) => journal.record(step, outcome),
    });
  } finally {
    await lock?.release();
  }
}
