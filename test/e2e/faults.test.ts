// Issue 8's fault suite: the real bin/hactl against one lab and one cluster, one fault at a time, each
// case ending with a check that nothing was lost. afterAll writes docs/reliability.md from what the
// cases saw. Run with `npm test -- test/e2e/faults.test.ts`.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import {
  cutLink,
  inNode,
  labDown,
  labUp,
  PROFILES,
  restoreLink,
  startNode,
  stopNode,
  type Lab,
  type LabNode,
} from "../lab/lab.mjs";
import { probeLivez, waitLivez } from "../../src/actions/verify-api.js";
import { brokenDocuments, randomHostileSpecs, type HostileSpec } from "../unit/fuzz/hostile-specs.js";
import { ReliabilityReport, excerpt, type FaultRow } from "./reliability-report.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const bin = join(repo, "bin", "hactl");
const LOCK = "/var/lib/hactl/cluster.lock";
const KIT = "/var/lib/hactl-kit";
const TOKENS = "/var/snap/microk8s/current/credentials/cluster-tokens.txt";
const FUZZ_SEED = 0x5eed08;
const startedAt = Date.now();

let lab: Lab;
let dir: string;
let spec: string;
/** The same cluster with every node reached as root (day-2 cases; see fault "re-run" for why). */
let rootSpec: string;
let vip: string;
const node = (i: number): LabNode => lab.nodes[i - 1] as LabNode;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------------------------------------
// Running hactl: every run is kept for the secret scan (fault 9).

interface Event {
  type: string;
  phase?: string;
  node?: string;
  status?: string;
  message?: string;
  code?: string;
  step?: string;
}

interface Run {
  args: readonly string[];
  code: number;
  stdout: string;
  stderr: string;
  /** This run's own log file. */
  log: string;
  events: Event[];
  ms: number;
}

const runs: Run[] = [];
const secretEnv: Record<string, string> = {};
let runCount = 0;

function parseEvents(stdout: string): Event[] {
  const events: Event[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      events.push(JSON.parse(line) as Event);
    } catch {
      continue;
    }
  }
  return events;
}

/** Starts bin/hactl with its state and its own log file under the suite's directory. */
function start(
  args: readonly string[],
  opts: { env?: Record<string, string>; onEvent?: (e: Event, child: ChildProcess) => void; cwd?: string } = {},
): { child: ChildProcess; done: Promise<Run> } {
  runCount += 1;
  const logFile = join(dir, "logs", `run-${String(runCount).padStart(2, "0")}.log`);
  const full = ["--log-file", logFile, ...args];
  const t0 = Date.now();
  const child = spawn(process.execPath, [bin, ...full], {
    cwd: opts.cwd ?? dir,
    env: { ...process.env, XDG_STATE_HOME: join(dir, "state"), NO_COLOR: "1", ...secretEnv, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let pending = "";
  child.stdout?.on("data", (d: Buffer) => {
    const text = d.toString();
    stdout += text;
    pending += text;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const e of parseEvents(lines.join("\n"))) opts.onEvent?.(e, child);
  });
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
  const done = new Promise<Run>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      let log = "";
      try {
        log = readFileSync(logFile, "utf8");
      } catch {
        log = "";
      }
      const run: Run = {
        args: full,
        code: code ?? (signal === "SIGKILL" ? 137 : 128),
        stdout,
        stderr,
        log,
        events: parseEvents(stdout),
        ms: Date.now() - t0,
      };
      runs.push(run);
      resolve(run);
    });
  });
  return { child, done };
}

const hactl = (args: readonly string[], opts: Parameters<typeof start>[1] = {}): Promise<Run> => start(args, opts).done;
const output = (r: Run): string => `${r.stdout}\n${r.stderr}`;
const errorEvent = (r: Run): Event | undefined => r.events.find((e) => e.type === "error");

// ---------------------------------------------------------------------------------------------
// Looking at the nodes.

async function sh(n: LabNode | string, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return inNode(n, ["sh", "-c", script]);
}

async function lockPresent(): Promise<boolean> {
  return (await sh(node(1), `test -e ${LOCK}`)).code === 0;
}

/** Everything an install could change on a node, as one digest per file. */
async function nodeSnapshot(n: LabNode): Promise<string> {
  const r = await sh(
    n,
    "find /etc/haproxy /etc/keepalived /etc/nginx /etc/sysctl.d /etc/hosts /var/lib/hactl /var/snap -type f 2>/dev/null | sort | xargs -r sha256sum; " +
      "snap list microk8s 2>&1 | tail -n +2; ip -4 -o addr show | awk '{print $2, $4}'",
  );
  return r.stdout;
}

async function lbSnapshot(n: LabNode): Promise<string> {
  return (
    await sh(n, "sha256sum /etc/haproxy/haproxy.cfg /etc/keepalived/keepalived.conf; ls /etc/haproxy /etc/keepalived")
  ).stdout;
}

async function vipHolders(): Promise<string[]> {
  const holders: string[] = [];
  for (const n of lab.nodes)
    if ((await inNode(n, ["ip", "-4", "-o", "addr", "show"])).stdout.includes(`${vip}/`)) holders.push(n.name);
  return holders;
}

