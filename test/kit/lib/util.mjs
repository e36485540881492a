// Shared helpers for the node kit: fixed paths inside a lab node, process output, faults and step costs.
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

export const KIT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const STATE_DIR = "/var/lib/hactl-kit";
export const LOG_DIR = "/var/log/hactl-kit";
export const RUN_DIR = "/run/hactl-kit";
export const FAULT_DIR = `${STATE_DIR}/faults`;
export const STATE_FILE = `${STATE_DIR}/state.json`;
/**
 * snapd's refresh hold on the microk8s snap: a file of its own, not a field of state.json, because a hold
 * may run while a join rewrites state.json (two read-modify-writes would lose one of them).
 */
export const SNAP_HOLD_FILE = `${STATE_DIR}/snap-microk8s.held`;
export const ETCD_DATA_DIR = "/var/lib/etcd";
export const SNAP_DIR = "/var/snap/microk8s/current";
export const KUBE_DIR = "/etc/kubernetes";

/** Exit with a message on stderr (or stdout when `toStdout`). */
export class KitExit extends Error {
  /** @param {number} code @param {string} [message] @param {{stdout?: boolean}} [opts] */
  constructor(code, message, opts = {}) {
    super(message ?? "");
    this.code = code;
    this.toStdout = Boolean(opts.stdout);
  }
}

/** @param {number} code @param {string} [message] @param {{stdout?: boolean}} [opts] @returns {never} */
export function fail(code, message, opts) {
  throw new KitExit(code, message, opts);
}

