// `microk8s` stand-in: status, add-node, join, leave, remove-node, enable/disable, images import, kubectl,
// dbctl, start/stop, config, version. Installed into the node's PATH by `snap install microk8s` (see snap.mjs).
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import https from "node:https";
import tls from "node:tls";
import {
  Etcd,
  EtcdRequestError,
  EtcdUnavailable,
  endpointFor,
  knownEndpoints,
  peerUrl,
  restartEtcdFromConf,
  startEtcd,
  stopEtcd,
  waitEtcdHealthy,
} from "./etcd.mjs";
import { HA_LOCK, addToken } from "./microk8s-server.mjs";
import { addImages, archiveImages, pullMissing } from "./images.mjs";
import { addonImages } from "./microk8s-addon-images.mjs";
import { DEFAULT_PROXY_ARGS, PROVIDER_FILE, PROXY_ARGS_FILE, PROXY_UNIT, renderProvider } from "./apiserver-proxy.mjs";
import { registerNode, restartAgent, startAgent, stopAgent, waitNodeReady } from "./node.mjs";
import { K, applyObject, listNodes } from "./store.mjs";
import { daysUntilExpiry, fingerprint12, makeCa, makeCert, makeSelfSigned } from "./tls.mjs";
import {
  SNAP_DIR,
  allAddresses,
  daemonPid,
  err,
  fail,
  isRoot,
  localState,
  nodeAddress,
  nodeName,
  out,
  parseArgs,
  readStdin,
  run,
  sleep,
  stepCost,
  takeFault,
  updateLocalState,
  writeFileAtomic,
} from "./util.mjs";

export const CERTS = `${SNAP_DIR}/certs`;
export const CLIENT_CONFIG = `${SNAP_DIR}/credentials/client.config`;
const LOCKS = `${SNAP_DIR}/var/lock`;
const CLUSTERED_LOCK = `${LOCKS}/clustered.lock`;
const STOPPED_LOCK = `${LOCKS}/stopped.lock`;
const NOT_RUNNING = "microk8s is not running. Use microk8s inspect for a deeper inspection.";
const ACTING_AS_NODE = "This MicroK8s deployment is acting as a node in a cluster.";

/** @type {{name: string, repo: string, description: string, version: string}[]} */
const ADDONS = [
  ["cert-manager", "Cloud native certificate management", "1.14.5"],
  ["community", "The community addons repository", "1.0.0"],
  ["dashboard", "The Kubernetes dashboard", "2.7.0"],
  ["dns", "CoreDNS", "1.13.1"],
  ["ha-cluster", "Configure high availability on the current node", "0.1.0"],
  ["helm", "Helm - the package manager for Kubernetes", "3.14.0"],
  ["helm3", "Helm 3 - the package manager for Kubernetes", "3.14.0"],
  ["hostpath-storage", "Storage class; allocates storage from host directory", "1.0.0"],
  ["host-access", "Allow Pods connecting to Host services smoothly", "1.0.0"],
  ["ingress", "Ingress controller for external access", "1.10.0"],
  ["metallb", "Loadbalancer for your Kubernetes cluster", "0.14.3"],
  ["metrics-server", "K8s Metrics Server for API access to service metrics", "0.6.4"],
  ["rbac", "Role-Based Access Control for authorisation", "1.0.0"],
  ["registry", "Private image registry exposed on localhost:32000", "2.8.1"],
].map(([name, description, version]) => ({
  name: /** @type {string} */ (name),
  repo: "core",
  description: /** @type {string} */ (description),
  version: /** @type {string} */ (version),
}));
const COMMUNITY = [
  {
    name: "linkerd",
    repo: "community",
    description: "Linkerd is a service mesh for Kubernetes and other frameworks",
    version: "2.14.3",
  },
];

const onDown = (/** @type {Error} */ e) => fail(1, `Error from server: ${e.message}`);

/** The datastore, with unavailability reported like a failing apiserver. */
async function store(/** @type {(db: Etcd) => Promise<any>} */ fn) {
  const db = new Etcd(knownEndpoints());
  try {
    return await fn(db);
  } catch (e) {
    if (e instanceof EtcdUnavailable || e instanceof EtcdRequestError) onDown(e);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// install / fresh single-node cluster

function kubeconfig(/** @type {string} */ server) {
  const ca = Buffer.from(fs.readFileSync(`${CERTS}/ca.crt`)).toString("base64");
  const token = fs.existsSync(`${SNAP_DIR}/credentials/admin.token`)
    ? fs.readFileSync(`${SNAP_DIR}/credentials/admin.token`, "utf8").trim()
    : "";
  return [
    "apiVersion: v1",
    "clusters:",
    "- cluster:",
    `    certificate-authority-data: ${ca}`,
    `    server: ${server}`,
    "  name: microk8s-cluster",
    "contexts:",
    "- context:",
    "    cluster: microk8s-cluster",
    "    user: admin",
    "  name: microk8s",
    "current-context: microk8s",
    "kind: Config",
    "preferences: {}",
    "users:",
    "- name: admin",
    "  user:",
    `    token: ${token}`,
    "",
  ].join("\n");
}

/** The API server's certificate, signed by the (local or cluster) CA for a year, as gen_server_cert does. */
async function serverCert() {
  const ip = nodeAddress();
  await makeCert({
    caCrt: `${CERTS}/ca.crt`,
    caKey: `${CERTS}/ca.key`,
    crt: `${CERTS}/server.crt`,
    key: `${CERTS}/server.key`,
    cn: "127.0.0.1",
    days: 365,
    ips: [ip, "127.0.0.1", "10.152.183.1", ...allAddresses()],
    dns: [
      nodeName(),
      "kubernetes",
      "kubernetes.default",
      "kubernetes.default.svc",
      "kubernetes.default.svc.cluster.local",
    ],
  });
}

/** The front proxy's client certificate (a year), signed by front-proxy-ca (made when missing). */
async function frontProxyCert() {
  if (!fs.existsSync(`${CERTS}/front-proxy-ca.crt`)) await makeCa(CERTS, "front-proxy-ca", "front-proxy-ca");
  await makeCert({
    caCrt: `${CERTS}/front-proxy-ca.crt`,
    caKey: `${CERTS}/front-proxy-ca.key`,
    crt: `${CERTS}/front-proxy-client.crt`,
    key: `${CERTS}/front-proxy-client.key`,
    cn: "front-proxy-client",
    ips: ["127.0.0.1"],
    dns: ["front-proxy-client"],
    days: 365,
  });
}

/** Every certificate of a control-plane node: API server, front proxy, datastore (dqlite's, ten years) and kubelet. */
async function controlPlaneCerts() {
  await serverCert();
  await frontProxyCert();
  await makeSelfSigned(
    `${SNAP_DIR}/var/kubernetes/backend/cluster.crt`,
    `${SNAP_DIR}/var/kubernetes/backend/cluster.key`,
    "k8s",
    3650,
  );
  await kubeletCert();
}

/** The kubelet's own serving certificate (self-signed for a year, as a kubelet makes it in --cert-dir). */
async function kubeletCert() {
  await makeSelfSigned(
    `${CERTS}/kubelet.crt`,
    `${CERTS}/kubelet.key`,
    `${nodeName()}@${Math.floor(Date.now() / 1000)}`,
    365,
  );
}

function microk8sLabels(/** @type {boolean} */ worker) {
  const name = nodeName();
  return {
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/hostname": name,
    "kubernetes.io/os": "linux",
    "microk8s.io/cluster": "true",
    ...(worker
      ? { "node.kubernetes.io/microk8s-worker": "microk8s-worker" }
      : { "node.kubernetes.io/microk8s-controlplane": "microk8s-controlplane" }),
  };
}

/** @returns {import("./store.mjs").NodeRec} */
function nodeRec(/** @type {boolean} */ worker) {
  const st = localState();
  return {
    name: nodeName(),
    address: nodeAddress(),
    role: worker ? "worker" : "control-plane",
    distro: "microk8s",
    version: st.version ?? "v1.32.3",
    labels: microk8sLabels(worker),
    taints: [],
    createdAt: new Date().toISOString(),
  };
}

const systemDeployment = (
  /** @type {string} */ name,
  /** @type {number} */ replicas,
  /** @type {Record<string,string>} */ labels,
) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: "kube-system", labels },
  spec: {
    replicas,
    selector: { matchLabels: labels },
    template: { metadata: { labels }, spec: { tolerations: [{ key: "CriticalAddonsOnly", operator: "Exists" }] } },
  },
});

