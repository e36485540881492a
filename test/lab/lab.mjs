// The lab: real Linux "nodes" on one machine, built from network, mount and UTS namespaces.
//
// Topology (all addresses exist only inside namespaces this module creates), for lab slot 0:
//   hl-br                one bridge br0, nothing else
//   hl-ws                the workstation, 10.77.0.2/24, where hactl and the tests run
//   hl-node-N, hl-lb-N   one namespace per node / load-balancer host, eth0 on br0, own sshd
//
// Lab slots let several labs stand side by side, so that `npm test` runs lab files in parallel (one slot
// per vitest worker). Slot k > 0 has its own bridge hl<k>-br, hosts hl<k>-node-N on 10.77.<k>.0/24, its own
// directory /var/lib/hactl-lab-<k>, ops user labops<k> and sudoers file; the workstation hl-ws is shared and
// gets one link per slot (lab<k>, address 10.77.<k>.2). The slot is HACTL_LAB_SLOT, else (in a vitest
// worker) the lowest slot no other live process has claimed in /run/hactl-lab-slots, else 0.
//
// Plain ESM JavaScript so that it runs with `node` without a build step; types are in lab.d.mts.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  openSync,
  closeSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { chmod, copyFile, cp, mkdir, readFile, readdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** @param {number} slot */
function slotLayout(slot) {
  const root = slot === 0 ? "/var/lib/hactl-lab" : `/var/lib/hactl-lab-${slot}`;
  return {
    slot,
    root,
    prefix: slot === 0 ? "hl-" : `hl${slot}-`,
    net: `10.77.${slot}`,
    /** the slot's link in the shared workstation */
    wsIface: slot === 0 ? "eth0" : `lab${slot}`,
    opsUser: slot === 0 ? "labops" : `labops${slot}`,
    sudoers: slot === 0 ? "/etc/sudoers.d/hactl-lab" : `/etc/sudoers.d/hactl-lab-${slot}`,
    /** present when this slot's labUp created the ops user (so that labDown removes it) */
    opsMarker: join(root, "ops-user-created"),
  };
}

/** The slots a machine may hold (10.77.0.0/24 .. 10.77.9.0/24). */
const MAX_SLOTS = 10;
/** Every slot's subnet, blackholed in the host's own namespace. */
const ALL_SLOTS_NET = "10.77.0.0/16";

/** One file per claimed slot, holding the claiming process's pid. */
const SLOT_CLAIMS = "/run/hactl-lab-slots";

/**
 * This process's slot: HACTL_LAB_SLOT when set; in a vitest worker, the lowest slot no other live process
 * has claimed (claimed here and passed on to child processes through HACTL_LAB_SLOT); else 0.
 */
function slotFromEnv() {
  const raw = process.env.HACTL_LAB_SLOT;
  if (raw === undefined) return process.env.VITEST_POOL_ID ? claimSlot() : 0;
  const slot = Number(raw);
  if (!Number.isInteger(slot) || slot < 0 || slot >= MAX_SLOTS)
    throw new Error(`HACTL_LAB_SLOT must be 0..${MAX_SLOTS - 1}, got ${raw}`);
  return slot;
}

function claimSlot() {
  try {
    mkdirSync(SLOT_CLAIMS, { recursive: true });
  } catch {
    return 0; // not root: no lab anyway
  }
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    const file = join(SLOT_CLAIMS, String(slot));
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
    } catch (e) {
      if (/** @type {NodeJS.ErrnoException} */ (e).code !== "EEXIST") throw e;
      const owner = Number(readFileSync(file, "utf8").trim());
      if (owner !== process.pid) {
        if (owner && alive(owner)) continue;
        rmSync(file, { force: true });
        slot--; // a dead process's claim: try the same slot again
        continue;
      }
    }
    process.env.HACTL_LAB_SLOT = String(slot);
    return slot;
  }
  throw new Error(`every lab slot (0..${MAX_SLOTS - 1}) is claimed by a live process (${SLOT_CLAIMS})`);
}

const LAYOUT = slotLayout(slotFromEnv());
/** This process's lab slot. */
export const LAB_SLOT = LAYOUT.slot;
/** The first three octets of this slot's addresses ("10.77.0" in slot 0). */
export const LAB_NET = LAYOUT.net;
/** The prefix of this slot's namespace names ("hl-" in slot 0). */
export const NS_PREFIX = LAYOUT.prefix;
export const LAB_ROOT = LAYOUT.root;
export const LAB_FILE = join(LAB_ROOT, "lab.json");
export const SUBNET = `${LAYOUT.net}.0/24`;
export const BRIDGE_NS = `${LAYOUT.prefix}br`;
/** The workstation namespace, shared by all slots. */
export const WORKSTATION_NS = "hl-ws";
export const WORKSTATION_ADDRESS = `${LAYOUT.net}.2`;
export const MAX_NODES = 30;
export const MAX_LB_HOSTS = 10;
export const OPS_USER = LAYOUT.opsUser;
export const SUDOERS_FILE = LAYOUT.sudoers;

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const KIT_SOURCE = join(REPO, "test/kit");
// The checkout may live where a node cannot see it (/root and /tmp are private to each node, and a path
// may hold spaces or pass through a symlink), so labUp copies the node kit and the node's init script to
// KIT_DIR, a directory every node shares with the host, and every node uses that copy.
export const KIT_DIR = join(LAB_ROOT, "kit");
const INIT_SCRIPT = join(KIT_DIR, "node-init.sh");
const KIT_BIN = join(KIT_DIR, "bin");
const KIT_BOOT = join(KIT_DIR, "boot.sh");
/** The kit's only npm dependency, copied beside it so that its imports resolve inside a node. */
const KIT_NPM_DEPENDENCIES = ["yaml"];
/** A lab address where a DNS server takes queries and never answers (the "silent resolver" profile). */
export const SILENT_RESOLVER = `${LAYOUT.net}.253`;
const KEY_DIR = join(LAB_ROOT, "keys");
const SSH_KEY = join(KEY_DIR, "id_ed25519");
const ROOT_AUTHORIZED_KEYS = join(KEY_DIR, "authorized_keys");
const KNOWN_HOSTS = join(LAB_ROOT, "known_hosts");
/** The interface name inside the workstation and every host whose profile does not name another. */
const IFACE = "eth0";
const VIPS = Array.from({ length: 10 }, (_, i) => `${LAYOUT.net}.${100 + i}`);
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Directories every node gets its own (initially empty) copy of, bind-mounted over the host's.
 * /etc is private too, but as an overlay over the host's /etc (see node-init.sh): a node starts with
 * the host's files, its changes land in `<dir>/fs/etc`, and files in /etc can be replaced by rename
 * (a bind-mounted single file could not: rename onto a mount point fails with EBUSY).
 */
