// `systemctl` stand-in: real keepalived, haproxy and nginx daemons (pid files in the node's private /run),
// plus the kit's own services (kubelet, containerd, snap.microk8s.daemon-kubelite).
import fs from "node:fs";
import { kubeVersionOf } from "./apt.mjs";
import { Etcd, knownEndpoints, restartEtcdFromConf, stopEtcd } from "./etcd.mjs";
import { startAgent, stopAgent } from "./node.mjs";
import { PROXY_UNIT } from "./apiserver-proxy.mjs";
import { K } from "./store.mjs";
import {
  KIT_DIR,
  STATE_DIR,
  daemonPid,
  fail,
  isRoot,
  localState,
  out,
  parseArgs,
  run,
  sleep,
  startDaemon,
  stopDaemon,
} from "./util.mjs";

const UNIT_DIR = `${STATE_DIR}/systemd`;

/**
 * @typedef {{ description: string, path: string, kind: "daemon"|"kit",
 *   configured?: () => boolean, check?: () => Promise<string>, argv?: () => [string, string[]], reloadSignal?: NodeJS.Signals,
 *   stopSignal?: NodeJS.Signals }} Unit
 */
/** @type {Record<string, Unit>} */
const UNITS = {
  keepalived: {
    description: "Keepalive Daemon (LVS and VRRP)",
    path: "/lib/systemd/system/keepalived.service",
    kind: "daemon",
    configured: () =>
      fs.existsSync("/etc/keepalived/keepalived.conf") && fs.statSync("/etc/keepalived/keepalived.conf").size > 0,
    argv: () => [
      "keepalived",
      ["--dont-fork", "--log-console", "--log-detail", "-f", "/etc/keepalived/keepalived.conf"],
    ],
    reloadSignal: "SIGHUP",
  },
  haproxy: {
    description: "HAProxy Load Balancer",
    path: "/lib/systemd/system/haproxy.service",
    kind: "daemon",
    check: async () => {
      const r = await run("haproxy", ["-c", "-q", "-f", "/etc/haproxy/haproxy.cfg"]);
      return r.code === 0 ? "" : (r.stdout + r.stderr).trim() || "configuration check failed";
    },
    argv: () => ["haproxy", ["-W", "-db", "-f", "/etc/haproxy/haproxy.cfg", "-p", "/run/haproxy.pid"]],
    reloadSignal: "SIGUSR2",
  },
  nginx: {
    description: "A high performance web server and a reverse proxy server",
    path: "/lib/systemd/system/nginx.service",
    kind: "daemon",
    check: async () => {
      const r = await run("nginx", ["-t", "-q", "-g", "daemon off; master_process on;"]);
      return r.code === 0 ? "" : (r.stdout + r.stderr).trim() || "configuration check failed";
    },
    argv: () => ["nginx", ["-g", "daemon off; master_process on;"]],
    reloadSignal: "SIGHUP",
    stopSignal: "SIGQUIT",
  },
  kubelet: {
    description: "kubelet: The Kubernetes Node Agent",
    path: "/lib/systemd/system/kubelet.service",
    kind: "kit",
  },
  containerd: {
    description: "containerd container runtime",
    path: "/lib/systemd/system/containerd.service",
    kind: "kit",
  },
  "snap.microk8s.daemon-kubelite": {
    description: "Service for snap application microk8s.daemon-kubelite",
    path: "/etc/systemd/system/snap.microk8s.daemon-kubelite.service",
    kind: "kit",
  },
  // Runs only on a worker (snapd starts it where the clustered lock exists); elsewhere it exits at once.
  [PROXY_UNIT]: {
    description: "Service for snap application microk8s.daemon-apiserver-proxy",
    path: `/etc/systemd/system/${PROXY_UNIT}.service`,
    kind: "daemon",
    configured: () => localState().distro === "microk8s" && localState().role === "worker",
    argv: () => [process.execPath, [`${KIT_DIR}/lib/apiserver-proxy.mjs`]],
  },
};

const unitName = (/** @type {string} */ u) => u.replace(/\.service$/, "");
const marker = (/** @type {string} */ u, /** @type {string} */ m) => `${UNIT_DIR}/${u}.${m}`;
const touch = (/** @type {string} */ f) => {
  fs.mkdirSync(UNIT_DIR, { recursive: true });
  fs.writeFileSync(f, "");
};
const rm = (/** @type {string} */ f) => fs.rmSync(f, { force: true });

/** @returns {"active"|"inactive"|"failed"|"activating"} */
function activeState(/** @type {string} */ u) {
  const unit = UNITS[u];
  const st = localState();
  if (unit?.kind === "kit") {
    if (u === "containerd") return fs.existsSync(marker(u, "stopped")) ? "inactive" : "active";
    const mine = u === "kubelet" ? st.distro === "kubeadm" : st.distro === "microk8s";
    if (mine && st.installed && daemonPid("agent")) return "active";
    if (u === "kubelet" && !fs.existsSync(marker(u, "stopped")) && !st.installed) return "activating";
    return "inactive";
  }
  if (daemonPid(u)) return "active";
  return fs.existsSync(marker(u, "failed")) ? "failed" : "inactive";
}

