import { describe, expect, it } from "vitest";
import { applyPlan, type ExecutorReporter } from "../../../src/core/executor.js";
import { HactlError, MultiNodeError } from "../../../src/core/errors.js";
import {
  describePlan,
  planIsEmpty,
  type Phase,
  type Plan,
  type Step,
  type StepContext,
  type StepOutcome,
} from "../../../src/core/plan.js";
import { runValueKey } from "../../../src/core/run-values.js";

interface Span {
  id: string;
  node: string;
  start: number;
  end: number;
}

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Steps that record when they ran; `spans` is shared by every step made by one tracker. */
function tracker() {
  const spans: Span[] = [];
  let clock = 0;
  const now = (): number => ++clock;
  const step = (
    node: string,
    id: string,
    opts: { ms?: number; outcome?: StepOutcome; fail?: unknown; onRun?: () => void; after?: string[] } = {},
  ): Step => ({
    id,
    node,
    ...(opts.after ? { after: opts.after } : {}),
    title: `do ${id}`,
    describe: [`describe ${id}`],
    async run() {
      const span: Span = { id, node, start: now(), end: Number.POSITIVE_INFINITY };
      spans.push(span);
      opts.onRun?.();
      await tick(opts.ms ?? 5);
      span.end = now();
      if (opts.fail !== undefined) throw opts.fail;
      return opts.outcome ?? "changed";
    },
  });
  return { spans, step };
}

function recordingReporter() {
  const events: string[] = [];
  const reporter: ExecutorReporter = {
    phase: (title) => events.push(`phase ${title}`),
    step: (node, message, status) => events.push(`${status} ${node}: ${message}`),
    log: (node, line) => events.push(`log ${node}: ${line}`),
  };
  return { events, reporter };
}

const overlaps = (a: Span, b: Span): boolean => a.start < b.end && b.start < a.end;

function run(plan: Plan, signal = new AbortController().signal) {
  const { events, reporter } = recordingReporter();
  const done: string[] = [];
  const promise = applyPlan(plan, {
    hosts: new Map(),
    reporter,
    signal,
    onStep: (s, o) => void done.push(`${s.id}=${o}`),
  });
  return { events, done, promise };
}