const PRIVATE_DIRS = [
  { path: "/tmp", mode: 0o1777 },
  { path: "/run", mode: 0o755 },
  { path: "/usr/local/bin", mode: 0o755 },
  { path: "/var/lib/hactl-kit", mode: 0o755 },
  { path: "/var/log/hactl-kit", mode: 0o755 },
  { path: "/var/snap", mode: 0o755 },
  { path: "/var/lib/etcd", mode: 0o700 },
  // root's home: otherwise every node shares the host's /root, and bash, which sshd starts for every
  // remote command, would run the host's ~/.bashrc (on these machines pyenv init, under a lock shared by
  // all nodes) — slow, serialised across nodes, and not what a fresh server does.
  { path: "/root", mode: 0o700 },
  // hactl's own state on a node (cluster lock, run journal, applied stamps) is per node, as on servers
  { path: "/var/lib/hactl", mode: 0o700 },
];

/** Binaries the lab needs and the Debian package that provides each. */
const REQUIREMENTS = [
  { name: "sshd", pkg: "openssh-server" },
  { name: "ssh", pkg: "openssh-client" },
  { name: "ssh-keygen", pkg: "openssh-client" },
  { name: "/usr/lib/openssh/sftp-server", pkg: "openssh-sftp-server" },
  { name: "sudo", pkg: "sudo" },
  { name: "visudo", pkg: "sudo" },
  { name: "keepalived", pkg: "keepalived" },
  { name: "haproxy", pkg: "haproxy" },
  { name: "nginx", pkg: "nginx-light" },
  { name: "/usr/lib/nginx/modules/ngx_stream_module.so", pkg: "libnginx-mod-stream" },
  { name: "etcd", pkg: "etcd-server" },
  { name: "etcdctl", pkg: "etcd-client" },
  { name: "ip", pkg: "iproute2" },
  { name: "ps", pkg: "procps" },
  { name: "pkill", pkg: "procps" },
  { name: "killall", pkg: "psmisc" },
  { name: "nsenter", pkg: "util-linux" },
  { name: "unshare", pkg: "util-linux" },
  { name: "flock", pkg: "util-linux" },
  { name: "useradd", pkg: "passwd" },
  { name: "chpasswd", pkg: "passwd" },
  // a real NFS server inside a lab node (the shared-mounts test) and the client's export listing
  { name: "ganesha.nfsd", pkg: "nfs-ganesha" },
  { name: "/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so", pkg: "nfs-ganesha-vfs" },
  { name: "rpcbind", pkg: "rpcbind" },
  { name: "showmount", pkg: "nfs-common" },
];
/** What `apt-get install` gets when something is missing (the full set, so CI and a fresh machine match). */
export const LAB_PACKAGES = [
  "openssh-server",
  "sudo",
  "keepalived",
  "haproxy",
  "nginx-light",
  "libnginx-mod-stream",
  "etcd-server",
  "etcd-client",
  "iproute2",
  "procps",
  "psmisc",
  "nfs-ganesha",
  "nfs-ganesha-vfs",
  "rpcbind",
  "nfs-common",
];
/** Daemons the packages may start on the host; none of them may keep running there. */
const HOST_DAEMONS = ["sshd", "keepalived", "haproxy", "nginx", "etcd", "rpcbind", "ganesha.nfsd", "rpc.statd"];

/**
 * @typedef {{ iface?: string, sshPort?: number, resolver?: "silent", ownNameResolves?: boolean,
 *   secondAddress?: boolean, login?: "root" | "ops", rootLogin?: "key" | "password" }} HostProfile
 * @typedef {{ name: string, address: string, ns: string, dir: string, iface: string, sshPort: number,
 *   profile: HostProfile, rootPassword?: string }} LabNode
 * @typedef {{ subnet: string, workstation: { ns: string, address: string }, nodes: LabNode[],
 *   lbHosts: LabNode[], vips: string[], sshKey: string, knownHosts: string,
 *   opsUser: { name: string, password: string }, iface: string }} Lab
 * @typedef {{ code: number, stdout: string, stderr: string }} RunResult
 * @typedef {{ input?: string | Buffer, env?: Record<string, string>, timeoutMs?: number, check?: boolean }} RunOptions
 */

// ---------------------------------------------------------------------------------------------
// Host profiles: the kinds of machine the lab offers, so that hactl meets more than one kind.

/** @type {Record<string, HostProfile>} */
export const PROFILES = {
  /** eth0, sshd on 22, root login, the host's resolver, its own name in /etc/hosts */
  plain: {},
  /** /etc/resolv.conf names a server that takes queries and never answers (isolated on-premises networks) */
  silentResolver: { resolver: "silent" },
  /** the node's own name is not in /etc/hosts (and no other node's is either) */
  unresolvedName: { ownNameResolves: false },
  /** the interface is ens18, as on the seeds' Proxmox servers */
  ens18: { iface: "ens18" },
  /** a docker0-style bridge with a second address (MicroK8s' add-node then prints several join lines) */
  secondAddress: { secondAddress: true },
  /** sshd listens on 2222 only */
  sshPort: { sshPort: 2222 },
  /** hactl logs in as a non-root user whose sudo asks for a password */
  opsSudo: { login: "ops" },
  /**
   * a freshly provisioned server: root logs in with its password (random per host, LabNode.rootPassword)
   * and root's authorized_keys is the node's own /root/.ssh/authorized_keys, empty until someone adds a key
   */
  passwordOnly: { rootLogin: "password" },
};

/**
 * The mix the workflow tests run over, node by node (cycled for larger labs). node-1 stays plain so
 * that the first control plane of every test is the common case; every other kind appears among the first
 * three nodes and again among the next three.
 * @type {HostProfile[]}
 */
export const MIXED_PROFILES = [
  PROFILES.plain,
  { ...PROFILES.ens18, ...PROFILES.sshPort, ...PROFILES.silentResolver },
  { ...PROFILES.opsSudo, ...PROFILES.secondAddress, ...PROFILES.unresolvedName },
  { ...PROFILES.silentResolver, ...PROFILES.secondAddress },
  { iface: "enp1s0", ...PROFILES.unresolvedName },
  { ...PROFILES.sshPort, ...PROFILES.opsSudo },
];

/**
 * The profile of the i-th node (0-based) for a labUp `profiles` option.
 * @param {HostProfile[] | "mixed" | undefined} profiles
 * @param {number} i
 * @returns {HostProfile}
 */
