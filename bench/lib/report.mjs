// bench/RESULTS.md from the measured results: machine, command, date, a summary, one table per size,
// start-up and add-node tables, and the issue's targets checked against the numbers.

import { failoverSummary } from "./failover.mjs";
import { addNodeLowerBound, lowerBound, spread } from "./measure.mjs";

/**
 * @typedef {import("./runs.mjs").RunResult} RunResult
 * @typedef {{ machine: Record<string, string>, command: string, date: string, costs: Record<string, number>,
 *   sizes: number[], tools: string[], runs: RunResult[], addNode: (RunResult & { installMs: number })[],
 *   upgrade?: UpgradeRun[], upgradeKubeadm?: UpgradeRun[],
 *   startup?: ReturnType<typeof import("./startup.mjs").measureStartup>, totalMs: number, notes: string[],
 *   failover?: import("./failover.mjs").FailoverResults }} BenchResults
 */

/** @typedef {RunResult & { installMs: number, upgradePath?: ReturnType<typeof import("./measure.mjs").upgradeCriticalPath> }} UpgradeRun */

const s = (/** @type {number} */ ms) => (ms / 1000).toFixed(1);

const MEASURED_NOTE =
  "Lower bound = the kit's step charges only. Measured critical path = the same essential commands (snap install and wait-ready on the slowest node, " +
  "every add-node and join, every addon enable) with their real durations in the lab, from the kit's command logs: charge plus the kit's own work on this machine's cores. " +
  "So wall ÷ measured critical path is the installer's own overhead.";
const ratio = (/** @type {number} */ a, /** @type {number} */ b) => (b > 0 ? (a / b).toFixed(2) : "–");

/** "min–max (median m)" of a per-node field; "n" when all nodes agree. */
function perNodeText(/** @type {RunResult} */ run, /** @type {(x: RunResult["perNode"][string]) => number} */ pick) {
  const values = Object.values(run.perNode).map(pick);
  const sp = spread(values);
  if (!sp) return "–";
  if (sp.min === sp.max) return String(sp.min);
  return `${sp.min}–${sp.max} (median ${sp.median})`;
}

/** The leader's value, then the other nodes' spread. */
function leaderAndOthers(
  /** @type {RunResult} */ run,
  /** @type {(x: RunResult["perNode"][string]) => number} */ pick,
  leader = "node-1",
) {
  const entries = Object.entries(run.perNode);
  const lead = entries.find(([n]) => n === leader);
  const others = spread(entries.filter(([n]) => n !== leader).map(([, v]) => pick(v)));
  const othersText = !others
    ? ""
    : others.min === others.max
      ? `; others ${others.min}`
      : `; others ${others.min}–${others.max}`;
  return `${lead ? `${leader} ${pick(lead[1])}` : "–"}${othersText}`;
}

/**
 * "hactl's phases (its log): Connect 0.2 s · ... · Form the cluster 12.0 s (6.0 s per join; the kit charges 1.0 s)".
 * @param {RunResult} run @param {number} joins @param {Record<string, number>} costs
 */
function phasesLine(run, joins, costs) {
  const parts = (run.phases ?? []).map((p) => {
    const perJoin =
      p.phase === "Form the cluster" && joins > 0
        ? ` (${s(p.ms / joins)} s per join; the kit charges ${s((costs["add-node"] ?? 0) + (costs.join ?? 0))} s)`
        : "";
    return `${p.phase} ${s(p.ms)} s${perJoin}`;
  });
  return `hactl's phases (from its log): ${parts.join(" · ")}.`;
}

/** The 1-minute load average before the run (other work on the machine shows up here). @param {RunResult} run */
function load(run) {
  return run.load1 !== undefined ? run.load1.toFixed(2) : "–";
}

/** The run's measured critical path in seconds, "–" when its results predate it. @param {RunResult | undefined} run */
function measuredText(run) {
  return run?.measured ? s(run.measured.totalMs) : "–";
}

/** wall ÷ measured critical path of a completed run. @param {RunResult | undefined} run */
function measuredRatio(run) {
  return run?.ok && run.measured ? ratio(run.wallMs, run.measured.totalMs) : "–";
}