/** A brand-new single-node MicroK8s on this node (snap install, and again after `leave`). */
export async function freshCluster(/** @type {{channel: string, version: string}} */ v) {
  const ip = nodeAddress();
  const name = nodeName();
  await stopAgent();
  await stopEtcd({ wipe: true });
  fs.rmSync(CLUSTERED_LOCK, { force: true });
  fs.rmSync(STOPPED_LOCK, { force: true });
  fs.mkdirSync(LOCKS, { recursive: true });
  fs.mkdirSync(`${SNAP_DIR}/args`, { recursive: true });
  if (!fs.existsSync(PROXY_ARGS_FILE)) writeFileAtomic(PROXY_ARGS_FILE, DEFAULT_PROXY_ARGS, 0o660);
  fs.writeFileSync(HA_LOCK, "");
  await makeCa(CERTS, "ca", "10.152.183.1");
  await controlPlaneCerts();
  writeFileAtomic(`${SNAP_DIR}/credentials/admin.token`, `${randomBytes(16).toString("hex")}\n`, 0o600);
  writeFileAtomic(`${SNAP_DIR}/credentials/cluster-tokens.txt`, "", 0o600);
  writeFileAtomic(CLIENT_CONFIG, kubeconfig("https://127.0.0.1:16443"), 0o600);
  updateLocalState({
    distro: "microk8s",
    installed: true,
    channel: v.channel,
    version: v.version,
    role: "control-plane",
    clustered: false,
    stopped: false,
    apiPort: 16443,
    etcdMember: true,
    etcdEndpoints: [endpointFor(ip)],
    nodeName: name,
  });
  await startEtcd({ name, ip, tls: false, initialCluster: `${name}=${peerUrl(ip, false)}`, state: "new" });
  const db = new Etcd([endpointFor(ip)]);
  await db.put(K.cluster, {
    distro: "microk8s",
    version: v.version,
    channel: v.channel,
    createdAt: new Date().toISOString(),
  });
  await db.put(K.dqlite(name), { name, ip, address: `${ip}:19001`, role: "voter", order: Date.now() });
  await registerNode(db, nodeRec(false));
  await db.put(K.addon("dns"), { enabled: true });
  await applyObject(db, systemDeployment("coredns", 1, { "k8s-app": "kube-dns" }));
  await applyObject(db, systemDeployment("calico-kube-controllers", 1, { "k8s-app": "calico-kube-controllers" }));
  await applyObject(db, {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "calico-node", namespace: "kube-system", labels: { "k8s-app": "calico-node" } },
    spec: {},
  });
  startAgent();
  await waitNodeReady(name, 20_000);
}

/**
 * `snap refresh --channel`: the services stop (the agent's lease is revoked, so the node turns NotReady;
 * a voter's datastore member stops), the new revision is mounted, the services start again with the new
 * version, which the Node object then reports.
 */