function profileFor(profiles, i) {
  if (profiles === "mixed") return MIXED_PROFILES[i % MIXED_PROFILES.length] ?? {};
  return profiles?.[i] ?? {};
}

// ---------------------------------------------------------------------------------------------
// Small process helpers

/**
 * Run a program (never through a shell) and collect its output.
 * @param {string} cmd
 * @param {string[]} args
 * @param {RunOptions} [opts]
 * @returns {Promise<RunResult>}
 */
function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: opts.env ?? process.env,
      cwd: "/",
    });
    /** @type {Buffer[]} */
    const out = [];
    /** @type {Buffer[]} */
    const err = [];
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill("SIGKILL");
        }, opts.timeoutMs)
      : undefined;
    child.stdout.on("data", (b) => out.push(b));
    child.stderr.on("data", (b) => err.push(b));
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    // A command may leave a background process holding its stdout (a daemon started without
    // redirection); once the command itself has exited, wait briefly for the pipes, then stop reading.
    let settled = false;
    child.on("exit", () => {
      setTimeout(() => {
        if (settled) return;
        child.stdout.destroy();
        child.stderr.destroy();
      }, 500).unref();
    });
    child.on("close", (code, signal) => {
      settled = true;
      if (timer) clearTimeout(timer);
      const result = {
        code: code ?? 128 + signalNumber(signal),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      };
      if (timedOut) {
        reject(new Error(`${cmd} ${args.join(" ")}: timed out after ${opts.timeoutMs} ms`));
      } else if (opts.check && result.code !== 0) {
        reject(new Error(`${cmd} ${args.join(" ")} exited with ${result.code}: ${result.stderr.trim()}`));
      } else {
        resolve(result);
      }
    });
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
  });
}

/** @param {string | null} signal */
function signalNumber(signal) {
  const numbers = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };
  return (signal && numbers[/** @type {keyof typeof numbers} */ (signal)]) || 1;
}

/** @param {string} cmd @param {string[]} args @param {RunOptions} [opts] */
function must(cmd, args, opts = {}) {
  return run(cmd, args, { ...opts, check: true });
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** @param {Record<string, string>} [extra] */
function nodeEnv(extra = {}) {
  return { PATH: SYSTEM_PATH, HOME: "/root", USER: "root", LOGNAME: "root", LANG: "C.UTF-8", ...extra };
}

/** @param {number} pid */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** @param {number} pid */
function cmdlineOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

/** This process and its ancestors. */
function ancestors() {
  const chain = new Set();
  let pid = process.pid;
  while (pid > 1 && !chain.has(pid)) {
    chain.add(pid);
    try {
      pid = Number(
        readFileSync(`/proc/${pid}/stat`, "utf8")
          .replace(/^.*\) /, "")
          .split(" ")[1],
      );
    } catch {
      break;
    }
  }
  return chain;
}

// ---------------------------------------------------------------------------------------------
// The lab owner: one `npm test` run owns the lab at a time (several people may share a machine).
// run-tests.mjs queues whole runs with flock(1) on /run/hactl-lab.lock; the owner file below names
// the owning process so that lab calls from any other process tree refuse to touch its lab.

export const LOCK_FILE = "/run/hactl-lab.owner";

/** The live process holding the lab lock, if any. @returns {{ pid: number, cmd: string } | undefined} */
export function lockHolder() {
  let pid;
  try {
    pid = Number(readFileSync(LOCK_FILE, "utf8").trim());
  } catch {
    return undefined;
  }
  if (!pid || !alive(pid)) return undefined;
  return { pid, cmd: cmdlineOf(pid).trim() };
}

/** Throws when another process tree holds the lab lock (its descendants may use the lab). */
function assertLabFree() {
  const holder = lockHolder();
  if (holder && !ancestors().has(holder.pid)) {
    throw new Error(`the lab is in use by another test run (pid ${holder.pid}: ${holder.cmd}); wait for it to finish`);
  }
}

/**
 * Take the lab lock for this process, waiting while another live process holds it.
 * @param {{ waitMs?: number, log?: (line: string) => void }} [opts]
 */
export async function acquireLabLock({ waitMs = 30 * 60_000, log = (line) => console.error(line) } = {}) {
  const deadline = Date.now() + waitMs;
  let lastLog = 0;
  for (;;) {
    try {
      await writeFile(LOCK_FILE, `${process.pid}\n`, { flag: "wx" });
      return;
    } catch (e) {
      if (/** @type {NodeJS.ErrnoException} */ (e).code !== "EEXIST") throw e;
    }
    const holder = lockHolder();
    if (!holder) {
      await rm(LOCK_FILE, { force: true });
      continue;
    }
    if (holder.pid === process.pid) return;
    if (Date.now() > deadline)
      throw new Error(`gave up waiting for the lab: pid ${holder.pid} (${holder.cmd}) still holds ${LOCK_FILE}`);
    if (Date.now() - lastLog > 30_000) {
      log(`lab: waiting for another test run to finish (pid ${holder.pid}: ${holder.cmd})`);
      lastLog = Date.now();
    }
    await sleep(1000);
  }
}

/** Release the lab lock if this process holds it. */
export function releaseLabLock() {
  try {
    if (Number(readFileSync(LOCK_FILE, "utf8").trim()) === process.pid) rmSync(LOCK_FILE, { force: true });
  } catch {
    // no lock file
  }
}

// ---------------------------------------------------------------------------------------------
// Requirements