/** "hactl 9.8 s = install 3.1 s + joins 6.2 s + addons 0.0 s" for each run that has a measured path. @param {RunResult[]} runs */
function measuredLine(runs) {
  const parts = runs
    .filter((run) => run.measured)
    .map((run) => {
      const m = /** @type {NonNullable<RunResult["measured"]>} */ (run.measured);
      return `${run.tool} ${s(m.totalMs)} s = install ${s(m.terms.parallelInstallMs)} s + joins ${s(m.terms.serialJoinsMs)} s + addons ${s(m.terms.addonsMs)} s`;
    });
  return parts.length ? `Measured critical path (the kit's command logs): ${parts.join(" · ")}.` : undefined;
}

/** @param {RunResult} run */
function status(run) {
  if (run.ok) return "ok";
  if (run.timedOut) return "TIMED OUT";
  return `FAILED (exit ${run.code})${run.note ? `: ${run.note}` : ""}`;
}

/** @param {BenchResults} r */
export function lowerBoundFor(r, /** @type {number} */ size) {
  const hactl = r.runs.find((x) => x.tool === "hactl" && x.size === size);
  return lowerBound({ nodes: size, costs: r.costs, addonsEnabled: hactl?.addonsEnabled ?? [] });
}

/**
 * @param {BenchResults} r
 * @returns {string}
 */