interface Members {
  voters: string[];
  all: string[];
  kubeNodes: string[];
  ready: string[];
}

async function members(): Promise<Members> {
  const status = (await inNode(node(1), ["microk8s", "status", "--format", "yaml"])).stdout;
  const all: string[] = [];
  const voters: string[] = [];
  for (const m of status.matchAll(/address:\s*([\d.]+):\d+\s+role:\s*(\w+)/g)) {
    all.push(m[1] as string);
    if (m[2] === "voter") voters.push(m[1] as string);
  }
  const nodes = (await inNode(node(1), ["microk8s", "kubectl", "get", "nodes", "--no-headers"])).stdout;
  const rows = nodes
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("NAME "))
    .map((l) => l.split(/\s+/));
  return {
    all: all.sort(),
    voters: voters.sort(),
    kubeNodes: rows.map((r) => r[0] as string).sort(),
    ready: rows
      .filter((r) => r[1] === "Ready")
      .map((r) => r[0] as string)
      .sort(),
  };
}

/**
 * The lab shares the host's /var/lib/hactl with every node (it is not among lab.mjs's private
 * directories), so hactl's lock and journal would be one file for all nodes and all labs. Each node gets
 * its own directory there, as a real server has.
 */
async function privateStateDir(n: LabNode): Promise<void> {
  const own = join(n.dir, "fs", "var-lib-hactl");
  mkdirSync(own, { recursive: true, mode: 0o700 });
  const r = await inNode(n, ["mount", "--bind", own, "/var/lib/hactl"]);
  expect(r.code, r.stderr).toBe(0);
}

/**
 * startNode, plus what a real reboot keeps and the lab's restart loses: the `microk8s` command. The kit's
 * `snap install` links it into /usr/local/bin, which lab.mjs refills from scratch on every boot.
 */
async function bootNode(n: LabNode): Promise<void> {
  await startNode(n);
  await privateStateDir(n);
  await sh(
    n,
    `grep -q '"installed": true' ${KIT}/state.json && ln -sfn ${join(repo, "test", "kit", "snap", "microk8s")} /usr/local/bin/microk8s; true`,
  );
}

async function setCost(n: LabNode, costs: Record<string, number> | undefined): Promise<void> {
  if (costs)
    await inNode(n, ["sh", "-c", `mkdir -p ${KIT} && cat > ${KIT}/cost.json`], { input: JSON.stringify(costs) });
  else await inNode(n, ["rm", "-f", `${KIT}/cost.json`]);
}

async function setFault(n: LabNode, name: string, on: boolean): Promise<void> {
  await sh(n, on ? `mkdir -p ${KIT}/faults && touch ${KIT}/faults/${name}` : `rm -f ${KIT}/faults/${name}`);
}

function sshdConnections(n: LabNode): number {
  try {
    return readFileSync(join(n.dir, "sshd.log"), "utf8")
      .split("\n")
      .filter((l) => l.includes("Connection from")).length;
  } catch {
    return 0;
  }
}

// Join tokens and remote command lines, sampled while installs run (fault 9).
const tokens = new Set<string>();
const psSamples: string[] = [];