/** @param {string} name */
function findBinary(name) {
  if (name.startsWith("/")) return existsSync(name) ? name : undefined;
  for (const d of SYSTEM_PATH.split(":")) {
    const p = join(d, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The requirements that are missing, as `{ name, pkg }`. */
export function missingRequirements() {
  return REQUIREMENTS.filter((r) => !findBinary(r.name));
}

/** PIDs of the host's own daemons (processes in PID 1's network namespace) among HOST_DAEMONS. */
function hostDaemonPids() {
  let hostNet = "";
  try {
    hostNet = readlinkSync("/proc/1/ns/net");
  } catch {
    return [];
  }
  /** @type {number[]} */
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
      if (HOST_DAEMONS.includes(comm) && readlinkSync(`/proc/${entry}/ns/net`) === hostNet) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/**
 * Make sure every binary the lab needs is present. As root, missing packages are installed with
 * apt-get (daemons the packages start on the host are stopped again); otherwise throws an error
 * that names what is missing and the command that installs it.
 * @param {{ install?: boolean, log?: (line: string) => void }} [opts]
 */
export async function ensureRequirements({ install = true, log = (line) => console.error(line) } = {}) {
  const isRoot = process.getuid?.() === 0;
  let missing = missingRequirements();
  if (isRoot && missing.length === 0) return;
  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  const what = missing.map((m) => `${m.name} (${m.pkg})`).join(", ");
  if (!isRoot) {
    throw new Error(
      "The hactl lab needs root: it creates network namespaces, runs one sshd per node and adds a sudo user. " +
        "Run it as root (for example `sudo npm test`)." +
        (missing.length ? ` Missing too: ${what}; install with: apt-get install -y ${LAB_PACKAGES.join(" ")}` : ""),
    );
  }
  if (!install) {
    throw new Error(`The hactl lab is missing ${what}. Install with: apt-get install -y ${LAB_PACKAGES.join(" ")}`);
  }
  log(`lab: installing missing packages (${pkgs.join(", ")}) with apt-get`);
  const before = new Set(hostDaemonPids());
  const policy = "/usr/sbin/policy-rc.d";
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) await writeFile(policy, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const aptOpts = [
      "-o",
      "DPkg::Lock::Timeout=600",
      "-o",
      "Dpkg::Options::=--force-confold",
      "-o",
      "Dpkg::Options::=--force-confdef",
    ];
    await must("apt-get", [...aptOpts, "update", "-q"], { env });
    const res = await run("apt-get", [...aptOpts, "install", "-y", "-q", ...LAB_PACKAGES], { env });
    if (res.code !== 0) {
      throw new Error(
        `apt-get install failed (exit ${res.code}): ${res.stderr.trim().split("\n").slice(-5).join("\n")}`,
      );
    }
  } finally {
    if (ownPolicy) await rm(policy, { force: true });
    for (const pid of hostDaemonPids()) {
      if (!before.has(pid)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  }
  missing = missingRequirements();
  if (missing.length) {
    throw new Error(`Still missing after apt-get: ${missing.map((m) => `${m.name} (${m.pkg})`).join(", ")}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Namespaces

/** Names of all existing network namespaces of every lab slot (hl-*, hl1-*, ...). */
async function allLabNamespaces() {
  const res = await run("ip", ["netns", "list"]);
  return res.stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((n) => /^hl\d*-/.test(n));
}

/** Names of the existing network namespaces of this lab slot (for slot 0, `hl-*`, the workstation too). */
export async function labNamespaces(layout = LAYOUT) {
  return (await allLabNamespaces()).filter((n) => n.startsWith(layout.prefix));
}

/** @param {string} ns */
function nsExists(ns) {
  return existsSync(`/run/netns/${ns}`);
}

/** @param {string} ns */
function nsInode(ns) {
  try {
    return statSync(`/run/netns/${ns}`).ino;
  } catch {
    return undefined;
  }
}

/** True when this process runs inside the workstation namespace. */
export function insideWorkstation() {
  const ino = nsInode(WORKSTATION_NS);
  if (ino === undefined) return false;
  try {
    return statSync("/proc/self/ns/net").ino === ino;
  } catch {
    return false;
  }
}

/** @param {string} ns */
async function nsPids(ns) {
  const res = await run("ip", ["netns", "pids", ns]);
  if (res.code !== 0) return [];
  return res.stdout
    .split("\n")
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0 && n !== process.pid);
}

/** SIGKILL every process in a namespace until none is left (processes may fork while we kill). */
async function killNamespace(/** @type {string} */ ns) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pids = await nsPids(ns);
    if (pids.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes in ${ns} survive SIGKILL: ${pids.join(" ")}`);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await sleep(20);
  }
}

/** Create the bridge namespace with br0, and the workstation namespace attached to it. */
export async function ensureWorkstation() {
  if (!nsExists(BRIDGE_NS)) {
    await must("ip", ["netns", "add", BRIDGE_NS]);
    await must("ip", ["-n", BRIDGE_NS, "link", "set", "lo", "up"]);
    await must("ip", ["-n", BRIDGE_NS, "link", "add", "br0", "type", "bridge", "stp_state", "0"]);
    await must("ip", ["-n", BRIDGE_NS, "link", "set", "br0", "up"]);
    if (nsExists(WORKSTATION_NS)) {
      // its old link went away with the old bridge namespace (or is about to): start over
      await run("ip", ["-n", WORKSTATION_NS, "link", "del", LAYOUT.wsIface]);
    }
  }
  if (!nsExists(WORKSTATION_NS)) {
    await must("ip", ["netns", "add", WORKSTATION_NS]);
    await must("ip", ["-n", WORKSTATION_NS, "link", "set", "lo", "up"]);
  }
  const has = await run("ip", ["-n", WORKSTATION_NS, "link", "show", LAYOUT.wsIface]);
  if (has.code !== 0) {
    await attach(WORKSTATION_NS, "v-ws", `${WORKSTATION_ADDRESS}/24`, LAYOUT.wsIface);
  }
  // The lab's addresses exist only inside its namespaces. In the host's own namespace every slot's subnet
  // is a blackhole, so a tool started there by mistake fails at once instead of sending anything out.
  if (!insideWorkstation()) await must("ip", ["route", "replace", "blackhole", ALL_SLOTS_NET]);
  return { ns: WORKSTATION_NS, address: WORKSTATION_ADDRESS };
}

/** A veth from br0 (bridge side `port`) into `ns` (named `ifname` there), with an address, up. */
async function attach(
  /** @type {string} */ ns,
  /** @type {string} */ port,
  /** @type {string} */ cidr,
  ifname = IFACE,
) {
  await must("ip", ["-n", BRIDGE_NS, "link", "add", port, "type", "veth", "peer", "name", ifname, "netns", ns]);
  await must("ip", ["-n", BRIDGE_NS, "link", "set", port, "master", "br0", "up"]);
  await must("ip", ["-n", ns, "addr", "add", cidr, "dev", ifname]);
  await must("ip", ["-n", ns, "link", "set", ifname, "up"]);
}

/**
 * The silent resolver: SILENT_RESOLVER on the bridge, where a process takes DNS queries over UDP and TCP
 * and never answers, as a DNS server behind a firewall that drops does. Lives in the bridge namespace, so
 * it goes when the lab goes.
 */
async function ensureSilentResolver() {
  const has = await run("ip", ["-n", BRIDGE_NS, "-4", "-o", "addr", "show", "dev", "br0"]);
  if (has.stdout.includes(`${SILENT_RESOLVER}/`)) return;
  await must("ip", ["-n", BRIDGE_NS, "addr", "add", `${SILENT_RESOLVER}/24`, "dev", "br0"]);
  const sink = [
    "const dgram = require('node:dgram'); const net = require('node:net');",
    `dgram.createSocket('udp4').on('message', () => {}).bind(53, '${SILENT_RESOLVER}');`,
    `net.createServer((s) => { s.on('data', () => {}); s.on('error', () => {}); }).listen(53, '${SILENT_RESOLVER}');`,
  ].join(" ");
  const child = spawn("ip", ["netns", "exec", BRIDGE_NS, process.execPath, "-e", sink], {
    detached: true,
    stdio: "ignore",
    cwd: "/",
  });
  child.on("error", () => {});
  child.unref();
  const deadline = Date.now() + 5000;
  for (;;) {
    const ss = await run("ip", ["netns", "exec", BRIDGE_NS, "ss", "-Hluna"]);
    if (ss.stdout.includes(`${SILENT_RESOLVER}:53`)) return;
    if (Date.now() > deadline) throw new Error(`the lab's silent resolver did not start on ${SILENT_RESOLVER}:53`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------
// Lab description

/**
 * @param {"node" | "lb"} kind
 * @param {number} i 1-based index
 * @param {HostProfile} [profile]
 * @returns {LabNode}
 */
function hostSpec(kind, i, profile = {}) {
  const name = `${kind}-${i}`;
  const address = kind === "node" ? `${LAYOUT.net}.${10 + i}` : `${LAYOUT.net}.${200 + i}`;
  const spec = {
    name,
    address,
    ns: `${LAYOUT.prefix}${name}`,
    dir: join(LAB_ROOT, name),
    iface: profile.iface ?? IFACE,
    sshPort: profile.sshPort ?? 22,
    profile,
  };
  return profile.rootLogin === "password" ? { ...spec, rootPassword: randomBytes(12).toString("base64url") } : spec;
}

/** The host as known_hosts and ssh name it: `address`, or `[address]:port` off port 22. @param {LabNode} h */
const sshHostName = (h) => (h.sshPort === 22 ? h.address : `[${h.address}]:${h.sshPort}`);

/** @param {LabNode} h */
const bridgePort = (h) => `v-${h.name}`;

/** The current lab, or undefined when none is up. @returns {Lab | undefined} */
export function readLab() {
  try {
    return JSON.parse(readFileSync(LAB_FILE, "utf8"));
  } catch {
    return undefined;
  }
}

/** @param {Lab} lab */
async function writeLab(lab) {
  const tmp = `${LAB_FILE}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(lab, null, 2) + "\n", { mode: 0o600 });
  await rename(tmp, LAB_FILE);
  const lines = [];
  for (const h of [...lab.nodes, ...lab.lbHosts]) {
    const pub = (await readFile(join(h.dir, "ssh_host_ed25519_key.pub"), "utf8")).trim().split(/\s+/);
    lines.push(`${sshHostName(h)} ${pub[0]} ${pub[1]}`);
  }
  await writeFile(KNOWN_HOSTS, lines.join("\n") + "\n", { mode: 0o644 });
}

/**
 * Resolve a node object or name against the current lab.
 * @param {LabNode | string} node
 * @returns {LabNode}
 */
function resolveHost(node) {
  const name = typeof node === "string" ? node : node.name;
  const lab = readLab();
  const found = lab && [...lab.nodes, ...lab.lbHosts].find((h) => h.name === name);
  if (found) return found;
  if (typeof node !== "string") return node;
  throw new Error(`no lab host named ${name}${lab ? "" : " (no lab is up)"}`);
}

/** The node's init (its sshd) PID when it runs, else undefined. @param {LabNode} h */
function initPid(h) {
  let pid;
  try {
    pid = Number(readFileSync(join(h.dir, "init.pid"), "utf8").trim());
  } catch {
    return undefined;
  }
  // guard against a reused PID: the init's command line names the node's own sshd_config
  if (!pid || !alive(pid) || !cmdlineOf(pid).includes(join(h.dir, "sshd_config"))) return undefined;
  return pid;
}

// ---------------------------------------------------------------------------------------------
// Keys, users

async function ensureKeys() {
  await mkdir(KEY_DIR, { recursive: true, mode: 0o700 });
  if (!existsSync(SSH_KEY) || !existsSync(`${SSH_KEY}.pub`)) {
    await rm(SSH_KEY, { force: true });
    await rm(`${SSH_KEY}.pub`, { force: true });
    await must("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "hactl-lab", "-f", SSH_KEY]);
  }
  await copyFile(`${SSH_KEY}.pub`, ROOT_AUTHORIZED_KEYS);
  await chmod(ROOT_AUTHORIZED_KEYS, 0o600);
}

/** Create (if needed) the ops user with a fresh random password and passworded sudo. */
async function ensureOpsUser() {
  const exists = (await run("id", ["-u", OPS_USER])).code === 0;
  if (!exists) {
    await must("useradd", ["-m", "-s", "/bin/bash", OPS_USER]);
    await writeFile(LAYOUT.opsMarker, "");
  }
  const password = randomBytes(12).toString("base64url");
  await must("chpasswd", [], { input: `${OPS_USER}:${password}\n` });
  const home = (await must("getent", ["passwd", OPS_USER])).stdout.split(":")[5] ?? `/home/${OPS_USER}`;
  const sshDir = join(home, ".ssh");
  await mkdir(sshDir, { recursive: true });
  await copyFile(`${SSH_KEY}.pub`, join(sshDir, "authorized_keys"));
  await chmod(sshDir, 0o700);
  await chmod(join(sshDir, "authorized_keys"), 0o600);
  await must("chown", ["-R", `${OPS_USER}:${OPS_USER}`, sshDir]);
  const tmp = `${SUDOERS_FILE}.tmp`;
  await writeFile(tmp, `${OPS_USER} ALL=(ALL) ALL\n`, { mode: 0o440 });
  await must("visudo", ["-c", "-q", "-f", tmp]);
  await rename(tmp, SUDOERS_FILE);
  return { name: OPS_USER, password };
}

// ---------------------------------------------------------------------------------------------
// One host

/** @param {LabNode} h */
function sshdConfig(h) {
  return [
    "# sshd of one hactl lab node (generated by test/lab/lab.mjs)",
    `Port ${h.sshPort}`,
    `HostKey ${join(h.dir, "ssh_host_ed25519_key")}`,
    "PidFile /run/sshd.pid",
    "UsePAM no",
    `PermitRootLogin ${h.profile.rootLogin === "password" ? "yes" : "prohibit-password"}`,
    "PubkeyAuthentication yes",
    "PasswordAuthentication yes",
    "KbdInteractiveAuthentication no",
    "AuthorizedKeysFile .ssh/authorized_keys",
    "LogLevel VERBOSE",
    "PrintMotd no",
    "X11Forwarding no",
    "AcceptEnv LANG LC_*",
    // tests open many connections at once; the default 10:30:100 drops some of them at random
    "MaxStartups 100:30:200",
    "Subsystem sftp /usr/lib/openssh/sftp-server",
    "Match User root",
    `    AuthorizedKeysFile ${h.profile.rootLogin === "password" ? ".ssh/authorized_keys" : ROOT_AUTHORIZED_KEYS}`,
    "",
  ].join("\n");
}

/** Fill the node's private /usr/local/bin: the host's commands, then the kit's (which win). @param {LabNode} h */
async function fillLocalBin(h) {
  const bin = join(h.dir, "fs/usr/local/bin");
  await mkdir(bin, { recursive: true });
  for (const entry of await readdir(bin)) await rm(join(bin, entry), { force: true, recursive: true });
  /** @type {Map<string, string>} */
  const links = new Map();
  for (const source of ["/usr/local/bin", KIT_BIN]) {
    if (!existsSync(source)) continue;
    for (const entry of await readdir(source)) links.set(entry, join(source, entry));
  }
  await Promise.all([...links].map(([name, target]) => symlink(target, join(bin, name))));
}

/** Network namespace, link, private directories and host key of one host. @param {LabNode} h */
async function createHost(h) {
  await rm(h.dir, { recursive: true, force: true });
  await mkdir(join(h.dir, "fs/etc"), { recursive: true });
  await must("ip", ["netns", "add", h.ns]);
  await must("ip", ["-n", h.ns, "link", "set", "lo", "up"]);
  await attach(h.ns, bridgePort(h), `${h.address}/24`, h.iface);
  if (h.profile.secondAddress) {
    // a docker0-style bridge with its own address, as Docker leaves on a server; it has no ports, so
    // nothing sent to it leaves the node
    await must("ip", ["-n", h.ns, "link", "add", "docker0", "type", "bridge"]);
    await must("ip", ["-n", h.ns, "addr", "add", "172.17.0.1/16", "dev", "docker0"]);
    await must("ip", ["-n", h.ns, "link", "set", "docker0", "up"]);
  }

  await mkdir(join(h.dir, "etc-work"));
  await Promise.all(
    PRIVATE_DIRS.map(async (d) => {
      const target = join(h.dir, "fs", d.path);
      await mkdir(target, { recursive: true });
      await chmod(target, d.mode);
      // the mount point on the host
      await mkdir(d.path, { recursive: true });
    }),
  );
  // the node's own files in its /etc overlay
  const hosts = existsSync("/etc/hosts") ? await readFile("/etc/hosts", "utf8") : "127.0.0.1 localhost\n";
  const hostsLines = hosts.split("\n").filter((l) => l.trim() !== "" && !/^127\.0\.1\.1\s/.test(l));
  const ownName = h.profile.ownNameResolves === false ? [] : [`127.0.1.1 ${h.name}`];
  await writeFile(join(h.dir, "fs/etc/hosts"), [...hostsLines, ...ownName, ""].join("\n"), { mode: 0o644 });
  if (h.profile.resolver === "silent") {
    await writeFile(
      join(h.dir, "fs/etc/resolv.conf"),
      `# hactl lab: a resolver that never answers\nnameserver ${SILENT_RESOLVER}\n`,
      { mode: 0o644 },
    );
  }
  await writeFile(join(h.dir, "fs/etc/hostname"), `${h.name}\n`, { mode: 0o644 });
  await writeFile(join(h.dir, "fs/etc/machine-id"), `${randomBytes(16).toString("hex")}\n`, { mode: 0o444 });
  await fillLocalBin(h);
  await writeFile(join(h.dir, "sshd_config"), sshdConfig(h), { mode: 0o644 });
  await must("ssh-keygen", [
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-C",
    `root@${h.name}`,
    "-f",
    join(h.dir, "ssh_host_ed25519_key"),
  ]);
}

/** Start the node's init (mounts, hostname, sshd), wait for sshd to listen, run the kit's boot hook. @param {LabNode} h */
async function bootHost(h) {
  const pidFile = join(h.dir, "fs/run/sshd.pid");
  await rm(pidFile, { force: true });
  const log = openSync(join(h.dir, "init.log"), "a");
  const child = spawn(
    "ip",
    ["netns", "exec", h.ns, "unshare", "-m", "--propagation", "private", "-u", "/bin/sh", INIT_SCRIPT, h.dir, h.name],
    { detached: true, stdio: ["ignore", log, log], env: nodeEnv(), cwd: "/" },
  );
  closeSync(log);
  /** @type {number | null} */
  let exitCode = null;
  child.on("exit", (code, signal) => {
    exitCode = code ?? 128 + signalNumber(signal);
  });
  await new Promise((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  child.unref();
  const pid = /** @type {number} */ (child.pid);
  await writeFile(join(h.dir, "init.pid"), `${pid}\n`);
  const deadline = Date.now() + 15_000;
  while (!existsSync(pidFile)) {
    if (exitCode !== null) {
      const tail = readFileSync(join(h.dir, "init.log"), "utf8").trim().split("\n").slice(-5).join("\n");
      throw new Error(`${h.name}: node init exited with ${exitCode}: ${tail}`);
    }
    if (Date.now() > deadline) throw new Error(`${h.name}: sshd did not start within 15 s (see ${h.dir}/init.log)`);
    await sleep(10);
  }
  // the password lands in the node's own /etc/shadow (its /etc overlay), so it survives stop/start
  if (h.rootPassword)
    await must("nsenter", ["-t", String(pid), "-m", "--", "chpasswd"], { input: `root:${h.rootPassword}\n` });
  runKitBoot(h, pid);
}

/** Run the node kit's boot hook inside the node, detached (it restarts the kit's agents). */
function runKitBoot(/** @type {LabNode} */ h, /** @type {number} */ pid) {
  if (!existsSync(KIT_BOOT)) return;
  const log = openSync(join(h.dir, "boot.log"), "a");
  const child = spawn("nsenter", ["-t", String(pid), "-n", "-m", "-u", "--", "/bin/bash", KIT_BOOT], {
    detached: true,
    stdio: ["ignore", log, log],
    env: nodeEnv({ HACTL_LAB_NODE: h.name, HACTL_LAB_ADDRESS: h.address }),
    cwd: "/",
  });
  closeSync(log);
  child.on("error", () => {});
  child.unref();
}

/** Empty a directory without removing it. @param {string} dir */
async function emptyDir(dir) {
  if (!existsSync(dir)) return;
  for (const entry of await readdir(dir)) await rm(join(dir, entry), { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Copy the node kit (and its npm dependency) and the node's init script to KIT_DIR, which every node
 * sees, whatever the checkout's path. Throws, naming the path, when the checkout has no kit.
 */
export async function prepareKit() {
  if (!existsSync(join(KIT_SOURCE, "bin")))
    throw new Error(`the node kit is missing: ${join(KIT_SOURCE, "bin")} does not exist in this checkout`);
  await rm(KIT_DIR, { recursive: true, force: true });
  await mkdir(KIT_DIR, { recursive: true, mode: 0o755 });
  for (const part of ["bin", "lib", "snap", "boot.sh"]) {
    await cp(join(KIT_SOURCE, part), join(KIT_DIR, part), {
      recursive: true,
      dereference: true,
      filter: (src) => !src.endsWith(".test.ts"),
    });
  }
  await copyFile(join(REPO, "test/lab/node-init.sh"), INIT_SCRIPT);
  const require = createRequire(join(KIT_SOURCE, "lib", "util.mjs"));
  for (const dep of KIT_NPM_DEPENDENCIES) {
    const pkgDir = dirname(require.resolve(`${dep}/package.json`));
    await cp(pkgDir, join(KIT_DIR, "node_modules", dep), { recursive: true, dereference: true });
  }
  await chmod(KIT_DIR, 0o755);
}

/**
 * Inside a booted node, the kit's commands must be on PATH and run. Fails at once, naming the path and
 * the reason, instead of letting hactl meet "command not found" later.
 * @param {LabNode} h
 */
async function verifyKit(h) {
  const res = await inNode(
    h,
    [
      "/bin/sh",
      "-c",
      'for c in snap kubeadm kubectl systemctl; do command -v "$c" >/dev/null || { echo "$c is not on PATH ($PATH)"; exit 3; }; done; exec snap list',
    ],
    {
      timeoutMs: 30_000,
    },
  );
  if (res.code !== 0) {
    const why = (res.stdout + res.stderr).trim().split("\n").slice(-3).join("; ");
    throw new Error(
      `${h.name}: the node kit at ${KIT_DIR} (linked from /usr/local/bin) does not run inside the node: ${why}`,
    );
  }
}

/**
 * Bring up a fresh lab (tearing down any previous one). `profiles` gives node i the i-th profile (plain
 * where none is given), or "mixed" for MIXED_PROFILES; load-balancer hosts are always plain.
 * @param {{ nodes?: number, lbHosts?: number, profiles?: HostProfile[] | "mixed" }} [opts]
 * @returns {Promise<Lab>}
 */
export async function labUp({ nodes = 3, lbHosts = 0, profiles } = {}) {
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NODES) throw new Error(`nodes must be 1..${MAX_NODES}`);
  if (!Number.isInteger(lbHosts) || lbHosts < 0 || lbHosts > MAX_LB_HOSTS)
    throw new Error(`lbHosts must be 0..${MAX_LB_HOSTS}`);
  assertLabFree();
  await ensureRequirements();
  await labDown();
  try {
    await mkdir(LAB_ROOT, { recursive: true, mode: 0o755 });
    await chmod(LAB_ROOT, 0o755);
    await prepareKit();
    await ensureKeys();
    const opsUser = await ensureOpsUser();
    const workstation = await ensureWorkstation();
    const nodeSpecs = Array.from({ length: nodes }, (_, i) => hostSpec("node", i + 1, profileFor(profiles, i)));
    if (nodeSpecs.some((n) => n.profile.resolver === "silent")) await ensureSilentResolver();
    const lbSpecs = Array.from({ length: lbHosts }, (_, i) => hostSpec("lb", i + 1));
    const all = [...nodeSpecs, ...lbSpecs];
    await Promise.all(all.map(createHost));
    /** @type {Lab} */
    const lab = {
      subnet: SUBNET,
      workstation,
      nodes: nodeSpecs,
      lbHosts: lbSpecs,
      vips: [...VIPS],
      sshKey: SSH_KEY,
      knownHosts: KNOWN_HOSTS,
      opsUser,
      iface: IFACE,
    };
    await writeLab(lab);
    await Promise.all(all.map(bootHost));
    await Promise.all(all.map(verifyKit));
    return lab;
  } catch (e) {
    await labDown();
    throw e;
  }
}

/**
 * Grow a running lab by `count` nodes (node-(N+1) ...), the i-th new one with `profiles[i]` (plain by default).
 * @param {number} count
 * @param {{ profiles?: HostProfile[] }} [opts]
 * @returns {Promise<LabNode[]>} the new nodes
 */
export async function addNodes(count, { profiles } = {}) {
  assertLabFree();
  const lab = readLab();
  if (!lab) throw new Error("no lab is up");
  if (!Number.isInteger(count) || count < 1) throw new Error("count must be a positive integer");
  const last = Math.max(0, ...lab.nodes.map((n) => Number(n.name.slice("node-".length))));
  if (last + count > MAX_NODES) throw new Error(`the lab holds at most ${MAX_NODES} nodes`);
  const added = Array.from({ length: count }, (_, i) => hostSpec("node", last + 1 + i, profileFor(profiles, i)));
  try {
    if (added.some((n) => n.profile.resolver === "silent")) await ensureSilentResolver();
    await Promise.all(added.map(createHost));
    lab.nodes.push(...added);
    await writeLab(lab);
    await Promise.all(added.map(bootHost));
    await Promise.all(added.map(verifyKit));
  } catch (e) {
    for (const h of added) await destroyHost(h);
    lab.nodes = lab.nodes.filter((n) => !added.some((a) => a.name === n.name));
    await writeLab(lab);
    throw e;
  }
  return added;
}

/** Kill everything in one host's namespace and remove it. @param {LabNode} h */
async function destroyHost(h) {
  if (nsExists(h.ns)) {
    await killNamespace(h.ns);
    await run("ip", ["netns", "del", h.ns]);
  }
  await run("ip", ["-n", BRIDGE_NS, "link", "del", bridgePort(h)]);
  await rm(h.dir, { recursive: true, force: true });
}

/**
 * PIDs of processes outside the lab namespaces that still run a slot's lab binaries or configs (not us,
 * not our parents).
 * @param {string} root the slot's LAB_ROOT
 */
function strayLabPids(root) {
  const mine = ancestors();
  /** @type {number[]} */
  const stray = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || mine.has(Number(entry))) continue;
    const cmd = cmdlineOf(Number(entry));
    if (cmd.includes(`${root}/`) && /sshd|node-init\.sh|unshare/.test(cmd)) stray.push(Number(entry));
  }
  return stray;
}

/**
 * Tear down everything this process's lab slot created. Idempotent. When called from inside the
 * workstation namespace (tests), the workstation itself survives (it holds the caller) but loses the
 * slot's link.
 */
export async function labDown() {
  await slotDown(LAYOUT);
}

/** Tear down the labs of every slot, and (outside the workstation) the workstation too. */
export async function labDownAll() {
  const slots = new Set([0, LAB_SLOT]);
  for (const n of await allLabNamespaces()) {
    const m = /^hl(\d+)-/.exec(n);
    if (m) slots.add(Number(m[1]));
  }
  for (const entry of readdirSync(dirname(LAB_ROOT))) {
    const m = /^hactl-lab-(\d+)$/.exec(entry);
    if (m) slots.add(Number(m[1]));
  }
  for (const slot of [...slots].sort((a, b) => b - a)) {
    if (slot < MAX_SLOTS) await slotDown(slotLayout(slot));
  }
  for (const entry of existsSync(SLOT_CLAIMS) ? readdirSync(SLOT_CLAIMS) : []) {
    const owner = Number(readFileSync(join(SLOT_CLAIMS, entry), "utf8").trim());
    if (!owner || owner === process.pid || !alive(owner)) rmSync(join(SLOT_CLAIMS, entry), { force: true });
  }
}

/** @param {ReturnType<typeof slotLayout>} layout */
async function slotDown(layout) {
  assertLabFree();
  const keepWorkstation = insideWorkstation();
  const names = (await labNamespaces(layout)).filter((n) => !(keepWorkstation && n === WORKSTATION_NS));
  await Promise.all(names.map(killNamespace));
  for (const pid of strayLabPids(layout.root)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  if (keepWorkstation) await run("ip", ["-n", WORKSTATION_NS, "link", "del", layout.wsIface]);
  else if (layout.slot === 0) await run("ip", ["route", "del", "blackhole", ALL_SLOTS_NET]);
  await Promise.all(names.map((n) => run("ip", ["netns", "del", n])));
  await rm(layout.sudoers, { force: true });
  await rm(`${layout.sudoers}.tmp`, { force: true });
  if (existsSync(layout.opsMarker)) {
    await run("userdel", ["-r", layout.opsUser]);
    await rm(layout.opsMarker, { force: true });
  }
  if (existsSync(layout.root)) {
    for (const entry of await readdir(layout.root)) {
      if (entry !== "keys") await rm(join(layout.root, entry), { recursive: true, force: true });
    }
  }
}

/**
 * Run argv inside a node's network, mount and UTS namespaces (as root, with a clean environment).
 * @param {LabNode | string} node
 * @param {string[]} argv
 * @param {{ input?: string | Buffer, env?: Record<string, string>, timeoutMs?: number }} [opts]
 * @returns {Promise<RunResult>}
 */
export async function inNode(node, argv, opts = {}) {
  const h = resolveHost(node);
  const pid = initPid(h);
  if (pid === undefined) throw new Error(`${h.name} is not running`);
  const res = { input: opts.input, env: nodeEnv(opts.env), timeoutMs: opts.timeoutMs };
  return run("nsenter", ["-t", String(pid), "-n", "-m", "-u", "--", ...argv], res);
}

/** True when the node's init (and so its sshd) runs. @param {LabNode | string} node */
export function nodeRunning(node) {
  return initPid(resolveHost(node)) !== undefined;
}

/**
 * Hard stop: every process of the node is killed and its link goes down, like pulling the power.
 * Its disk (all private directories except /run and /tmp) survives for startNode.
 * @param {LabNode | string} node
 */
export async function stopNode(node) {
  assertLabFree();
  const h = resolveHost(node);
  await run("ip", ["-n", BRIDGE_NS, "link", "set", bridgePort(h), "down"]);
  await run("ip", ["-n", h.ns, "link", "set", h.iface ?? IFACE, "down"]);
  await killNamespace(h.ns);
  await rm(join(h.dir, "init.pid"), { force: true });
}

/**
 * Boot a stopped node: link up, fresh /run and /tmp, its mounts again, sshd with the same host key,
 * then the kit's boot hook. Does nothing but raise the link when the node already runs.
 * @param {LabNode | string} node
 */
export async function startNode(node) {
  assertLabFree();
  const h = resolveHost(node);
  await must("ip", ["-n", h.ns, "link", "set", h.iface ?? IFACE, "up"]);
  await must("ip", ["-n", BRIDGE_NS, "link", "set", bridgePort(h), "up"]);
  if (initPid(h) !== undefined) return;
  await killNamespace(h.ns);
  await emptyDir(join(h.dir, "fs/run"));
  await emptyDir(join(h.dir, "fs/tmp"));
  await fillLocalBin(h);
  await bootHost(h);
}

/** Pull the node's cable: its bridge port goes down (the node sees NO-CARRIER); processes keep running. @param {LabNode | string} node */
export async function cutLink(node) {
  assertLabFree();
  const h = resolveHost(node);
  await must("ip", ["-n", BRIDGE_NS, "link", "set", bridgePort(h), "down"]);
}

/** Plug the cable back in. @param {LabNode | string} node */
export async function restoreLink(node) {
  assertLabFree();
  const h = resolveHost(node);
  await must("ip", ["-n", BRIDGE_NS, "link", "set", bridgePort(h), "up"]);
}

/**
 * Arguments for OpenSSH `ssh` (without the program name) that log in to a node from the
 * workstation namespace: `execFile("ssh", [...sshArgs(node), "hostname"])`.
 * @param {LabNode | string} node
 * @param {{ user?: string }} [opts]
 * @returns {string[]}
 */
export function sshArgs(node, { user = "root" } = {}) {
  const h = resolveHost(node);
  const lab = readLab();
  const key = lab?.sshKey ?? SSH_KEY;
  const knownHosts = lab?.knownHosts ?? KNOWN_HOSTS;
  return [
    "-F",
    "/dev/null",
    "-i",
    key,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=5",
    "-o",
    "LogLevel=ERROR",
    "-p",
    String(h.sshPort ?? 22),
    `${user}@${h.address}`,
  ];
}

/** Link state of a host as seen on the bridge: "up", "down" or "missing". @param {LabNode | string} node */
export async function linkState(node) {
  const h = resolveHost(node);
  const res = await run("ip", ["-n", BRIDGE_NS, "-o", "link", "show", bridgePort(h)]);
  if (res.code !== 0) return "missing";
  const flags = /<([^>]*)>/.exec(res.stdout)?.[1]?.split(",") ?? [];
  return flags.includes("UP") ? "up" : "down";
}