export async function refreshInstallation(/** @type {{channel: string, version: string}} */ v) {
  const st = localState();
  await stopAgent();
  if (st.etcdMember) await stopEtcd();
  await sleep(1000);
  await stepCost("snap-refresh");
  updateLocalState({ channel: v.channel, version: v.version });
  if (st.etcdMember && !st.stopped) {
    restartEtcdFromConf();
    await waitEtcdHealthy(30_000);
  }
  if (st.stopped) return;
  const name = nodeName();
  try {
    await new Etcd(knownEndpoints()).update(K.node(name), (cur) => (cur ? { ...cur, version: v.version } : undefined));
  } catch (e) {
    err(
      `warning: the Node object of ${name} keeps its old version until the kubelet registers again: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  startAgent();
  await waitNodeReady(name, 30_000);
}

/** Stop everything and forget the installation (snap remove). */
export async function removeInstallation() {
  await run("systemctl", ["stop", PROXY_UNIT]);
  await stopAgent();
  await stopEtcd({ wipe: true });
  // The whole $SNAP_DATA tree of every revision goes, as with `snap remove --purge`.
  fs.rmSync(path.dirname(SNAP_DIR), { recursive: true, force: true });
  updateLocalState({
    distro: undefined,
    installed: false,
    role: undefined,
    etcdMember: false,
    etcdEndpoints: [],
    clustered: false,
    stopped: false,
  });
}

// ---------------------------------------------------------------------------------------------
// guards

function ensureRoot() {
  if (isRoot()) return;
  const user = process.env.USER ?? process.env.LOGNAME ?? "user";
  fail(
    1,
    [
      "Insufficient permissions to access MicroK8s.",
      `You can either try again with sudo or add the user ${user} to the 'microk8s' group:`,
      "",
      `    sudo usermod -a -G microk8s ${user}`,
      "    sudo chown -R $USER ~/.kube",
      "",
      "After this, reload the user groups either via a reboot or by running 'newgrp microk8s'.",
    ].join("\n"),
  );
}

const isWorker = () => fs.existsSync(CLUSTERED_LOCK);
const isStopped = () => fs.existsSync(STOPPED_LOCK);

function exitIfStopped() {
  if (isStopped()) fail(1, "microk8s is not running, try microk8s start");
}

// ---------------------------------------------------------------------------------------------
// status

async function readyNow() {
  if (isStopped() || !daemonPid("agent")) return false;
  try {
    const db = new Etcd(knownEndpoints(), { perRequestMs: 1500, budgetMs: 2500 });
    return Boolean(await db.getRaw(K.alive(nodeName())));
  } catch {
    return false;
  }
}

async function addonStates() {
  /** @type {Map<string, boolean>} */
  const enabled = new Map();
  try {
    const db = new Etcd(knownEndpoints(), { perRequestMs: 1500, budgetMs: 2500 });
    for (const a of await db.list(K.addons)) enabled.set(a.key.slice(K.addons.length), Boolean(a.value.enabled));
  } catch {
    // shown as disabled
  }
  enabled.set("ha-cluster", fs.existsSync(HA_LOCK));
  enabled.set("helm", true);
  enabled.set("helm3", true);
  const list = [...ADDONS, ...(enabled.get("community") ? COMMUNITY : [])];
  list.sort((a, b) => (a.repo === b.repo ? a.name.localeCompare(b.name) : a.repo.localeCompare(b.repo)));
  return list.map((a) => ({ ...a, enabled: Boolean(enabled.get(a.name)) }));
}

async function datastoreNodes() {
  try {
    const db = new Etcd(knownEndpoints(), { perRequestMs: 1500, budgetMs: 2500 });
    const dq = (await db.list(K.dqlites)).map((d) => d.value).sort((a, b) => a.order - b.order);
    if (dq.length === 1 && !localState().clustered) return [{ address: "127.0.0.1:19001", role: "voter" }];
    return dq.map((d) => ({ address: d.address, role: d.role }));
  } catch {
    return [];
  }
}

async function status(/** @type {string[]} */ argv) {
  const a = parseArgs(argv, ["format", "timeout", "t", "addon", "a"]);
  if (isWorker()) {
    out(`${ACTING_AS_NODE}\nPlease use the control plane node.`);
    return 0;
  }
  if (isStopped()) {
    out("microk8s is not running, try microk8s start");
    return 0;
  }
  const format = a.has("yaml") ? "yaml" : (a.get("format") ?? "pretty");
  const timeout = Number(a.get("timeout", "t") ?? 0);
  let ready = await readyNow();
  if (!ready && a.has("wait-ready", "w")) {
    const until = timeout > 0 ? Date.now() + timeout * 1000 : Infinity;
    while (!ready && Date.now() < until) {
      await sleep(1000);
      ready = await readyNow();
    }
  }
  const addonName = a.get("addon", "a");
  if (addonName) {
    const found = (await addonStates()).find((x) => x.name === addonName);
    out(found?.enabled ? "enabled" : "disabled");
    return ready ? 0 : 1;
  }
  const ds = ready ? await datastoreNodes() : [];
  const voters = ds.filter((d) => d.role === "voter");
  const standby = ds.filter((d) => d.role === "standby");
  const ha = voters.length > 2;
  if (format === "yaml") {
    const lines = [
      "microk8s:",
      `  running: ${ready ? "True" : "False"}`,
      "high-availability:",
      `  enabled: ${ha ? "True" : "False"}`,
      "  nodes:",
    ];
    for (const d of ds) lines.push(`    - address: ${d.address}`, `      role: ${d.role}`);
    if (!ready) {
      lines.push(`  message: ${NOT_RUNNING}`);
      out(lines.join("\n"));
      return 1;
    }
    lines.push("addons:");
    for (const x of await addonStates()) {
      lines.push(
        `  - name: ${x.name}`,
        `    repository: ${x.repo}`,
        `    description: ${x.description}`,
        `    version: ${x.version}`,
        `    status: ${x.enabled ? "enabled" : "disabled"}`,
      );
    }
    out(lines.join("\n"));
    return 0;
  }
  if (!ready) {
    out(NOT_RUNNING);
    return 1;
  }
  const addons = await addonStates();
  if (format === "short") {
    out(
      [
        "microk8s is running",
        "addons:",
        ...addons
          .filter((x) => x.enabled)
          .concat(addons.filter((x) => !x.enabled))
          .map((x) => `${x.repo}/${x.name}: ${x.enabled ? "enabled" : "disabled"}`),
      ].join("\n"),
    );
    return 0;
  }
  const fmt = (/** @type {typeof addons[number]} */ x) =>
    `${"".padStart(3)} ${x.name.padEnd(20)} # (${x.repo}) ${x.description}`;
  out(
    [
      "microk8s is running",
      `high-availability: ${ha ? "yes" : "no"}`,
      `  datastore master nodes: ${voters.map((d) => d.address).join(" ") || "none"}`,
      `  datastore standby nodes: ${standby.map((d) => d.address).join(" ") || "none"}`,
      "addons:",
      "  enabled:",
      ...addons.filter((x) => x.enabled).map(fmt),
      "  disabled:",
      ...addons.filter((x) => !x.enabled).map(fmt),
    ].join("\n"),
  );
  return 0;
}

// ---------------------------------------------------------------------------------------------
// add-node

async function addNode(/** @type {string[]} */ argv) {
  if (isWorker()) fail(1, `${ACTING_AS_NODE} Please use the microk8s add-node on the master.`);
  exitIfStopped();
  const a = parseArgs(argv, ["token-ttl", "l", "token", "t", "format"]);
  const ttl = Number(a.get("token-ttl", "l") ?? -1);
  let token = a.get("token", "t") ?? "";
  if (token && token.length < 32) fail(1, "Invalid token size.  It must be 32 characters long.", { stdout: true });
  if (!token) token = randomBytes(16).toString("hex");
  await stepCost("add-node");
  addToken(token, ttl);
  updateLocalState({ clustered: true });
  const check = fingerprint12(fs.readFileSync(`${CERTS}/server.crt`, "utf8"));
  const defaultIp = nodeAddress();
  const ips = allAddresses();
  const url = (/** @type {string} */ ip) => `${ip}:25000/${token}/${check}`;
  const format = a.get("format") ?? "pretty";
  if (format === "token") out(token);
  else if (format === "token-check") out(`${token}/${check}`);
  else if (format === "json")
    out(
      JSON.stringify(
        { token: `${token}/${check}`, urls: [defaultIp, ...ips.filter((i) => i !== defaultIp)].map(url) },
        null,
        2,
      ),
    );
  else if (format === "yaml")
    out(
      `token: ${token}/${check}\nurls:\n${[defaultIp, ...ips.filter((i) => i !== defaultIp)].map((i) => `- ${url(i)}`).join("\n")}\n`,
    );
  else if (format === "short")
    out([defaultIp, ...ips.filter((i) => i !== defaultIp)].map((i) => `microk8s join ${url(i)}`).join("\n"));
  else {
    const lines = [
      "From the node you wish to join to this cluster, run the following:",
      `microk8s join ${url(defaultIp)}`,
      "",
    ];
    if (fs.existsSync(HA_LOCK))
      lines.push(
        "Use the '--worker' flag to join a node as a worker not running the control plane, eg:",
        `microk8s join ${url(defaultIp)} --worker`,
        "",
      );
    lines.push(
      "If the node you are adding is not reachable through the default interface you can use one of the following:",
    );
    for (const ip of ips) lines.push(`microk8s join ${url(ip)}`);
    out(lines.join("\n"));
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// join

/** @returns {Promise<Buffer>} the DER certificate the cluster agent presents */
function peerCertificate(/** @type {string} */ host, /** @type {number} */ port) {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host, port, rejectUnauthorized: false, timeout: 10_000 }, () => {
      const raw = sock.getPeerCertificate().raw;
      sock.end();
      resolve(raw);
    });
    sock.on("timeout", () => sock.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    sock.on("error", reject);
  });
}

/** @returns {Promise<{status: number, body: any}>} */
function postJson(
  /** @type {string} */ host,
  /** @type {number} */ port,
  /** @type {string} */ path,
  /** @type {unknown} */ body,
) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = https.request(
      {
        host,
        port,
        path,
        method: "POST",
        rejectUnauthorized: false,
        timeout: 30_000,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = { error: text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on("timeout", () => req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    req.on("error", reject);
    req.end(data);
  });
}

/** @returns {never} */
function pythonOsError(/** @type {any} */ e) {
  const map = /** @type {Record<string, string>} */ ({
    ECONNREFUSED: "ConnectionRefusedError: [Errno 111] Connection refused",
    EHOSTUNREACH: "OSError: [Errno 113] No route to host",
    ETIMEDOUT: "TimeoutError: [Errno 110] Connection timed out",
  });
  fail(
    1,
    [
      "Traceback (most recent call last):",
      '  File "/snap/microk8s/current/scripts/wrappers/join.py", line 1125, in <module>',
      '    join(prog_name="microk8s join")',
      map[e?.code] ?? `OSError: ${e?.message ?? e}`,
    ].join("\n"),
  );
}

async function join(/** @type {string[]} */ argv) {
  const a = parseArgs(argv);
  const conn = a.positional[0] ?? "";
  const invalid = (/** @type {string} */ why) => fail(1, `Invalid connection: ${why}`, { stdout: true });
  const parts = conn.split("/");
  const hostPort = (parts[0] ?? "").split(":");
  if (parts.length < 2 || parts.length > 3 || hostPort.length !== 2)
    invalid("Expected format: <master_IP>:<master_PORT>/<token>[/<fingerprint>]");
  const [host, portStr] = /** @type {[string, string]} */ (hostPort);
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) invalid("Invalid master IP");
  if (!/^\d+$/.test(portStr)) invalid("Master PORT not a number");
  const port = Number(portStr);
  if (port < 1 || port > 65535) invalid("Master PORT not in range 1:65535");
  const token = parts[1] ?? "";
  const check = parts[2];
  if (token.length < 32) invalid("Cluster token size should be at least 32 bytes");
  if (check !== undefined && check.length < 12) invalid("Fingerprint should be at least 12 bytes");
  const worker = a.has("worker") || a.has("controlplane");
  await stepCost("join");

  if (!a.has("skip-verify")) {
    let der;
    try {
      der = await peerCertificate(host, port);
    } catch (e) {
      pythonOsError(e);
    }
    if (check === undefined || check.length < 12)
      fail(4, "Joining cluster failed. Fingerprint too short. Use '--skip-verify' to skip server certificate check.", {
        stdout: true,
      });
    const pem = `-----BEGIN CERTIFICATE-----\n${der.toString("base64")}\n-----END CERTIFICATE-----\n`;
    if (!fingerprint12(pem).startsWith(check.slice(0, 12)) || fingerprint12(pem) !== check.slice(0, 12)) {
      fail(
        4,
        `Joining cluster failed. Could not verify the identity of ${host}. Use '--skip-verify' to skip server certificate check.`,
        { stdout: true },
      );
    }
  }
  out(`Contacting cluster at ${host}`);
  let res;
  try {
    res = await postJson(host, port, "/cluster/api/v2.0/join", {
      token,
      hostname: nodeName(),
      port: 25000,
      worker,
      can_handle_x509_auth: true,
    });
  } catch (e) {
    pythonOsError(e);
  }
  if (res.status !== 200)
    fail(6, `Connection failed. ${res.body.error ?? res.body.message ?? "Unknown error"} (${res.status}).`, {
      stdout: true,
    });
  if (a.has("controlplane") && !a.has("worker")) {
    fail(1, "Joining process failed. Make sure the cluster you connect to supports joining worker nodes.", {
      stdout: true,
    });
  }
  if (takeFault("fail-join-after-consume")) {
    process.stdout.write("Waiting for this node to finish joining the cluster. ");
    for (let i = 0; i < 10; i++) {
      await sleep(100);
      process.stdout.write(".. ");
    }
    out(" ");
    fail(
      1,
      "Joining cluster failed. The node did not become part of the datastore (kit fault fail-join-after-consume).",
      { stdout: true },
    );
  }
  const body = res.body;
  const cluster = new Etcd(body.etcd_endpoints);
  const ip = nodeAddress();
  const name = nodeName();
  await stopAgent();
  await stopEtcd({ wipe: true });
  writeFileAtomic(`${CERTS}/ca.crt`, body.ca);
  // Workers get the cluster CA but not its key (as with the real agent): they keep their own serving
  // certificate instead of re-signing it with a key that does not match.
  if (body.ca_key) {
    writeFileAtomic(`${CERTS}/ca.key`, body.ca_key, 0o600);
    await controlPlaneCerts();
  } else {
    await kubeletCert();
  }
  writeFileAtomic(CLIENT_CONFIG, kubeconfig("https://127.0.0.1:16443"), 0o600);

  if (worker) {
    fs.writeFileSync(CLUSTERED_LOCK, "");
    updateLocalState({
      role: "worker",
      etcdMember: false,
      etcdEndpoints: body.etcd_endpoints,
      clustered: true,
      joinedFrom: host,
    });
    await cluster.put(K.node(name), nodeRec(true));
    // update_apiserver_proxy(): the control plane it joined through, then the proxy restarted.
    writeFileAtomic(PROVIDER_FILE, renderProvider([`${host}:${body.api_port ?? 16443}`]), 0o660);
    await run("systemctl", ["restart", PROXY_UNIT]);
    startAgent();
    await waitNodeReady(name, 15_000);
    out(
      [
        "",
        "The node has joined the cluster and will appear in the nodes list in a few seconds.",
        "",
        "This worker node gets automatically configured with the API server endpoints.",
        "If the API servers are behind a loadbalancer please set the '--refresh-interval' to '0s' in:",
        "    /var/snap/microk8s/current/args/apiserver-proxy",
        "and replace the API server endpoints with the one provided by the loadbalancer in:",
        "    /var/snap/microk8s/current/args/traefik/provider.yaml",
        "",
        "Successfully joined the cluster.",
      ].join("\n"),
    );
    return 0;
  }

  process.stdout.write("Waiting for this node to finish joining the cluster. ");
  const dq = (await cluster.list(K.dqlites)).map((d) => d.value);
  const voters = dq.filter((d) => d.role === "voter").length;
  const standbys = dq.filter((d) => d.role === "standby").length;
  const role = voters < 3 ? "voter" : standbys < 3 ? "standby" : "spare";
  let endpoints = body.etcd_endpoints;
  if (role === "voter") {
    await joinEtcd(cluster, name, ip);
    endpoints = [...new Set([endpointFor(ip), ...endpoints])];
  }
  process.stdout.write(".. ");
  updateLocalState({
    role: "control-plane",
    etcdMember: role === "voter",
    etcdEndpoints: endpoints,
    clustered: true,
    joinedFrom: host,
  });
  const db = new Etcd(knownEndpoints());
  await db.put(K.dqlite(name), { name, ip, address: `${ip}:19001`, role, order: Date.now() });
  await db.put(K.node(name), nodeRec(false));
  startAgent();
  await waitNodeReady(name, 20_000);
  out(" ");
  out("Successfully joined the cluster.");
  return 0;
}

/** Add this node as an etcd member (one at a time, as etcd requires) and start it against the cluster. */
export async function joinEtcd(/** @type {Etcd} */ cluster, /** @type {string} */ name, /** @type {string} */ ip) {
  const peer = peerUrl(ip, false);
  const existing = await cluster.members();
  if (!existing.some((m) => m.peerURLs.includes(peer))) await cluster.memberAddRetry(peer);
  const members = await cluster.members();
  const initialCluster = members.map((m) => `${m.name || name}=${m.peerURLs[0]}`).join(",");
  await stopEtcd({ wipe: true });
  await startEtcd({ name, ip, tls: false, initialCluster, state: "existing" }, 30_000);
}

/** When a voter goes away, the first standby becomes a voter (its agent then starts the member). */
export async function promoteStandby(/** @type {Etcd} */ db) {
  const dq = (await db.list(K.dqlites)).map((d) => d.value).sort((x, y) => x.order - y.order);
  if (dq.filter((d) => d.role === "voter").length >= 3) return;
  const sb = dq.find((d) => d.role === "standby");
  if (!sb) return;
  const peer = peerUrl(sb.ip, false);
  await db.memberAddRetry(peer);
  await db.put(K.dqlite(sb.name), { ...sb, role: "voter" });
  const spare = dq.find((d) => d.role === "spare");
  if (spare) await db.put(K.dqlite(spare.name), { ...spare, role: "standby" });
  // the standby's agent starts its member; wait for it so the datastore keeps three working voters
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    if ((await db.members()).some((m) => m.peerURLs.includes(peer) && m.name)) return;
    await sleep(500);
  }
}