function watchTokens(): { stop: () => Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const r = await sh(node(1), `cat ${TOKENS} 2>/dev/null; echo @@PS@@; ps -eo args`).catch(() => undefined);
      if (r) {
        const [tokenText, ps] = r.stdout.split("@@PS@@");
        for (const line of (tokenText ?? "").split("\n")) {
          const t = line.split("|")[0]?.trim() ?? "";
          if (t.length >= 32) tokens.add(t);
        }
        psSamples.push(
          (ps ?? "")
            .split("\n")
            .filter((l) => /microk8s|sudo|haproxy|keepalived|sh -c/.test(l))
            .join("\n"),
        );
      }
      await sleep(250);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The report.

const report = new ReliabilityReport();
const rows = {
  fuzz: report.add(
    10,
    "cluster.yaml fuzzing: hostile values (shell metacharacters, option-like strings, very long strings, unicode/control characters, wrong types, alias bomb, deep nesting) to `validate` and `install --dry-run`",
    "exit 2 with a located validation error for every document; no crash (INTERNAL / stack trace); no SSH connection to any node",
  ),
  hostKey: report.add(
    5,
    "changed host key on node-3 (its known_hosts entry rewritten to another key)",
    "refused with exit 4 and an `ssh-keygen -R` fix before any change on any node",
  ),
  sigFacts: report.add(4, "SIGINT while gathering facts", "exit 130, resume hint, cluster lock released"),
  sigInstall: report.add(
    4,
    "SIGINT while MicroK8s installs on the nodes",
    "exit 130, lock released; the next run resumes",
  ),
  sigJoin: report.add(
    4,
    "SIGINT while node-2 joins",
    "the running join finishes, then exit 130, lock released; the next run resumes",
  ),
  nodeDies: report.add(
    1,
    "node-3 dies (hard stop: link down, sshd and every process killed) during its join",
    "non-zero exit with an error naming node-3 and its join step; lock released; after the node is back a re-run completes the cluster",
  ),
  tokenFail: report.add(
    3,
    "node-3's join fails after its token was consumed (kit switch fail-join-after-consume), on the re-run after fault 1",
    "retried with a fresh token; cluster complete: exactly 3 datastore voters (the 3 node addresses, no stale member), 3 Kubernetes nodes all Ready, API answers through the VIP",
  ),
  rerun: report.add(
    4,
    "the same `install` again on the finished cluster, node-2 reached as the ops user (sudo with password)",
    "exit 0: nothing to do",
  ),
  badTemplate: report.add(
    6,
    "template override (`--templates DIR`) rendering an invalid haproxy config",
    "exit 1 with the validator's output; running configs, staged files and VIP holder untouched; API still answers through the VIP",
  ),
  linkCut: report.add(
    2,
    "node-2's link cut while its `systemctl reload haproxy` hangs during an LB change (`--command-timeout 20`)",
    "the run fails naming node-2; node-1/node-3 keep a valid, live config and the API answers through the VIP; after the link is back a re-run converges (identical haproxy.cfg everywhere, new config live on every node)",
  ),
  concurrent: report.add(7, "two concurrent runs", "the second is refused with exit 5 naming the lock holder"),
  hung: report.add(
    8,
    "hung remote command (`microk8s status` on node-3 never returns) with `--command-timeout 8`",
    "the step fails with COMMAND_TIMEOUT naming node-3 and the command, in bounded time; lock released",
  ),
  stale: report.add(
    7,
    "a run SIGKILLed while holding the lock",
    "its lock stays and refuses runs inside the staleness window (exit 5); after it (HACTL_LOCK_STALE_SECONDS=5) a run takes it over with a clear warning and completes",
  ),
  secrets: report.add(
    9,
    "planted secrets: the ops user's sudo password, a stats password and two connection strings via `{ env: ... }`, and every MicroK8s join token minted during the runs",
    "none of them in any stdout, stderr, log file, JSON event or file under the state directory, nor in the remote journal or lock; the spec's own secrets never on a remote command line",
  ),
};

function fault(rowsOfCase: FaultRow[], title: string, body: () => Promise<void>, timeoutMs = 180_000): void {
  it(
    title,
    async () => {
      const t0 = Date.now();
      try {
        await body();
        for (const r of rowsOfCase) r.outcome = "pass";
      } catch (e) {
        for (const r of rowsOfCase) {
          r.outcome = "fail";
          r.observed.push(`failed check: ${excerpt(e instanceof Error ? e.message : String(e), undefined, 220)}`);
        }
        throw e;
      } finally {
        for (const r of rowsOfCase) r.seconds = (Date.now() - t0) / 1000;
      }
    },
    timeoutMs,
  );
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  // node-1 a silent resolver; node-2 a docker0 address (and, below, the ops user with password sudo);
  // node-3 ens18 and its own name unresolved
  lab = await labUp({
    nodes: 3,
    profiles: [PROFILES.silentResolver, PROFILES.secondAddress, { ...PROFILES.ens18, ...PROFILES.unresolvedName }],
  });
  vip = lab.vips[0] as string;
  for (const n of lab.nodes) await privateStateDir(n);
  dir = mkdtempSync(join(tmpdir(), "hactl-faults-"));
  mkdirSync(join(dir, "logs"));
  secretEnv.FAULTS_SUDO_PW = lab.opsUser.password;
  // install probes external services from a node: point them at ports that answer in the lab.
  secretEnv.FAULTS_STATS_PW = `stats-${randomBytes(9).toString("hex")}`;
  secretEnv.FAULTS_PG_URL = `postgresql://app:pg-${randomBytes(9).toString("hex")}@${node(2).address}:22/app`;
  secretEnv.FAULTS_REDIS_URL = `redis://:redis-${randomBytes(9).toString("hex")}@${node(3).address}:16443/0`;
  const yaml = labClusterYaml(lab, {
    controlPlanes: 3,
    extra: [
      "    stats: { enabled: true, port: 8404, user: admin, password: { env: FAULTS_STATS_PW } }",
      "  externalServices:",
      "    postgresql: { env: FAULTS_PG_URL }",
      "    redis: { env: FAULTS_REDIS_URL }",
    ].join("\n"),
  }).replace(
    `{ name: node-2, address: ${node(2).address}, role: control-plane }`,
    `{ name: node-2, address: ${node(2).address}, role: control-plane, ssh: { user: ${lab.opsUser.name}, sudoPassword: { env: FAULTS_SUDO_PW } } }`,
  );
  expect(yaml).toContain(`user: ${lab.opsUser.name}`);
  spec = join(dir, "cluster.yaml");
  writeFileSync(spec, yaml);
  rootSpec = join(dir, "cluster-root.yaml");
  writeFileSync(
    rootSpec,
    yaml.replace(`, ssh: { user: ${lab.opsUser.name}, sudoPassword: { env: FAULTS_SUDO_PW } }`, ""),
  );
});

