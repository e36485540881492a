import { describeActions, runActions, type Action } from "./action.js";
import { need, type RemoteHost } from "./host.js";
import type { RunValues } from "./run-values.js";

/** What a step did when it ran. */
export type StepOutcome = "changed" | "unchanged";

/** Everything a step may use while it runs. */
export interface StepContext {
  /** The connected nodes, by name. */
  readonly hosts: ReadonlyMap<string, RemoteHost>;
  readonly signal: AbortSignal;
  /** Progress for this step's node (a line in the log; the reporter shows the step's title). */
  readonly log: (line: string) => void;
  /** Values earlier steps of this apply produced for later ones (one store per apply, made by the executor). */
  readonly values: RunValues;
}

/**
 * One unit of remote work on one node. Planning builds these from the spec and the gathered facts
 * without touching anything; `describe` is what --dry-run prints; `run` is the only part that acts.
 * A step that is a fixed sequence of commands and file writes carries them as `actions` (built with
 * actionStep: describe and run both come from them); a closure is for steps that decide at run time.
 */
export interface Step {
  /** Stable id, e.g. "join:node-2"; the journal records completed ids. */
  readonly id: string;
  readonly node: string;
  /** Short line for progress output, e.g. "join as control-plane". */
  readonly title: string;
  /** What will be done, for --dry-run; never contains secrets. */
  readonly describe: readonly string[];
  /**
   * Ids of steps that must have finished before this one starts (besides its phase's own order). Ids
   * that are not in the plan count as finished: that work was done before this run.
   */
  readonly after?: readonly string[];
  /** What the step performs, when it is data only (see actionStep). */
  readonly actions?: readonly Action[];
  run(ctx: StepContext): Promise<StepOutcome>;
}

export interface ActionStepInput {
  readonly id: string;
  readonly node: string;
  readonly title: string;
  readonly actions: readonly Action[];
  readonly after?: readonly string[];
  /** The machine the actions run on, when it is not the step's node (kubectl on a control plane about a node). */
  readonly runOn?: string;
}

/** A step that is only its actions: `describe` is derived from them, `run` performs them on `node` (or `runOn`). */
export function actionStep(input: ActionStepInput): Step {
  const { id, node, title, actions, after } = input;
  const machine = input.runOn ?? node;
  const where = machine === node ? "" : `on ${machine}: `;
  return {
    id,
    node,
    title,
    describe: describeActions(actions).map((line) => `${where}${line}`),
    ...(after && after.length > 0 ? { after } : {}),
    actions,
    run: async (ctx) => ((await runActions(need(ctx.hosts, machine), actions, ctx.signal)) ? "changed" : "unchanged"),
  };
}

/** A group of steps with one scheduling rule. */
export interface Phase {
  readonly title: string;
  /** parallel: all nodes at once; serial: one step after another (joins). */
  readonly mode: "parallel" | "serial";
  readonly steps: readonly Step[];
  /**
   * Starts together with the phase before it instead of after it finished; its steps order themselves
   * against that phase through `after`.
   */
  readonly alongsidePrevious?: boolean;
}

export type Plan = readonly Phase[];

export function planIsEmpty(plan: Plan): boolean {
  return plan.every((p) => p.steps.length === 0);
}

/** The --dry-run plan as one JSON value: per phase, its steps with node, title and what they do. */
export function planJson(plan: Plan): unknown {
  return plan.map((p) => ({
    phase: p.title,
    mode: p.mode,
    steps: p.steps.map((s) => ({ node: s.node, title: s.title, describe: s.describe })),
  }));
}

/** The --dry-run view: per phase, per node, what would be done. */
export function describePlan(plan: Plan): string {
  const lines: string[] = [];
  for (const phase of plan) {
    if (phase.steps.length === 0) continue;
    const alongside = phase.alongsidePrevious && lines.length > 0 ? ", alongside the phase above" : "";
    lines.push(
      `${phase.title}${phase.mode === "serial" ? " (one node at a time" : " (nodes in parallel"}${alongside})`,
    );
    for (const step of phase.steps) {
      lines.push(`  ${step.node}: ${step.title}`);
      for (const d of step.describe) lines.push(`      ${d}`);
    }
  }
  return lines.length > 0 ? lines.join("\n") : "Nothing to do: the cluster already matches cluster.yaml.";
}

/** Consecutive phases that run at the same time: a phase and every `alongsidePrevious` phase after it. */
export function stagesOf(plan: Plan): Phase[][] {
  const stages: Phase[][] = [];
  for (const phase of plan) {
    const current = stages[stages.length - 1];
    if (phase.alongsidePrevious && current) current.push(phase);
    else stages.push([phase]);
  }
  return stages;
}