const isEnabled = (/** @type {string} */ u) => !fs.existsSync(marker(u, "disabled"));

/** @returns {never} */
function jobFailed(/** @type {string} */ u) {
  fail(
    1,
    `Job for ${u}.service failed because the control process exited with error code.\nSee "systemctl status ${u}.service" and "journalctl -xeu ${u}.service" for details.`,
  );
}

async function startUnit(/** @type {string} */ u) {
  const unit = /** @type {Unit} */ (UNITS[u]);
  rm(marker(u, "stopped"));
  if (unit.kind === "kit") {
    const st = localState();
    const mine = u === "kubelet" ? st.distro === "kubeadm" : u !== "containerd" && st.distro === "microk8s";
    if (mine && st.installed) {
      if (st.etcdMember) restartEtcdFromConf();
      if (u === "kubelet") await reportKubeletVersion(st.nodeName);
      startAgent();
    }
    return;
  }
  if (daemonPid(u)) return;
  touch(marker(u, "wanted"));
  if (unit.configured && !unit.configured()) return;
  fs.mkdirSync(`/run/${u}`, { recursive: true });
  const problem = unit.check ? await unit.check() : "";
  if (problem) {
    touch(marker(u, "failed"));
    fs.appendFileSync(`/var/log/hactl-kit/${u}.log`, `${new Date().toISOString()} ${problem}\n`);
    jobFailed(u);
  }
  const [file, args] = /** @type {() => [string, string[]]} */ (unit.argv)();
  startDaemon(u, file, args);
  await sleep(300);
  if (!daemonPid(u)) {
    touch(marker(u, "failed"));
    jobFailed(u);
  }
  rm(marker(u, "failed"));
}

/**
 * A kubelet that starts from a newer (or older) package reports that version in its Node object, as
 * `kubectl get nodes` shows it.
 */
async function reportKubeletVersion(/** @type {string|undefined} */ name) {
  const st = localState();
  const pkg = st.packages?.kubelet;
  if (!pkg || !name) return;
  const version = kubeVersionOf(pkg);
  const until = Date.now() + 15_000;
  for (;;) {
    try {
      await new Etcd(knownEndpoints(), { perRequestMs: 1500, budgetMs: 3000 }).update(K.node(name), (cur) =>
        cur && cur.version !== version ? { ...cur, version } : undefined,
      );
      return;
    } catch (e) {
      if (Date.now() > until) {
        fs.appendFileSync(
          "/var/log/hactl-kit/kubelet.log",
          `${new Date().toISOString()} could not report kubelet ${version}: ${e instanceof Error ? e.message : String(e)}\n`,
        );
        return;
      }
      await sleep(500);
    }
  }
}

async function stopUnit(/** @type {string} */ u) {
  const unit = /** @type {Unit} */ (UNITS[u]);
  if (unit.kind === "kit") {
    touch(marker(u, "stopped"));
    const st = localState();
    if (
      (u === "kubelet" && st.distro === "kubeadm") ||
      (u === "snap.microk8s.daemon-kubelite" && st.distro === "microk8s")
    ) {
      await stopAgent();
      if (u === "snap.microk8s.daemon-kubelite") await stopEtcd();
    }
    return;
  }
  rm(marker(u, "wanted"));
  rm(marker(u, "failed"));
  const pid = daemonPid(u);
  if (pid && unit.stopSignal) process.kill(pid, unit.stopSignal);
  await stopDaemon(u, 5000);
}

async function reloadUnit(/** @type {string} */ u) {
  const unit = /** @type {Unit} */ (UNITS[u]);
  if (unit.kind === "kit") return;
  const pid = daemonPid(u);
  if (!pid) fail(1, `${u}.service is not active, cannot reload.`);
  const problem = unit.check ? await unit.check() : "";
  if (problem) {
    fs.appendFileSync(`/var/log/hactl-kit/${u}.log`, `${new Date().toISOString()} reload refused: ${problem}\n`);
    fail(
      1,
      `Job for ${u}.service failed because the control process exited with error code.\nSee "systemctl status ${u}.service" and "journalctl -xeu ${u}.service" for details.`,
    );
  }
  process.kill(pid, unit.reloadSignal ?? "SIGHUP");
}