describe("applyPlan", () => {
  it("hands values from one step to later ones of the same apply, in any stage; a new apply starts empty", async () => {
    const KEY = runValueKey<{ token: string }>("token");
    const seen: (string | undefined)[] = [];
    const step = (id: string, body: (ctx: StepContext) => void): Step => ({
      id,
      node: "n1",
      title: id,
      describe: [],
      async run(ctx) {
        body(ctx);
        return "changed";
      },
    });
    const plan: Plan = [
      { title: "A", mode: "serial", steps: [step("read-before", (c) => seen.push(c.values.get(KEY)?.token))] },
      { title: "B", mode: "serial", steps: [step("write", (c) => c.values.set(KEY, { token: "t-1" }))] },
      { title: "C", mode: "parallel", steps: [step("read-after", (c) => seen.push(c.values.get(KEY)?.token))] },
    ];
    await run(plan).promise;
    await run([plan[2] as Phase]).promise;
    expect(seen).toEqual([undefined, "t-1", undefined]);
  });

  it("runs phases in order, a later phase only after the earlier one finished", async () => {
    const t = tracker();
    const plan: Plan = [
      { title: "A", mode: "parallel", steps: [t.step("n1", "a1", { ms: 15 }), t.step("n2", "a2", { ms: 2 })] },
      { title: "B", mode: "parallel", steps: [t.step("n1", "b1"), t.step("n2", "b2")] },
    ];
    await run(plan).promise;
    const endOfA = Math.max(...t.spans.filter((s) => s.id.startsWith("a")).map((s) => s.end));
    const startOfB = Math.min(...t.spans.filter((s) => s.id.startsWith("b")).map((s) => s.start));
    expect(startOfB).toBeGreaterThan(endOfA);
  });

  it("runs a parallel phase's nodes at once but each node's own steps in order", async () => {
    const t = tracker();
    const plan: Plan = [
      {
        title: "Prepare",
        mode: "parallel",
        steps: [
          t.step("n1", "n1-first"),
          t.step("n1", "n1-second"),
          t.step("n2", "n2-first"),
          t.step("n2", "n2-second"),
        ],
      },
    ];
    await run(plan).promise;
    const span = (id: string): Span => t.spans.find((s) => s.id === id) as Span;
    expect(overlaps(span("n1-first"), span("n2-first"))).toBe(true);
    expect(span("n1-second").start).toBeGreaterThan(span("n1-first").end);
    expect(span("n2-second").start).toBeGreaterThan(span("n2-first").end);
  });

  it("runs a serial phase one step at a time, in plan order, never overlapping", async () => {
    const t = tracker();
    const plan: Plan = [
      {
        title: "Form the cluster",
        mode: "serial",
        steps: [
          t.step("n2", "join-2", { ms: 8 }),
          t.step("n3", "join-3", { ms: 2 }),
          t.step("n4", "join-4", { ms: 4 }),
        ],
      },
    ];
    await run(plan).promise;
    expect(t.spans.map((s) => s.id)).toEqual(["join-2", "join-3", "join-4"]);
    for (let i = 1; i < t.spans.length; i++) {
      expect(t.spans[i]?.start).toBeGreaterThan(t.spans[i - 1]?.end as number);
    }
  });

  it("counts changed and unchanged steps and reports each start and outcome to onStep", async () => {
    const t = tracker();
    const plan: Plan = [
      { title: "P", mode: "serial", steps: [t.step("n1", "s1"), t.step("n1", "s2", { outcome: "unchanged" })] },
    ];
    const r = run(plan);
    expect(await r.promise).toEqual({ changed: 1, unchanged: 1 });
    expect(r.done).toEqual(["s1=started", "s1=changed", "s2=started", "s2=unchanged"]);
    expect(r.events).toEqual([
      "phase P",
      "start n1: do s1",
      "done n1: do s1",
      "start n1: do s2",
      "unchanged n1: do s2 (already done)",
    ]);
  });

  it("skips empty phases without announcing them", async () => {
    const t = tracker();
    const r = run([
      { title: "Empty", mode: "parallel", steps: [] },
      { title: "Real", mode: "serial", steps: [t.step("n1", "x")] },
    ]);
    await r.promise;
    expect(r.events.filter((e) => e.startsWith("phase"))).toEqual(["phase Real"]);
  });

  it("stops before the next step with INTERRUPTED once the signal is aborted", async () => {
    const t = tracker();
    const ac = new AbortController();
    const plan: Plan = [
      {
        title: "Joins",
        mode: "serial",
        steps: [t.step("n2", "join-2", { onRun: () => ac.abort() }), t.step("n3", "join-3")],
      },
      { title: "Later", mode: "parallel", steps: [t.step("n1", "later")] },
    ];
    const err = (await run(plan, ac.signal).promise.catch((e: unknown) => e)) as HactlError;
    expect(err).toBeInstanceOf(HactlError);
    expect(err.code).toBe("INTERRUPTED");
    expect(err.exitCode).toBe(130);
    expect(t.spans.map((s) => s.id)).toEqual(["join-2"]);
    expect(t.spans[0]?.end).not.toBe(Number.POSITIVE_INFINITY);
  });

  it("does nothing when aborted before it starts, using the abort reason when it is a HactlError", async () => {
    const t = tracker();
    const ac = new AbortController();
    ac.abort(new HactlError("USER_ABORTED", "cancelled"));
    const err = (await run([{ title: "P", mode: "parallel", steps: [t.step("n1", "s")] }], ac.signal).promise.catch(
      (e: unknown) => e,
    )) as HactlError;
    expect(err.code).toBe("USER_ABORTED");
    expect(t.spans).toHaveLength(0);
  });

  it("names the node and step of a failure and runs no later phase", async () => {
    const t = tracker();
    const plan: Plan = [
      {
        title: "Install",
        mode: "serial",
        steps: [
          t.step("n2", "install-2", {
            fail: new HactlError("COMMAND_FAILED", "snap exited 1", { remedy: "check snapd" }),
          }),
        ],
      },
      { title: "Later", mode: "serial", steps: [t.step("n1", "later")] },
    ];
    const r = run(plan);
    const err = (await r.promise.catch((e: unknown) => e)) as HactlError;
    expect(err.code).toBe("COMMAND_FAILED");
    expect(err.node).toBe("n2");
    expect(err.step).toBe("do install-2");
    expect(err.remedy).toBe("check snapd");
    expect(t.spans.map((s) => s.id)).toEqual(["install-2"]);
    expect(r.events).toContain("failed n2: do install-2: snap exited 1");
  });

  it("in a parallel phase lets the other nodes finish and reports every failed node", async () => {
    const t = tracker();
    const plan: Plan = [
      {
        title: "Install",
        mode: "parallel",
        steps: [
          t.step("n1", "i1", { fail: new HactlError("COMMAND_FAILED", "one") }),
          t.step("n2", "i2", { ms: 15 }),
          t.step("n3", "i3", { fail: new Error("plain") }),
        ],
      },
    ];
    const err = await run(plan).promise.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MultiNodeError);
    const m = err as MultiNodeError;
    expect(m.step).toBe("Install");
    expect(m.failures.map((f) => [f.node, f.step, f.code])).toEqual([
      ["n1", "do i1", "COMMAND_FAILED"],
      ["n3", "do i3", "INTERNAL"],
    ]);
    expect(t.spans.find((s) => s.id === "i2")?.end).not.toBe(Number.POSITIVE_INFINITY);
  });
});