/** @param {string} text */
export function out(text) {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

/** @param {string} text */
export function err(text) {
  process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
}

/**
 * Run a command's main function and turn KitExit into the exit code. On a node the run is logged and the
 * hang switches apply; a stand-in run on the workstation (`onNode: false`) touches no node file.
 */
export async function runMain(
  /** @type {string} */ tool,
  /** @type {(argv: string[]) => Promise<number|void>} */ main,
  { onNode = true } = {},
) {
  const argv = process.argv.slice(2);
  if (onNode) {
    process.once("exit", (code) => logCommand(tool, argv, code));
    await honourHang(tool, argv);
  }
  let code = 0;
  try {
    const r = await main(argv);
    code = typeof r === "number" ? r : 0;
  } catch (e) {
    if (e instanceof KitExit) {
      if (e.message) (e.toStdout ? out : err)(e.message);
      code = e.code;
    } else {
      err(`${tool}: internal kit error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      code = 70;
    }
  }
  await new Promise((resolve) => process.stdout.write("", resolve));
  process.exit(code);
}

/**
 * One line per stand-in run in LOG_DIR/commands.jsonl, for the benchmark's measured critical path:
 * `{ tool, sub, start, end, code }` with start/end in epoch ms. `sub` holds at most the first two words
 * of argv and stops at the first flag or any word that is not a plain command word, so no flag value or
 * join string (`microk8s join` and `kubeadm join` get tokens) is ever written. Never fails the command.
 */
function logCommand(/** @type {string} */ tool, /** @type {string[]} */ argv, /** @type {number} */ code) {
  const words = [];
  for (const a of argv) {
    if (words.length === 2 || !/^[a-z][a-z0-9-]{0,23}$/.test(a)) break;
    words.push(a);
  }
  const line = { tool, sub: words.join(" "), start: Math.round(performance.timeOrigin), end: Date.now(), code };
  try {
    fs.mkdirSync(LOG_DIR, { recursive: true });
    fs.appendFileSync(path.join(LOG_DIR, "commands.jsonl"), `${JSON.stringify(line)}\n`);
  } catch {
    return;
  }
}

/** `hang-<tool>` or `hang-<tool>-<subcommand>` under the fault dir makes the command sleep forever. */
async function honourHang(/** @type {string} */ tool, /** @type {string[]} */ argv) {
  const sub = argv.filter((a) => !a.startsWith("-")).slice(0, 2);
  const names = [`hang-${tool}`];
  if (sub[0]) names.push(`hang-${tool}-${sub[0]}`);
  if (sub[0] && sub[1]) names.push(`hang-${tool}-${sub[0]}-${sub[1]}`);
  if (names.some((n) => fs.existsSync(path.join(FAULT_DIR, n)))) {
    setInterval(() => undefined, 1 << 30);
    await new Promise(() => undefined);
  }
}

/** True once (deletes the switch) when a one-shot fault file exists. */
export function takeFault(/** @type {string} */ name) {
  const file = path.join(FAULT_DIR, name);
  try {
    fs.unlinkSync(file);
    return true;
  } catch {
    return false;
  }
}

/** The kit's environment: process env overrides /var/lib/hactl-kit/env (KEY=VALUE lines). */
export function kitEnv(/** @type {string} */ key) {
  if (process.env[key] !== undefined) return process.env[key];
  try {
    for (const line of fs.readFileSync(`${STATE_DIR}/env`, "utf8").split("\n")) {
      const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
      if (m && m[1] === key) return m[2]?.replace(/^["']|["']$/g, "");
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Sleep the fixed cost of a step from /var/lib/hactl-kit/cost.json ({"join": 1000, ...}). */
export async function stepCost(/** @type {string} */ step) {
  try {
    const costs = JSON.parse(fs.readFileSync(`${STATE_DIR}/cost.json`, "utf8"));
    const ms = Number(costs[step] ?? 0);
    if (ms > 0) await sleep(ms);
  } catch {
    return;
  }
}

export const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

export function readJson(/** @type {string} */ file, /** @type {unknown} */ fallback) {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return fallback;
  }
}

/** Atomic write (temp file + rename). */
export function writeFileAtomic(/** @type {string} */ file, /** @type {string|Buffer} */ data, mode = 0o644) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data, { mode });
  fs.renameSync(tmp, file);
}

export function writeJson(/** @type {string} */ file, /** @type {unknown} */ value) {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * The node's local kit state.
 * @typedef {{ distro?: "microk8s"|"kubeadm", installed?: boolean, channel?: string, version?: string,
 *   role?: "control-plane"|"worker", clustered?: boolean, stopped?: boolean, etcdMember?: boolean,
 *   etcdEndpoints?: string[], apiPort?: number, endpoint?: string, joinedFrom?: string, nodeName?: string,
 *   packages?: Record<string, string>, debs?: Record<string, string> }} LocalState
 */
/** @returns {LocalState} */
export function localState() {
  return /** @type {LocalState} */ (readJson(STATE_FILE, {}));
}

/** @param {Partial<LocalState>} patch */
export function updateLocalState(patch) {
  const next = { ...localState(), ...patch };
  writeJson(STATE_FILE, next);
  return next;
}

export function nodeName() {
  return os.hostname();
}

/** The node's IPv4 on eth0 (the default interface of a lab node), else the first non-loopback IPv4. */
export function nodeAddress() {
  const ifs = os.networkInterfaces();
  const pick = (/** @type {string} */ name) => ifs[name]?.find((a) => a.family === "IPv4" && !a.internal)?.address;
  const eth0 = pick("eth0");
  if (eth0) return eth0;
  // the address of the node's own network, as MicroK8s' default-route lookup finds it, never a container
  // bridge's (docker0, cni0, ...)
  for (const name of Object.keys(ifs).filter((n) => !/^(docker|cni|flannel|cali|vxlan|br-|veth|lxc)/.test(n))) {
    const a = pick(name);
    if (a) return a;
  }
  for (const name of Object.keys(ifs)) {
    const a = pick(name);
    if (a) return a;
  }
  return "127.0.0.1";
}

/** All non-loopback IPv4 addresses of the node (`hostname -I`). */
export function allAddresses() {
  const res = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) res.push(a.address);
  }
  return res;
}

/**
 * Run a program, capture output.
 * @param {string} file @param {string[]} args @param {{input?: string, timeoutMs?: number, env?: NodeJS.ProcessEnv}} [opts]
 * @returns {Promise<{code: number, stdout: string, stderr: string}>}
 */
export function run(file, args, opts = {}) {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 << 20, env: opts.env ?? process.env },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Read all of stdin. */
export async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

/** Is a pid alive? */
export function pidAlive(/** @type {number} */ pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

export function readPid(/** @type {string} */ pidFile) {
  try {
    const n = Number.parseInt(fs.readFileSync(pidFile, "utf8").trim(), 10);
    return Number.isFinite(n) ? n : 0;
  } catch {
    return 0;
  }
}

/**
 * Start a detached daemon whose pid is recorded in RUN_DIR/<name>.pid; stdout/stderr go to LOG_DIR/<name>.log.
 * @param {string} name @param {string} file @param {string[]} args
 */
export function startDaemon(name, file, args) {
  fs.mkdirSync(RUN_DIR, { recursive: true });
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const log = fs.openSync(path.join(LOG_DIR, `${name}.log`), "a");
  const child = spawn(file, args, { detached: true, stdio: ["ignore", log, log] });
  child.unref();
  fs.closeSync(log);
  writeFileAtomic(path.join(RUN_DIR, `${name}.pid`), `${child.pid}\n`);
  return child.pid ?? 0;
}

export function daemonPid(/** @type {string} */ name) {
  const pid = readPid(path.join(RUN_DIR, `${name}.pid`));
  return pidAlive(pid) ? pid : 0;
}

/** Stop a daemon started by startDaemon: SIGTERM, wait, then SIGKILL. */
export async function stopDaemon(/** @type {string} */ name, timeoutMs = 5000) {
  const pidFile = path.join(RUN_DIR, `${name}.pid`);
  const pid = readPid(pidFile);
  if (pidAlive(pid)) {
    process.kill(pid, "SIGTERM");
    const until = Date.now() + timeoutMs;
    while (pidAlive(pid) && Date.now() < until) await sleep(50);
    if (pidAlive(pid)) process.kill(pid, "SIGKILL");
  }
  fs.rmSync(pidFile, { force: true });
}

export function isRoot() {
  return typeof process.getuid === "function" ? process.getuid() === 0 : true;
}

/** Minimal flag parser: --a=b, --a b (for names in `valued`), -n NS style short flags in `valued`. */
export function parseArgs(/** @type {string[]} */ argv, /** @type {string[]} */ valued = []) {
  /** @type {string[]} */
  const positional = [];
  /** @type {Map<string, string[]>} */
  const flags = new Map();
  const add = (/** @type {string} */ k, /** @type {string} */ v) => flags.set(k, [...(flags.get(k) ?? []), v]);
  for (let i = 0; i < argv.length; i++) {
    const a = /** @type {string} */ (argv[i]);
    if (a === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      if (eq > 0) add(a.slice(2, eq), a.slice(eq + 1));
      else if (valued.includes(a.slice(2)) && i + 1 < argv.length) add(a.slice(2), /** @type {string} */ (argv[++i]));
      else add(a.slice(2), "true");
    } else if (a.startsWith("-") && a.length > 1 && !/^-\d/.test(a)) {
      const key = a.slice(1, 2);
      if (a.length > 2) add(key, a.slice(a[2] === "=" ? 3 : 2));
      else if (valued.includes(key) && i + 1 < argv.length) add(key, /** @type {string} */ (argv[++i]));
      else add(key, "true");
    } else positional.push(a);
  }
  return {
    positional,
    has: (/** @type {string[]} */ ...keys) => keys.some((k) => flags.has(k)),
    get: (/** @type {string[]} */ ...keys) => {
      for (const k of keys) {
        const v = flags.get(k);
        if (v) return v[v.length - 1];
      }
      return undefined;
    },
    all: (/** @type {string} */ key) => flags.get(key) ?? [],
  };
}
