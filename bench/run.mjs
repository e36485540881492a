// `npm run bench`: hactl against Ansible and against the critical-path lower bound on lab nodes, plus
// start-up and add-node time. Writes bench/RESULTS.md (and results.json in its work directory).
// See bench/README.md. Needs root (the lab); takes the lab lock like `npm test`.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  acquireLabLock,
  ensureRequirements,
  ensureWorkstation,
  labDown,
  labNamespaces,
  releaseLabLock,
  MAX_NODES,
} from "../test/lab/lab.mjs";
import { DEFAULT_COSTS, parseCosts, parseSizes, phaseDurations } from "./lib/measure.mjs";
import { stopRunning } from "./lib/proc.mjs";
import { runFailover } from "./lib/failover.mjs";
import { renderFailoverOnly, renderResults } from "./lib/report.mjs";
import { UPGRADES, runAddNode, runAnsible, runHactlInstall, runUpgrade, usePrivateRootHome } from "./lib/runs.mjs";
import { measureStartup } from "./lib/startup.mjs";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const SELF = fileURLToPath(import.meta.url);
// in run order: the slowest (Ansible with its defaults) last
const TOOLS = ["hactl", "ansible-tuned", "ansible-default"];

/** Files a kubeadm install writes on the lab machine itself (as test/e2e/upgrade-kubeadm.test.ts cleans up). */
const KUBEADM_HOST_FILES = ["/etc/modules-load.d/k8s.conf", "/etc/containerd/config.toml"];

const USAGE = `usage: npm run bench [-- options]
  --sizes 3,10,30          cluster sizes for the install comparison (default 3,10,30; "none" to skip)
  --cost KEY=MS,...        node-kit step costs (default snap-install=2000,join=1000)
  --tools LIST             which installs to time: ${TOOLS.join(",")} (default all)
  --add-node 3,29          existing cluster sizes for the add-node timing (default 3,29; "none" to skip)
  --upgrade 3,10           cluster sizes for the MicroK8s upgrade timing, 1.29 -> 1.30 (default 3,10; "none" to skip)
  --upgrade-kubeadm 3,10   cluster sizes for the kubeadm upgrade timing, 1.32 -> 1.33 (default 3,10; "none" to skip)
  --startup-runs N         fresh processes per start-up case (default 20; 0 to skip)
  --failover N             rounds of power-offs (VIP holder, then another control plane) on 3 control
                           planes, API through the VIP timed from the client (default 3; 0 to skip).
                           Alone (--sizes none --add-node none --startup-runs 0) it updates only the
                           failover section of the results file
  --out FILE               results file (default bench/RESULTS.md; "-" prints it instead)
  --work-dir DIR           where each run keeps its output and logs (default a new /tmp/hactl-bench-*)
  --no-build               do not run \`npm run build\` first
  --shared-root-home       keep the lab's /root shared with the host on every node (see README)
  --note TEXT              a line for the results' machine notes (repeatable)
  --render DIR[,DIR...]    only write the results file again from DIR/results.json, merging several
                           runs (no lab, no root)`;

/**
 * @param {string} cmd @param {string[]} args
 * @param {{ detached?: boolean, onChild?: (c: import("node:child_process").ChildProcess) => void }} [o]
 * @returns {Promise<number>}
 */
function runInherit(cmd, args, o = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "inherit", cwd: REPO, detached: o.detached ?? false });
    o.onChild?.(child);
    child.on("error", reject);
    child.on("close", (code, signal) => resolve(code ?? (signal === "SIGINT" ? 130 : 143)));
  });
}

/** @param {string} cmd @param {string[]} args */
function firstLine(cmd, args) {
  try {
    // some tools (ssh -V) print their version on stderr
    const r = spawnSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return `${r.stdout}${r.stderr}`.trim().split("\n")[0] ?? "";
  } catch {
    return "unknown";
  }
}

