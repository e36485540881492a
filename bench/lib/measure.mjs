// Pure helpers of the benchmark: step costs, the critical-path lower bound, counting in sshd and hactl
// logs, and small statistics. No I/O here, so bench/test/measure.test.mjs can check them directly.

/** Step costs used when --cost is not given: the "package install 2 s, join 1 s". */
export const DEFAULT_COSTS = Object.freeze({ "snap-install": 2000, join: 1000 });

/**
 * Parse `snap-install=2000,join=1000` into `{ "snap-install": 2000, join: 1000 }` (milliseconds).
 * @param {string} text
 * @returns {Record<string, number>}
 */
export function parseCosts(text) {
  /** @type {Record<string, number>} */
  const costs = {};
  for (const part of text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([a-z][a-z0-9-]*)=(\d+)$/.exec(part);
    if (!m) throw new Error(`--cost: "${part}" is not KEY=MILLISECONDS (e.g. snap-install=2000,join=1000)`);
    costs[/** @type {string} */ (m[1])] = Number(m[2]);
  }
  return costs;
}

/**
 * Parse `3,10,30` into sorted unique integers within [min, max].
 * @param {string} text
 * @param {string} flag
 * @param {number} min
 * @param {number} max
 * @returns {number[]}
 */
export function parseSizes(text, flag, min, max) {
  if (text.trim() === "" || text.trim() === "none") return [];
  const sizes = text.split(",").map((s) => Number(s.trim()));
  for (const s of sizes) {
    if (!Number.isInteger(s) || s < min || s > max)
      throw new Error(`${flag}: each size must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return [...new Set(sizes)].sort((a, b) => a - b);
}

/**
 * The critical-path lower bound of a fresh MicroK8s install, in milliseconds, from the kit's step costs.
 *
 *   LB = max over nodes of cost(snap-install)                 parallel phase: the slowest node
 *      + (nodes - 1) x (cost(add-node) + cost(join))          serial phase: every join after the first node
 *      + sum of cost(enable-<addon>) over the addons enabled   serial, on the leader
 *
 * Steps that the kit does not charge for (facts, /etc/hosts, sysctl, LB configs, service starts) cost 0
 * here: the bound is what the fixed step costs alone force, so anything above it is the installer's
 * own overhead plus the real work those steps do in the lab.
 *
 * @param {{ nodes: number, costs: Record<string, number>, addonsEnabled?: readonly string[] }} input
 * @returns {{ totalMs: number, terms: { parallelInstallMs: number, serialJoinsMs: number, addonsMs: number } }}
 */
export function lowerBound({ nodes, costs, addonsEnabled = [] }) {
  const c = (/** @type {string} */ key) => costs[key] ?? 0;
  const parallelInstallMs = nodes > 0 ? c("snap-install") : 0;
  const serialJoinsMs = Math.max(0, nodes - 1) * (c("add-node") + c("join"));
  const addonsMs = addonsEnabled.reduce((sum, a) => sum + c(`enable-${a}`), 0);
  return {
    totalMs: parallelInstallMs + serialJoinsMs + addonsMs,
    terms: { parallelInstallMs, serialJoinsMs, addonsMs },
  };
}

/**
 * The lower bound of `add-node` for one new node: its install, then its join.
 * @param {Record<string, number>} costs
 */
export function addNodeLowerBound(costs) {
  return (costs["snap-install"] ?? 0) + (costs["add-node"] ?? 0) + (costs.join ?? 0);
}

/**
 * What one node's sshd logged (LogLevel VERBOSE) during a run.
 *   accepted     authenticated SSH connections ("Accepted publickey|password for ...")
 *   tcp          TCP connections to sshd ("Connection from ..."), including bare port probes
 *   sessions     session channels started ("Starting session: command|subsystem|shell ..."): one per
 *                remote command, SFTP channel or shell
 *   commands     of those, "command" sessions (exec requests)
 *   sftp         of those, SFTP subsystem sessions
 *   acceptedFrom authenticated connections per source address
 *
 * @param {string} text the part of sshd.log written during the run
 */
export function sshdStats(text) {
  /** @type {Record<string, number>} */
  const acceptedFrom = {};
  const stats = { accepted: 0, tcp: 0, sessions: 0, commands: 0, sftp: 0, acceptedFrom };
  for (const line of text.split("\n")) {
    const acc = /Accepted (?:publickey|password|keyboard-interactive\/\S+) for \S+ from (\S+) port \d+/.exec(line);
    if (acc) {
      stats.accepted++;
      const from = /** @type {string} */ (acc[1]);
      stats.acceptedFrom[from] = (stats.acceptedFrom[from] ?? 0) + 1;
      continue;
    }
    if (/Connection from \S+ port \d+ on /.test(line)) {
      stats.tcp++;
      continue;
    }
    const session = /Starting session: (command|subsystem|shell|forced-command)/.exec(line);
    if (session) {
      stats.sessions++;
      if (session[1] === "command" || session[1] === "forced-command") stats.commands++;
      if (session[1] === "subsystem") stats.sftp++;
    }
  }
  return stats;
}

/**
 * Remote commands per node from hactl's log file: lines like `2025-01-01T00:00:00.000Z [node-1] $ snap list microk8s (sudo)`.
 * @param {string} text
 * @returns {Record<string, number>}
 */
export function hactlCommandCounts(text) {
  /** @type {Record<string, number>} */
  const counts = {};
  for (const line of text.split("\n")) {
    const m = /^\S+ \[([^\]]+)\] \$ /.exec(line);
    if (m) counts[/** @type {string} */ (m[1])] = (counts[/** @type {string} */ (m[1])] ?? 0) + 1;
  }
  return counts;
}

/**
 * Addons that hactl enabled during a run, from its log (`[node-1] $ microk8s enable dns (sudo)`).
 * @param {string} text
 * @returns {string[]}
 */
export function addonsEnabledByHactl(text) {
  const found = new Set();
  for (const line of text.split("\n")) {
    const m = /^\S+ \[[^\]]+\] \$ (?:sudo )?microk8s enable (\S+)/.exec(line);
    if (m) found.add(m[1]);
  }
  return [...found];
}

/**
 * Peak resident set size in KiB from GNU time's `-v` report.
 * @param {string} text
 * @returns {number | undefined}
 */
export function maxRssKiB(text) {
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * min / median / max of a list of numbers (undefined for an empty list).
 * @param {readonly number[]} values
 */
export function spread(values) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: /** @type {number} */ (sorted[0]),
    median: median(sorted),
    max: /** @type {number} */ (sorted[sorted.length - 1]),
    total: sorted.reduce((s, v) => s + v, 0),
  };
}

/** @param {readonly number[]} values */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return NaN;
  return sorted.length % 2
    ? /** @type {number} */ (sorted[mid])
    : /** @type {number} */ (sorted[mid - 1] + /** @type {number} */ (sorted[mid])) / 2;
}

/**
 * The p-th percentile (nearest rank) of a list.
 * @param {readonly number[]} values
 * @param {number} p 0..100
 */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return /** @type {number} */ (sorted[rank - 1]);
}

/**
 * How long each phase took, from hactl's log: a phase runs from its `phase: <title>` line to the next
 * phase line, the last one to the last timestamped line of the log.
 * @param {string} text
 * @returns {{ phase: string, ms: number }[]}
 */
export function phaseDurations(text) {
  /** @type {{ phase: string, at: number }[]} */
  const marks = [];
  let last = NaN;
  for (const line of text.split("\n")) {
    const m = /^(\d{4}-\d\d-\d\dT\S+Z) (.*)$/.exec(line);
    if (!m) continue;
    const at = Date.parse(/** @type {string} */ (m[1]));
    if (Number.isNaN(at)) continue;
    last = at;
    const p = /^phase: (.*)$/.exec(/** @type {string} */ (m[2]));
    if (p) marks.push({ phase: /** @type {string} */ (p[1]), at });
  }
  return marks.map((mark, i) => ({ phase: mark.phase, ms: (marks[i + 1]?.at ?? last) - mark.at }));
}

/**
 * One line of a node's /var/log/hactl-kit/commands.jsonl: a kit stand-in run (tool, its leading
 * command words, start and end in epoch ms, exit code).
 * @typedef {{ tool: string, sub: string, start: number, end: number, code: number }} KitCommand
 */

/**
 * The entries of a commands.jsonl; lines that do not parse are skipped.
 * @param {string} text
 * @returns {KitCommand[]}
 */
export function parseCommandLog(text) {
  /** @type {KitCommand[]} */
  const entries = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line);
      if (typeof e.tool === "string" && typeof e.sub === "string" && Number.isFinite(e.start) && Number.isFinite(e.end))
        entries.push(e);
    } catch {
      continue;
    }
  }
  return entries;
}

/**
 * The measured critical path of a MicroK8s install (or add-node) from the kit's command logs: the
 * commands the lower bound charges for, with their real durations in the lab. Only entries that start
 * inside the run's window [from, to] count, each as end − start.
 *
 *   install = max over nodes of (its `snap install` + the first `microk8s status` that starts after
 *             that install ended, i.e. the wait-ready); a node without `snap install` counts 0
 *   joins   = Σ `microk8s add-node` + Σ `microk8s join`, over all nodes (add-node runs on the leader,
 *             join on the joining node); retried attempts count too
 *   addons  = Σ `microk8s enable <addon>` (on the leader)
 *
 * @param {Record<string, readonly KitCommand[]>} logs per node
 * @param {{ from: number, to: number }} window epoch ms
 * @returns {{ totalMs: number, terms: { parallelInstallMs: number, serialJoinsMs: number, addonsMs: number }, slowestInstall?: string }}
 */
export function measuredCriticalPath(logs, { from, to }) {
  const ms = (/** @type {KitCommand} */ e) => e.end - e.start;
  let parallelInstallMs = 0;
  /** @type {string | undefined} */
  let slowestInstall;
  let serialJoinsMs = 0;
  let addonsMs = 0;
  for (const [node, all] of Object.entries(logs)) {
    const entries = all.filter((e) => e.start >= from && e.start <= to).sort((a, b) => a.start - b.start);
    let installMs = 0;
    for (const install of entries.filter((e) => e.tool === "snap" && /^install\b/.test(e.sub))) {
      const ready = entries.find((e) => e.tool === "microk8s" && e.sub === "status" && e.start >= install.end);
      installMs += ms(install) + (ready ? ms(ready) : 0);
    }
    if (installMs > parallelInstallMs) [parallelInstallMs, slowestInstall] = [installMs, node];
    for (const e of entries.filter((x) => x.tool === "microk8s")) {
      if (e.sub === "add-node" || e.sub === "join") serialJoinsMs += ms(e);
      else if (/^enable /.test(e.sub)) addonsMs += ms(e);
    }
  }
  return {
    totalMs: parallelInstallMs + serialJoinsMs + addonsMs,
    terms: { parallelInstallMs, serialJoinsMs, addonsMs },
    slowestInstall,
  };
}

/**
 * The measured critical path of a rolling MicroK8s upgrade from the kit's command logs: what the order of
 * the upgrade forces, with the real durations in the lab. Each node's refresh is its `snap refresh` plus
 * the first `microk8s status` that starts after it (the wait-ready). Control planes go strictly one after
 * another, so their refreshes add up; workers go in batches, so each batch costs its slowest refresh
 * (batches are formed in the order the workers' refreshes started, `batchSize` at a time).
 *
 * @param {Record<string, readonly KitCommand[]>} logs per node
 * @param {{ from: number, to: number, controlPlanes: readonly string[], batchSize: number }} o
 * @returns {{ totalMs: number, terms: { controlPlanesMs: number, workerBatchesMs: number }, refreshes: number }}
 */
export function upgradeCriticalPath(logs, { from, to, controlPlanes, batchSize }) {
  /** @type {{ node: string, start: number, ms: number }[]} */
  const refreshes = [];
  for (const [node, all] of Object.entries(logs)) {
    const entries = all.filter((e) => e.start >= from && e.start <= to).sort((a, b) => a.start - b.start);
    for (const refresh of entries.filter((e) => e.tool === "snap" && e.sub === "refresh microk8s")) {
      const ready = entries.find((e) => e.tool === "microk8s" && e.sub === "status" && e.start >= refresh.end);
      refreshes.push({
        node,
        start: refresh.start,
        ms: refresh.end - refresh.start + (ready ? ready.end - ready.start : 0),
      });
    }
  }
  return rollingPath(refreshes, controlPlanes, batchSize);
}

/** The commands of a kubeadm node upgrade: apt (packages, holds), kubeadm upgrade plan/apply/node, the kubelet's restart. */
const isKubeadmUpgradeCommand = (/** @type {KitCommand} */ e) =>
  e.tool === "apt-get" ||
  e.tool === "apt-mark" ||
  (e.tool === "kubeadm" && e.sub.startsWith("upgrade ")) ||
  (e.tool === "systemctl" && (e.sub === "daemon-reload" || e.sub === "restart kubelet"));

/**
 * The measured critical path of a rolling kubeadm upgrade from the kit's command logs, as
 * upgradeCriticalPath does for MicroK8s. A node's own upgrade is what kubeadm's documented procedure
 * runs on it, one command after another: the kubeadm package (apt-get update, apt-mark unhold/hold,
 * apt-get install), `kubeadm upgrade plan` + `apply` on the first control plane or `kubeadm upgrade node`
 * elsewhere (this restarts a control plane's etcd member and API server), the kubelet and kubectl packages
 * and `systemctl daemon-reload` + `restart kubelet`; the sum of their durations. A node counts as
 * upgraded when it ran `kubeadm upgrade apply` or `node`.
 *
 * @param {Record<string, readonly KitCommand[]>} logs per node
 * @param {{ from: number, to: number, controlPlanes: readonly string[], batchSize: number }} o
 * @returns {{ totalMs: number, terms: { controlPlanesMs: number, workerBatchesMs: number }, refreshes: number }}
 */
export function kubeadmUpgradeCriticalPath(logs, { from, to, controlPlanes, batchSize }) {
  /** @type {{ node: string, start: number, ms: number }[]} */
  const upgrades = [];
  for (const [node, all] of Object.entries(logs)) {
    const steps = all
      .filter((e) => e.start >= from && e.start <= to && isKubeadmUpgradeCommand(e))
      .sort((a, b) => a.start - b.start);
    if (!steps.some((e) => e.tool === "kubeadm" && (e.sub === "upgrade apply" || e.sub === "upgrade node"))) continue;
    upgrades.push({
      node,
      start: steps[0]?.start ?? from,
      ms: steps.reduce((sum, e) => sum + (e.end - e.start), 0),
    });
  }
  return rollingPath(upgrades, controlPlanes, batchSize);
}

/**
 * The order's critical path from each node's own upgrade: control planes one after another (their
 * upgrades add up), workers in batches of `batchSize` in the order they started (each batch its slowest).
 * @param {{ node: string, start: number, ms: number }[]} upgrades @param {readonly string[]} controlPlanes @param {number} batchSize
 */
function rollingPath(upgrades, controlPlanes, batchSize) {
  const cps = new Set(controlPlanes);
  const controlPlanesMs = upgrades.filter((r) => cps.has(r.node)).reduce((sum, r) => sum + r.ms, 0);
  const workers = upgrades.filter((r) => !cps.has(r.node)).sort((a, b) => a.start - b.start);
  let workerBatchesMs = 0;
  for (let i = 0; i < workers.length; i += Math.max(1, batchSize))
    workerBatchesMs += Math.max(...workers.slice(i, i + Math.max(1, batchSize)).map((r) => r.ms));
  return {
    totalMs: controlPlanesMs + workerBatchesMs,
    terms: { controlPlanesMs, workerBatchesMs },
    refreshes: upgrades.length,
  };
}
