// One timed run each: hactl install, ansible-playbook (defaults / tuned), hactl add-node. Every run gets
// a fresh lab (labUp tears the previous one down), the kit's step costs on every node, and a directory
// of its own under the work dir with what it printed, its logs and GNU time's report.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { labClusterYaml } from "../../test/lab/cluster-yaml.mjs";
import { inNode, labUp } from "../../test/lab/lab.mjs";
import {
  addonsEnabledByHactl,
  hactlCommandCounts,
  maxRssKiB,
  measuredCriticalPath,
  parseCommandLog,
  phaseDurations,
  kubeadmUpgradeCriticalPath,
  sshdStats,
  upgradeCriticalPath,
} from "./measure.mjs";
import { killByMarker, timedInWorkstation } from "./proc.mjs";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const HACTL = join(REPO, "bin/hactl");
const ANSIBLE_DIR = join(REPO, "bench/ansible");
const CLUSTER = "bench";
/** Addons hactl enables by default (spec.addons: dns, haCluster); the playbook enables the same. */
const DEFAULT_ADDONS = ["dns", "ha-cluster"];
/**
 * Every node gets an empty root home of its own (bind-mounted in the node's private mount namespace):
 * lab nodes otherwise share the host's /root, and bash, started by sshd for every remote command of
 * either tool, runs /root/.bashrc. On a workstation whose .bashrc does real work (pyenv init runs
 * `pyenv rehash`, which takes a lock in /root shared by every node) that work would be timed and
 * serialise commands across nodes. A real server's root has no such .bashrc.
 */
const PRIVATE_ROOT_HOME = 'mkdir -p "$1" && chmod 700 "$1" && mount --bind "$1" /root';
let privateRootHome = true;

/** --shared-root-home: leave the nodes' /root as the lab makes it (shared with the host). @param {boolean} on */
export function usePrivateRootHome(on) {
  privateRootHome = on;
}
/** Wait after the costs are written, so every node's kit boot hook has finished before timing. */
const SETTLE_MS = 1500;

/**
 * @typedef {import("../../test/lab/lab.d.mts").Lab} Lab
 * @typedef {import("../../test/lab/lab.d.mts").LabNode} LabNode
 * @typedef {ReturnType<typeof sshdStats>} SshdStats
 * @typedef {ReturnType<typeof measuredCriticalPath>} MeasuredPath
 * @typedef {{ tool: string, size: number, ok: boolean, code: number, timedOut: boolean, wallMs: number,
 *   peakRssKiB?: number, perNode: Record<string, SshdStats & { hactlCommands?: number }>,
 *   addonsEnabled?: string[], dir: string, note?: string, load1?: number, phases?: { phase: string, ms: number }[], measured?: MeasuredPath }} RunResult
 *   (load1: the 1-minute load average just before the timed command started; measured: the measured
 *   critical path from the nodes' kit command logs)
 */

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A fresh lab of `nodes` nodes with the kit's costs written on every node.
 * @param {number} nodes
 * @param {Record<string, number>} costs
 * @param {(line: string) => void} log
 */