function machine() {
  return {
    CPU: `${cpus().length} × ${cpus()[0]?.model ?? "unknown"}`,
    nproc: firstLine("nproc", []),
    Memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    Kernel: release(),
    OS: firstLine("sh", ["-c", '. /etc/os-release && echo "$PRETTY_NAME"']),
    Node: process.version,
    Ansible: firstLine("ansible-playbook", ["--version"]),
    OpenSSH: firstLine("ssh", ["-V"]),
    "Load average (1 min) at the start": loadavg()[0]?.toFixed(2) ?? "unknown",
  };
}

/**
 * Write the results file again from finished (or interrupted) runs' results.json, one directory or
 * several separated by commas (merged: runs, add-node runs, the first start-up measurement). hactl's
 * phase times are read from its logs when a results.json predates them.
 * @param {string} dirs @param {string} out @param {string[]} extraNotes
 */
async function render(dirs, out, extraNotes) {
  /** @type {import("./lib/report.mjs").BenchResults[]} */
  const parts = [];
  for (const dir of dirs
    .split(",")
    .map((d) => d.trim())
    .filter(Boolean)) {
    parts.push(JSON.parse(await readFile(join(dir, "results.json"), "utf8")));
  }
  const [first, ...rest] = parts;
  if (!first) throw new Error("--render: no directory given");
  for (const p of rest) {
    if (JSON.stringify(p.costs) !== JSON.stringify(first.costs))
      throw new Error("--render: the runs used different step costs and cannot share one report");
  }
  /** @type {import("./lib/report.mjs").BenchResults} */
  const results = {
    ...first,
    command: parts.map((p) => p.command).join("`, then `"),
    date: parts.map((p) => p.date).join(", "),
    sizes: [...new Set(parts.flatMap((p) => p.sizes))].sort((a, b) => a - b),
    tools: [...new Set(parts.flatMap((p) => p.tools))],
    runs: parts.flatMap((p) => p.runs),
    addNode: parts.flatMap((p) => p.addNode).sort((a, b) => a.size - b.size),
    upgrade: parts.flatMap((p) => p.upgrade ?? []).sort((a, b) => a.size - b.size),
    upgradeKubeadm: parts.flatMap((p) => p.upgradeKubeadm ?? []).sort((a, b) => a.size - b.size),
    startup: parts.find((p) => p.startup)?.startup,
    failover: parts.find((p) => p.failover)?.failover,
    totalMs: parts.reduce((sum, p) => sum + p.totalMs, 0),
    notes: [...new Set([...parts.flatMap((p) => p.notes), ...extraNotes])],
  };
  for (const run of [...results.runs, ...results.addNode]) {
    const logName = run.tool === "hactl" ? "hactl.log" : run.tool === "hactl add-node" ? "add-node.log" : undefined;
    if (!run.phases && logName)
      run.phases = phaseDurations(await readFile(join(run.dir, logName), "utf8").catch(() => ""));
  }
  const text = renderResults(results);
  if (out === "-") process.stdout.write(text);
  else {
    await writeFile(out, text);
    log(`wrote ${out}`);
  }
  return 0;
}

/** @param {string} text */
function log(text) {
  console.error(`bench: ${text}`);
}

