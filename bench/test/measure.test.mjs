// Checks of the benchmark's pure helpers: `node --test bench/test/`. They need no lab and no root.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  addNodeLowerBound,
  addonsEnabledByHactl,
  hactlCommandCounts,
  lowerBound,
  maxRssKiB,
  measuredCriticalPath,
  median,
  parseCommandLog,
  parseCosts,
  parseSizes,
  percentile,
  phaseDurations,
  spread,
  sshdStats,
  upgradeCriticalPath,
  kubeadmUpgradeCriticalPath,
} from "../lib/measure.mjs";
import { failoverSummary } from "../lib/failover.mjs";
import { replaceSection } from "../lib/report.mjs";
import { steadyPoint } from "../../test/lab/failover.mjs";

test("parseCosts reads KEY=MS pairs and rejects anything else", () => {
  assert.deepEqual(parseCosts("snap-install=2000, join=1000,add-node=50"), {
    "snap-install": 2000,
    join: 1000,
    "add-node": 50,
  });
  assert.deepEqual(parseCosts(""), {});
  assert.throws(() => parseCosts("join=1s"), /KEY=MILLISECONDS/);
  assert.throws(() => parseCosts("join"), /KEY=MILLISECONDS/);
});

test("parseSizes sorts, de-duplicates and checks the range", () => {
  assert.deepEqual(parseSizes("30,3,10,3", "--sizes", 1, 30), [3, 10, 30]);
  assert.deepEqual(parseSizes("none", "--sizes", 1, 30), []);
  assert.throws(() => parseSizes("31", "--sizes", 1, 30), /1 to 30/);
  assert.throws(() => parseSizes("2.5", "--sizes", 1, 30), /integer/);
});

test("lowerBound: the slowest parallel install, plus every join in series, plus enabled addons", () => {
  const costs = { "snap-install": 2000, join: 1000, "add-node": 100, "enable-dns": 500 };
  assert.deepEqual(lowerBound({ nodes: 10, costs }), {
    totalMs: 2000 + 9 * 1100,
    terms: { parallelInstallMs: 2000, serialJoinsMs: 9900, addonsMs: 0 },
  });
  assert.equal(lowerBound({ nodes: 3, costs, addonsEnabled: ["dns", "ha-cluster"] }).totalMs, 2000 + 2 * 1100 + 500);
  assert.equal(lowerBound({ nodes: 1, costs }).totalMs, 2000);
  assert.equal(addNodeLowerBound(costs), 3100);
});

test("sshdStats counts logins, TCP connections and sessions from a VERBOSE sshd log", () => {
  const log = [
    'Connection from 10.77.0.2 port 47732 on 10.77.0.11 port 22 rdomain ""',
    "Accepted key ED25519 SHA256:abc found at /var/lib/hactl-lab/keys/authorized_keys:1",
    "Accepted publickey for root from 10.77.0.2 port 47732 ssh2: ED25519 SHA256:abc",
    "Starting session: command for root from 10.77.0.2 port 47732 id 0",
    "Starting session: subsystem 'sftp' for root from 10.77.0.2 port 47732 id 1",
    "Starting session: command for root from 10.77.0.2 port 47732 id 2",
    'Connection from 10.77.0.12 port 56450 on 10.77.0.11 port 22 rdomain ""',
    "Connection closed by 10.77.0.12 port 56450 [preauth]",
    "",
  ].join("\n");
  assert.deepEqual(sshdStats(log), {
    accepted: 1,
    tcp: 2,
    sessions: 3,
    commands: 2,
    sftp: 1,
    acceptedFrom: { "10.77.0.2": 1 },
  });
  assert.deepEqual(sshdStats(""), { accepted: 0, tcp: 0, sessions: 0, commands: 0, sftp: 0, acceptedFrom: {} });
});

test("hactlCommandCounts and addonsEnabledByHactl read hactl's log lines", () => {
  const log = [
    "2025-01-01T00:00:00.000Z phase: Gather facts",
    "2025-01-01T00:00:00.100Z [node-1] $ snap list microk8s (sudo)",
    "2025-01-01T00:00:00.200Z [node-2] $ snap list microk8s (sudo)",
    "2025-01-01T00:00:00.300Z [node-1] $ microk8s enable dns (sudo)",
    "2025-01-01T00:00:00.400Z step [node-1] done: joined",
  ].join("\n");
  assert.deepEqual(hactlCommandCounts(log), { "node-1": 2, "node-2": 1 });
  assert.deepEqual(addonsEnabledByHactl(log), ["dns"]);
});

test("maxRssKiB reads GNU time -v output", () => {
  assert.equal(maxRssKiB("\tUser time (seconds): 0.50\n\tMaximum resident set size (kbytes): 81234\n"), 81234);
  assert.equal(maxRssKiB("nothing"), undefined);
});