export function renderResults(r) {
  const lines = [];
  lines.push("# hactl benchmark results", "");
  lines.push(
    "Written by `bench/run.mjs`; see bench/README.md for what each number means and how the lower bound is computed.",
    "",
  );
  lines.push("## Run", "");
  lines.push(`- Date: ${r.date}`);
  lines.push(`- Command: \`${r.command}\``);
  lines.push(
    `- Sizes: ${r.sizes.length ? r.sizes.join(", ") : "none"} nodes (3 control planes, the rest workers; keepalived + haproxy on the control planes); runs: ${r.tools.join(", ")}`,
  );
  lines.push(
    `- add-node: ${r.addNode.length ? r.addNode.map((a) => `${a.size} → ${a.size + 1} nodes`).join(", ") : "not run"}`,
  );
  lines.push(
    `- Failover: ${r.failover ? `${new Set(r.failover.rounds.map((x) => x.round)).size} round(s) of power-offs on 3 control planes` : "not run"}`,
  );
  lines.push(
    `- upgrade 1.29 → 1.30: ${r.upgrade?.length ? r.upgrade.map((u) => `${u.size} nodes`).join(", ") : "not run"}`,
  );
  lines.push(
    `- kubeadm upgrade 1.32 → 1.33: ${r.upgradeKubeadm?.length ? r.upgradeKubeadm.map((u) => `${u.size} nodes`).join(", ") : "not run"}`,
  );
  lines.push(
    `- Node-kit step costs: ${
      Object.entries(r.costs)
        .map(([k, v]) => `${k} = ${v} ms`)
        .join(", ") || "none"
    }`,
  );
  lines.push(`- Whole benchmark took ${s(r.totalMs)} s`);
  lines.push("", "## Machine", "");
  for (const [k, v] of Object.entries(r.machine)) lines.push(`- ${k}: ${v}`);
  for (const n of r.notes) lines.push(`- ${n}`);

  if (r.sizes.length) {
    lines.push("", "## Summary: install wall time (seconds)", "");
    lines.push(MEASURED_NOTE, "");
    lines.push(
      "| nodes | lower bound | measured critical path (hactl's run) | hactl | ansible, defaults | ansible, tuned | hactl ÷ lower bound | hactl ÷ measured critical path | ansible defaults ÷ hactl | ansible tuned ÷ hactl |",
    );
    lines.push("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const size of r.sizes) {
      const lb = lowerBoundFor(r, size).totalMs;
      const get = (/** @type {string} */ tool) => r.runs.find((x) => x.tool === tool && x.size === size);
      const cell = (/** @type {RunResult | undefined} */ run) =>
        !run ? "not run" : run.ok ? s(run.wallMs) : status(run);
      const h = get("hactl");
      const ad = get("ansible-default");
      const at = get("ansible-tuned");
      const okMs = (/** @type {RunResult | undefined} */ run) => (run?.ok ? run.wallMs : undefined);
      const div = (/** @type {number | undefined} */ a, /** @type {number | undefined} */ b) =>
        a !== undefined && b !== undefined ? ratio(a, b) : "–";
      lines.push(
        `| ${size} | ${s(lb)} | ${measuredText(h)} | ${cell(h)} | ${cell(ad)} | ${cell(at)} | ${div(okMs(h), lb)} | ${measuredRatio(h)} | ${div(okMs(ad), okMs(h))} | ${div(okMs(at), okMs(h))} |`,
      );
    }
  }

  for (const size of r.sizes) {
    const lb = lowerBoundFor(r, size);
    const hactl = r.runs.find((x) => x.tool === "hactl" && x.size === size);
    lines.push("", `## ${size} nodes`, "");
    lines.push(
      `Lower bound ${s(lb.totalMs)} s = install ${s(lb.terms.parallelInstallMs)} s (parallel) + ${size - 1} joins ${s(lb.terms.serialJoinsMs)} s (serial) + addons ${s(lb.terms.addonsMs)} s` +
        `${hactl?.addonsEnabled?.length ? ` (hactl enabled: ${hactl.addonsEnabled.join(", ")})` : " (no addon needed enabling)"}.`,
      "",
    );
    const sizeRuns = r.runs.filter((x) => x.size === size);
    const measured = measuredLine(sizeRuns);
    if (measured) lines.push(measured, "");
    if (hactl?.phases?.length) lines.push(phasesLine(hactl, size - 1, r.costs), "");
    lines.push(
      "| run | result | wall (s) | ÷ lower bound | measured critical path (s) | wall ÷ measured critical path | ÷ hactl | SSH logins per node | TCP connections to sshd per node | SSH sessions per node (exec + sftp) | hactl commands per node (its log) | peak RSS (MiB) | load before |",
    );
    lines.push("|---|---|---:|---:|---:|---:|---:|---|---|---|---|---:|---:|");
    lines.push(
      `| lower bound | – | ${s(lb.totalMs)} | 1.00 | – | – | ${hactl?.ok ? ratio(lb.totalMs, hactl.wallMs) : "–"} | – | – | – | – | – | – |`,
    );
    for (const run of sizeRuns) {
      const rss = run.peakRssKiB !== undefined ? (run.peakRssKiB / 1024).toFixed(0) : "–";
      const cmds = run.tool === "hactl" ? leaderAndOthers(run, (x) => x.hactlCommands ?? 0) : "–";
      lines.push(
        `| ${run.tool} | ${status(run)} | ${s(run.wallMs)} | ${run.ok ? ratio(run.wallMs, lb.totalMs) : "–"} | ${measuredText(run)} | ${measuredRatio(run)} | ${hactl?.ok && run.ok ? ratio(run.wallMs, hactl.wallMs) : "–"} | ${perNodeText(run, (x) => x.accepted)} | ${perNodeText(run, (x) => x.tcp)} | ${leaderAndOthers(run, (x) => x.sessions)} | ${cmds} | ${rss} | ${load(run)} |`,
      );
    }
  }

  if (r.addNode.length) {
    const lb = addNodeLowerBound(r.costs);
    lines.push("", "## add-node: one worker joins an installed cluster", "");
    lines.push(
      `Lower bound ${s(lb)} s = snap-install + add-node + join of the one new node; the measured critical path is the same commands' real durations in the lab.`,
      "",
    );
    lines.push(
      "| cluster before | result | add-node wall (s) | ÷ lower bound | measured critical path (s) | wall ÷ measured critical path | SSH logins per node | hactl commands: leader; new node; others | SSH sessions: leader; new node; others | peak RSS (MiB) | load before | install of the cluster before (s, not part of the figure) |",
    );
    lines.push("|---:|---|---:|---:|---:|---:|---|---|---|---:|---:|---:|");
    /** @type {string[]} */
    const phaseNotes = [];
    for (const a of r.addNode) {
      if (a.phases?.length) phaseNotes.push(`- ${a.size} → ${a.size + 1} nodes: ${phasesLine(a, 1, r.costs)}`);
      const measured = measuredLine([a]);
      if (measured) phaseNotes.push(`- ${a.size} → ${a.size + 1} nodes: ${measured}`);
      const newNode = `node-${a.size + 1}`;
      const three = (/** @type {(x: RunResult["perNode"][string]) => number} */ pick) => {
        const entries = Object.entries(a.perNode);
        const lead = entries.find(([n]) => n === "node-1")?.[1];
        const added = entries.find(([n]) => n === newNode)?.[1];
        const others = spread(entries.filter(([n]) => n !== "node-1" && n !== newNode).map(([, v]) => pick(v)));
        const o = !others ? "–" : others.min === others.max ? String(others.min) : `${others.min}–${others.max}`;
        return `${lead ? pick(lead) : "–"}; ${added ? pick(added) : "–"}; ${o}`;
      };
      const rss = a.peakRssKiB !== undefined ? (a.peakRssKiB / 1024).toFixed(0) : "–";
      lines.push(
        `| ${a.size} nodes | ${status(a)} | ${a.ok ? s(a.wallMs) : "–"} | ${a.ok ? ratio(a.wallMs, lb) : "–"} | ${measuredText(a)} | ${measuredRatio(a)} | ${perNodeText(a, (x) => x.accepted)} | ${three((x) => x.hactlCommands ?? 0)} | ${three((x) => x.sessions)} | ${rss} | ${load(a)} | ${s(a.installMs)} |`,
      );
    }
    if (phaseNotes.length) lines.push("", ...phaseNotes);
  }

  if (r.upgrade?.length)
    lines.push(
      "",
      ...upgradeSection(
        r.upgrade,
        "## upgrade: a rolling MicroK8s upgrade, 1.29 → 1.30",
        "Measured critical path = what the upgrade's order forces, from the kit's command logs: every control plane's `snap refresh` + wait-ready one after another, " +
          "plus each worker batch's slowest refresh + wait-ready (batches of max(1, 10 %) of the workers). Everything above it is hactl's own work per node: " +
          "drain, the load balancers without the node (validated reloads) and the VIP moved away, the checks (Ready on the new version, voters, the API through the VIP), the load balancers back, uncordon.",
        "refreshes",
      ),
    );
  if (r.upgradeKubeadm?.length)
    lines.push(
      "",
      ...upgradeSection(
        r.upgradeKubeadm,
        "## upgrade-kubeadm: a rolling kubeadm upgrade, 1.32 → 1.33",
        "Measured critical path = what the upgrade's order forces, from the kit's command logs: each node's own upgrade as kubeadm documents it " +
          "(apt-get update, apt-mark unhold/hold and apt-get install of the kubeadm package; `kubeadm upgrade plan` + `apply` on the first control plane, " +
          "`kubeadm upgrade node` on the others, which restarts the node's etcd member and API server; the kubelet and kubectl packages; `systemctl daemon-reload` + `restart kubelet`), " +
          "control planes one after another, plus each worker batch's slowest (batches of max(1, 10 %) of the workers). Everything above it is hactl's own work per node: " +
          "drain, the load balancers without the node (validated reloads) and the VIP moved away, the checks (Ready on the new version, etcd's voting members started, the API through the VIP), the load balancers back, uncordon.",
        "nodes upgraded",
      ),
    );

  if (r.startup) {
    const base = r.startup.find((c) => c.name === "node -e 0");
    lines.push("", `## Start-up (${base?.samplesMs.length ?? 0} runs each, median)`, "");
    lines.push("| command | median (ms) | p90 (ms) | ÷ node -e 0 (median) |");
    lines.push("|---|---:|---:|---:|");
    for (const c of r.startup)
      lines.push(
        `| \`${c.name}\` | ${c.medianMs.toFixed(1)} | ${c.p90Ms.toFixed(1)} | ${base ? ratio(c.medianMs, base.medianMs) : "–"} |`,
      );
  }

  if (r.failover) lines.push("", ...failoverSection(r.failover));

  lines.push("", "## The issue's targets against these numbers", "");
  for (const t of targets(r)) lines.push(`- ${t}`);
  lines.push("");
  return lines.join("\n");
}

