// The kit agent: one small Node process per installed node. It keeps the node's readiness lease in etcd,
// serves the API port (/livez, /readyz, cluster-info and the kubeadm join endpoint), the application's web
// port 80 and, for MicroK8s, the cluster agent on 25000 that implements join with single-use tokens.
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import {
  Etcd,
  endpointFor,
  knownEndpoints,
  peerUrl,
  restartEtcdFromConf,
  startEtcd,
  stopEtcd,
  urlHost,
} from "./etcd.mjs";
import { K } from "./store.mjs";
import {
  KIT_DIR,
  KUBE_DIR,
  LOG_DIR,
  SNAP_HOLD_FILE,
  STATE_DIR,
  daemonPid,
  localState,
  nodeAddress,
  nodeName,
  sleep,
  startDaemon,
  updateLocalState,
} from "./util.mjs";
import { microk8sJoinHandler } from "./microk8s-server.mjs";
import { kubeadmClusterInfo, kubeadmJoinHandler } from "./kubeadm-server.mjs";

const LEASE_TTL = 6;
const st = localState();
const name = st.nodeName ?? nodeName();
const address = nodeAddress();
const apiPort = st.apiPort ?? 16443;
let leaseId = "";
let stopping = false;

function log(/** @type {string} */ msg) {
  process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
}

/** @returns {Etcd} */
const db = () => new Etcd(knownEndpoints(), { perRequestMs: 1500, budgetMs: 2500 });

// --- readiness lease -------------------------------------------------------------------------
async function leaseLoop() {
  while (!stopping) {
    try {
      if (!leaseId) {
        const c = db();
        const id = await c.leaseGrant(LEASE_TTL);
        await c.put(K.alive(name), { name, since: new Date().toISOString() }, id);
        leaseId = id;
        log(`lease ${id} granted`);
      } else if (!(await kubeletTrusted())) {
        // cut off from the API server: the lease runs out
      } else if (!(await db().leaseKeepAlive(leaseId))) {
        log(`lease ${leaseId} expired`);
        leaseId = "";
        continue;
      }
    } catch (e) {
      log(`lease: ${e instanceof Error ? e.message : String(e)}`);
      leaseId = "";
    }
    await sleep(2000);
  }
}

// --- endpoint refresh: remember every member's client URL so CLIs on this node can fail over ---
async function refreshLoop() {
  while (!stopping) {
    try {
      const members = await db().members();
      const eps = members
        .filter((m) => m.peerURLs[0])
        .map((m) => endpointFor(urlHost(/** @type {string} */ (m.peerURLs[0]))));
      if (eps.length && JSON.stringify(eps) !== JSON.stringify(localState().etcdEndpoints))
        updateLocalState({ etcdEndpoints: eps });
    } catch {
      // keep the last known list
    }
    await sleep(5000);
  }
}