function statusText(/** @type {string} */ u) {
  const unit = /** @type {Unit} */ (UNITS[u]);
  const state = activeState(u);
  const pid = unit.kind === "daemon" ? daemonPid(u) : daemonPid("agent");
  let since = "";
  try {
    since = fs.statSync(`/proc/${pid}`).mtime.toString();
  } catch {
    since = new Date().toString();
  }
  const sub =
    state === "active" ? "running" : state === "activating" ? "auto-restart" : state === "failed" ? "failed" : "dead";
  return [
    `${state === "active" ? "●" : "○"} ${u}.service - ${unit.description}`,
    `     Loaded: loaded (${unit.path}; ${isEnabled(u) ? "enabled" : "disabled"}; preset: enabled)`,
    `     Active: ${state} (${sub})${state === "active" ? ` since ${since}` : ""}`,
    ...(state === "active" && pid ? [`   Main PID: ${pid} (${unit.kind === "daemon" ? u : "node"})`] : []),
  ].join("\n");
}

export async function systemctlMain(/** @type {string[]} */ argv) {
  const a = parseArgs(argv, ["type", "state", "n", "lines", "o", "output"]);
  const [verb, ...names] = a.positional;
  const quiet = a.has("q", "quiet");
  if (!verb) fail(1, "systemctl stand-in: no verb given");
  if (verb === "daemon-reload" || verb === "reset-failed") return 0;
  if (verb === "is-system-running") {
    out("running");
    return 0;
  }
  if (names.length === 0) fail(1, `Too few arguments.`);
  const changing = [
    "start",
    "stop",
    "restart",
    "reload",
    "reload-or-restart",
    "try-restart",
    "enable",
    "disable",
    "mask",
    "unmask",
  ].includes(verb);
  let code = 0;
  for (const raw of names) {
    const u = unitName(raw);
    const unit = UNITS[u];
    if (!unit) {
      if (verb === "is-active" || verb === "is-failed") {
        if (!quiet) out("inactive");
        code = 3;
      } else if (verb === "is-enabled")
        fail(1, `Failed to get unit file state for ${u}.service: No such file or directory`);
      else if (verb === "status") fail(4, `Unit ${u}.service could not be found.`);
      else if (verb === "enable" || verb === "disable")
        fail(1, `Failed to ${verb} unit: Unit file ${u}.service does not exist.`);
      else
        fail(5, `Failed to ${verb} ${u}.service: Unit ${u}.service ${verb === "stop" ? "not loaded" : "not found"}.`);
      continue;
    }
    if (changing && !isRoot()) {
      fail(
        1,
        `Failed to ${verb} ${u}.service: Interactive authentication required.\nSee system logs and 'systemctl status ${u}.service' for details.`,
      );
    }
    switch (verb) {
      case "start":
        await startUnit(u);
        break;
      case "stop":
        await stopUnit(u);
        break;
      case "restart":
        await stopUnit(u);
        await startUnit(u);
        break;
      case "try-restart":
        if (activeState(u) === "active") {
          await stopUnit(u);
          await startUnit(u);
        }
        break;
      case "reload":
        await reloadUnit(u);
        break;
      case "reload-or-restart":
        if (activeState(u) === "active" && UNITS[u]?.kind === "daemon") await reloadUnit(u);
        else {
          await stopUnit(u);
          await startUnit(u);
        }
        break;
      case "enable":
        if (!isEnabled(u) && !quiet) {
          process.stderr.write(
            `Synchronizing state of ${u}.service with SysV service script with /lib/systemd/systemd-sysv-install.\nExecuting: /lib/systemd/systemd-sysv-install enable ${u}\n`,
          );
        }
        rm(marker(u, "disabled"));
        if (a.has("now")) await startUnit(u);
        break;
      case "disable":
        if (isEnabled(u) && !quiet)
          process.stderr.write(`Removed "/etc/systemd/system/multi-user.target.wants/${u}.service".\n`);
        touch(marker(u, "disabled"));
        if (a.has("now")) await stopUnit(u);
        break;
      case "is-active": {
        const s = activeState(u);
        if (!quiet) out(s);
        if (s !== "active") code = 3;
        break;
      }
      case "is-failed": {
        const s = activeState(u);
        if (!quiet) out(s);
        if (s !== "failed") code = 1;
        break;
      }
      case "is-enabled":
        if (!quiet) out(isEnabled(u) ? "enabled" : "disabled");
        if (!isEnabled(u)) code = 1;
        break;
      case "status":
        out(statusText(u));
        if (activeState(u) !== "active") code = 3;
        break;
      default:
        fail(1, `Unknown command verb ${verb}.`);
    }
  }
  return code;
}

/** boot.sh: start the daemons that were running (and are enabled) before a hard stop. */
export async function bootUnits() {
  for (const u of Object.keys(UNITS)) {
    if (UNITS[u]?.kind === "daemon" && isEnabled(u) && fs.existsSync(marker(u, "wanted"))) {
      try {
        await startUnit(u);
      } catch {
        // left failed, as systemd would
      }
    }
  }
}