/** @param {BenchResults} r @returns {string[]} */
function targets(r) {
  const out = [];
  for (const size of r.sizes) {
    const h = r.runs.find((x) => x.tool === "hactl" && x.size === size);
    if (!h?.ok) {
      out.push(`${size} nodes: hactl did not complete, so no target can be checked.`);
      continue;
    }
    const lb = lowerBoundFor(r, size).totalMs;
    const q = h.wallMs / lb;
    out.push(`hactl ÷ lower bound ≤ 1.10 at ${size} nodes: ${q.toFixed(2)} — ${q <= 1.1 ? "met" : "NOT met"}.`);
    const logins = Object.values(h.perNode).map((x) => x.accepted);
    const one = logins.every((n) => n === 1);
    out.push(
      `One SSH connection per node per hactl run at ${size} nodes: ${one ? "met (1 on every node)" : `NOT met (${perNodeText(h, (x) => x.accepted)})`}.`,
    );
    const ad = r.runs.find((x) => x.tool === "ansible-default" && x.size === size);
    if (ad?.ok)
      out.push(
        `hactl faster than Ansible with its defaults at ${size} nodes: ${ad.wallMs > h.wallMs ? "met" : "NOT met"}, Ansible takes ${(ad.wallMs / h.wallMs).toFixed(2)}× hactl's time.`,
      );
  }
  if (r.startup) {
    const base = r.startup.find((c) => c.name === "node -e 0");
    const v = r.startup.find((c) => c.name === "hactl --version");
    if (base && v)
      out.push(
        `\`hactl --version\` within 2× of \`node -e 0\`: ${(v.medianMs / base.medianMs).toFixed(2)}× — ${v.medianMs <= 2 * base.medianMs ? "met" : "NOT met"}.`,
      );
  }
  for (const f of r.failover ? failoverSummary(r.failover.rounds) : []) {
    if (!f.rounds) continue;
    const worst = f.notSteady ? undefined : f.recovered?.max;
    out.push(
      `API steady through the VIP within 4 s of powering off ${SCENARIO[f.scenario]}: worst of ${f.rounds} ${worst === undefined ? `not steady in ${f.notSteady}` : `${s(worst)} s`} — ${worst !== undefined && worst <= 4000 ? "met" : "NOT met"}.`,
    );
  }
  if (r.addNode.length >= 2) {
    const [small, large] = [r.addNode[0], r.addNode[r.addNode.length - 1]];
    if (small?.ok && large?.ok)
      out.push(
        `add-node on ${large.size} nodes takes ${(large.wallMs / small.wallMs).toFixed(2)}× the time on ${small.size} nodes.`,
      );
  }
  return out;
}