export async function freshLab(nodes, costs, log) {
  const t = Date.now();
  const lab = await labUp({ nodes });
  const json = `${JSON.stringify(costs)}\n`;
  await Promise.all(
    lab.nodes.map(async (n) => {
      const r = await inNode(n, ["sh", "-c", "mkdir -p /var/lib/hactl-kit && cat > /var/lib/hactl-kit/cost.json"], {
        input: json,
      });
      if (r.code !== 0) throw new Error(`${n.name}: could not write cost.json: ${r.stderr.trim()}`);
      if (!privateRootHome) return;
      const home = await inNode(n, ["sh", "-c", PRIVATE_ROOT_HOME, "private-root", join(n.dir, "root-home")]);
      if (home.code !== 0) throw new Error(`${n.name}: could not give root a private home: ${home.stderr.trim()}`);
    }),
  );
  await sleep(SETTLE_MS);
  log(`  lab of ${nodes} node(s) up in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return lab;
}

/** Byte length of every node's sshd.log now, so a run reads only its own lines. @param {Lab} lab */
async function logOffsets(lab) {
  /** @type {Map<string, number>} */
  const offsets = new Map();
  for (const n of lab.nodes)
    offsets.set(n.name, (await readFile(join(n.dir, "sshd.log")).catch(() => Buffer.alloc(0))).length);
  return offsets;
}

/** sshd statistics per node since `offsets`. @param {Lab} lab @param {Map<string, number>} offsets */
async function sshdSince(lab, offsets) {
  /** @type {Record<string, SshdStats>} */
  const perNode = {};
  for (const n of lab.nodes) {
    const buf = await readFile(join(n.dir, "sshd.log")).catch(() => Buffer.alloc(0));
    perNode[n.name] = sshdStats(buf.subarray(offsets.get(n.name) ?? 0).toString("utf8"));
  }
  return perNode;
}

/** Where the node kit logs every stand-in run, inside each node's own mount namespace. */
const KIT_COMMAND_LOG = "/var/log/hactl-kit/commands.jsonl";

/**
 * Every node's kit command log.
 * @param {Lab} lab
 */
async function kitLogs(lab) {
  /** @type {Record<string, import("./measure.mjs").KitCommand[]>} */
  const logs = {};
  await Promise.all(
    lab.nodes.map(async (n) => {
      const r = await inNode(n, ["cat", KIT_COMMAND_LOG]);
      logs[n.name] = r.code === 0 ? parseCommandLog(r.stdout) : [];
    }),
  );
  return logs;
}

/**
 * The measured critical path of the run between `from` and `to` (epoch ms), from every node's kit command log.
 * @param {Lab} lab @param {number} from @param {number} to
 */
async function measuredPath(lab, from, to) {
  return measuredCriticalPath(await kitLogs(lab), { from, to });
}

/** @param {string} file */
async function readText(file) {
  return readFile(file, "utf8").catch(() => "");
}

/**
 * cluster.yaml for the first `count` lab nodes: 3 control planes (fewer when count < 3), the rest workers.
 * @param {Lab} lab @param {number} count @param {"microk8s" | "kubeadm"} [distribution]
 */
function clusterYaml(lab, count, distribution = "microk8s") {
  const controlPlanes = Math.min(3, count);
  return labClusterYaml(lab, {
    name: CLUSTER,
    distribution,
    controlPlanes,
    workers: count - controlPlanes,
    lbMode: "keepalived-haproxy",
  });
}

/** hactl keeps its state (journal, default logs) under the run's directory. @param {string} dir */
export function hactlEnv(dir) {
  return { ...process.env, XDG_STATE_HOME: join(dir, "state"), NO_COLOR: "1" };
}

/**
 * Time `hactl install` on a fresh lab of `size` nodes.
 * @param {{ size: number, costs: Record<string, number>, workDir: string, log: (line: string) => void }} o
 * @returns {Promise<RunResult>}
 */
export async function runHactlInstall({ size, costs, workDir, log }) {
  const dir = join(workDir, `hactl-${size}`);
  await mkdir(dir, { recursive: true });
  const lab = await freshLab(size, costs, log);
  const spec = join(dir, "cluster.yaml");
  await writeFile(spec, clusterYaml(lab, size));
  const { result, log: hactlLog } = await timedHactl(lab, dir, join(dir, "hactl.log"), [
    "install",
    "-f",
    spec,
    "--yes",
    "--kubeconfig",
    join(dir, `${CLUSTER}.kubeconfig`),
  ]);
  return { tool: "hactl", size, ...result, addonsEnabled: addonsEnabledByHactl(hactlLog) };
}

/**
 * The install a scenario (failover, upgrade) starts from, with its log, output and kubeconfig in `dir`.
 * @param {string} dir @param {string} spec
 */
function installForScenario(dir, spec) {
  return timedInWorkstation(
    [
      process.execPath,
      HACTL,
      "install",
      "-f",
      spec,
      "--yes",
      "--log-file",
      join(dir, "install.log"),
      "--kubeconfig",
      join(dir, `${CLUSTER}.kubeconfig`),
    ],
    {
      cwd: dir,
      env: hactlEnv(dir),
      stdoutFile: join(dir, "install.stdout.txt"),
      stderrFile: join(dir, "install.stderr.txt"),
      timeoutMs: 30 * 60_000,
    },
  );
}

/**
 * One timed hactl command in the workstation namespace with its log in `logFile`, and what the run
 * left behind: wall time, peak memory, SSH logins and commands per node, phases, measured critical path.
 * @param {Lab} lab @param {string} dir @param {string} logFile @param {string[]} args
 */
async function timedHactl(lab, dir, logFile, args) {
  const offsets = await logOffsets(lab);
  const load1 = loadavg()[0];
  const from = Date.now();
  const r = await timedInWorkstation([process.execPath, HACTL, ...args, "--log-file", logFile], {
    cwd: dir,
    env: hactlEnv(dir),
    stdoutFile: join(dir, "stdout.txt"),
    stderrFile: join(dir, "stderr.txt"),
    timeFile: join(dir, "time.txt"),
    timeoutMs: 30 * 60_000,
  });
  const measured = await measuredPath(lab, from, Date.now());
  const perNode = await sshdSince(lab, offsets);
  const log = await readText(logFile);
  const commands = hactlCommandCounts(log);
  for (const [name, stats] of Object.entries(perNode)) Object.assign(stats, { hactlCommands: commands[name] ?? 0 });
  const result = {
    ok: r.code === 0,
    code: r.code,
    timedOut: r.timedOut,
    wallMs: r.wallMs,
    peakRssKiB: maxRssKiB(await readText(join(dir, "time.txt"))),
    perNode,
    phases: phaseDurations(log),
    measured,
    dir,
    load1,
  };
  return { result, log };
}

/**
 * The rolling upgrades the benchmark times: MicroK8s 1.29 → 1.30 and kubeadm 1.32 → 1.33 (the kit's
 * kubeadm nodes are built at 1.32; a kubeadm install needs a CNI manifest, here an empty DaemonSet).
 */
export const UPGRADES = {
  microk8s: { from: "1.29", to: "1.30", criticalPath: upgradeCriticalPath },
  kubeadm: { from: "1.32", to: "1.33", criticalPath: kubeadmUpgradeCriticalPath },
};

const LAB_CNI =
  "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: lab-cni\n  namespace: kube-system\nspec: {}\n";

/**
 * Install a cluster of `size` nodes at the distribution's `from` with hactl (not timed for the report),
 * then time `hactl upgrade --to <to>`: wall time against the measured critical path of the upgrade's order.
 * @param {{ size: number, costs: Record<string, number>, workDir: string, log: (line: string) => void, distribution?: keyof typeof UPGRADES }} o
 * @returns {Promise<RunResult & { installMs: number, upgradePath?: ReturnType<typeof upgradeCriticalPath> }>}
 */
export async function runUpgrade({ size, costs, workDir, log, distribution = "microk8s" }) {
  const { from: fromVersion, to: toVersion, criticalPath } = UPGRADES[distribution];
  const tool = distribution === "microk8s" ? "hactl upgrade" : "hactl upgrade (kubeadm)";
  const dir = join(workDir, distribution === "microk8s" ? `upgrade-${size}` : `upgrade-${distribution}-${size}`);
  await mkdir(dir, { recursive: true });
  const lab = await freshLab(size, costs, log);
  const spec = join(dir, "cluster.yaml");
  let yaml = clusterYaml(lab, size, distribution);
  if (distribution === "kubeadm") {
    const cni = join(dir, "cni.yaml");
    await writeFile(cni, LAB_CNI);
    yaml = yaml.replace('    version: "1.29"', `    version: "${fromVersion}"\n    cni: { manifest: ${cni} }`);
  }
  await writeFile(spec, yaml);
  const install = await installForScenario(dir, spec);
  if (install.code !== 0) {
    return {
      tool,
      size,
      ok: false,
      code: install.code,
      timedOut: install.timedOut,
      wallMs: 0,
      installMs: install.wallMs,
      perNode: {},
      dir,
      note: `the ${size}-node install failed (exit ${install.code})`,
    };
  }
  log(
    `  ${size}-node cluster installed at ${fromVersion} in ${(install.wallMs / 1000).toFixed(1)} s; upgrading to ${toVersion}`,
  );
  const from = Date.now();
  const { result } = await timedHactl(lab, dir, join(dir, "upgrade.log"), [
    "upgrade",
    "--to",
    toVersion,
    "-f",
    spec,
    "--yes",
  ]);
  const controlPlanes = lab.nodes.slice(0, Math.min(3, size)).map((n) => n.name);
  const workers = size - controlPlanes.length;
  const upgradePath = criticalPath(await kitLogs(lab), {
    from,
    to: Date.now(),
    controlPlanes,
    batchSize: Math.max(1, Math.floor(workers / 10)),
  });
  return { tool, size, ...result, installMs: install.wallMs, upgradePath };
}

/**
 * The Ansible inventory for the first `size` lab nodes, in hactl's node order.
 * @param {Lab} lab @param {number} size @param {string} dir
 */
function inventory(lab, size, dir) {
  const nodes = lab.nodes.slice(0, size);
  const cps = nodes.slice(0, Math.min(3, size));
  const workers = nodes.slice(cps.length);
  const leader = /** @type {LabNode} */ (cps[0]);
  const hostEntry = (/** @type {LabNode} */ n, /** @type {number} */ i) => [
    n.name,
    { ansible_host: n.address, vrrp_priority: Math.max(1, 150 - i * 10) },
  ];
  const names = (/** @type {LabNode[]} */ list) => Object.fromEntries(list.map((n) => [n.name, null]));
  return {
    all: {
      vars: {
        ansible_user: "root",
        ansible_ssh_private_key_file: lab.sshKey,
        ansible_ssh_common_args: `-o UserKnownHostsFile=${lab.knownHosts} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`,
        cluster_name: CLUSTER,
        leader: leader.name,
        vip: lab.vips[0],
        api_port: 7443,
        backend_api_port: 16443,
        lb_interface: lab.iface,
        virtual_router_id: 51,
        microk8s_version: "1.29",
        addons: DEFAULT_ADDONS,
        kubeconfig_path: join(dir, `${CLUSTER}.kubeconfig`),
      },
      children: {
        control_planes: { hosts: Object.fromEntries(cps.map(hostEntry)) },
        workers: { hosts: Object.fromEntries(workers.map((n, i) => hostEntry(n, cps.length + i))) },
        joiners: { hosts: names(nodes.filter((n) => n !== leader)) },
        leader: { hosts: names([leader]) },
      },
    },
  };
}

/**
 * Time `ansible-playbook bench/ansible/site.yml` on a fresh lab of `size` nodes.
 * @param {{ size: number, costs: Record<string, number>, workDir: string, tuned: boolean, log: (line: string) => void }} o
 * @returns {Promise<RunResult>}
 */
export async function runAnsible({ size, costs, workDir, tuned, log }) {
  const tool = tuned ? "ansible-tuned" : "ansible-default";
  const dir = join(workDir, `${tool}-${size}`);
  const controlDir = join(dir, "cp");
  await mkdir(controlDir, { recursive: true });
  const lab = await freshLab(size, costs, log);
  const inv = join(dir, "inventory.yml");
  await writeFile(inv, stringify(inventory(lab, size, dir)));
  const env = {
    ...process.env,
    ANSIBLE_CONFIG: join(ANSIBLE_DIR, "ansible.cfg"),
    ANSIBLE_FORKS: String(tuned ? size : 5),
    ANSIBLE_PIPELINING: tuned ? "True" : "False",
    ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
    ANSIBLE_LOCAL_TEMP: join(dir, "tmp"),
    ANSIBLE_REMOTE_TEMP: "/tmp/.ansible-bench",
    ANSIBLE_NOCOLOR: "1",
  };
  const offsets = await logOffsets(lab);
  const load1 = loadavg()[0];
  const from = Date.now();
  let r;
  try {
    r = await timedInWorkstation(["ansible-playbook", "-i", inv, join(ANSIBLE_DIR, "site.yml")], {
      cwd: dir,
      env,
      stdoutFile: join(dir, "stdout.txt"),
      stderrFile: join(dir, "stderr.txt"),
      timeFile: join(dir, "time.txt"),
      timeoutMs: 45 * 60_000,
    });
  } finally {
    // ControlPersist masters would otherwise linger for 60 s (and hold the nodes' sshd sessions)
    killByMarker(controlDir);
  }
  const measured = await measuredPath(lab, from, Date.now());
  const stdout = await readText(join(dir, "stdout.txt"));
  const failedHosts = /failed=[1-9]|unreachable=[1-9]/.test(stdout);
  return {
    tool,
    size,
    ok: r.code === 0 && !failedHosts,
    code: r.code,
    timedOut: r.timedOut,
    wallMs: r.wallMs,
    peakRssKiB: maxRssKiB(await readText(join(dir, "time.txt"))),
    perNode: await sshdSince(lab, offsets),
    measured,
    dir,
    load1,
  };
}

/**
 * Install a cluster of `base` nodes with hactl (not timed for the report), then time
 * `hactl add-node node-(base+1) --role worker`.
 * @param {{ base: number, costs: Record<string, number>, workDir: string, log: (line: string) => void }} o
 * @returns {Promise<RunResult & { installMs: number }>}
 */
export async function runAddNode({ base, costs, workDir, log }) {
  const dir = join(workDir, `add-node-${base}`);
  await mkdir(dir, { recursive: true });
  const lab = await freshLab(base + 1, costs, log);
  const spec = join(dir, "cluster.yaml");
  await writeFile(spec, clusterYaml(lab, base));
  const install = await installForScenario(dir, spec);
  const newNode = /** @type {LabNode} */ (lab.nodes[base]);
  if (install.code !== 0) {
    return {
      tool: "hactl add-node",
      size: base,
      ok: false,
      code: install.code,
      timedOut: install.timedOut,
      wallMs: 0,
      installMs: install.wallMs,
      perNode: {},
      dir,
      note: `the ${base}-node install failed (exit ${install.code})`,
    };
  }
  log(`  ${base}-node cluster installed in ${(install.wallMs / 1000).toFixed(1)} s; adding ${newNode.name}`);
  const { result } = await timedHactl(lab, dir, join(dir, "add-node.log"), [
    "add-node",
    newNode.name,
    "--address",
    newNode.address,
    "--role",
    "worker",
    "-f",
    spec,
    "--yes",
  ]);
  return { tool: "hactl add-node", size: base, ...result, installMs: install.wallMs };
}