test("median, percentile and spread", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), 9);
  assert.equal(percentile([5], 90), 5);
  assert.deepEqual(spread([2, 1, 3]), { min: 1, median: 2, max: 3, total: 6 });
  assert.equal(spread([]), undefined);
});

test("phaseDurations: from each phase line to the next, the last one to the end of the log", () => {
  const log = [
    "2025-01-01T00:00:00.000Z phase: Connect to 3 machines",
    "2025-01-01T00:00:00.500Z [node-1] connected",
    "2025-01-01T00:00:01.000Z phase: Gather facts",
    "  ok    node-1    os        debian 12",
    "2025-01-01T00:00:04.000Z phase: Verify",
    "2025-01-01T00:00:04.250Z step [cluster] done: API answers",
  ].join("\n");
  assert.deepEqual(phaseDurations(log), [
    { phase: "Connect to 3 machines", ms: 1000 },
    { phase: "Gather facts", ms: 3000 },
    { phase: "Verify", ms: 250 },
  ]);
  assert.deepEqual(phaseDurations(""), []);
});

test("measuredCriticalPath: slowest install + wait-ready, every add-node and join, every enable, inside the window", () => {
  const c = (
    /** @type {string} */ tool,
    /** @type {string} */ sub,
    /** @type {number} */ start,
    /** @type {number} */ end,
  ) => ({ tool, sub, start, end, code: 0 });
  const logs = {
    "node-1": [
      c("microk8s", "status", 900, 950), // before the run: not counted
      c("microk8s", "status", 1000, 1010), // state read before the install: not the wait-ready
      c("snap", "list microk8s", 1020, 1030),
      c("snap", "install microk8s", 1040, 3100),
      c("microk8s", "status", 3110, 3400),
      c("microk8s", "add-node", 4000, 4100),
      c("microk8s", "add-node", 5000, 5150),
      c("microk8s", "enable dns", 7000, 7300),
      c("microk8s", "status", 7400, 7500),
    ],
    "node-2": [
      c("snap", "install microk8s", 1050, 3300),
      c("microk8s", "status", 3300, 3800),
      c("microk8s", "join", 4100, 5000),
    ],
    "node-3": [
      c("snap", "install microk8s", 1060, 3200),
      c("microk8s", "status", 3250, 3300),
      c("microk8s", "join", 5150, 6400),
    ],
    "node-4": [c("snap", "install microk8s", 9000, 9100)], // after the run: not counted
  };
  assert.deepEqual(measuredCriticalPath(logs, { from: 1000, to: 8000 }), {
    totalMs: 2750 + (100 + 150 + 900 + 1250) + 300,
    terms: { parallelInstallMs: 2750, serialJoinsMs: 2400, addonsMs: 300 },
    slowestInstall: "node-2",
  });
  assert.deepEqual(measuredCriticalPath({}, { from: 0, to: 1 }), {
    totalMs: 0,
    terms: { parallelInstallMs: 0, serialJoinsMs: 0, addonsMs: 0 },
    slowestInstall: undefined,
  });
});

test("parseCommandLog skips lines that are not kit command entries", () => {
  const text = '{"tool":"snap","sub":"install microk8s","start":1,"end":2,"code":0}\nnot json\n{"tool":"snap"}\n\n';
  assert.deepEqual(parseCommandLog(text), [{ tool: "snap", sub: "install microk8s", start: 1, end: 2, code: 0 }]);
});

test("steadyPoint: the answer to the first of N successes in a row after the last failure, 0 when none failed", () => {
  const p = (/** @type {number} */ at, ok = true, ms = 5) => ({ at, ms, ok });
  assert.deepEqual(steadyPoint([p(0, true, 1000), p(1050), p(1100)], 3), {
    steady: true,
    recoveredMs: 0,
    firstSteadyIndex: 0,
  });
  assert.deepEqual(
    steadyPoint([p(0), p(100, false), p(2100, true, 1000), p(3150), p(3200), p(3250, false), p(3400), p(3500)], 2),
    { steady: true, recoveredMs: 3100, firstSteadyIndex: 2 },
  );
  assert.deepEqual(steadyPoint([p(0, false), p(100)], 2), {
    steady: false,
    recoveredMs: undefined,
    firstSteadyIndex: undefined,
  });
});