const SCENARIO = { holder: "the VIP holder", "non-holder": "a control plane that does not hold the VIP" };

/** "## API failover through the VIP": how it is measured, a summary per case and every round. @param {import("./failover.mjs").FailoverResults} f */
function failoverSection(f) {
  const lines = ["## API failover through the VIP", ""];
  lines.push(
    "A fresh lab of 3 MicroK8s control planes installed by hactl (keepalived + haproxy on each). Per round, one control plane is powered off " +
      "(lab.mjs stopNode: its link goes down and every process in it is killed at once), first the VIP holder, then one that does not hold the VIP; " +
      "each is booted again, and its API server is ready, before the next. From the workstation, `GET /livez` through VIP:7443, one request after another " +
      "(50 ms apart) on fresh TCP+TLS connections, each counted as failed without a 200 within 2 s. The figure is the time from the power-off until the first of " +
      "20 successful requests in a row was answered (0 when no request failed).",
    "",
  );
  if (!f.ok && f.rounds.length === 0) {
    lines.push(`Not measured: ${f.note ?? "failed"}.`);
    return lines;
  }
  lines.push(
    "| power-off of | rounds | steady again after: median (s) | worst (s) | failed requests per round | slowest request once steady (s) |",
  );
  lines.push("|---|---:|---:|---:|---|---:|");
  for (const x of failoverSummary(f.rounds)) {
    if (!x.rounds) continue;
    const failed = x.failed
      ? x.failed.min === x.failed.max
        ? String(x.failed.min)
        : `${x.failed.min}–${x.failed.max} (median ${x.failed.median})`
      : "–";
    const worst = x.notSteady ? `not steady in ${x.notSteady} round(s)` : x.recovered ? s(x.recovered.max) : "–";
    lines.push(
      `| ${SCENARIO[x.scenario]} | ${x.rounds} | ${x.recovered ? s(x.recovered.median) : "–"} | ${worst} | ${failed} | ${(x.slowestOkMs / 1000).toFixed(2)} |`,
    );
  }
  lines.push("", "Every round:", "");
  for (const x of f.rounds) {
    const errors = x.errors.length ? `: ${x.errors.join("; ")}` : "";
    lines.push(
      `- round ${x.round}, ${x.node} (${x.scenario === "holder" ? "VIP holder" : "not the holder"}): steady after ${x.recoveredMs === undefined ? "– (not steady)" : `${s(x.recoveredMs)} s`}, ${x.failed} of ${x.probes} requests failed${errors}; VIP then on ${x.vipAfter.join(", ") || "nobody"}`,
    );
  }
  return lines;
}