describe("applyPlan with a phase alongside the previous one", () => {
  const byId = (spans: Span[], id: string): Span => {
    const span = spans.find((s) => s.id === id);
    if (!span) throw new Error(`${id} did not run`);
    return span;
  };

  it("starts a step once the steps it waits for finished, while the rest of the earlier phase still runs", async () => {
    const t = tracker();
    const plan: Plan = [
      {
        title: "Install",
        mode: "parallel",
        steps: [
          t.step("n1", "install:n1", { ms: 5 }),
          t.step("n2", "install:n2", { ms: 5 }),
          t.step("n3", "install:n3", { ms: 60 }),
        ],
      },
      {
        title: "Join",
        mode: "serial",
        alongsidePrevious: true,
        steps: [
          t.step("n2", "join:n2", { after: ["install:n1", "install:n2"] }),
          t.step("n3", "join:n3", { after: ["install:n1", "install:n3"] }),
        ],
      },
      { title: "LB", mode: "parallel", alongsidePrevious: true, steps: [t.step("n1", "lb:n1")] },
      { title: "Addons", mode: "serial", steps: [t.step("n1", "addons")] },
    ];
    const r = run(plan);
    await r.promise;
    const s = t.spans;
    expect(byId(s, "join:n2").start).toBeGreaterThan(byId(s, "install:n2").end);
    expect(overlaps(byId(s, "join:n2"), byId(s, "install:n3"))).toBe(true);
    expect(byId(s, "join:n3").start).toBeGreaterThan(byId(s, "install:n3").end);
    expect(byId(s, "join:n3").start).toBeGreaterThan(byId(s, "join:n2").end);
    expect(overlaps(byId(s, "lb:n1"), byId(s, "install:n3"))).toBe(true);
    expect(byId(s, "addons").start).toBeGreaterThan(Math.max(...s.filter((x) => x.id !== "addons").map((x) => x.end)));
    expect(r.events.filter((e) => e.startsWith("phase "))).toEqual(["phase Install · Join · LB", "phase Addons"]);
  });

  it("treats a step it waits for that is not in the plan as already done", async () => {
    const t = tracker();
    await run([{ title: "Join", mode: "serial", steps: [t.step("n2", "join:n2", { after: ["install:n2"] })] }]).promise;
    expect(t.spans.map((s) => s.id)).toEqual(["join:n2"]);
  });

  it("stops every phase of the stage after a failure, starts nothing that waited for the failed step, and reports only the failure", async () => {
    const t = tracker();
    const plan: Plan = [
      {
        title: "Install",
        mode: "parallel",
        steps: [
          t.step("n1", "install:n1"),
          t.step("n2", "install:n2", { fail: new HactlError("COMMAND_FAILED", "snap exited 1") }),
        ],
      },
      {
        title: "Join",
        mode: "serial",
        alongsidePrevious: true,
        steps: [t.step("n2", "join:n2", { after: ["install:n1", "install:n2"] })],
      },
      {
        title: "LB",
        mode: "serial",
        alongsidePrevious: true,
        steps: [t.step("n1", "lb:a", { ms: 20 }), t.step("n1", "lb:b")],
      },
      { title: "Addons", mode: "serial", steps: [t.step("n1", "addons")] },
    ];
    const r = run(plan);
    const err = (await r.promise.catch((e: unknown) => e)) as HactlError;
    expect(err).not.toBeInstanceOf(MultiNodeError);
    expect([err.code, err.node]).toEqual(["COMMAND_FAILED", "n2"]);
    expect(t.spans.map((s) => s.id).sort()).toEqual(["install:n1", "install:n2", "lb:a"]);
    expect(r.events).toContain("skipped n2: do join:n2: not started (an earlier step failed)");
    expect(r.events).toContain("skipped n1: do lb:b: not started (an earlier step failed)");
  });

  it("does not hang when a failed install skips a join that later joins and a worker's wait depend on", async () => {
    const t = tracker();
    const plan: Plan = [
      {
        title: "Install",
        mode: "parallel",
        steps: [
          t.step("n1", "install:n1"),
          t.step("n2", "install:n2", { fail: new HactlError("COMMAND_FAILED", "snap exited 1") }),
          t.step("n3", "install:n3"),
          t.step("w", "install:w"),
        ],
      },
      {
        title: "Join",
        mode: "serial",
        alongsidePrevious: true,
        steps: [
          t.step("n2", "join:n2", { after: ["install:n1", "install:n2"] }),
          t.step("n3", "join:n3", { after: ["install:n1", "install:n3"] }),
          t.step("w", "join:w", { after: ["install:n1", "install:w"] }),
        ],
      },
      {
        title: "Ready",
        mode: "parallel",
        alongsidePrevious: true,
        steps: [t.step("w", "ready:w", { after: ["join:w"] })],
      },
    ];
    const err = (await run(plan).promise.catch((e: unknown) => e)) as HactlError;
    expect([err.code, err.node]).toEqual(["COMMAND_FAILED", "n2"]);
    expect(t.spans.map((s) => s.id).sort()).toEqual(["install:n1", "install:n2", "install:n3", "install:w"]);
  });

  it("stops the other phases at the failure itself, not when the failed parallel phase's slowest node is done", async () => {
    const t = tracker();
    const plan: Plan = [
      {
        title: "Install",
        mode: "parallel",
        steps: [
          t.step("n1", "install:n1", { ms: 5 }),
          t.step("n2", "install:n2", { ms: 40 }),
          t.step("n3", "install:n3", { ms: 1, fail: new HactlError("COMMAND_FAILED", "no") }),
        ],
      },
      {
        title: "Join",
        mode: "serial",
        alongsidePrevious: true,
        steps: [t.step("n1", "lb:n1", { after: ["install:n1"] })],
      },
    ];
    await run(plan).promise.catch(() => undefined);
    expect(t.spans.map((s) => s.id)).not.toContain("lb:n1");
  });

  it("lists every failure when phases of one stage fail on their own", async () => {
    const t = tracker();
    const plan: Plan = [
      {
        title: "Join",
        mode: "serial",
        steps: [t.step("n2", "join:n2", { fail: new HactlError("JOIN_FAILED", "no") })],
      },
      {
        title: "LB",
        mode: "serial",
        alongsidePrevious: true,
        steps: [t.step("n1", "lb:n1", { fail: new HactlError("COMMAND_FAILED", "bad config") })],
      },
    ];
    const err = await run(plan).promise.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MultiNodeError);
    expect((err as MultiNodeError).failures.map((f) => [f.node, f.code])).toEqual([
      ["n2", "JOIN_FAILED"],
      ["n1", "COMMAND_FAILED"],
    ]);
  });

  it("names the node and its first failed step when one node fails in two phases (it died), the other failure in the details", async () => {
    const t = tracker();
    const lost = (): HactlError => new HactlError("SSH_DISCONNECTED", "lost the SSH channel to n3");
    const plan: Plan = [
      { title: "Join", mode: "serial", steps: [t.step("n3", "join:n3", { ms: 10, fail: lost() })] },
      {
        title: "LB",
        mode: "parallel",
        alongsidePrevious: true,
        steps: [t.step("n1", "lb:n1"), t.step("n3", "lb:n3", { ms: 10, fail: lost() })],
      },
    ];
    const err = (await run(plan).promise.catch((e: unknown) => e)) as HactlError;
    expect(err).not.toBeInstanceOf(MultiNodeError);
    expect([err.code, err.node, err.step]).toEqual(["SSH_DISCONNECTED", "n3", "do join:n3"]);
    expect(err.details).toBe("also failed on n3: do lb:n3: lost the SSH channel to n3");
  });

  it("says which phases run alongside the one before in --dry-run", () => {
    const t = tracker();
    const text = describePlan([
      { title: "Install", mode: "parallel", steps: [t.step("n1", "install:n1")] },
      { title: "Join", mode: "serial", alongsidePrevious: true, steps: [t.step("n2", "join:n2")] },
    ]);
    expect(text).toContain("Install (nodes in parallel)\n");
    expect(text).toContain("Join (one node at a time, alongside the phase above)\n");
  });
});

