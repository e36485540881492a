/**
 * The one runner for every command that changes a cluster: session (one SSH connection per machine) →
 * cluster lock → the command's gather → its planner → `--dry-run` (text, and one JSON document) or
 * "nothing to do" → one confirmation → apply with the run journal → cluster.yaml written atomically,
 * only after success. A command supplies its gather, its planner and what to record; nothing else.
 */
import { readFile } from "node:fs/promises";
import type { RunContext } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import type { ApplySummary } from "../core/executor.js";
import { need } from "../core/host.js";
import { writeFileAtomic } from "../core/local-file.js";
import { describePlan, planIsEmpty, planJson, type Plan } from "../core/plan.js";
import { setPath } from "../spec/edit.js";
import type { PathSegment } from "../spec/problems.js";
import type { ClusterSpec } from "../spec/schema.js";
import { acquireClusterLock } from "./lock.js";
import { applyLocked } from "./locked-apply.js";
import { lockNode, machinesOf, openSession, type Machine, type Session } from "./session.js";

export interface SessionOptions {
  /** The command's name, recorded in the cluster lock and the run journal. */
  command: string;
  /** Take the cluster lock (every run that may change something: not a dry run). */
  lock: boolean;
  /** The machines to connect to; default: every machine of the spec. */
  machines?: readonly Machine[];
  /** Go on when some machines do not answer (remove-node --force); default: all or nothing. */
  tolerateUnreachable?: boolean;
  /** The node that holds the lock; default: the first connected control plane. It must be connected. */
  lockOn?: (session: Session) => string;
}

/**
 * Connects, holds the cluster lock while `work` runs (a dry run writes nothing anywhere, not even the
 * lock), and always releases the lock and closes the connections. A changing run never goes on without
 * the lock: with no node to hold it, it stops before any change.
 */
export async function withChangeSession<T>(
  spec: ClusterSpec,
  opts: SessionOptions,
  ctx: RunContext,
  work: (session: Session, lockHolder: string | undefined) => Promise<T>,
): Promise<T> {
  const session = await openSession(spec, opts.machines ?? machinesOf(spec), ctx, {
    tolerateUnreachable: opts.tolerateUnreachable ?? false,
  });
  try {
    if (!opts.lock) return await work(session, undefined);
    const holder = (opts.lockOn ?? ((s: Session) => lockNode(spec, s)))(session);
    const lock = await acquireClusterLock(need(session.hosts, holder), opts.command, ctx.reporter);
    try {
      return await work(session, holder);
    } finally {
      await lock.release();
    }
  } finally {
    await session.close();
  }
}

export interface ApplyOptions {
  command: string;
  dryRun: boolean;
  /** Asked once, on a terminal, before the first change. */
  question: string;
  /** The answer on Enter; default yes. */
  confirmDefault?: boolean;
  /** Printed for an empty plan. */
  nothingToDo?: string;
  /** The node that keeps a copy of the run journal (the lock holder). */
  journalOn: string | undefined;
  /** More fields for the dry run's JSON document. */
  dryRunResult?: Readonly<Record<string, unknown>>;
}

/**
 * The plan printed (--dry-run: returns undefined), or "nothing to do", or confirmed once on a terminal
 * and applied with every step recorded in the run journal. The caller already holds the cluster lock.
 */
async function showOrApplyPlan(
  plan: Plan,
  spec: ClusterSpec,
  session: Session,
  opts: ApplyOptions,
  ctx: RunContext,
): Promise<ApplySummary | undefined> {
  const { reporter } = ctx;
  if (opts.dryRun) {
    reporter.phase("Plan (dry run: nothing is changed)");
    reporter.print(describePlan(plan));
    reporter.result({ dryRun: true, ...opts.dryRunResult, plan: planJson(plan) });
    return undefined;
  }
  if (planIsEmpty(plan)) {
    reporter.info(opts.nothingToDo ?? "Nothing to do: the cluster already matches cluster.yaml.");
    return { changed: 0, unchanged: 0 };
  }
  if (ctx.interactive) {
    reporter.print(describePlan(plan));
    const { confirm } = await import("../ui/prompts.js");
    if (!(await confirm(opts.question, opts.confirmDefault ?? true))) {
      throw new HactlError("USER_ABORTED", "cancelled before any change");
    }
  }
  const summary = await applyLocked(
    plan,
    spec,
    session,
    { command: opts.command, lockOn: undefined, journalOn: opts.journalOn },
    ctx,
  );
  reporter.info(`\n${summary.changed} step(s) changed, ${summary.unchanged} already done.`);
  return summary;
}

/** cluster.yaml as it is to be after a successful run. */
export interface SpecRecord {
  file: string;
  text: string;
  /** Printed once written, e.g. "Recorded node-4 in cluster.yaml." */
  note: string;
  /** The note goes to the log file only. */
  quiet?: boolean;
}

export type SpecEdit = readonly [readonly PathSegment[], unknown];

/** cluster.yaml's current text with comment-preserving edits; undefined when there are none. */
export async function editedSpec(file: string, edits: readonly SpecEdit[]): Promise<SpecRecord | undefined> {
  if (edits.length === 0) return undefined;
  let text = await readFile(file, "utf8");
  for (const [path, value] of edits) text = setPath(text, path, value);
  return { file, text, note: `recorded in ${file}: ${edits.map(([p]) => p.join(".")).join(", ")}`, quiet: true };
}

export interface Change<G> extends Omit<SessionOptions, "lock">, Omit<ApplyOptions, "journalOn" | "question"> {
  spec: ClusterSpec;
  /** Reads the cluster as it is now (it may refuse, before any change). */
  gather: (session: Session) => Promise<G>;
  /** The steps that bring the cluster from what was gathered to what the command asks. */
  plan: (gathered: G, session: Session) => Plan | Promise<Plan>;
  question: string | ((gathered: G) => string);
  /** The dry run's extra JSON fields, from what was gathered. */
  describe?: (gathered: G) => Readonly<Record<string, unknown>>;
  /** cluster.yaml after success (none: unchanged). Written atomically, never after a failed or dry run. */
  record?: (gathered: G) => Promise<SpecRecord | undefined> | SpecRecord | undefined;
  /** What runs after success while the session is open (reading back, the command's result). */
  after?: (gathered: G, summary: ApplySummary, session: Session) => Promise<void>;
}

export interface ChangeOutcome<G> {
  gathered: G;
  plan: Plan;
  /** undefined for a dry run. */
  summary: ApplySummary | undefined;
}

/** Runs one changing command from session to recorded cluster.yaml (see the top of this file). */
export async function runChange<G>(change: Change<G>, ctx: RunContext): Promise<ChangeOutcome<G>> {
  return withChangeSession(change.spec, { ...change, lock: !change.dryRun }, ctx, async (session, holder) => {
    const gathered = await change.gather(session);
    const plan = await change.plan(gathered, session);
    const question = typeof change.question === "string" ? change.question : change.question(gathered);
    const summary = await showOrApplyPlan(
      plan,
      change.spec,
      session,
      {
        ...change,
        question,
        journalOn: holder,
        ...(change.describe ? { dryRunResult: change.describe(gathered) } : {}),
      },
      ctx,
    );
    if (!summary) return { gathered, plan, summary };
    const record = await change.record?.(gathered);
    if (record) {
      await writeFileAtomic(record.file, record.text);
      if (record.quiet) ctx.reporter.log("hactl", record.note);
      else ctx.reporter.info(record.note);
    }
    await change.after?.(gathered, summary, session);
    return { gathered, plan, summary };
  });
}