/**
 * A failover-only run keeps an earlier full run's results: only its "## API failover through the VIP"
 * section (inserted before the targets when missing) and its failover target lines are replaced.
 * @param {string} previous the results file as it is @param {BenchResults} r
 */
export function renderFailoverOnly(previous, r) {
  const f = /** @type {import("./failover.mjs").FailoverResults} */ (r.failover);
  const section = [...failoverSection(f), "", `Measured ${r.date} with \`${r.command}\` (${s(r.totalMs)} s).`].join(
    "\n",
  );
  const targetLines = targets({ ...r, sizes: [], addNode: [], startup: undefined }).map((t) => `- ${t}`);
  let text = replaceSection(
    previous,
    "## API failover through the VIP",
    section,
    "## The issue's targets against these numbers",
  );
  text = text
    .split("\n")
    .filter((l) => !/^- API steady through the VIP within 4 s/.test(l))
    .join("\n");
  const heading = "## The issue's targets against these numbers\n\n";
  const at = text.indexOf(heading);
  if (at < 0) return `${text.trimEnd()}\n\n${heading}${targetLines.join("\n")}\n`;
  return `${text.slice(0, at + heading.length)}${targetLines.map((l) => `${l}\n`).join("")}${text.slice(at + heading.length)}`;
}

/**
 * Replace the section that starts with `heading` (up to the next "## " heading) by `body`, or insert it
 * before `before` (or at the end) when the text has no such section. Pure.
 * @param {string} text @param {string} heading @param {string} body @param {string} before
 */
export function replaceSection(text, heading, body, before) {
  const block = `${body.trimEnd()}\n\n`;
  const start = text.indexOf(`${heading}\n`);
  if (start >= 0) {
    const next = text.indexOf("\n## ", start + heading.length);
    return `${text.slice(0, start)}${block}${next < 0 ? "" : text.slice(next + 1)}`;
  }
  const at = text.indexOf(`${before}\n`);
  if (at < 0) return `${text.trimEnd()}\n\n${block}`;
  return `${text.slice(0, at)}${block}${text.slice(at)}`;
}

/**
 * One upgrade table (wall time against the measured critical path per size) with hactl's phases per size.
 * @param {UpgradeRun[]} runs @param {string} heading @param {string} meaning @param {string} counted what the count column counts
 */
function upgradeSection(runs, heading, meaning, counted) {
  const lines = [heading, "", meaning, ""];
  lines.push(
    `| nodes | result | upgrade wall (s) | measured critical path (s) | = control planes (s) + worker batches (s) | wall ÷ measured critical path | ${counted} | SSH logins per node | peak RSS (MiB) | load before | install before (s, not part of the figure) |`,
  );
  lines.push("|---:|---|---:|---:|---|---:|---:|---|---:|---:|---:|");
  /** @type {string[]} */
  const phaseNotes = [];
  for (const u of runs) {
    const p = u.upgradePath;
    const rss = u.peakRssKiB !== undefined ? (u.peakRssKiB / 1024).toFixed(0) : "–";
    lines.push(
      `| ${u.size} | ${status(u)} | ${u.ok ? s(u.wallMs) : "–"} | ${p ? s(p.totalMs) : "–"} | ${p ? `${s(p.terms.controlPlanesMs)} + ${s(p.terms.workerBatchesMs)}` : "–"} | ${u.ok && p ? ratio(u.wallMs, p.totalMs) : "–"} | ${p?.refreshes ?? "–"} | ${perNodeText(u, (x) => x.accepted)} | ${rss} | ${load(u)} | ${s(u.installMs)} |`,
    );
    if (u.phases?.length)
      phaseNotes.push(
        `- ${u.size} nodes: hactl's phases (from its log): ${u.phases.map((ph) => `${ph.phase} ${s(ph.ms)} s`).join(" · ")}.`,
      );
  }
  if (phaseNotes.length) lines.push("", ...phaseNotes);
  return lines;
}