/** Remove a voter's etcd member, then promote a standby (in this order, so etcd accepts both changes). */
async function dropVoter(/** @type {Etcd} */ db, /** @type {string} */ ip) {
  const member = (await db.members()).find((m) => m.peerURLs.includes(peerUrl(ip, false)));
  if (member) await db.memberRemove(member.id);
  await promoteStandby(db);
}

// ---------------------------------------------------------------------------------------------
// leave / remove-node

async function leave() {
  const st = localState();
  if (isWorker()) {
    out("Configuring services.");
    await stopAgent();
    await run("systemctl", ["stop", PROXY_UNIT]);
    fs.rmSync(CLUSTERED_LOCK, { force: true });
    out("Generating new cluster certificates.");
    process.stdout.write("Waiting for node to start. ");
    await freshCluster({ channel: st.channel ?? "1.32/stable", version: st.version ?? "v1.32.3" });
    out(". . ");
    return 0;
  }
  const name = nodeName();
  const ip = nodeAddress();
  const db = new Etcd((st.etcdEndpoints ?? []).filter((e) => !e.includes(`//${ip}:`)));
  const dq = await store(async (c) => (await c.list(K.dqlites)).map((d) => d.value));
  const others = dq.filter((d) => d.name !== name);
  const me = dq.find((d) => d.name === name);
  if (!me || others.length === 0)
    fail(1, "This MicroK8s deployment is not acting as a node in a cluster.", { stdout: true });
  if (me.role === "voter" && dq.filter((d) => d.role === "voter").length === 1) {
    fail(
      3,
      [
        "This node currently holds the only copy of the Kubernetes database so it cannot leave the cluster.",
        "To remove this node you can either first remove all other nodes with 'microk8s remove-node' or",
        "form a highly available cluster by adding at least three nodes.",
      ].join("\n"),
      { stdout: true },
    );
  }
  await stepCost("leave");
  await stopAgent();
  try {
    await db.del(K.dqlite(name));
    if (me.role === "voter") await dropVoter(db, ip);
  } catch (e) {
    const peer = others[0]?.address ?? "";
    fail(2, `Contacting node ${peer} failed. Error:\n${JSON.stringify(e instanceof Error ? e.message : String(e))}`, {
      stdout: true,
    });
  }
  out("Generating new cluster certificates.");
  process.stdout.write("Waiting for node to start. ");
  await freshCluster({ channel: st.channel ?? "1.32/stable", version: st.version ?? "v1.32.3" });
  out(". . ");
  return 0;
}