describe("describePlan", () => {
  const step = (node: string, title: string, describe: string[]): Step => ({
    id: `${node}:${title}`,
    node,
    title,
    describe,
    run: async () => "changed",
  });

  it("lists phases with their mode, then node, title and describe lines", () => {
    const plan: Phase[] = [
      { title: "Install MicroK8s", mode: "parallel", steps: [step("node-1", "install", ["snap install microk8s"])] },
      { title: "Empty", mode: "parallel", steps: [] },
      {
        title: "Form the cluster",
        mode: "serial",
        steps: [step("node-2", "join as control-plane", ["microk8s join 10.0.0.11:25000/<token>"])],
      },
    ];
    expect(describePlan(plan)).toBe(
      [
        "Install MicroK8s (nodes in parallel)",
        "  node-1: install",
        "      snap install microk8s",
        "Form the cluster (one node at a time)",
        "  node-2: join as control-plane",
        "      microk8s join 10.0.0.11:25000/<token>",
      ].join("\n"),
    );
    expect(planIsEmpty(plan)).toBe(false);
  });

  it('says "Nothing to do" for a plan without steps', () => {
    const plan: Plan = [
      { title: "A", mode: "parallel", steps: [] },
      { title: "B", mode: "serial", steps: [] },
    ];
    expect(planIsEmpty(plan)).toBe(true);
    expect(describePlan(plan)).toMatch(/^Nothing to do/);
    expect(describePlan([])).toMatch(/^Nothing to do/);
  });
});