afterAll(async () => {
  try {
    report.write(join(repo, "docs", "reliability.md"), {
      date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
      command: "npm test -- test/e2e/faults.test.ts",
      labNodes: lab?.nodes.length ?? 0,
      totalSeconds: (Date.now() - startedAt) / 1000,
    });
  } finally {
    await labDown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

describe("before anything is installed", () => {
  fault(
    [rows.fuzz],
    "10: hostile cluster.yaml values give validation errors, never a crash or a remote command",
    async () => {
      const machines = {
        addresses: [node(1).address, node(2).address, node(3).address] as [string, string, string],
        vip,
        identityFile: lab.sshKey,
        knownHostsFile: lab.knownHosts,
      };
      const docs: HostileSpec[] = [...brokenDocuments(machines), ...randomHostileSpecs(machines, FUZZ_SEED, 30)];
      const before = lab.nodes.map(sshdConnections);
      const fuzzDir = join(dir, "fuzz");
      mkdirSync(fuzzDir);
      const bad: string[] = [];
      let slowest = 0;
      let n = 0;
      const queue = docs.flatMap((d, i) => {
        const file = join(fuzzDir, `case-${i}.yaml`);
        writeFileSync(file, d.text);
        return [
          { d, args: ["validate", "-f", file] },
          { d, args: ["install", "-f", file, "--dry-run", "--yes"] },
        ];
      });
      const worker = async (): Promise<void> => {
        for (let job = queue.shift(); job; job = queue.shift()) {
          const r = await hactl(job.args);
          n += 1;
          slowest = Math.max(slowest, r.ms);
          const text = output(r);
          const crash = /unexpected error|INTERNAL|\n\s+at .+:\d+:\d+|RangeError|TypeError/.test(text);
          if (r.code !== 2 || crash || !/error/.test(text))
            bad.push(
              `${job.args[0]} ${job.d.name}: exit ${r.code}${crash ? " (crash)" : ""}: ${excerpt(text, /error/)}`,
            );
        }
      };
      await Promise.all([worker(), worker()]);
      const after = lab.nodes.map(sshdConnections);
      rows.fuzz.observed.push(
        `${docs.length} documents (seed 0x${FUZZ_SEED.toString(16)}: ${brokenDocuments(machines).length} broken documents + 30 random field values), ${n} runs`,
        `${n - bad.length}/${n} exit 2 with a located error, slowest ${secs(slowest)}`,
        `new sshd connections on node-1..3: ${after.map((a, i) => a - (before[i] ?? 0)).join("/")}`,
        ...bad.slice(0, 5),
      );
      expect(bad).toEqual([]);
      expect(after).toEqual(before);
    },
  );

  fault([rows.hostKey], "5: a changed host key on one node is refused before any change on any node", async () => {
    const keyDir = join(dir, "other-key");
    mkdirSync(keyDir);
    await promisify(execFile)("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(keyDir, "key")]);
    const otherKey = readFileSync(join(keyDir, "key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    const known = readFileSync(lab.knownHosts, "utf8")
      .split("\n")
      .map((l) => (l.startsWith(`${node(3).address} `) ? `${node(3).address} ${otherKey}` : l))
      .join("\n");
    const knownCopy = join(dir, "known_hosts.changed");
    writeFileSync(knownCopy, known);
    const changedSpec = join(dir, "cluster-changed-key.yaml");
    writeFileSync(
      changedSpec,
      readFileSync(spec, "utf8").replace(`knownHostsFile: ${lab.knownHosts}`, `knownHostsFile: ${knownCopy}`),
    );
    const before = await Promise.all(lab.nodes.map(nodeSnapshot));
    const r = await hactl(["install", "-f", changedSpec, "--yes"]);
    const after = await Promise.all(lab.nodes.map(nodeSnapshot));
    const same = after.filter((s, i) => s === before[i]).length;
    rows.hostKey.observed.push(
      `exit ${r.code} after ${secs(r.ms)}`,
      `"${excerpt(r.stderr, /node-3|host key/)}"`,
      `"${excerpt(r.stderr, /ssh-keygen -R/)}"`,
      `state unchanged on ${same}/3 nodes`,
    );
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/node-3/);
    expect(r.stderr).toContain("ssh-keygen -R");
    expect(after).toEqual(before);
    expect(await lockPresent()).toBe(false);
  });
});

describe("install, interrupted and broken on the way", () => {
  /** Runs install with --output json and sends SIGINT when `when` matches an event. */
  async function interruptAt(when: (e: Event) => boolean): Promise<{ run: Run; sentAt: string | undefined }> {
    let sentAt: string | undefined;
    const { done } = start(["--output", "json", "install", "-f", spec, "--yes"], {
      onEvent: (e, child) => {
        if (sentAt === undefined && when(e)) {
          sentAt = `${e.type} ${e.node ?? ""} ${e.message ?? ""}`.replace(/\s+/g, " ").trim();
          child.kill("SIGINT");
        }
      },
    });
    return { run: await done, sentAt };
  }

  async function expectInterrupted(row: FaultRow, run: Run, sentAt: string | undefined): Promise<void> {
    const lock = await lockPresent();
    const err = errorEvent(run);
    row.observed.push(
      `SIGINT at "${sentAt ?? "never"}"`,
      `exit ${run.code} after ${secs(run.ms)}`,
      `"${excerpt(run.stderr, /Interrupted/)}"`,
      `error ${err?.code ?? "none"}: "${excerpt(err?.message ?? "")}"`,
      `lock on node-1 after exit: ${lock ? "present" : "absent"}`,
    );
    expect(sentAt).toBeDefined();
    expect(run.code).toBe(130);
    expect(run.stderr).toContain("stopping after the current remote step");
    expect(JSON.stringify(err), "the error event must say how to resume (run the same command again)").toMatch(
      /again/i,
    );
    expect(lock).toBe(false);
  }

  fault([rows.sigFacts], "4a: SIGINT while gathering facts", async () => {
    const { run, sentAt } = await interruptAt((e) => e.type === "phase" && e.message === "Gather facts");
    await expectInterrupted(rows.sigFacts, run, sentAt);
  });

  fault([rows.sigInstall], "4b: SIGINT while MicroK8s installs", async () => {
    for (const n of lab.nodes) await setCost(n, { "snap-install": 3000 });
    const watcher = watchTokens();
    try {
      const { run, sentAt } = await interruptAt(
        (e) => e.type === "step" && e.status === "start" && /^install MicroK8s/.test(e.message ?? ""),
      );
      await expectInterrupted(rows.sigInstall, run, sentAt);
    } finally {
      await watcher.stop();
      for (const n of lab.nodes) await setCost(n, undefined);
    }
  });

  fault([rows.sigJoin], "4c: SIGINT while a node joins", async () => {
    await setCost(node(2), { join: 3000 });
    const watcher = watchTokens();
    try {
      const { run, sentAt } = await interruptAt(
        (e) => e.type === "step" && e.status === "start" && e.node === "node-2" && /^join/.test(e.message ?? ""),
      );
      const joined = run.events.some((e) => e.type === "step" && e.node === "node-2" && e.status === "done");
      const startedNode3 = run.events.some(
        (e) => e.type === "step" && e.node === "node-3" && e.status === "start" && /^join/.test(e.message ?? ""),
      );
      rows.sigJoin.observed.push(
        `node-2's join ${joined ? "finished" : "did not finish"}; node-3's join ${startedNode3 ? "started" : "not started"}`,
      );
      await expectInterrupted(rows.sigJoin, run, sentAt);
      expect(startedNode3).toBe(false);
    } finally {
      await watcher.stop();
      await setCost(node(2), undefined);
    }
  });

  fault(
    [rows.nodeDies],
    "1: a node that dies during its join fails the run with the node and step named; a re-run after it is back completes",
    async () => {
      await setCost(node(3), { join: 8000 });
      const watcher = watchTokens();
      let killedAt = 0;
      let stopping: Promise<void> | undefined;
      try {
        const run = await hactl(["--output", "json", "install", "-f", spec, "--yes"], {
          onEvent: (e) => {
            if (
              stopping ||
              !(e.type === "step" && e.status === "start" && e.node === "node-3" && /^join/.test(e.message ?? ""))
            )
              return;
            stopping = (async () => {
              for (let i = 0; i < 40 && (await inNode(node(3), ["pgrep", "-f", "[m]icrok8s join"])).code !== 0; i++)
                await sleep(250);
              killedAt = Date.now();
              await stopNode("node-3");
            })();
          },
        });
        await stopping;
        const err = errorEvent(run);
        const resumed = !run.events.some(
          (e) => e.type === "step" && /^install MicroK8s/.test(e.message ?? "") && e.status === "done",
        );
        rows.nodeDies.observed.push(
          `exit ${run.code}, ${secs(Date.now() - killedAt)} after the stop`,
          `error ${err?.code ?? "none"} [${err?.node ?? "?"}] ${err?.step ?? "?"}: "${excerpt(err?.message ?? "")}"`,
          `this run resumed the interrupted install (no install step repeated): ${resumed ? "yes" : "no"}`,
          `lock after exit: ${(await lockPresent()) ? "present" : "absent"}`,
        );
        expect(killedAt).toBeGreaterThan(0);
        expect(run.code).not.toBe(0);
        expect(err?.node).toBe("node-3");
        expect(err?.step ?? "").toMatch(/join/);
        expect(await lockPresent()).toBe(false);
      } finally {
        await watcher.stop();
        await bootNode(node(3));
        await setCost(node(3), undefined);
      }
    },
  );

  fault(
    [rows.tokenFail],
    "3: a join that fails after consuming its token is retried with a fresh one; no stale member",
    async () => {
      await setFault(node(3), "fail-join-after-consume", true);
      const watcher = watchTokens();
      try {
        const run = await hactl(["install", "-f", spec, "--yes", "--kubeconfig", join(dir, "lab.kubeconfig")]);
        const m = await members();
        const addresses = lab.nodes.map((n) => n.address).sort();
        rows.tokenFail.observed.push(
          `re-run exit ${run.code} after ${secs(run.ms)}`,
          `"${excerpt(run.log, /join attempt 1 failed/, 120)}"`,
          `"${excerpt(run.log, /join attempt 2\/3/, 120)}"`,
          `datastore: ${m.all.length} members (${m.voters.length} voters: ${m.voters.join(", ")})`,
          `Kubernetes nodes: ${m.kubeNodes.join(", ")} (${m.ready.length} Ready)`,
        );
        expect(run.code, output(run)).toBe(0);
        expect(run.log).toMatch(/\[node-3\] join attempt 1 failed/);
        expect(run.log).toMatch(/\[node-3\] join attempt 2\/3 with a fresh token/);
        expect(m.all).toEqual(addresses);
        expect(m.voters).toEqual(addresses);
        expect(m.kubeNodes).toEqual(["node-1", "node-2", "node-3"]);
        expect(m.ready).toEqual(["node-1", "node-2", "node-3"]);
        expect(await waitLivez(vip, 7443, 30_000)).toBe(true);
        rows.nodeDies.observed.push(
          `re-run after the node came back: exit ${run.code}, cluster complete (see fault 3)`,
        );
        rows.sigInstall.observed.push("later runs completed the install (faults 1 and 3)");
        rows.sigJoin.observed.push("later runs completed the joins (faults 1 and 3)");
      } finally {
        await watcher.stop();
        await setFault(node(3), "fail-join-after-consume", false);
      }
    },
    300_000,
  );
});

describe("day-2 faults on the installed cluster", () => {
  fault(
    [rows.rerun],
    "re-run: the same install on the finished cluster changes nothing, also through a non-root user",
    async () => {
      const r = await hactl(["install", "-f", spec, "--yes"]);
      rows.rerun.observed.push(
        `exit ${r.code} after ${secs(r.ms)}`,
        `"${excerpt(output(r), /Nothing to do|FAIL|error/, 200)}"`,
      );
      expect(output(r)).not.toMatch(/FAIL\s+node-2\s+ports/);
      expect(r.code, output(r)).toBe(0);
      expect(r.stdout).toContain("Nothing to do");
    },
  );

  const templatesFrom = (name: string, edit: (text: string) => string): string => {
    const d = join(dir, name);
    mkdirSync(join(d, "haproxy"), { recursive: true });
    const text = readFileSync(join(repo, "templates", "haproxy", "haproxy.cfg.tpl"), "utf8");
    writeFileSync(join(d, "haproxy", "haproxy.cfg.tpl"), edit(text));
    return d;
  };
  let goodTemplates = "";

  fault(
    [rows.badTemplate],
    "6: a template override that renders an invalid haproxy config is rejected; nothing live changes",
    async () => {
      const bad = templatesFrom("templates-bad", (t) => `${t}\n    this-is-not-a-haproxy-keyword on\n`);
      const before = await Promise.all(lab.nodes.map(lbSnapshot));
      const holders = await vipHolders();
      const r = await hactl(["install", "-f", rootSpec, "--yes", "--templates", bad]);
      const after = await Promise.all(lab.nodes.map(lbSnapshot));
      const holdersAfter = await vipHolders();
      const api = await waitLivez(vip, 7443, 15_000);
      rows.badTemplate.observed.push(
        `exit ${r.code} after ${secs(r.ms)}`,
        `"${excerpt(r.stderr, /failed validation/)}"`,
        `validator: "${excerpt(r.stderr, /this-is-not-a-haproxy-keyword/)}"`,
        `configs and file lists unchanged on ${after.filter((s, i) => s === before[i]).length}/3 nodes`,
        `VIP holder ${holders.join(",")} → ${holdersAfter.join(",")}`,
        `API through the VIP: ${api ? "answers" : "DOES NOT answer"}`,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("failed validation");
      expect(r.stderr).toContain("this-is-not-a-haproxy-keyword");
      expect(after).toEqual(before);
      expect(holdersAfter).toEqual(holders);
      expect(api).toBe(true);
    },
  );

  fault(
    [rows.linkCut],
    "2: a link cut during an LB reload leaves the other nodes working; a re-run converges",
    async () => {
      goodTemplates = templatesFrom(
        "templates-good",
        (t) =>
          `${t}\n# Added by the fault suite: a probe port that shows which config is live.\nfrontend fault-probe\n    bind 127.0.0.1:18999\n    mode tcp\n    timeout client 30s\n    default_backend kube-apiserver\n`,
      );
      const listening = async (n: LabNode): Promise<boolean> =>
        (await sh(n, "ss -Hltn 'sport = :18999' | grep -q 18999")).code === 0;
      await setFault(node(2), "hang-systemctl-reload-haproxy", true);
      let cut = 0;
      try {
        const { child, done } = start([
          "--command-timeout",
          "20",
          "--output",
          "json",
          "install",
          "-f",
          rootSpec,
          "--yes",
          "--templates",
          goodTemplates,
        ]);
        for (let i = 0; i < 240 && cut === 0 && child.exitCode === null; i++) {
          const staged =
            (await sh(node(2), "grep -q fault-probe /etc/haproxy/haproxy.cfg && pgrep -f '[s]ystemctl reload haproxy'"))
              .code === 0;
          if (staged) {
            await cutLink("node-2");
            cut = Date.now();
          } else await sleep(250);
        }
        const run = await done;
        const err = errorEvent(run);
        const others = [node(1), node(3)];
        const checks = await Promise.all(
          others.map(
            async (n) =>
              (await inNode(n, ["haproxy", "-c", "-q", "-f", "/etc/haproxy/haproxy.cfg"])).code === 0 &&
              (await inNode(n, ["systemctl", "is-active", "haproxy"])).code === 0 &&
              (await listening(n)),
          ),
        );
        let api = false;
        for (let i = 0; i < 30 && !api; i++) {
          api = await probeLivez(vip, 7443);
          if (!api) await sleep(1000);
        }
        rows.linkCut.observed.push(
          `link cut ${cut ? "while the reload hung" : "NEVER (reload not reached)"}; run exit ${run.code}, ${secs(Date.now() - (cut || Date.now()))} after the cut`,
          `error ${err?.code ?? "none"}: "${excerpt(JSON.stringify(err?.message ?? ""), /node-2/, 140)}"`,
          `node-1/node-3: haproxy -c ok, active, new config live: ${checks.map((c) => (c ? "yes" : "NO")).join("/")}`,
          `API through the VIP while node-2 is cut off: ${api ? "answers" : "DOES NOT answer"} (VIP on ${(await vipHolders()).join(",") || "nobody"})`,
        );
        expect(cut).toBeGreaterThan(0);
        expect(run.code).not.toBe(0);
        expect(JSON.stringify(err)).toContain("node-2");
        expect(checks).toEqual([true, true]);
        expect(api).toBe(true);
      } finally {
        await setFault(node(2), "hang-systemctl-reload-haproxy", false);
        const hung = (await inNode(node(2), ["pgrep", "-f", "[s]ystemctl reload haproxy"])).stdout
          .split("\n")
          .filter(Boolean);
        for (const pid of hung) await inNode(node(2), ["kill", pid]);
        await restoreLink("node-2");
      }
      await sleep(3000);
      const again = await hactl(["install", "-f", rootSpec, "--yes", "--templates", goodTemplates]);
      const digests = await Promise.all(
        lab.nodes.map(async (n) => (await inNode(n, ["sha256sum", "/etc/haproxy/haproxy.cfg"])).stdout.split(" ")[0]),
      );
      const live = await Promise.all(lab.nodes.map(listening));
      const active = await Promise.all(
        lab.nodes.map(async (n) => (await inNode(n, ["systemctl", "is-active", "haproxy"])).code === 0),
      );
      rows.linkCut.observed.push(
        `re-run after restoring the link: exit ${again.code} after ${secs(again.ms)}`,
        `haproxy.cfg identical on all nodes: ${new Set(digests).size === 1 ? "yes" : "NO"}; active: ${active.map((a) => (a ? "yes" : "NO")).join("/")}; new config live on node-1/2/3: ${live.map((l) => (l ? "yes" : "NO")).join("/")}`,
      );
      expect(again.code, output(again)).toBe(0);
      expect(new Set(digests).size).toBe(1);
      expect(active).toEqual([true, true, true]);
      expect(live, "the config staged on node-2 before the cut must be live after the re-run").toEqual([
        true,
        true,
        true,
      ]);
    },
    240_000,
  );

  fault(
    [rows.concurrent, rows.hung],
    "7+8: a second run is refused by the lock; a hung remote command times out with node and command named",
    async () => {
      await setFault(node(3), "hang-microk8s-status", true);
      try {
        let second: Promise<Run> | undefined;
        const first = await hactl(
          [
            "--command-timeout",
            "8",
            "--output",
            "json",
            "install",
            "-f",
            rootSpec,
            "--yes",
            "--templates",
            goodTemplates,
          ],
          {
            onEvent: (e) => {
              if (!second && e.type === "phase" && e.message === "Gather facts")
                second = hactl(["install", "-f", rootSpec, "--yes", "--templates", goodTemplates]);
            },
          },
        );
        const other = await second;
        const err = errorEvent(first);
        const lock = await lockPresent();
        rows.concurrent.observed.push(
          `second run: exit ${other?.code ?? "not started"} after ${secs(other?.ms ?? 0)}`,
          `"${excerpt(other?.stderr ?? "", /holds the cluster lock/, 200)}"`,
        );
        rows.hung.observed.push(
          `exit ${first.code} after ${secs(first.ms)} (timeout 8 s)`,
          `error ${err?.code ?? "none"} [${err?.node ?? "?"}] ${err?.step ?? ""}: "${excerpt(err?.message ?? "")}"`,
          `lock after exit: ${lock ? "present" : "absent"}`,
        );
        expect(other?.code).toBe(5);
        expect(other?.stderr).toMatch(
          /another hactl run holds the cluster lock on node-1: 'hactl install' by \S+ \(pid \d+/,
        );
        expect(first.code).toBe(1);
        expect(err?.code).toBe("COMMAND_TIMEOUT");
        expect(err?.node).toBe("node-3");
        expect(err?.message).toMatch(/microk8s status.*did not finish within .*on node-3/);
        expect(first.ms).toBeLessThan(30_000);
        expect(lock).toBe(false);
      } finally {
        await setFault(node(3), "hang-microk8s-status", false);
      }
    },
  );

  fault(
    [rows.stale],
    "7: a SIGKILLed run's lock refuses runs inside the staleness window and is taken over after it",
    async () => {
      await setFault(node(3), "hang-microk8s-status", true);
      let killed = 0;
      try {
        const { done } = start(
          [
            "--command-timeout",
            "120",
            "--output",
            "json",
            "install",
            "-f",
            rootSpec,
            "--yes",
            "--templates",
            goodTemplates,
          ],
          {
            onEvent: (e, child) => {
              if (killed === 0 && e.type === "phase" && e.message === "Gather facts") {
                killed = Date.now();
                child.kill("SIGKILL");
              }
            },
          },
        );
        const victim = await done;
        expect(victim.code).toBe(137);
      } finally {
        await setFault(node(3), "hang-microk8s-status", false);
      }
      const left = await lockPresent();
      const early = await hactl(["install", "-f", rootSpec, "--yes", "--templates", goodTemplates], {
        env: { HACTL_LOCK_STALE_SECONDS: "60" },
      });
      await sleep(Math.max(0, killed + 6500 - Date.now()));
      const late = await hactl(["install", "-f", rootSpec, "--yes", "--templates", goodTemplates], {
        env: { HACTL_LOCK_STALE_SECONDS: "5" },
      });
      const m = await members();
      rows.stale.observed.push(
        `lock left by the SIGKILLed run: ${left ? "present" : "absent"}`,
        `run inside the window: exit ${early.code}: "${excerpt(early.stderr, /holds the cluster lock/, 140)}"`,
        `run after it: exit ${late.code} after ${secs(late.ms)}: "${excerpt(late.stderr, /taking over/, 200)}"`,
        `cluster after: ${m.voters.length} voters, ${m.ready.length}/3 Ready; lock after: ${(await lockPresent()) ? "present" : "absent"}`,
      );
      expect(left).toBe(true);
      expect(early.code).toBe(5);
      expect(late.code, output(late)).toBe(0);
      expect(late.stderr).toMatch(/taking over a stale cluster lock on node-1 .*no heartbeat for \d+s/);
      expect(m.voters).toHaveLength(3);
      expect(await lockPresent()).toBe(false);
    },
  );
});

describe("the whole suite", () => {
  fault([rows.secrets], "9: no planted secret appears in any output, log, JSON event or state file", async () => {
    const final = await sh(node(1), `cat ${TOKENS} 2>/dev/null`);
    for (const line of final.stdout.split("\n")) {
      const t = line.split("|")[0]?.trim() ?? "";
      if (t.length >= 32) tokens.add(t);
    }
    const planted: [string, string][] = [
      ["sudo password", secretEnv.FAULTS_SUDO_PW as string],
      ["stats password", secretEnv.FAULTS_STATS_PW as string],
      ["postgresql URL", secretEnv.FAULTS_PG_URL as string],
      ["postgresql password", /app:([^@]+)@/.exec(secretEnv.FAULTS_PG_URL as string)?.[1] as string],
      ["redis URL", secretEnv.FAULTS_REDIS_URL as string],
      ["redis password", /:\/\/:([^@]+)@/.exec(secretEnv.FAULTS_REDIS_URL as string)?.[1] as string],
      ...[...tokens].map((t, i): [string, string] => [`join token ${i + 1}`, t]),
    ];
    const haystacks: [string, string][] = runs.flatMap((r, i): [string, string][] => [
      [`run ${i + 1} stdout`, r.stdout],
      [`run ${i + 1} stderr`, r.stderr],
      [`run ${i + 1} log`, r.log],
    ]);
    const files = (d: string): string[] =>
      readdirSync(d).flatMap((f) => {
        const p = join(d, f);
        return statSync(p).isDirectory() ? files(p) : [p];
      });
    for (const f of files(dir)) haystacks.push([f.slice(dir.length + 1), readFileSync(f, "utf8")]);
    const remote = await sh(
      node(1),
      "cat /var/lib/hactl/journal.jsonl 2>/dev/null; cat /var/lib/hactl/cluster.lock 2>/dev/null",
    );
    haystacks.push(["node-1 remote journal and lock", remote.stdout]);
    const journalLines = remote.stdout.split("\n").filter(Boolean).length;
    const leaks: string[] = [];
    for (const [what, value] of planted)
      for (const [where, text] of haystacks) if (text.includes(value)) leaks.push(`${what} in ${where}`);
    const specSecretsInPs = planted
      .slice(0, 6)
      .filter(([, v]) => psSamples.some((s) => s.includes(v)))
      .map(([w]) => w);
    const tokensInPs = [...tokens].filter((t) => psSamples.some((s) => s.includes(t))).length;
    const events = runs.reduce((sum, r) => sum + r.events.length, 0);
    rows.secrets.observed.push(
      `${planted.length} secrets (${tokens.size} join tokens) searched in ${runs.length} runs (${events} JSON events), ${haystacks.length - runs.length * 3} files and the remote journal (${journalLines} lines)`,
      `found: ${leaks.length === 0 ? "none" : leaks.slice(0, 5).join(", ")}`,
      `spec secrets on remote command lines (${psSamples.length} ps samples): ${specSecretsInPs.length === 0 ? "none" : specSecretsInPs.join(", ")}`,
      `join tokens seen on a remote command line: ${tokensInPs} (microk8s join takes its token only as an argument; hactl passes it through stdin to a shell that execs the join)`,
    );
    expect(tokens.size).toBeGreaterThan(0);
    expect(leaks).toEqual([]);
    expect(specSecretsInPs).toEqual([]);
  });
});