async function removeNode(/** @type {string[]} */ argv) {
  if (isWorker()) fail(1, `${ACTING_AS_NODE} Please use microk8s leave.`);
  exitIfStopped();
  const a = parseArgs(argv);
  const target = a.positional[0];
  if (!target) fail(1, "Please provide the node you want to remove.", { stdout: true });
  if (a.positional.length > 1) fail(1, "Please provide the node and the optional --force flag.", { stdout: true });
  const force = a.has("force");
  return store(async (db) => {
    const nodes = await listNodes(db);
    const node = nodes.find((n) => n.rec.name === target || n.rec.address === target);
    const dq = (await db.list(K.dqlites)).map((d) => d.value);
    const entry = dq.find((d) => d.name === (node?.rec.name ?? target) || d.ip === target);
    if (!node) {
      if (force) {
        out(`Attempting to remove ${target} from dqlite.`);
        if (entry) {
          out("Removing node entry found in dqlite.");
          await dropDatastoreEntry(db, entry);
        }
      }
      fail(1, `Node ${target} does not exist in Kubernetes.`, { stdout: true });
    }
    if (entry && !force) {
      fail(
        1,
        [
          `Removal failed. Node ${node.rec.name} is registered with dqlite. Please, run first 'microk8s leave' on the departing node. `,
          "If the node is not available anymore and will never attempt to join the cluster in the future use the '--force' flag ",
          "to unregister the node while removing it.",
        ].join("\n"),
        { stdout: true },
      );
    }
    if (entry) await dropDatastoreEntry(db, entry);
    await db.del(K.node(node.rec.name));
    await db.del(K.alive(node.rec.name));
    return 0;
  });
}