// --- MicroK8s standby promotion: when the datastore makes this node a voter, start its etcd member ---
async function promotionLoop() {
  while (!stopping) {
    await sleep(2000);
    const s = localState();
    if (s.distro !== "microk8s" || s.role !== "control-plane" || s.etcdMember || s.stopped) continue;
    try {
      const c = db();
      const me = await c.get(K.dqlite(name));
      if (me?.role !== "voter") continue;
      const members = await c.members();
      if (!members.some((m) => m.peerURLs.includes(peerUrl(address, false)))) continue;
      const initialCluster = members.map((m) => `${m.name || name}=${m.peerURLs[0]}`).join(",");
      await stopEtcd({ wipe: true });
      await startEtcd({ name, ip: address, tls: false, initialCluster, state: "existing" }, 30_000);
      updateLocalState({
        etcdMember: true,
        etcdEndpoints: [...new Set([endpointFor(address), ...(s.etcdEndpoints ?? [])])],
      });
      log("promoted to voter: local etcd member started");
    } catch (e) {
      log(`promotion: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

// --- snapd's auto-refresh (kit switch): a node whose microk8s is not held refreshes on its own ---
async function autoRefreshLoop() {
  while (!stopping) {
    await sleep(2000);
    const s = localState();
    if (s.distro !== "microk8s" || fs.existsSync(SNAP_HOLD_FILE) || daemonPid("auto-refresh")) continue;
    let channel = "";
    try {
      channel = fs.readFileSync(`${STATE_DIR}/auto-refresh`, "utf8").trim();
    } catch {
      continue;
    }
    if (!channel || channel === s.channel) continue;
    log(`auto-refresh: snapd refreshes microk8s to ${channel} (not held)`);
    // Detached: the refresh restarts this agent.
    startDaemon("auto-refresh", process.execPath, [
      `${KIT_DIR}/bin/snap`,
      "refresh",
      "microk8s",
      `--channel=${channel}`,
    ]);
  }
}

// --- kubeadm static pods: the kubelet runs etcd and the API server while their manifests are there ---
/**
 * Moving /etc/kubernetes/manifests/etcd.yaml or kube-apiserver.yaml away stops that component within a
 * second or two and putting it back starts it again, as the kubelet does (the etcd restore procedure
 * relies on it). Only on a finished control plane (its controller-manager manifest was there since this
 * agent started), so installs and joins, which write the manifests themselves, are left alone; reset
 * stops the agent before it removes them.
 * @param {{ listening: boolean, start: () => void, stop: () => void }} api
 */
async function staticPodLoop(api) {
  const manifest = (/** @type {string} */ c) => fs.existsSync(`${KUBE_DIR}/manifests/${c}.yaml`);
  let finished = false;
  while (!stopping) {
    await sleep(1000);
    const s = localState();
    finished ||= manifest("kube-controller-manager");
    if (s.distro !== "kubeadm" || s.role !== "control-plane" || !finished) continue;
    try {
      if (s.etcdMember && !manifest("etcd") && daemonPid("etcd")) {
        await stopEtcd();
        log("etcd.yaml removed: etcd stopped");
      } else if (s.etcdMember && manifest("etcd") && !daemonPid("etcd") && restartEtcdFromConf()) {
        log("etcd.yaml back: etcd started");
      }
      if (api.listening && !manifest("kube-apiserver")) {
        api.stop();
        log("kube-apiserver.yaml removed: API port closed");
      } else if (!api.listening && manifest("kube-apiserver")) {
        api.start();
        log("kube-apiserver.yaml back: API port open");
      }
    } catch (e) {
      log(`static pods: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

// --- readiness of the datastore as /readyz sees it (cached for a second) ---
// A real API server reads its datastore through the local member only (kubeadm: --etcd-servers
// https://127.0.0.1:2379; MicroK8s: the local k8s-dqlite socket), so it is not ready while that member
// is down, even when the rest of the cluster is fine. A node without a member of its own (a MicroK8s
// standby or spare) asks the cluster.
let etcdOk = { at: 0, ok: false };
async function datastoreOk() {
  if (Date.now() - etcdOk.at < 1000) return etcdOk.ok;
  let ok = false;
  const endpoints = localState().etcdMember ? [endpointFor("127.0.0.1")] : knownEndpoints();
  try {
    await new Etcd(endpoints, { perRequestMs: 800, budgetMs: 800 }).getRaw(K.cluster);
    ok = true;
  } catch {
    ok = false;
  }
  etcdOk = { at: Date.now(), ok };
  return ok;
}

/** @param {http.IncomingMessage} req */
async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

/** @param {http.ServerResponse} res @param {number} code @param {unknown} body */
function sendJson(res, code, body) {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

// --- API port ---------------------------------------------------------------------------------
/** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
async function apiHandler(req, res) {
  const url = new URL(req.url ?? "/", "https://x");
  try {
    if (untrustedClient(req)) {
      sendJson(res, 401, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "Unauthorized",
        reason: "Unauthorized",
        code: 401,
      });
    } else if (url.pathname === "/livez" || url.pathname === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    } else if (url.pathname === "/readyz") {
      if (await datastoreOk()) res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      else
        res
          .writeHead(500, { "content-type": "text/plain" })
          .end("[-]etcd failed: reason withheld\nreadyz check failed\n");
    } else if (url.pathname === "/version") {
      const [major, minor] = (st.version ?? "v1.32.3").replace(/^v/, "").split(".");
      sendJson(res, 200, { major, minor, gitVersion: st.version, platform: "linux/amd64" });
    } else if (url.pathname === "/api/v1/namespaces/kube-public/configmaps/cluster-info" && st.distro === "kubeadm") {
      const r = await kubeadmClusterInfo(db());
      sendJson(res, r.code, r.body);
    } else if (url.pathname === "/kit/v1/kubeadm/join" && req.method === "POST" && st.distro === "kubeadm") {
      const r = await kubeadmJoinHandler(db(), JSON.parse(await readBody(req)));
      sendJson(res, r.code, r.body);
    } else {
      sendJson(res, 404, {
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        message: "the server could not find the requested resource",
        reason: "NotFound",
        code: 404,
      });
    }
  } catch (e) {
    sendJson(res, 500, {
      kind: "Status",
      status: "Failure",
      message: e instanceof Error ? e.message : String(e),
      code: 500,
    });
  }
}

/** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
async function clusterAgentHandler(req, res) {
  try {
    if (req.method === "POST" && req.url === "/cluster/api/v2.0/join") {
      const body = JSON.parse((await readBody(req)) || "{}");
      const r = await microk8sJoinHandler(db(), body, req.socket.remoteAddress?.replace(/^::ffff:/, "") ?? "", address);
      sendJson(res, r.code, r.body);
    } else {
      sendJson(res, 404, { error: "Not found" });
    }
  } catch (e) {
    sendJson(res, 500, { error: e instanceof Error ? e.message : String(e) });
  }
}

/** Bind with retries (port 80 may be taken for a while). */
function listen(
  /** @type {http.Server} */ server,
  /** @type {number} */ port,
  /** @type {string} */ what,
  host = "0.0.0.0",
) {
  server.on("error", (e) => {
    log(`${what} ${host}:${port}: ${e.message}; retrying in 3s`);
    setTimeout(() => server.listen(port, host), 3000);
  });
  server.listen(port, host, () => log(`${what} listening on ${host}:${port}`));
}

function tlsFiles() {
  if (st.distro === "kubeadm")
    return {
      cert: "/etc/kubernetes/pki/apiserver.crt",
      key: "/etc/kubernetes/pki/apiserver.key",
      clientCa: "/etc/kubernetes/pki/ca.crt",
    };
  return {
    cert: "/var/snap/microk8s/current/certs/server.crt",
    key: "/var/snap/microk8s/current/certs/server.key",
    clientCa: undefined,
  };
}

/**
 * The API server's TLS: its serving certificate, and (kubeadm) the client CA bundle of --client-ca-file.
 * Clients may come without a certificate (anonymous /livez); one whose certificate the bundle does not
 * verify is refused with 401 by apiHandler. Like kube-apiserver, it reloads both files when they change.
 */
function tlsOptions() {
  const files = tlsFiles();
  return {
    cert: fs.readFileSync(files.cert),
    key: fs.readFileSync(files.key),
    ...(files.clientCa && fs.existsSync(files.clientCa)
      ? { ca: fs.readFileSync(files.clientCa), requestCert: true, rejectUnauthorized: false }
      : {}),
  };
}

function tlsStamp() {
  const files = tlsFiles();
  return [files.cert, files.key, files.clientCa]
    .map((f) => (f && fs.existsSync(f) ? `${fs.statSync(f).mtimeMs}` : "-"))
    .join("/");
}

/** Reloads the API server's certificates when the files change (as kube-apiserver's dynamic certificate controllers do). */
async function tlsReloadLoop(/** @type {https.Server[]} */ servers) {
  let stamp = tlsStamp();
  while (!stopping) {
    await sleep(1000);
    try {
      const now = tlsStamp();
      if (now === stamp) continue;
      const opts = tlsOptions();
      for (const s of servers) s.setSecureContext(opts);
      stamp = now;
      log("API certificates reloaded");
    } catch (e) {
      log(`API certificates: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

/** A request with a client certificate the client CA bundle does not verify: 401, as kube-apiserver answers. */
function untrustedClient(/** @type {http.IncomingMessage} */ req) {
  const sock = /** @type {import("node:tls").TLSSocket} */ (req.socket);
  if (typeof sock.getPeerCertificate !== "function" || sock.authorized) return false;
  const peer = sock.getPeerCertificate();
  return Boolean(peer && Object.keys(peer).length > 0);
}

// --- kubeadm kubelet: its kubeconfig must verify the API server and be accepted by it ---
/**
 * The kubelet talks to the API server with /etc/kubernetes/kubelet.conf: the CA in it must verify the
 * served certificate and the API server must accept its client certificate. When either fails (a wrong
 * order of a CA rotation), the kubelet is cut off: it stops renewing its lease and the node goes
 * NotReady. Connection errors (a VIP moving) do not count.
 */
async function kubeletTrusted() {
  if (st.distro !== "kubeadm") return true;
  let text;
  try {
    text = fs.readFileSync(`${KUBE_DIR}/kubelet.conf`, "utf8");
  } catch {
    return true;
  }
  const field = (/** @type {string} */ k) => Buffer.from(new RegExp(`${k}: (\\S+)`).exec(text)?.[1] ?? "", "base64");
  const server = /server: (\S+)/.exec(text)?.[1];
  const cert = field("client-certificate-data");
  if (!server || cert.length === 0) return true;
  const u = new URL(server);
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: u.hostname,
        port: Number(u.port || 443),
        path: "/api/v1/nodes",
        ca: field("certificate-authority-data"),
        cert,
        key: field("client-key-data"),
        agent: false,
        timeout: 3000,
      },
      (res) => {
        res.resume();
        if (res.statusCode === 401)
          log("kubelet: Unauthorized (the API server does not trust the kubelet's client certificate)");
        resolve(res.statusCode !== 401);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (/** @type {any} */ e) => {
      const tls = /certificate|self.signed|unable to verify|UNABLE_TO|CERT_/i.test(`${e.code ?? ""} ${e.message}`);
      if (tls) log(`kubelet: ${e.message} (kubelet.conf's CA does not verify the API server)`);
      resolve(!tls);
    });
    req.end();
  });
}

async function main() {
  fs.mkdirSync(LOG_DIR, { recursive: true });
  log(`agent for ${name} (${address}) distro=${st.distro} role=${st.role} api=:${apiPort}`);
  const servers = [];
  /** @type {{ listening: boolean, start: () => void, stop: () => void } | undefined} */
  let apiControl;
  if (st.role === "control-plane") {
    const tlsOpts = tlsOptions();
    const api = https.createServer(tlsOpts, (q, r) => void apiHandler(q, r));
    void tlsReloadLoop([api]);
    listen(api, apiPort, "api");
    servers.push(api);
    apiControl = {
      listening: true,
      start() {
        this.listening = true;
        api.listen(apiPort, "0.0.0.0");
      },
      stop() {
        this.listening = false;
        api.close();
        api.closeAllConnections();
      },
    };
    if (st.distro === "microk8s") {
      const agent = https.createServer(tlsOpts, (q, r) => void clusterAgentHandler(q, r));
      listen(agent, 25000, "cluster-agent");
      servers.push(agent);
    }
  }
  const web = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(req.method === "HEAD" ? undefined : `<html><body>app on ${name}</body></html>\n`);
  });
  // The application's web entry stands for an ingress published through a hostPort (iptables, no
  // wildcard socket): it binds the node's own address, so haproxy can still bind the VIP on port 80.
  listen(web, 80, "web", address);
  servers.push(web);

  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    for (const s of servers) s.close();
    if (leaseId) {
      try {
        await new Etcd(knownEndpoints(), { perRequestMs: 800, budgetMs: 1000 }).leaseRevoke(leaseId);
      } catch {
        // the lease expires by itself
      }
    }
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown());
  process.on("SIGINT", () => void shutdown());
  void leaseLoop();
  void refreshLoop();
  void promotionLoop();
  void autoRefreshLoop();
  if (apiControl && st.distro === "kubeadm") void staticPodLoop(apiControl);
}

await main();