async function main() {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string", default: "3,10,30" },
      cost: { type: "string" },
      tools: { type: "string", default: TOOLS.join(",") },
      "add-node": { type: "string", default: "3,29" },
      upgrade: { type: "string", default: "3,10" },
      "upgrade-kubeadm": { type: "string", default: "3,10" },
      "startup-runs": { type: "string", default: "20" },
      failover: { type: "string", default: "3" },
      out: { type: "string", default: join(REPO, "bench/RESULTS.md") },
      "work-dir": { type: "string" },
      "no-build": { type: "boolean", default: false },
      render: { type: "string" },
      note: { type: "string", multiple: true, default: [] },
      "shared-root-home": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.render) return render(values.render, values.out, values.note);
  const sizes = parseSizes(values.sizes, "--sizes", 1, MAX_NODES);
  const addNodeSizes = parseSizes(values["add-node"], "--add-node", 1, MAX_NODES - 1);
  const upgradeSizes = parseSizes(values.upgrade, "--upgrade", 1, MAX_NODES);
  const kubeadmUpgradeSizes = parseSizes(values["upgrade-kubeadm"], "--upgrade-kubeadm", 1, MAX_NODES);
  const costs = values.cost ? parseCosts(values.cost) : { ...DEFAULT_COSTS };
  const tools = values.tools
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of tools)
    if (!TOOLS.includes(t)) throw new Error(`--tools: unknown "${t}" (choose from ${TOOLS.join(", ")})`);
  const startupRuns = Number(values["startup-runs"]);
  if (!Number.isInteger(startupRuns) || startupRuns < 0) throw new Error("--startup-runs must be a whole number");
  const failoverRounds = Number(values.failover);
  if (!Number.isInteger(failoverRounds) || failoverRounds < 0 || failoverRounds > 20)
    throw new Error("--failover must be a whole number from 0 to 20");
  const failoverOnly = failoverRounds > 0 && sizes.length === 0 && addNodeSizes.length === 0 && startupRuns === 0;

  if (process.getuid?.() !== 0)
    throw new Error("the benchmark needs root: it brings up the lab (network namespaces, one sshd per node)");

  // One lab per machine: queue behind a running `npm test` / bench the way run-tests.mjs does.
  if (!process.env.HACTL_LAB_LOCKED) {
    log("waiting for the lab lock (/run/hactl-lab.lock) if another run holds it");
    return runInherit(
      "flock",
      ["/run/hactl-lab.lock", "env", "HACTL_LAB_LOCKED=1", process.execPath, SELF, ...process.argv.slice(2)],
      {
        detached: true,
        onChild: (child) => {
          const forward = (/** @type {NodeJS.Signals} */ signal) => {
            try {
              if (child.pid) process.kill(-child.pid, signal);
            } catch {
              // the group has ended
            }
          };
          process.on("SIGINT", forward);
          process.on("SIGTERM", forward);
        },
      },
    );
  }

  await ensureRequirements({ log });
  await acquireLabLock({ log });
  process.on("exit", releaseLabLock);
  // Ctrl-C / SIGTERM: the running command is stopped, no further run starts, and the main flow writes
  // what was measured and tears the lab down (a second signal exits at once).
  /** @type {NodeJS.Signals | undefined} */
  let stopping;
  const onSignal = (/** @type {NodeJS.Signals} */ signal) => {
    if (stopping) process.exit(130);
    stopping = signal;
    log(`${signal}: stopping the current run, then writing the results and tearing the lab down`);
    stopRunning();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const started = Date.now();
  const workDir = values["work-dir"] ?? join("/tmp", `hactl-bench-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  await mkdir(workDir, { recursive: true });
  log(`work directory ${workDir}`);

  if (!values["no-build"]) {
    log("building hactl (npm run build)");
    const code = await runInherit("npm", ["run", "--silent", "build"]);
    if (code !== 0) throw new Error(`npm run build failed (exit ${code})`);
  }

  /** @type {import("./lib/report.mjs").BenchResults} */
  const results = {
    machine: machine(),
    command: `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim().replace(/ --$/, ""),
    date: new Date().toISOString(),
    costs,
    sizes,
    tools,
    runs: [],
    addNode: [],
    upgrade: [],
    upgradeKubeadm: [],
    totalMs: 0,
    notes: [
      values["shared-root-home"]
        ? "Nodes' /root: shared with the host, as the lab makes it (--shared-root-home): every remote command runs the host's /root/.bashrc."
        : "Nodes' /root: an empty directory of each node's own (the default; see bench/README.md).",
      ...values.note,
    ],
  };
  usePrivateRootHome(!values["shared-root-home"]);

  const save = async () => {
    results.totalMs = Date.now() - started;
    await writeFile(join(workDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
    const previous =
      failoverOnly && values.out !== "-" ? await readFile(values.out, "utf8").catch(() => undefined) : undefined;
    const text = previous !== undefined ? renderFailoverOnly(previous, results) : renderResults(results);
    if (values.out === "-") return text;
    await writeFile(values.out, text);
    return text;
  };
  try {
    if (startupRuns > 0) {
      log(`start-up: ${startupRuns} runs each of node -e 0, hactl --version, hactl --help`);
      results.startup = measureStartup({ runs: startupRuns });
    }
    await labDown();
    await ensureWorkstation();
    // add-node first: if the largest install size runs too long and is interrupted, this is kept
    for (const base of addNodeSizes) {
      if (stopping) break;
      log(`add-node: ${base} → ${base + 1} nodes`);
      const run = await runAddNode({ base, costs, workDir, log });
      log(
        `  ${run.ok ? "ok" : `FAILED${run.note ? `: ${run.note}` : ` (exit ${run.code})`}, see ${run.dir}`} in ${(run.wallMs / 1000).toFixed(1)} s`,
      );
      results.addNode.push(run);
      await save();
    }
    for (const size of upgradeSizes) {
      if (stopping) break;
      log(`upgrade: ${size} nodes, 1.29 → 1.30`);
      const run = await runUpgrade({ size, costs, workDir, log });
      log(
        `  ${run.ok ? "ok" : `FAILED${run.note ? `: ${run.note}` : ` (exit ${run.code})`}, see ${run.dir}`} in ${(run.wallMs / 1000).toFixed(1)} s`,
      );
      results.upgrade.push(run);
      await save();
    }
    // A kubeadm install writes these on the machine itself (lab nodes share its file system): remove the
    // ones that were not there before.
    const hostFilesBefore = new Set(KUBEADM_HOST_FILES.filter((f) => existsSync(f)));
    try {
      for (const size of kubeadmUpgradeSizes) {
        if (stopping) break;
        const { from, to } = UPGRADES.kubeadm;
        log(`upgrade (kubeadm): ${size} nodes, ${from} → ${to}`);
        const run = await runUpgrade({ size, costs, workDir, log, distribution: "kubeadm" });
        log(
          `  ${run.ok ? "ok" : `FAILED${run.note ? `: ${run.note}` : ` (exit ${run.code})`}, see ${run.dir}`} in ${(run.wallMs / 1000).toFixed(1)} s`,
        );
        results.upgradeKubeadm?.push(run);
        await save();
      }
    } finally {
      for (const f of KUBEADM_HOST_FILES) if (!hostFilesBefore.has(f)) rmSync(f, { force: true });
    }
    if (failoverRounds > 0 && !stopping) {
      log(`failover: ${failoverRounds} round(s) of power-offs on 3 control planes`);
      results.failover = await runFailover({ rounds: failoverRounds, costs, workDir, log });
      log(
        `  ${results.failover.ok ? "ok" : `FAILED${results.failover.note ? `: ${results.failover.note}` : ": not steady in every round"}`}`,
      );
      await save();
    }
    for (const size of sizes) {
      for (const tool of tools) {
        if (stopping) break;
        log(`${size} nodes: ${tool}`);
        const run =
          tool === "hactl"
            ? await runHactlInstall({ size, costs, workDir, log })
            : await runAnsible({ size, costs, workDir, tuned: tool === "ansible-tuned", log });
        log(
          `  ${run.ok ? "ok" : `FAILED (exit ${run.code}${run.timedOut ? ", timed out" : ""}), see ${run.dir}`} in ${(run.wallMs / 1000).toFixed(1)} s`,
        );
        results.runs.push(run);
        await save();
      }
    }
  } finally {
    await labDown();
  }
  if (stopping)
    results.notes.push(
      `Incomplete: interrupted (${stopping}) before every run finished; the tables hold the runs that did (an interrupted run shows as failed).`,
    );
  const text = await save();
  if (values.out === "-") process.stdout.write(text);
  else log(`wrote ${values.out}`);
  const left = (await labNamespaces()).filter((n) => n !== "hl-ws" && n !== "hl-br");
  if (left.length) log(`warning: namespaces left after teardown: ${left.join(" ")}`);
  if (stopping) return 130;
  const failed = [...results.runs, ...results.addNode, ...results.upgrade, ...(results.upgradeKubeadm ?? [])].filter(
    (r) => !r.ok,
  );
  return failed.length || (results.failover && !results.failover.ok) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (err) => {
    log(err instanceof Error ? err.message : String(err));
    try {
      if (process.env.HACTL_LAB_LOCKED) await labDown();
    } catch (e) {
      log(`teardown failed too: ${e instanceof Error ? e.message : String(e)}`);
    }
    process.exit(1);
  },
);