async function dropDatastoreEntry(/** @type {Etcd} */ db, /** @type {any} */ entry) {
  await db.del(K.dqlite(entry.name));
  if (entry.role === "voter") await dropVoter(db, entry.ip);
}

// ---------------------------------------------------------------------------------------------
// addons

/** @param {Etcd} db @param {string} name @param {boolean} on */
async function setAddon(db, name, on) {
  await db.put(K.addon(name), { enabled: on, at: new Date().toISOString() });
}

async function enableDisable(/** @type {"enable"|"disable"} */ verb, /** @type {string[]} */ argv) {
  if (isWorker()) fail(1, `${ACTING_AS_NODE} Please use the control plane node.`);
  exitIfStopped();
  const names = argv.filter((x) => !x.startsWith("-"));
  if (names.length === 0)
    fail(
      1,
      `Usage: microk8s ${verb} [OPTIONS] ADDONS...\nTry 'microk8s ${verb} -h' for help.\n\nError: Missing argument 'ADDONS...'.`,
    );
  if (names.length > 1) {
    out(
      "WARNING: Do not enable or disable multiple addons in one command.\n         This form of chained operations on addons will be DEPRECATED in the future.",
    );
  }
  let code = 0;
  for (const raw of names) {
    const [full, args] = raw.split(":");
    const bare = (full ?? "").replace(/^(core|community)\//, "");
    const addons = await addonStates();
    const addon = addons.find((x) => x.name === bare || (bare === "storage" && x.name === "hostpath-storage"));
    if (!addon) {
      err(`Addon ${bare} was not found in any repository`);
      if (COMMUNITY.some((c) => c.name === bare))
        err(
          "To use the community maintained flavor enable the respective repository:\n\n    microk8s enable community\n",
        );
      code = 1;
      continue;
    }
    err(`Infer repository ${addon.repo} for addon ${addon.name}`);
    if (verb === "enable" && addon.enabled) {
      out(`Addon ${addon.repo}/${addon.name} is already enabled`);
      continue;
    }
    if (verb === "disable" && !addon.enabled) {
      out(`Addon ${addon.repo}/${addon.name} is already disabled`);
      continue;
    }
    await stepCost(`${verb}-${addon.name}`);
    code = Math.max(
      code,
      await store((db) => (verb === "enable" ? enableAddon(db, addon.name) : disableAddon(db, addon.name, args))),
    );
  }
  return code;
}

/** The node's MicroK8s minor, from the version its snap runs ("v1.29.15" → "1.29"). */
function runningMinor() {
  return (localState().version ?? "").replace(/^v/, "").split(".").slice(0, 2).join(".");
}

/** @param {Etcd} db @param {string} name */
async function enableAddon(db, name) {
  // the addon's pods need its images: containerd pulls each one it has not imported
  pullMissing(addonImages(runningMinor(), name));
  const dep = (/** @type {string} */ n, /** @type {Record<string,string>} */ l) =>
    applyObject(db, systemDeployment(n, 1, l)).then((v) => `deployment.apps/${n} ${v}`);
  switch (name) {
    case "dns":
      out(
        [
          "Enabling DNS",
          "Using host configuration from /etc/resolv.conf",
          "Applying manifest",
          "serviceaccount/coredns created",
          "configmap/coredns created",
          await dep("coredns", { "k8s-app": "kube-dns" }),
          "service/kube-dns created",
          "clusterrole.rbac.authorization.k8s.io/coredns created",
          "clusterrolebinding.rbac.authorization.k8s.io/coredns created",
          "CoreDNS service deployed with IP address 10.152.183.10",
          "DNS is enabled",
        ].join("\n"),
      );
      break;
    case "metrics-server":
      out(
        [
          "Enabling Metrics-Server",
          "serviceaccount/metrics-server created",
          await dep("metrics-server", { "k8s-app": "metrics-server" }),
          "service/metrics-server created",
          "apiservice.apiregistration.k8s.io/v1beta1.metrics.k8s.io created",
          "Metrics-Server is enabled",
        ].join("\n"),
      );
      break;
    case "hostpath-storage": {
      const clustered = (await db.list(K.nodes)).length > 1;
      out(
        [
          "Enabling default storage class.",
          "WARNING: Hostpath storage is not suitable for production environments.",
          "         A hostpath volume can grow beyond the size limit set in the volume claim manifest.",
          "",
          await dep("hostpath-provisioner", { "k8s-app": "hostpath-provisioner" }),
          "storageclass.storage.k8s.io/microk8s-hostpath created",
          "serviceaccount/microk8s-hostpath created",
          "Storage will be available soon.",
          ...(clustered ? ["WARNING: The storage class enabled does not persist volumes across nodes."] : []),
        ].join("\n"),
      );
      break;
    }
    case "rbac":
      out(["Enabling RBAC", "Reconfiguring apiserver", "RBAC is enabled"].join("\n"));
      break;
    case "community":
      out(
        [
          "Cloning into '/var/snap/microk8s/common/addons/community'...",
          "done.",
          "Community repository is now enabled",
        ].join("\n"),
      );
      break;
    case "linkerd": {
      const { linkerdManifests } = await import("./linkerd.mjs");
      out(["Fetching Linkerd2 version v2.14.3.", "2.14.3", "Enabling Linkerd2"].join("\n"));
      if (!(await db.get(K.addon("dns")))?.enabled) await enableAddon(db, "dns");
      for (const doc of [
        ...linkerdManifests("crds"),
        ...linkerdManifests("control-plane"),
        ...linkerdManifests("viz"),
      ]) {
        out(
          `${doc.kind.toLowerCase()}${doc.apiVersion.includes("/") ? `.${doc.apiVersion.split("/")[0]}` : ""}/${doc.metadata.name} ${await applyObject(db, doc)}`,
        );
      }
      out("Installing linkerd viz extension\nLinkerd is starting");
      break;
    }
    case "ha-cluster":
      fs.writeFileSync(HA_LOCK, "");
      out("Enabling HA\nThe node is now HA ready. Join three or more nodes to form an HA cluster.");
      return 0;
    default:
      out(`Enabling ${name}`);
  }
  await setAddon(db, name, true);
  return 0;
}

/**
 * `microk8s images import [FILE]` (FILE `-`, the default, is stdin): the whole tarball is posted to the
 * cluster agent, which imports it into containerd's k8s.io namespace. Like the real one it exits 0 when
 * the agent refuses the archive (a truncated or corrupt tar), printing "Failed to import images on ...".
 * The kit imports on this node only (hactl imports before a node joins).
 * @param {string[]} argv
 */
function imagesCmd(argv) {
  const [sub, file = "-"] = argv;
  if (sub !== "import")
    fail(
      2,
      `Usage: microk8s images [OPTIONS] COMMAND [ARGS]...\nTry 'microk8s images -h' for help.\n\nError: No such command '${sub ?? ""}'.`,
    );
  exitIfStopped();
  /** @type {Buffer} */
  let data = Buffer.alloc(0);
  try {
    data = fs.readFileSync(file === "-" ? 0 : file);
  } catch {
    fail(1, `Error: failed to read ${file}: [Errno 2] No such file or directory: '${file}'`);
  }
  const tmp = fs.mkdtempSync(path.join(SNAP_DIR, "images-import-"));
  try {
    fs.writeFileSync(path.join(tmp, "images.tar"), data);
    const read = archiveImages(path.join(tmp, "images.tar"));
    const agent = `${nodeAddress()}:25000`;
    out(`Pushing OCI images to ${agent}`);
    if ("error" in read) out(`Failed to import images on ${agent}: ctr: ${read.error}`);
    else addImages("k8s.io", true, read.refs);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return 0;
}

/** @param {Etcd} db @param {string} name @param {string|undefined} args */
async function disableAddon(db, name, args) {
  const del = async (/** @type {string} */ n) => {
    const gone = await db.del(K.obj("Deployment", "kube-system", n));
    return gone ? `deployment.apps "${n}" deleted` : "";
  };
  switch (name) {
    case "dns":
      out(
        ["Disabling DNS", "Reconfiguring kubelet", "Removing DNS manifest", await del("coredns"), "DNS is disabled"]
          .filter(Boolean)
          .join("\n"),
      );
      break;
    case "metrics-server":
      out(
        ["Disabling Metrics-Server", await del("metrics-server"), "Metrics-Server is disabled"]
          .filter(Boolean)
          .join("\n"),
      );
      break;
    case "hostpath-storage": {
      if (args !== "destroy-storage") {
        process.stdout.write("Remove PVC storage at /var/snap/microk8s/common/default-storage ? (Y/N): ");
        const answer = process.stdin.isTTY ? "" : (await readStdin()).trim();
        out("");
        if (!/^y/i.test(answer)) {
          out("Storage not removed");
        }
      }
      out(
        ["Disabling hostpath storage", await del("hostpath-provisioner"), "Storage removed"].filter(Boolean).join("\n"),
      );
      break;
    }
    case "linkerd": {
      const { linkerdManifests } = await import("./linkerd.mjs");
      out("Disabling Linkerd\nRemoving linkerd control plane");
      for (const doc of [
        ...linkerdManifests("viz"),
        ...linkerdManifests("control-plane"),
        ...linkerdManifests("crds"),
      ]) {
        const ns = doc.metadata.namespace ?? "";
        if (await db.del(K.obj(doc.kind, ns, doc.metadata.name)))
          out(`${doc.kind.toLowerCase()} "${doc.metadata.name}" deleted`);
      }
      out("Deleting linkerd binary.");
      break;
    }
    case "rbac":
      out("Disabling RBAC\nReconfiguring apiserver\nRBAC is disabled");
      break;
    case "ha-cluster":
      fail(1, "The node kit does not reproduce disabling ha-cluster (it would reset the datastore).");
      break;
    default:
      out(`Disabling ${name}`);
  }
  await setAddon(db, name, false);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// start / stop / config / version

async function stop() {
  if (isWorker()) {
    out(`${ACTING_AS_NODE}\nUse 'snap stop microk8s' to stop services on this node.`);
    return 0;
  }
  fs.mkdirSync(LOCKS, { recursive: true });
  fs.writeFileSync(STOPPED_LOCK, "");
  updateLocalState({ stopped: true });
  await stopAgent();
  await stopEtcd();
  out("Stopped.");
  return 0;
}

async function start() {
  if (isWorker()) {
    out(`${ACTING_AS_NODE}\nUse 'snap start microk8s' to start services on this node.`);
    return 0;
  }
  fs.rmSync(STOPPED_LOCK, { force: true });
  updateLocalState({ stopped: false });
  if (localState().etcdMember) restartEtcdFromConf();
  await restartAgent();
  await waitNodeReady(nodeName(), 60_000);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// refresh-certs (scripts/wrappers/refresh_certs.py and its wrapper)

const REFRESHABLE = { "ca.crt": "CA", "server.crt": "server", "front-proxy-client.crt": "front proxy client" };

/** `snapctl restart microk8s.daemon-<service>`: the kit's kubelite and cluster agent are the node agent. */
async function restartService(/** @type {string} */ service) {
  out(`Restarting service ${service}.`);
  await restartAgent();
  await waitNodeReady(nodeName(), 30_000);
}

/** take_backup(): the current certificates under $SNAP_DATA/certs-backup/ (what `--undo` would put back). */
function takeBackup() {
  const backup = `/var/snap/microk8s/${revisionFor(localState().channel ?? "")}/certs-backup/`;
  out(`Taking a backup of the current certificates under ${backup}`);
  fs.mkdirSync(backup, { recursive: true });
  fs.cpSync(CERTS, `${backup}certs`, { recursive: true });
}

/** `refresh-certs CA_DIR`: the given CA replaces this node's, and the server certificate is re-issued with it. */
async function installCa(/** @type {string} */ dir) {
  out("Validating provided certificates");
  if (!fs.existsSync(`${dir}/ca.crt`) || !fs.existsSync(`${dir}/ca.key`))
    fail(30, `Could not find ca.crt and ca.key files in ${dir}`, { stdout: true });
  // The real check is `openssl rsa -check` (MicroK8s makes RSA keys); the kit's keys are EC.
  if ((await run("openssl", ["pkey", "-in", `${dir}/ca.key`, "-check", "-noout"])).code !== 0)
    fail(31, "CA private key is invalid. Command 'openssl pkey -check' returned non-zero exit status 1.", {
      stdout: true,
    });
  if ((await run("openssl", ["x509", "-in", `${dir}/ca.crt`, "-text", "-noout"])).code !== 0)
    fail(32, "CA certificate is invalid. Command 'openssl x509' returned non-zero exit status 1.", { stdout: true });
  takeBackup();
  out("Installing provided certificates");
  await stepCost("refresh-certs");
  fs.copyFileSync(`${dir}/ca.crt`, `${CERTS}/ca.crt`);
  fs.copyFileSync(`${dir}/ca.key`, `${CERTS}/ca.key`);
  fs.chmodSync(`${CERTS}/ca.key`, 0o600);
  await serverCert();
  out("Creating new kubeconfig file");
  writeFileAtomic(CLIENT_CONFIG, kubeconfig("https://127.0.0.1:16443"), 0o600);
  await restartService("kubelite");
  await restartService("cluster-agent");
  out(
    "\n    The CA certificates have been replaced. Kubernetes will restart the pods of your workloads.\n    Any worker nodes you may have in your cluster need to be removed and re-joined to become\n    aware of the new CA.\n",
  );
  return 0;
}

async function refreshCerts(/** @type {string[]} */ argv) {
  if (isWorker()) {
    out(
      "This MicroK8s deployment is acting as a node in a cluster. Please use the microk8s refresh-certs command on the master\nand then return to this node to perform a microk8s leave and re-join.",
    );
    return 0;
  }
  ensureRoot();
  const a = parseArgs(argv, ["cert", "e"]);
  const cert = a.get("cert", "e");
  const check = a.has("check", "c");
  const undo = a.has("undo", "u");
  const caDir = a.positional[0];
  if (caDir !== undefined) {
    if (check || undo || cert !== undefined)
      fail(1, "Please do not set any options in combination with the CA_DIR.", { stdout: true });
    if (!fs.existsSync(caDir))
      fail(
        2,
        `Usage: refresh-certs [OPTIONS] [CA_DIR]\nTry 'refresh-certs --help' for help.\n\nError: Invalid value for '[CA_DIR]': Path '${caDir}' does not exist.`,
      );
    return installCa(caDir);
  }
  if ([check, undo, cert !== undefined].filter(Boolean).length > 1)
    fail(2, "Please select only one of the options -c, -u or -e.", { stdout: true });
  if (check) {
    for (const [file, label] of Object.entries(REFRESHABLE))
      out(`The ${label} certificate will expire in ${daysUntilExpiry(`${CERTS}/${file}`)} days.`);
    return 0;
  }
  if (cert === undefined) {
    out(
      "Please use the '--cert' flag to select the certificate you need refreshed.\n\nAvailable certificate options:\n'server.crt': refreshes the server certificate\n'front-proxy-client.crt': refreshes the front proxy client certificate\n'ca.crt': refreshes the root CA and all certificates created from it.\n            Warning: refreshing the root CA requires nodes to leave and re-join the cluster",
    );
    return 3;
  }
  if (!(cert in REFRESHABLE))
    fail(
      2,
      `Usage: refresh-certs [OPTIONS] [CA_DIR]\nTry 'refresh-certs --help' for help.\n\nError: Invalid value for '-e' / '--cert': '${cert}' is not one of 'ca.crt', 'server.crt', 'front-proxy-client.crt'.`,
    );
  takeBackup();
  out("Creating new certificates");
  await stepCost("refresh-certs");
  if (cert === "server.crt") {
    await serverCert();
    await restartService("kubelite");
    await restartService("cluster-agent");
  } else if (cert === "front-proxy-client.crt") {
    await frontProxyCert();
    await restartService("kubelite");
  } else {
    await makeCa(CERTS, "ca", "10.152.183.1");
    await serverCert();
    await frontProxyCert();
    out("Creating new kubeconfig file");
    writeFileAtomic(CLIENT_CONFIG, kubeconfig("https://127.0.0.1:16443"), 0o600);
    await restartService("kubelite");
    await restartService("cluster-agent");
    out(
      "\nThe CA certificates have been replaced. Kubernetes will restart the pods of your workloads.\nAny worker nodes you may have in your cluster need to be removed and re-joined to become aware of the new CA.\n",
    );
  }
  return 0;
}

/** The microk8s entry point. */
export async function microk8sMain(/** @type {string[]} */ argv) {
  const [cmd, ...rest] = argv;
  if (!localState().installed || localState().distro !== "microk8s") fail(127, "microk8s: command not found");
  switch (cmd) {
    case "status":
      ensureRoot();
      return status(rest);
    case "add-node":
      ensureRoot();
      return addNode(rest);
    case "join":
      ensureRoot();
      return join(rest);
    case "leave":
      ensureRoot();
      return leave();
    case "remove-node":
      ensureRoot();
      return removeNode(rest);
    case "enable":
    case "disable":
      ensureRoot();
      return enableDisable(cmd, rest);
    case "images":
      ensureRoot();
      return imagesCmd(rest);
    case "kubectl":
      ensureRoot();
      if (isWorker()) {
        out(`${ACTING_AS_NODE} Please use the microk8s kubectl on the master.`);
        return 0;
      }
      exitIfStopped();
      return (await import("./kubectl.mjs")).kubectlMain(rest, { kubeconfig: CLIENT_CONFIG });
    case "helm3":
    case "helm":
      ensureRoot();
      exitIfStopped();
      return (await import("./helm.mjs")).helmMain(rest, { kubeconfig: CLIENT_CONFIG });
    case "linkerd":
      ensureRoot();
      exitIfStopped();
      if (!(await addonStates()).find((x) => x.name === "linkerd")?.enabled) {
        out(
          "Linkerd not available, try enabling Linkerd. 'microk8s enable linkerd' or 'microk8s enable linkerd:--proxy-auto-inject' ",
        );
        return 0;
      }
      return (await import("./linkerd.mjs")).linkerdMain(rest, { kubeconfig: CLIENT_CONFIG });
    case "dbctl":
      ensureRoot();
      return (await import("./dbctl.mjs")).dbctlMain(rest);
    case "start":
      ensureRoot();
      return start();
    case "stop":
      ensureRoot();
      return stop();
    case "config":
      ensureRoot();
      out(kubeconfig(`https://${nodeAddress()}:16443`));
      return 0;
    case "version":
      out(`MicroK8s ${localState().version} revision ${revisionFor(localState().channel ?? "")}`);
      return 0;
    case "refresh-certs":
      return refreshCerts(rest);
    case "inspect":
      out(
        "Inspecting services\n  Service snap.microk8s.daemon-kubelite is running\nBuilding the report tarball\n  Report tarball is at /var/snap/microk8s/current/inspection-report.tar.gz",
      );
      return 0;
    default:
      fail(
        1,
        `'${cmd ?? ""}' is not a valid MicroK8s subcommand.\nAvailable subcommands are:\n\tadd-node\n\taddons\n\tconfig\n\tdbctl\n\tdisable\n\tenable\n\timages\n\tinspect\n\tjoin\n\tkubectl\n\tleave\n\trefresh-certs\n\tremove-node\n\tstart\n\tstatus\n\tstop\n\tversion`,
        { stdout: true },
      );
  }
}

export function revisionFor(/** @type {string} */ channel) {
  const minor = Number((channel.split("/")[0] ?? "").split(".")[1] ?? 32);
  return String(6000 + minor * 37);
}