test("failoverSummary: median and worst per case, failed requests, the slowest request once steady", () => {
  const round = (
    /** @type {"holder" | "non-holder"} */ scenario,
    /** @type {number | undefined} */ recoveredMs,
    failed = 1,
  ) => ({
    round: 1,
    scenario,
    node: "node-1",
    vipAfter: ["node-2"],
    recoveredMs,
    steady: recoveredMs !== undefined,
    failed,
    probes: 30,
    firstFailureMs: 0,
    lastFailureMs: 0,
    slowestOkMs: 40,
    errors: [],
    stopMs: 20,
  });
  const [holder, other] = failoverSummary([
    round("holder", 3100),
    round("holder", 3500, 3),
    round("non-holder", 0, 0),
    round("non-holder", undefined),
  ]);
  assert.deepEqual(
    [holder?.rounds, holder?.recovered?.median, holder?.recovered?.max, holder?.failed?.max, holder?.notSteady],
    [2, 3300, 3500, 3, 0],
  );
  assert.deepEqual([other?.rounds, other?.recovered?.max, other?.notSteady, other?.slowestOkMs], [2, 0, 1, 40]);
});

test("replaceSection swaps one ## section, or inserts it before another heading", () => {
  const text = "# R\n\n## A\n\nold a\n\n## T\n\n- t\n";
  assert.equal(replaceSection(text, "## A", "## A\n\nnew a", "## T"), "# R\n\n## A\n\nnew a\n\n## T\n\n- t\n");
  assert.equal(replaceSection(text, "## F", "## F\n\nf", "## T"), "# R\n\n## A\n\nold a\n\n## F\n\nf\n\n## T\n\n- t\n");
  assert.equal(replaceSection("# R\n", "## F", "## F\n\nf", "## T"), "# R\n\n## F\n\nf\n\n");
  assert.equal(replaceSection("# R\n\n## F\n\nold\n", "## F", "## F\n\nf", "## T"), "# R\n\n## F\n\nf\n\n");
});

test("upgradeCriticalPath: control planes' refresh + wait-ready add up, each worker batch costs its slowest", () => {
  const e = (
    /** @type {string} */ tool,
    /** @type {string} */ sub,
    /** @type {number} */ start,
    /** @type {number} */ end,
  ) => ({ tool, sub, start, end, code: 0 });
  const logs = {
    "node-1": [e("snap", "refresh microk8s", 1000, 3000), e("microk8s", "status", 3100, 3600)],
    "node-2": [
      e("snap", "refresh microk8s", 4000, 5000),
      e("microk8s", "status", 5000, 5200),
      e("snap", "refresh microk8s", 50, 60),
    ],
    "node-4": [e("snap", "refresh microk8s", 6000, 7000)],
    "node-5": [e("snap", "refresh microk8s", 6100, 8000)],
    "node-6": [e("snap", "refresh microk8s", 9000, 9500)],
  };
  assert.deepEqual(
    upgradeCriticalPath(logs, { from: 500, to: 10_000, controlPlanes: ["node-1", "node-2", "node-3"], batchSize: 2 }),
    {
      totalMs: 2500 + 1200 + 1900 + 500,
      terms: { controlPlanesMs: 3700, workerBatchesMs: 2400 },
      refreshes: 5,
    },
  );
});

test("kubeadmUpgradeCriticalPath: a node's apt, kubeadm upgrade and kubelet restart add up; other commands do not count", () => {
  const e = (
    /** @type {string} */ tool,
    /** @type {string} */ sub,
    /** @type {number} */ start,
    /** @type {number} */ end,
  ) => ({ tool, sub, start, end, code: 0 });
  const node = (/** @type {number} */ t, /** @type {string} */ kubeadm) => [
    e("apt-get", "update", t, t + 100),
    e("apt-mark", "unhold", t + 100, t + 150),
    e("apt-get", "install", t + 150, t + 400),
    e("kubectl", "drain", t - 500, t),
    e("kubeadm", kubeadm, t + 400, t + 2400),
    e("kubeadm", "version", t + 2400, t + 2450),
    e("systemctl", "reload haproxy", t + 2450, t + 2600),
    e("systemctl", "daemon-reload", t + 2600, t + 2650),
    e("systemctl", "restart kubelet", t + 2650, t + 2850),
  ];
  const logs = {
    "node-3": [e("kubeadm", "upgrade plan", 1000, 1300), ...node(1000, "upgrade apply")],
    "node-2": node(5000, "upgrade node"),
    "node-1": [e("apt-get", "update", 9000, 9100)],
    "node-4": node(10_000, "upgrade node"),
    "node-5": [...node(10_100, "upgrade node"), e("apt-get", "install", 100, 200)],
  };
  assert.deepEqual(
    kubeadmUpgradeCriticalPath(logs, {
      from: 500,
      to: 20_000,
      controlPlanes: ["node-1", "node-2", "node-3"],
      batchSize: 2,
    }),
    {
      // node-3: plan 300 + apt 400 + apply 2000 + daemon-reload and restart 250; node-2 and each worker: 2650
      totalMs: 2950 + 2650 + 2650,
      terms: { controlPlanesMs: 2950 + 2650, workerBatchesMs: 2650 },
      refreshes: 4,
    },
  );
});
