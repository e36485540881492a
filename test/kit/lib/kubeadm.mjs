// `kubeadm` stand-in: init (stacked etcd), token create, init phase upload-certs, join (worker and control
// plane, through the control-plane endpoint), reset. Texts and exit codes follow kubeadm.
import { X509Certificate, createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import YAML from "yaml";
import { kubeVersionOf, packageVersion, pinPackages } from "./apt.mjs";
import {
  Etcd,
  KIT_CLIENT_PORT,
  endpointFor,
  knownEndpoints,
  peerUrl,
  restartEtcdFromConf,
  startEtcd,
  stopEtcd,
  waitEtcdHealthy,
} from "./etcd.mjs";
import { clusterInfoConfigMap, jwsSign, tokenValid } from "./kubeadm-server.mjs";
import { kubeadmImages, pullMissing } from "./images.mjs";
import { registerNode, startAgent, stopAgent, versionFor, waitNodeReady } from "./node.mjs";
import { K, applyObject, withStore } from "./store.mjs";
import { caCertHash, makeCa, makeCert, makeClientCert, makeSelfSigned } from "./tls.mjs";
import {
  KUBE_DIR,
  allAddresses,
  err,
  fail,
  isRoot,
  kitEnv,
  localState,
  nodeAddress,
  nodeName,
  out,
  parseArgs,
  readStdin,
  sleep,
  stepCost,
  takeFault,
  updateLocalState,
  writeFileAtomic,
} from "./util.mjs";

const PKI = `${KUBE_DIR}/pki`;
const ADMIN_CONF = `${KUBE_DIR}/admin.conf`;
const KUBELET_CONF = `${KUBE_DIR}/kubelet.conf`;
const STACK = "To see the stack trace of this error execute with --v=5 or higher";
const VALUED = [
  "control-plane-endpoint",
  "pod-network-cidr",
  "apiserver-advertise-address",
  "kubernetes-version",
  "certificate-key",
  "token",
  "token-ttl",
  "ttl",
  "config",
  "discovery-token-ca-cert-hash",
  "node-name",
  "ignore-preflight-errors",
  "skip-phases",
  "v",
  "kubeconfig",
  "description",
  "usages",
  "groups",
  "cri-socket",
  "o",
  "output",
  "service-cidr",
  "apiserver-bind-port",
];

/** @returns {never} */
function kerr(/** @type {string} */ msg) {
  fail(1, `${msg}\n${STACK}`);
}

/** @returns {never} */
function preflightFatal(/** @type {string[]} */ errors) {
  fail(
    1,
    `error execution phase preflight: [preflight] Some fatal errors occurred:\n${errors.map((e) => `\t${e}`).join("\n")}\n[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\`\n${STACK}`,
  );
}

function requireRoot() {
  if (!isRoot()) preflightFatal(["[ERROR IsPrivilegedUser]: user is not running as root"]);
}

const clusterVersion = (/** @type {string|undefined} */ v) => {
  const m = /^v?1\.(\d+)/.exec(v ?? "");
  return versionFor(m ? `1.${m[1]}` : "1.32");
};

function parseGoDuration(/** @type {string} */ s) {
  if (s === "0" || s === "0s") return 0;
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(h|m|s)/g;
  let matched = false;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    matched = true;
    total += Number(m[1]) * { h: 3600, m: 60, s: 1 }[/** @type {"h"|"m"|"s"} */ (m[2])];
  }
  if (!matched) fail(1, `invalid argument "${s}" for "--ttl" flag: time: invalid duration "${s}"`);
  return total;
}

const randomToken = () => {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const pick = (/** @type {number} */ n) => [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join("");
  return `${pick(6)}.${pick(16)}`;
};

/** @param {Etcd} db @param {string} token @param {number} ttlSeconds @param {string} description */
async function storeToken(db, token, ttlSeconds, description) {
  const [id, secret] = token.split(".");
  await db.put(K.bootstrap(id ?? ""), {
    id,
    secret,
    description,
    createdAt: new Date().toISOString(),
    expiresAt: ttlSeconds > 0 ? new Date(Date.now() + ttlSeconds * 1000).toISOString() : null,
    usages: ["authentication", "signing"],
    groups: ["system:bootstrappers:kubeadm:default-node-token"],
  });
}

function certKeyTtlSeconds() {
  const v = Number(kitEnv("HACTL_KIT_CERT_KEY_TTL_SECONDS") ?? 7200);
  return Number.isFinite(v) && v > 0 ? v : 7200;
}

/** @param {Etcd} db @param {string} key */
async function uploadCerts(db, key) {
  await db.put(K.certKey, {
    keyHash: createHash("sha256").update(key).digest("hex"),
    expiresAt: new Date(Date.now() + certKeyTtlSeconds() * 1000).toISOString(),
    caCrt: fs.readFileSync(`${PKI}/ca.crt`, "utf8"),
    caKey: fs.readFileSync(`${PKI}/ca.key`, "utf8"),
    etcdCaCrt: fs.readFileSync(`${PKI}/etcd/ca.crt`, "utf8"),
    etcdCaKey: fs.readFileSync(`${PKI}/etcd/ca.key`, "utf8"),
  });
}

/**
 * A kubeconfig as kubeadm writes it: the cluster CA and a client certificate for `user` (O=`org`) signed
 * by it, both embedded.
 */
async function kubeconfig(
  /** @type {string} */ server,
  /** @type {string} */ user,
  /** @type {string|undefined} */ org,
  /** @type {{crt: string, key: string}|undefined} */ signed = undefined,
) {
  const ca = Buffer.from(fs.readFileSync(`${PKI}/ca.crt`)).toString("base64");
  const client =
    signed ??
    (await makeClientCert({
      caCrt: `${PKI}/ca.crt`,
      caKey: `${PKI}/ca.key`,
      cn: user,
      ...(org ? { org } : {}),
    }));
  const b64 = (/** @type {string} */ s) => Buffer.from(s).toString("base64");
  return [
    "apiVersion: v1",
    "clusters:",
    "- cluster:",
    `    certificate-authority-data: ${ca}`,
    `    server: ${server}`,
    "  name: kubernetes",
    "contexts:",
    "- context:",
    "    cluster: kubernetes",
    `    user: ${user}`,
    `  name: ${user}@kubernetes`,
    `current-context: ${user}@kubernetes`,
    "kind: Config",
    "preferences: {}",
    "users:",
    `- name: ${user}`,
    "  user:",
    `    client-certificate-data: ${b64(client.crt)}`,
    `    client-key-data: ${b64(client.key)}`,
    "",
  ].join("\n");
}

/** The kubeconfig's user certificate re-signed by the CA in the PKI directory (`kubeadm certs renew admin.conf`); the rest stays. */
async function renewKubeconfig(/** @type {string} */ file) {
  if (!fs.existsSync(file)) return;
  const text = fs.readFileSync(file, "utf8");
  const certData = /client-certificate-data: (\S+)/.exec(text)?.[1];
  if (!certData) return;
  const old = new X509Certificate(Buffer.from(certData, "base64").toString("utf8"));
  const cn = /CN=([^\n,]+)/.exec(old.subject)?.[1] ?? "kubernetes-admin";
  const org = /O=([^\n,]+)/.exec(old.subject)?.[1];
  const client = await makeClientCert({ caCrt: `${PKI}/ca.crt`, caKey: `${PKI}/ca.key`, cn, ...(org ? { org } : {}) });
  const b64 = (/** @type {string} */ s) => Buffer.from(s).toString("base64");
  writeFileAtomic(
    file,
    text
      .replace(/client-certificate-data: \S+/, `client-certificate-data: ${b64(client.crt)}`)
      .replace(/client-key-data: \S+/, `client-key-data: ${b64(client.key)}`),
    0o600,
  );
}

/** Node certificates: apiserver and etcd server/peer, signed by the cluster CA. */
async function nodeCerts(/** @type {string|undefined} */ endpointHost) {
  const ip = nodeAddress();
  const ips = [
    ip,
    "127.0.0.1",
    "10.96.0.1",
    ...allAddresses(),
    ...(endpointHost && /^\d+\.\d+\.\d+\.\d+$/.test(endpointHost) ? [endpointHost] : []),
  ];
  const dns = [
    nodeName(),
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    ...(endpointHost && !/^\d+\.\d+\.\d+\.\d+$/.test(endpointHost) ? [endpointHost] : []),
  ];
  await makeCert({
    caCrt: `${PKI}/ca.crt`,
    caKey: `${PKI}/ca.key`,
    crt: `${PKI}/apiserver.crt`,
    key: `${PKI}/apiserver.key`,
    cn: "kube-apiserver",
    ips,
    dns,
    days: 365,
  });
  fs.mkdirSync(`${PKI}/etcd`, { recursive: true });
  // kubeadm makes the etcd CA once (init) or downloads it (join); renewals never replace a CA.
  if (!fs.existsSync(`${PKI}/etcd/ca.crt`)) {
    fs.copyFileSync(`${PKI}/ca.crt`, `${PKI}/etcd/ca.crt`);
    fs.copyFileSync(`${PKI}/ca.key`, `${PKI}/etcd/ca.key`);
  }
  await makeCert({
    caCrt: `${PKI}/etcd/ca.crt`,
    caKey: `${PKI}/etcd/ca.key`,
    crt: `${PKI}/etcd/server.crt`,
    key: `${PKI}/etcd/server.key`,
    cn: nodeName(),
    ips: [ip, "127.0.0.1"],
    dns: [nodeName(), "localhost"],
    days: 365,
  });
  for (const kind of ["peer", "healthcheck-client"]) {
    fs.copyFileSync(`${PKI}/etcd/server.crt`, `${PKI}/etcd/${kind}.crt`);
    fs.copyFileSync(`${PKI}/etcd/server.key`, `${PKI}/etcd/${kind}.key`);
  }
}

/**
 * The kubelet's serving certificate: with none in its --cert-dir (serverTLSBootstrap off, kubeadm's
 * default) the kubelet makes a self-signed one valid for a year when it starts; kept when it exists.
 */
async function kubeletServingCert() {
  if (fs.existsSync("/var/lib/kubelet/pki/kubelet.crt")) return;
  await makeSelfSigned(
    "/var/lib/kubelet/pki/kubelet.crt",
    "/var/lib/kubelet/pki/kubelet.key",
    `${nodeName()}@${Math.floor(Date.now() / 1000)}`,
    365,
  );
}

/** The control plane's static Pod manifests, each with its image as kubeadm writes it (etcd's own version for etcd). */
function writeManifests(/** @type {string} */ version) {
  fs.mkdirSync(`${KUBE_DIR}/manifests`, { recursive: true });
  for (const c of ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]) {
    const image = c === "etcd" ? "registry.k8s.io/etcd:3.5.16-0" : `registry.k8s.io/${c}:${version}`;
    writeFileAtomic(
      `${KUBE_DIR}/manifests/${c}.yaml`,
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${c}\n  namespace: kube-system\nspec:\n  containers:\n  - name: ${c}\n    image: ${image}\n`,
      0o600,
    );
  }
}

/** @returns {import("./store.mjs").NodeRec} */
function nodeRec(/** @type {boolean} */ controlPlane, /** @type {string} */ version, /** @type {string} */ name) {
  return {
    name,
    address: nodeAddress(),
    role: controlPlane ? "control-plane" : "worker",
    distro: "kubeadm",
    version,
    labels: {
      "beta.kubernetes.io/arch": "amd64",
      "beta.kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64",
      "kubernetes.io/hostname": name,
      "kubernetes.io/os": "linux",
      ...(controlPlane
        ? { "node-role.kubernetes.io/control-plane": "", "node.kubernetes.io/exclude-from-external-load-balancers": "" }
        : {}),
    },
    taints: controlPlane ? [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }] : [],
    createdAt: new Date().toISOString(),
  };
}

function preflightNotJoined() {
  const errors = [];
  if (fs.existsSync(KUBELET_CONF))
    errors.push("[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists");
  if (fs.existsSync(`${KUBE_DIR}/manifests/kube-apiserver.yaml`))
    errors.push(
      "[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: /etc/kubernetes/manifests/kube-apiserver.yaml already exists",
      "[ERROR Port-6443]: Port 6443 is in use",
    );
  if (localState().installed) errors.push("[ERROR Port-10250]: Port 10250 is in use");
  if (fs.existsSync(`${PKI}/ca.crt`))
    errors.push("[ERROR FileAvailable--etc-kubernetes-pki-ca.crt]: /etc/kubernetes/pki/ca.crt already exists");
  if (errors.length) preflightFatal(errors);
}

/**
 * HTTPS to the control-plane endpoint: without `ca` no CA check (discovery's first fetch pins the CA by
 * hash itself), with `ca` the server's certificate must verify against it (discovery's second fetch).
 */
function request(
  /** @type {string} */ endpoint,
  /** @type {string} */ path,
  /** @type {unknown} */ body,
  /** @type {string|undefined} */ ca = undefined,
) {
  const [host, port] = splitHostPort(endpoint);
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      {
        host,
        port,
        path,
        method: data ? "POST" : "GET",
        ...(ca ? { ca, rejectUnauthorized: true } : { rejectUnauthorized: false }),
        timeout: data ? 60_000 : 10_000,
        headers: data ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) } : {},
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
          } catch (e) {
            reject(e);
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(Object.assign(new Error("i/o timeout"), { code: "ETIMEDOUT" })));
    req.on("error", reject);
    req.end(data);
  });
}

function splitHostPort(/** @type {string} */ ep) {
  const i = ep.lastIndexOf(":");
  return i > 0 ? [ep.slice(0, i), Number(ep.slice(i + 1))] : [ep, 6443];
}

const X509_ERRORS = ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT"];

function dialError(/** @type {string} */ endpoint, /** @type {any} */ e) {
  const why =
    e?.code === "ECONNREFUSED"
      ? "connect: connection refused"
      : e?.code === "EHOSTUNREACH"
        ? "connect: no route to host"
        : e?.code === "ETIMEDOUT"
          ? "i/o timeout"
          : String(e?.message ?? e);
  if (X509_ERRORS.includes(e?.code))
    return "tls: failed to verify certificate: x509: certificate signed by unknown authority";
  return `dial tcp ${endpoint}: ${why}`;
}

/** Wait until the endpoint answers /livez (through the VIP / load balancer when that is what it is). */
async function waitEndpoint(/** @type {string} */ endpoint, /** @type {number} */ ms) {
  const until = Date.now() + ms;
  let last = "";
  while (Date.now() < until) {
    try {
      const [host, port] = splitHostPort(endpoint);
      const code = await new Promise((resolve, reject) => {
        const req = https.request({ host, port, path: "/livez", rejectUnauthorized: false, timeout: 3000 }, (res) => {
          res.resume();
          resolve(res.statusCode);
        });
        req.on("timeout", () => req.destroy(Object.assign(new Error("i/o timeout"), { code: "ETIMEDOUT" })));
        req.on("error", reject);
        req.end();
      });
      if (code === 200) return "";
      last = `unexpected status ${code}`;
    } catch (e) {
      last = dialError(endpoint, e);
    }
    await sleep(500);
  }
  return last || "timed out";
}

// ---------------------------------------------------------------------------------------------
// init

async function init(/** @type {ReturnType<typeof parseArgs>} */ a) {
  requireRoot();
  if (a.positional[1] === "phase") return initPhase(a);
  preflightNotJoined();
  let endpoint = a.get("control-plane-endpoint");
  let podSubnet = a.get("pod-network-cidr");
  let certKey = a.get("certificate-key");
  let version = a.get("kubernetes-version");
  /** @type {string|undefined} */
  let nodeNameFromConfig;
  /** @type {string|undefined} */
  let tokenFromConfig;
  if (a.has("config")) {
    if (certKey) kerr("can not mix '--config' with arguments [certificate-key]");
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(a.get("config") ?? "", "utf8")).map(
      (d) => d.toJSON() ?? {},
    )) {
      if (doc.kind === "ClusterConfiguration") {
        endpoint = doc.controlPlaneEndpoint ?? endpoint;
        podSubnet = doc.networking?.podSubnet ?? podSubnet;
        version = doc.kubernetesVersion ?? version;
      }
      if (doc.kind === "InitConfiguration") {
        certKey = doc.certificateKey ?? certKey;
        nodeNameFromConfig = doc.nodeRegistration?.name ?? nodeNameFromConfig;
        tokenFromConfig = doc.bootstrapTokens?.[0]?.token ?? tokenFromConfig;
      }
    }
  }
  const uploadCertsFlag = a.has("upload-certs");
  const ip = nodeAddress();
  const name = nodeNameFromConfig ?? a.get("node-name") ?? nodeName();
  const kv = clusterVersion(version);
  const apiEndpoint = endpoint ?? `${ip}:6443`;
  await stepCost("kubeadm-init");
  out(
    `[init] Using Kubernetes version: ${kv}\n[preflight] Running pre-flight checks\n[preflight] Pulling images required for setting up a Kubernetes cluster`,
  );
  pullMissing(kubeadmImages(kv));
  await makeCa(PKI, "ca", "kubernetes");
  await nodeCerts(endpoint ? splitHostPort(endpoint)[0] : undefined);
  out(
    `[certs] Using certificateDir folder "${PKI}"\n[certs] Generating "ca" certificate and key\n[certs] Generating "apiserver" certificate and key\n[certs] Generating "etcd/server" certificate and key`,
  );
  writeFileAtomic(
    ADMIN_CONF,
    await kubeconfig(`https://${apiEndpoint}`, "kubernetes-admin", "kubeadm:cluster-admins"),
    0o600,
  );
  writeFileAtomic(
    `${KUBE_DIR}/super-admin.conf`,
    await kubeconfig(`https://${ip}:6443`, "kubernetes-super-admin", "system:masters"),
    0o600,
  );
  writeFileAtomic(
    KUBELET_CONF,
    await kubeconfig(`https://${apiEndpoint}`, `system:node:${name}`, "system:nodes"),
    0o600,
  );
  writeManifests(kv);
  out(
    '[kubeconfig] Writing "admin.conf" kubeconfig file\n[kubeconfig] Writing "kubelet.conf" kubeconfig file\n[etcd] Creating static Pod manifest for local etcd in "/etc/kubernetes/manifests"',
  );
  updateLocalState({
    distro: "kubeadm",
    installed: true,
    version: kv,
    role: "control-plane",
    apiPort: 6443,
    endpoint: apiEndpoint,
    etcdMember: true,
    etcdEndpoints: [endpointFor(ip)],
    nodeName: name,
    stopped: false,
  });
  await startEtcd({ name, ip, tls: true, initialCluster: `${name}=${peerUrl(ip, true)}`, state: "new" });
  const db = new Etcd([`http://127.0.0.1:${KIT_CLIENT_PORT}`]);
  await db.put(K.cluster, {
    distro: "kubeadm",
    version: kv,
    controlPlaneEndpoint: endpoint ?? "",
    apiEndpoint,
    podSubnet: podSubnet ?? "",
    createdAt: new Date().toISOString(),
  });
  await applyObject(db, clusterInfoConfigMap({ caCrt: fs.readFileSync(`${PKI}/ca.crt`, "utf8"), server: apiEndpoint }));
  await registerNode(db, nodeRec(true, kv, name));
  startAgent();
  out(
    '[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "/etc/kubernetes/manifests"',
  );
  if (!(await waitNodeReady(name, 20_000)))
    kerr("error execution phase wait-control-plane: could not initialize a Kubernetes cluster");
  out("[apiclient] All control plane components are healthy");
  if (endpoint) {
    const why = await waitEndpoint(endpoint, Number(kitEnv("HACTL_KIT_ENDPOINT_WAIT_SECONDS") ?? 20) * 1000);
    if (why)
      kerr(
        `error execution phase upload-config/kubeadm: error uploading the kubeadm ClusterConfiguration: unable to create ConfigMap: Post "https://${endpoint}/api/v1/namespaces/kube-system/configmaps?timeout=10s": ${why}`,
      );
  }
  out('[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace');
  const skipKey = a.has("skip-certificate-key-print");
  if (uploadCertsFlag) {
    certKey ??= randomBytes(32).toString("hex");
    await uploadCerts(db, certKey);
    out('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace');
    if (!skipKey) out(`[upload-certs] Using certificate key:\n${certKey}`);
  }
  out(
    `[mark-control-plane] Marking the node ${name} as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]`,
  );
  out(
    `[mark-control-plane] Marking the node ${name} as control-plane by adding the taints [node-role.kubernetes.io/control-plane:NoSchedule]`,
  );
  const token = tokenFromConfig ?? a.get("token") ?? randomToken();
  await storeToken(
    db,
    token,
    parseGoDuration(a.get("token-ttl") ?? "24h0m0s"),
    "The default bootstrap token generated by 'kubeadm init'.",
  );
  const shownToken = a.has("skip-token-print") ? "<value withheld>" : token;
  out(`[bootstrap-token] Using token: ${shownToken}`);
  const coredns = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "coredns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { "k8s-app": "kube-dns" } },
      template: {
        metadata: { labels: { "k8s-app": "kube-dns" } },
        spec: {
          tolerations: [
            { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" },
            { key: "CriticalAddonsOnly", operator: "Exists" },
          ],
        },
      },
    },
  };
  await applyObject(db, coredns);
  await applyObject(db, {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "kube-proxy", namespace: "kube-system" },
    spec: {},
  });
  out("[addons] Applied essential addon: CoreDNS\n[addons] Applied essential addon: kube-proxy");
  const hash = kubeconfigCaHashes(ADMIN_CONF).join(" --discovery-token-ca-cert-hash ");
  const shownKey = skipKey ? "<value withheld>" : certKey;
  const lines = [
    "",
    "Your Kubernetes control-plane has initialized successfully!",
    "",
    "To start using your cluster, you need to run the following as a regular user:",
    "",
    "  mkdir -p $HOME/.kube",
    "  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config",
    "  sudo chown $(id -u):$(id -g) $HOME/.kube/config",
    "",
    "Alternatively, if you are the root user, you can run:",
    "",
    "  export KUBECONFIG=/etc/kubernetes/admin.conf",
    "",
    "You should now deploy a pod network to the cluster.",
    'Run "kubectl apply -f [podnetwork].yaml" with one of the options listed at:',
    "  https://kubernetes.io/docs/concepts/cluster-administration/addons/",
    "",
  ];
  if (endpoint) {
    if (uploadCertsFlag) {
      lines.push(
        "You can now join any number of the control-plane node running the following command on each as root:",
        "",
        `  kubeadm join ${endpoint} --token ${shownToken} \\`,
        `\t--discovery-token-ca-cert-hash ${hash} \\`,
        `\t--control-plane --certificate-key ${shownKey}`,
        "",
        "Please note that the certificate-key gives access to cluster sensitive data, keep it secret!",
        "As a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use",
        '"kubeadm init phase upload-certs --upload-certs" to reload certs afterward.',
        "",
      );
    } else {
      lines.push(
        "You can now join any number of control-plane nodes by copying certificate authorities",
        "and service account keys on each node and then running the following as root:",
        "",
        `  kubeadm join ${endpoint} --token ${shownToken} \\`,
        `\t--discovery-token-ca-cert-hash ${hash} \\`,
        "\t--control-plane ",
        "",
      );
    }
  }
  lines.push(
    "Then you can join any number of worker nodes by running the following on each as root:",
    "",
    `kubeadm join ${apiEndpoint} --token ${shownToken} \\`,
    `\t--discovery-token-ca-cert-hash ${hash} `,
  );
  out(lines.join("\n"));
  return 0;
}

async function initPhase(/** @type {ReturnType<typeof parseArgs>} */ a) {
  const phase = a.positional[2];
  if (phase !== "upload-certs") kerr(`error: unknown phase "${phase ?? ""}" (the node kit implements "upload-certs")`);
  if (!a.has("upload-certs")) {
    out("[upload-certs] Skipping phase. Please see --upload-certs");
    return 0;
  }
  adminConfOrFail(a);
  const key = a.get("certificate-key") ?? randomBytes(32).toString("hex");
  if (!/^[0-9a-f]{64}$/.test(key))
    kerr(
      `error execution phase upload-certs: error uploading certs: error decoding certificate key: encoding/hex: invalid byte`,
    );
  await withStore(
    (db) => uploadCerts(db, key),
    (e) => kerr(`error execution phase upload-certs: error uploading certs: ${e.message}`),
  );
  out('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace');
  if (!a.has("skip-certificate-key-print")) out(`[upload-certs] Using certificate key:\n${key}`);
  return 0;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g;

/** kubeadm's pins of every CA certificate in a PEM bundle (as pubkeypin.Hash over each). */
const caCertHashes = (/** @type {string} */ pem) => (pem.match(PEM_CERT) ?? []).map((c) => caCertHash(c));

/**
 * The pins a join command prints: one per certificate in the certificate-authority-data of the
 * kubeconfig's cluster (kubeadm's GetJoinWorkerCommand reads them from the admin kubeconfig).
 */
function kubeconfigCaHashes(/** @type {string} */ file) {
  const doc = YAML.parse(fs.readFileSync(file, "utf8"));
  const data = doc?.clusters?.[0]?.cluster?.["certificate-authority-data"];
  const pem = data
    ? Buffer.from(String(data), "base64").toString("utf8")
    : fs.readFileSync(String(doc?.clusters?.[0]?.cluster?.["certificate-authority"] ?? `${PKI}/ca.crt`), "utf8");
  return caCertHashes(pem);
}

function adminConfOrFail(/** @type {ReturnType<typeof parseArgs>} */ a) {
  const file = a.get("kubeconfig") ?? ADMIN_CONF;
  if (!fs.existsSync(file)) kerr(`failed to load admin kubeconfig: open ${file}: no such file or directory`);
}

// ---------------------------------------------------------------------------------------------
// token

async function token(/** @type {ReturnType<typeof parseArgs>} */ a) {
  requireRoot();
  const sub = a.positional[1];
  adminConfOrFail(a);
  const onDown = (/** @type {Error} */ e) =>
    kerr(`failed to create or update bootstrap token with name bootstrap-token: ${e.message}`);
  if (sub === "create") {
    if (a.has("certificate-key") && !a.has("print-join-command"))
      kerr("cannot use --certificate-key without --print-join-command");
    const tok = a.positional[2] ?? randomToken();
    if (!/^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(tok))
      kerr(`the bootstrap token "${tok}" was not of the form "^([a-z0-9]{6})\\.([a-z0-9]{16})$"`);
    const ttl = parseGoDuration(a.get("ttl") ?? "24h0m0s");
    const cluster = await withStore(async (db) => {
      await storeToken(db, tok, ttl, a.get("description") ?? "");
      return db.get(K.cluster);
    }, onDown);
    if (!a.has("print-join-command")) {
      out(tok);
      return 0;
    }
    const endpoint = cluster.controlPlaneEndpoint || cluster.apiEndpoint;
    const key = a.get("certificate-key");
    out(
      `kubeadm join ${endpoint} --token ${tok} ${kubeconfigCaHashes(a.get("kubeconfig") ?? ADMIN_CONF)
        .map((h) => `--discovery-token-ca-cert-hash ${h} `)
        .join("")}${key ? `--control-plane --certificate-key ${key}` : ""}`,
    );
    return 0;
  }
  if (sub === "list") {
    const toks = await withStore((db) => db.list(K.bootstraps), onDown);
    const rows = [["TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS"]];
    for (const { value: t } of toks) {
      if (!tokenValid(t)) continue;
      const left = t.expiresAt ? Math.max(0, Date.parse(t.expiresAt) - Date.now()) : 0;
      const ttlText = t.expiresAt
        ? left >= 3_600_000
          ? `${Math.floor(left / 3_600_000)}h`
          : `${Math.floor(left / 60_000)}m`
        : "<forever>";
      rows.push([
        `${t.id}.${t.secret}`,
        ttlText,
        t.expiresAt ? t.expiresAt.replace(/\.\d+Z$/, "Z") : "<never>",
        t.usages.join(","),
        t.description || "<none>",
        t.groups.join(","),
      ]);
    }
    const w = rows[0]?.map((_c, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
    out(rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((w[i] ?? 0) + 3))).join("")).join("\n"));
    return 0;
  }
  if (sub === "delete") {
    for (const t of a.positional.slice(2)) {
      const id = t.split(".")[0] ?? "";
      const n = await withStore((db) => db.del(K.bootstrap(id)), onDown);
      if (!n) kerr(`failed to delete bootstrap token: secrets "bootstrap-token-${id}" not found`);
      out(`bootstrap token "${id}" deleted`);
    }
    return 0;
  }
  if (sub === "generate") {
    out(randomToken());
    return 0;
  }
  kerr(`unknown command "${sub ?? ""}" for "kubeadm token"`);
}

// ---------------------------------------------------------------------------------------------
// join

function joinParams(/** @type {ReturnType<typeof parseArgs>} */ a) {
  if (a.has("config")) {
    const mixed = ["token", "discovery-token-ca-cert-hash", "certificate-key", "control-plane"].filter((f) => a.has(f));
    if (mixed.length || a.positional[1])
      kerr(
        `can not mix '--config' with arguments [${[...(a.positional[1] ? ["api-server-endpoint"] : []), ...mixed].join(" ")}]`,
      );
    let text;
    try {
      text = fs.readFileSync(a.get("config") ?? "", "utf8");
    } catch {
      kerr(`unable to read config from "${a.get("config")}" : open ${a.get("config")}: no such file or directory`);
    }
    const doc = YAML.parseAllDocuments(text)
      .map((d) => d.toJSON() ?? {})
      .find((d) => d.kind === "JoinConfiguration");
    if (!doc) kerr(`no JoinConfiguration kind was found in the YAML file`);
    const bt = doc.discovery?.bootstrapToken ?? {};
    return {
      endpoint: String(bt.apiServerEndpoint ?? ""),
      token: String(bt.token ?? doc.discovery?.tlsBootstrapToken ?? ""),
      hashes: /** @type {string[]} */ (bt.caCertHashes ?? []),
      skipCa: Boolean(bt.unsafeSkipCAVerification),
      controlPlane: Boolean(doc.controlPlane),
      certificateKey: String(doc.controlPlane?.certificateKey ?? ""),
      name: doc.nodeRegistration?.name,
    };
  }
  return {
    endpoint: a.positional[1] ?? "",
    token: a.get("token") ?? "",
    hashes: a.all("discovery-token-ca-cert-hash"),
    skipCa: a.has("discovery-token-unsafe-skip-ca-verification"),
    controlPlane: a.has("control-plane"),
    certificateKey: a.get("certificate-key") ?? "",
    name: a.get("node-name"),
  };
}

async function join(/** @type {ReturnType<typeof parseArgs>} */ a) {
  requireRoot();
  const p = joinParams(a);
  if (!p.endpoint) kerr('discovery: Invalid value: "": bootstrapToken or file must be set');
  if (!/^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(p.token))
    kerr(
      `discovery.bootstrapToken.token: Invalid value: "${p.token ? "<redacted>" : ""}": the bootstrap token is invalid`,
    );
  if (!p.hashes.length && !p.skipCa)
    kerr(
      'discovery.bootstrapToken: Invalid value: "": using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue',
    );
  if (p.controlPlane && p.certificateKey && !/^[0-9a-f]{64}$/.test(p.certificateKey))
    kerr(
      'controlPlane.certificateKey: Invalid value: "<redacted>": certificate key must be a hex-encoded 32-byte value',
    );
  out("[preflight] Running pre-flight checks");
  preflightNotJoined();
  await stepCost("join");
  const name = p.name ?? nodeName();
  const ip = nodeAddress();
  const [tokenId, tokenSecret] = /** @type {[string, string]} */ (p.token.split("."));
  const phase = "error execution phase preflight: couldn't validate the identity of the API Server: ";
  /** @type {any} */
  let info;
  try {
    info = await request(p.endpoint, "/api/v1/namespaces/kube-public/configmaps/cluster-info", undefined);
  } catch (e) {
    kerr(
      `${phase}Get "https://${p.endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s": ${dialError(p.endpoint, e)}`,
    );
  }
  const data = info.body?.data ?? {};
  const sig = data[`jws-kubeconfig-${tokenId}`];
  if (!sig) kerr(`${phase}could not find a JWS signature in the cluster-info ConfigMap for token ID "${tokenId}"`);
  if (jwsSign(data.kubeconfig, tokenId, tokenSecret) !== sig)
    kerr(`${phase}failed to verify JWS signature of received cluster info object, can't trust this API Server`);
  const caData = /certificate-authority-data: (\S+)/.exec(String(data.kubeconfig))?.[1] ?? "";
  const caCrt = Buffer.from(caData, "base64").toString("utf8");
  const actual = caCertHashes(caCrt);
  if (!p.skipCa && !actual.some((h) => p.hashes.includes(h)))
    kerr(
      `${phase}cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${actual.join(":")}" are pinned`,
    );
  if (!p.skipCa) {
    // Now that the CA is trusted, kubeadm fetches cluster-info again, verifying the server against it,
    // and requires the same kubeconfig: a cluster-info CA that did not sign the API server's certificate fails here.
    /** @type {any} */
    let secure;
    try {
      secure = await request(p.endpoint, "/api/v1/namespaces/kube-public/configmaps/cluster-info", undefined, caCrt);
    } catch (e) {
      kerr(
        `${phase}Get "https://${p.endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s": ${dialError(p.endpoint, e)}`,
      );
    }
    if (secure.body?.data?.kubeconfig !== data.kubeconfig)
      kerr(
        `${phase}the second kubeconfig from the cluster-info ConfigMap (using validated TLS) was different from the first`,
      );
  }
  out(
    "[preflight] Reading configuration from the cluster...\n[preflight] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'",
  );
  /** @type {any} */
  let res;
  try {
    res = await request(p.endpoint, "/kit/v1/kubeadm/join", {
      token: p.token,
      certificateKey: p.certificateKey,
      controlPlane: p.controlPlane,
      name,
      address: ip,
    });
  } catch (e) {
    kerr(
      `error execution phase preflight: unable to fetch the kubeadm-config ConfigMap: failed to get config map: Get "https://${p.endpoint}/api/v1/namespaces/kube-system/configmaps/kubeadm-config?timeout=10s": ${dialError(p.endpoint, e)}`,
    );
  }
  if (res.status === 401)
    kerr(`${phase}could not find a JWS signature in the cluster-info ConfigMap for token ID "${tokenId}"`);
  if (res.status === 409 && res.body.reason === "no-endpoint") {
    kerr(
      "error execution phase preflight: \nOne or more conditions for hosting a new control plane instance is not satisfied.\n\nunable to add a new control plane instance to a cluster that doesn't have a stable controlPlaneEndpoint address\n\nPlease ensure that:\n* The cluster has a stable controlPlaneEndpoint address.\n* The certificates that must be shared among control plane instances are provided.\n",
    );
  }
  if (res.status === 404) {
    out('[download-certs] Downloading the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace');
    kerr(
      'error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the secret: Secret "kubeadm-certs" was not found in the "kube-system" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one',
    );
  }
  if (res.status !== 200)
    kerr(
      `error execution phase control-plane-join/etcd: error creating local etcd static pod manifest file: ${res.body.message ?? `HTTP ${res.status}`}`,
    );
  const body = res.body;
  const version = body.cluster.version;
  // a control plane pulls its static Pods' images; every node the kubelet's pause and kube-proxy
  pullMissing(kubeadmImages(version).filter((ref) => p.controlPlane || /\/(pause|kube-proxy):/.test(ref)));
  const server = `https://${p.endpoint}`;
  fs.mkdirSync(PKI, { recursive: true });
  // A worker keeps the CA discovery trusted (kubelet-start writes it); a control plane the one in kubeadm-certs.
  writeFileAtomic(`${PKI}/ca.crt`, p.controlPlane ? body.caCrt : caCrt);

  if (!p.controlPlane) {
    writeFileAtomic(
      KUBELET_CONF,
      await kubeconfig(server, `system:node:${name}`, "system:nodes", body.kubeletClient),
      0o600,
    );
    updateLocalState({
      distro: "kubeadm",
      installed: true,
      version,
      role: "worker",
      apiPort: 6443,
      endpoint: p.endpoint,
      etcdMember: false,
      etcdEndpoints: body.endpoints,
      nodeName: name,
      stopped: false,
    });
    out(
      '[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"\n[kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"\n[kubelet-start] Starting the kubelet',
    );
    await withStore(
      (db) => registerNode(db, nodeRec(false, version, name)),
      (e) => kerr(`error execution phase kubelet-start: error uploading crisocket: ${e.message}`),
    );
    await kubeletServingCert();
    startAgent();
    out("[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to 4m0s");
    await waitNodeReady(name, 20_000);
    out(
      "[kubelet-check] The kubelet is healthy after 1.050735187s\n[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap\n\nThis node has joined the cluster:\n* Certificate signing request was sent to apiserver and a response was received.\n* The Kubelet was informed of the new secure connection details.\n\nRun 'kubectl get nodes' on the control-plane to see this node join the cluster.",
    );
    return 0;
  }

  out('[download-certs] Downloading the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace');
  writeFileAtomic(`${PKI}/ca.key`, body.caKey, 0o600);
  if (body.etcdCaCrt && body.etcdCaKey) {
    fs.mkdirSync(`${PKI}/etcd`, { recursive: true });
    writeFileAtomic(`${PKI}/etcd/ca.crt`, body.etcdCaCrt);
    writeFileAtomic(`${PKI}/etcd/ca.key`, body.etcdCaKey, 0o600);
  }
  await nodeCerts(splitHostPort(p.endpoint)[0]);
  writeFileAtomic(ADMIN_CONF, await kubeconfig(server, "kubernetes-admin", "kubeadm:cluster-admins"), 0o600);
  writeFileAtomic(KUBELET_CONF, await kubeconfig(server, `system:node:${name}`, "system:nodes"), 0o600);
  writeManifests(version);
  updateLocalState({
    distro: "kubeadm",
    installed: true,
    version,
    role: "control-plane",
    apiPort: 6443,
    endpoint: p.endpoint,
    etcdMember: true,
    etcdEndpoints: [endpointFor(ip), ...body.endpoints],
    nodeName: name,
    stopped: false,
  });
  out(
    '[etcd] Announced new etcd member joining to the existing etcd cluster\n[etcd] Creating static Pod manifest for "etcd"\n[etcd] Waiting for the new etcd member to join the cluster. This can take up to 40s',
  );
  if (takeFault("fail-join-after-consume"))
    kerr(
      "error execution phase control-plane-join/etcd: error creating local etcd static pod manifest file: timeout waiting for etcd cluster to be available",
    );
  await stopEtcd({ wipe: true });
  await startEtcd({ name, ip, tls: true, initialCluster: body.initialCluster, state: "existing" }, 0);
  const cluster = new Etcd(body.endpoints);
  const until = Date.now() + 40_000;
  for (;;) {
    try {
      await cluster.memberPromote(body.memberId);
      break;
    } catch (e) {
      if (/not a learner/i.test(String(e instanceof Error ? e.message : e))) break;
      if (Date.now() > until)
        kerr(
          `error execution phase control-plane-join/etcd: error creating local etcd static pod manifest file: etcdserver: can only promote a learner member which is in sync with leader`,
        );
      await sleep(300);
    }
  }
  out(
    `[mark-control-plane] Marking the node ${name} as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]`,
  );
  out(
    `[mark-control-plane] Marking the node ${name} as control-plane by adding the taints [node-role.kubernetes.io/control-plane:NoSchedule]`,
  );
  await withStore(
    (db) => registerNode(db, nodeRec(true, version, name)),
    (e) => kerr(`error execution phase control-plane-join/mark-control-plane: ${e.message}`),
  );
  startAgent();
  await waitNodeReady(name, 20_000);
  out(
    [
      "",
      "This node has joined the cluster and a new control plane instance was created:",
      "",
      "* Certificate signing request was sent to apiserver and approval was received.",
      "* The Kubelet was informed of the new secure connection details.",
      "* Control plane label and taint were applied to the new node.",
      "* The Kubernetes control plane instances scaled up.",
      "* A new etcd member was added to the local/stacked etcd cluster.",
      "",
      "To start administering your cluster from this node, you need to run the following as a regular user:",
      "",
      "\tmkdir -p $HOME/.kube",
      "\tsudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config",
      "\tsudo chown $(id -u):$(id -g) $HOME/.kube/config",
      "",
      "Run 'kubectl get nodes' to see this node join the cluster.",
      "",
    ].join("\n"),
  );
  return 0;
}

// ---------------------------------------------------------------------------------------------
// reset

async function reset(/** @type {ReturnType<typeof parseArgs>} */ a) {
  requireRoot();
  const skip = (a.get("skip-phases") ?? "").split(",");
  err(
    `W${new Date().toISOString().slice(5, 10).replace("-", "")} ${new Date().toISOString().slice(11, 26)}   ${process.pid} preflight.go:56] [reset] WARNING: Changes made to this host by 'kubeadm init' or 'kubeadm join' will be reverted.`,
  );
  if (!a.has("f", "force")) {
    process.stdout.write("[reset] Are you sure you want to proceed? [y/N]: ");
    const answer = (await readStdin()).trim();
    if (!/^y(es)?$/i.test(answer)) kerr("aborted reset operation");
  }
  out("[preflight] Running pre-flight checks");
  const st = localState();
  if (st.role === "control-plane" && st.etcdMember && !skip.includes("remove-etcd-member")) {
    const ip = nodeAddress();
    try {
      const db = new Etcd(knownEndpoints(), { perRequestMs: 2000, budgetMs: 5000 });
      const me = (await db.members()).find((m) => m.peerURLs.includes(peerUrl(ip, true)));
      if (me) await db.memberRemove(me.id);
    } catch (e) {
      err(
        `W0000 00:00:00.000000 ${process.pid} removeetcdmember.go:106] [reset] No kubeadm config, using etcd pod spec to get data directory\n[reset] Failed to remove etcd member: ${e instanceof Error ? e.message : String(e)}, please manually remove this etcd member using etcdctl`,
      );
    }
  }
  await stopAgent();
  await stopEtcd({ wipe: true });
  out(
    '[reset] Deleted contents of the etcd data directory: /var/lib/etcd\n[reset] Stopping the kubelet service\n[reset] Unmounting mounted directories in "/var/lib/kubelet"',
  );
  fs.rmSync(`${KUBE_DIR}/manifests`, { recursive: true, force: true });
  fs.rmSync(PKI, { recursive: true, force: true });
  fs.rmSync("/var/lib/kubelet/pki", { recursive: true, force: true });
  const files = [
    "admin.conf",
    "super-admin.conf",
    "kubelet.conf",
    "bootstrap-kubelet.conf",
    "controller-manager.conf",
    "scheduler.conf",
  ].map((f) => `${KUBE_DIR}/${f}`);
  for (const f of files) fs.rmSync(f, { force: true });
  updateLocalState({
    distro: undefined,
    installed: false,
    role: undefined,
    etcdMember: false,
    etcdEndpoints: [],
    endpoint: undefined,
  });
  out(
    [
      "[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]",
      `[reset] Deleting files: [${files.join(" ")}]`,
      "",
      "The reset process does not perform cleanup of CNI plugin configuration,",
      "network filtering rules and kubeconfig files.",
      "",
      "For information on how to perform this cleanup manually, please see:",
      "    https://k8s.io/docs/reference/setup-tools/kubeadm/kubeadm-reset/",
      "",
    ].join("\n"),
  );
  return 0;
}

// ---------------------------------------------------------------------------------------------
// upgrade plan / apply / node (cmd/kubeadm/app/cmd/upgrade, phases/upgrade/policy.go)

/** [major, minor, patch] of "v1.33.1". */
const semver = (/** @type {string} */ v) => (/^v?(\d+)\.(\d+)\.(\d+)$/.exec(v) ?? []).slice(1).map(Number);
const cmpVersion = (/** @type {string} */ a, /** @type {string} */ b) => {
  const [x, y] = [semver(a), semver(b)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
};
const minorOf = (/** @type {string} */ v) => semver(v)[1] ?? 0;

/** @returns {never} */
function versionFatal(/** @type {string[]} */ errors) {
  fail(
    1,
    `[upgrade/version] FATAL: the --version argument is invalid due to these errors:\n\n${errors.map((e) => `\t- ${e}`).join("\n")}\n\nCan be bypassed if you pass the --force flag\n${STACK}`,
  );
}

/** The control planes whose kubelet lease is gone, as kubeadm's ControlPlaneNodesReady check finds them. */
async function notReadyControlPlanes(/** @type {Etcd} */ db) {
  const nodes = /** @type {import("./store.mjs").NodeRec[]} */ ((await db.list(K.nodes)).map((kv) => kv.value));
  const down = [];
  for (const n of nodes.filter((r) => r.role === "control-plane"))
    if (!(await db.getRaw(K.alive(n.name)))) down.push(n.name);
  return down;
}

async function upgradeConfig() {
  if (!fs.existsSync(KUBELET_CONF))
    kerr(`[upgrade/config] FATAL: failed to load kubelet config: open ${KUBELET_CONF}: no such file or directory`);
  out(
    '[upgrade/config] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...\n[upgrade/config] Use \'kubeadm init phase upload-config --config your-config.yaml\' to re-upload it.',
  );
  return withStore(
    async (db) => ({
      cluster: await db.get(K.cluster),
      nodes: /** @type {import("./store.mjs").NodeRec[]} */ ((await db.list(K.nodes)).map((kv) => kv.value)),
      down: await notReadyControlPlanes(db),
    }),
    (e) =>
      kerr(
        `[upgrade/config] FATAL: failed to get config map: Get "https://${localState().endpoint ?? ""}/api/v1/namespaces/kube-system/configmaps/kubeadm-config?timeout=10s": ${e.message}`,
      ),
  );
}

function healthOrFail(/** @type {string[]} */ down) {
  out("[upgrade] Running cluster health checks");
  if (down.length)
    fail(
      1,
      `[upgrade/health] FATAL: [preflight] Some fatal errors occurred:\n\t[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [${down.join(" ")}]\n[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\`\n${STACK}`,
    );
}

/** Restarts the node's static control plane (etcd member, API server) at `version`, as the kubelet does with new manifests. */
async function restartControlPlane(/** @type {string} */ version) {
  const st = localState();
  await stopAgent();
  if (st.etcdMember) await stopEtcd();
  await sleep(1000);
  await stepCost("kubeadm-upgrade");
  writeManifests(version);
  updateLocalState({ version });
  if (st.etcdMember) {
    restartEtcdFromConf();
    await waitEtcdHealthy(30_000);
  }
  startAgent();
  await waitNodeReady(st.nodeName ?? nodeName(), 30_000);
}

const COMPONENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "etcd"];

async function upgrade(/** @type {ReturnType<typeof parseArgs>} */ a) {
  requireRoot();
  const sub = a.positional[1];
  if (!["plan", "apply", "node"].includes(sub ?? "")) kerr(`unknown command "${sub ?? ""}" for "kubeadm upgrade"`);
  const mine = kubeVersionOf(packageVersion("kubeadm"));
  out("[preflight] Running pre-flight checks.");
  const { cluster, nodes, down } = await upgradeConfig();
  const current = String(cluster?.version ?? "");
  const st = localState();
  if (sub === "node") {
    if (cmpVersion(current, mine) > 0)
      versionFatal([
        `Specified version to upgrade to "${current}" is higher than the kubeadm version "${mine}". Upgrade kubeadm first using the tool you used to install kubeadm`,
      ]);
    pinPackages();
    const controlPlane = st.role === "control-plane" && fs.existsSync(`${KUBE_DIR}/manifests/kube-apiserver.yaml`);
    // a control plane's static Pods; on every node the kubelet pulls the new kube-proxy DaemonSet's image
    pullMissing(kubeadmImages(current).filter((ref) => controlPlane || /\/(pause|kube-proxy):/.test(ref)));
    if (controlPlane) {
      out(`[upgrade] Upgrading your Static Pod-hosted control plane instance to version "${current}"...`);
      if (st.version !== current && takeFault("fail-kubeadm-upgrade-node"))
        kerr(
          "error execution phase control-plane: couldn't complete the static pod upgrade: couldn't upgrade control plane. kubeadm has tried to recover everything into the earlier state. Errors faced: timed out waiting for the condition (kit fault fail-kubeadm-upgrade-node)",
        );
      if (st.version === current)
        out("[upgrade/staticpods] Current and new manifests of kube-apiserver are equal, skipping upgrade");
      else await restartControlPlane(current);
      out("[upgrade] The control plane instance for this node was successfully upgraded!");
    } else {
      out("[upgrade] Skipping phase. Not a control plane node.");
      updateLocalState({ version: current });
    }
    out(
      "[upgrade/kubelet-config] The kubelet configuration for this node was successfully upgraded!\n[upgrade] Now you should go ahead and upgrade the kubelet package using your package manager.",
    );
    return 0;
  }
  if (!fs.existsSync(ADMIN_CONF))
    kerr(`failed to load admin kubeconfig: open ${ADMIN_CONF}: no such file or directory`);
  healthOrFail(down);
  if (sub === "plan") {
    out(
      `[upgrade] Fetching available versions to upgrade to\n[upgrade/versions] Cluster version: ${current}\n[upgrade/versions] kubeadm version: ${mine}`,
    );
    const target = cmpVersion(mine, current) > 0 && minorOf(mine) <= minorOf(current) + 1 ? mine : undefined;
    if (!target) {
      out("\nAwesome, you're up-to-date! Enjoy!");
      return 0;
    }
    const row = (/** @type {string[]} */ r) => r.map((c, i) => (i < 3 ? c.padEnd(i === 0 ? 26 : 12) : c)).join("");
    out(
      `[upgrade/versions] Target version: ${target}\n\nComponents that must be upgraded manually after you have upgraded the control plane with 'kubeadm upgrade apply':\n${row(["COMPONENT", "NODE", "CURRENT", "TARGET"])}`,
    );
    for (const n of nodes) out(row(["kubelet", n.name, n.version, target]));
    out(`\nUpgrade to the latest stable version:\n\n${row(["COMPONENT", "NODE", "CURRENT", "TARGET"])}`);
    for (const n of nodes.filter((r) => r.role === "control-plane"))
      for (const c of COMPONENTS) out(row([c, n.name, current, target]));
    out(
      `\nYou can now apply the upgrade by executing the following command:\n\n\tkubeadm upgrade apply ${target}\n\n_____________________________________________________________________\n`,
    );
    return 0;
  }
  const wanted = a.positional[2];
  if (!wanted) kerr("missing one or more required arguments: [version]");
  const target = wanted.startsWith("v") ? wanted : `v${wanted}`;
  if (!semver(target).length) kerr(`[upgrade/version] FATAL: unable to parse version "${wanted}"`);
  /** @type {string[]} */
  const errors = [];
  if (cmpVersion(target, mine) > 0)
    errors.push(
      `Specified version to upgrade to "${target}" is higher than the kubeadm version "${mine}". Upgrade kubeadm first using the tool you used to install kubeadm`,
    );
  if (minorOf(target) > minorOf(current) + 1)
    errors.push(
      `Specified version to upgrade to "${target}" is too high; kubeadm can upgrade only 1 minor version at a time`,
    );
  if (minorOf(target) < minorOf(current))
    errors.push(
      `Specified version to downgrade to "${target}" is too low; kubeadm can downgrade only patch versions (the cluster runs "${current}")`,
    );
  if (errors.length) versionFatal(errors);
  out(
    `[upgrade/version] You have chosen to change the cluster version to "${target}"\n[upgrade/versions] Cluster version: ${current}\n[upgrade/versions] kubeadm version: ${mine}`,
  );
  if (!a.has("y", "yes", "f", "force")) {
    process.stdout.write("[upgrade] Are you sure you want to proceed? [y/N]: ");
    if (!/^y(es)?$/i.test((await readStdin()).trim()))
      kerr("won't proceed; the user didn't answer (Y|y) in order to continue");
  }
  pinPackages();
  out("[upgrade/prepull] Pulling images required for setting up a Kubernetes cluster");
  pullMissing(kubeadmImages(target));
  out(
    `[upgrade/staticpods] Writing new Static Pod manifests to "${KUBE_DIR}/tmp/kubeadm-upgraded-manifests"\n[upgrade/etcd] Upgrading to TLS for etcd`,
  );
  await restartControlPlane(target);
  await withStore(
    (db) => db.update(K.cluster, (c) => (c ? { ...c, version: target } : c)),
    (e) => kerr(`[upgrade/postupgrade] FATAL: unable to update the kubeadm-config ConfigMap: ${e.message}`),
  );
  out('[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace');
  out(
    `\n[upgrade/successful] SUCCESS! Your cluster was upgraded to "${target}". Enjoy!\n\n[upgrade/kubelet] Now that your control plane is upgraded, please proceed with upgrading your kubelets if you haven't already done so.`,
  );
  return 0;
}

// ---------------------------------------------------------------------------------------------
// certs check-expiration / renew (cmd/kubeadm/app/cmd/certs.go)

/** The kit's PKI files as kubeadm names them (the kit has no front proxy and no client certificates in its kubeconfigs). */
const CERT_FILES = [
  ["apiserver", "apiserver.crt", "ca"],
  ["etcd-healthcheck-client", "etcd/healthcheck-client.crt", "etcd-ca"],
  ["etcd-peer", "etcd/peer.crt", "etcd-ca"],
  ["etcd-server", "etcd/server.crt", "etcd-ca"],
];
const CA_FILES = [
  ["ca", "ca.crt"],
  ["etcd-ca", "etcd/ca.crt"],
];

/** Go's "Jan 02, 2006 15:04 MST" in UTC. */
function goDate(/** @type {Date} */ d) {
  const mon = d.toLocaleString("en-US", { month: "short", timeZone: "UTC" });
  const p = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${mon} ${p(d.getUTCDate())}, ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())} UTC`;
}

/** k8s.io/apimachinery duration.ShortHumanDuration, as the RESIDUAL TIME column shows it. */
function shortHuman(/** @type {number} */ ms) {
  const s = Math.floor(ms / 1000);
  if (s < -1) return "<invalid>";
  if (s < 60) return `${Math.max(s, 0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  if (s < 365 * 86400) return `${Math.floor(s / 86400)}d`;
  return `${Math.floor(s / (365 * 86400))}y`;
}

function table(/** @type {string[][]} */ rows) {
  const w = rows[0]?.map((_c, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd((w[i] ?? 0) + 3))
        .join("")
        .trimEnd(),
    )
    .join("\n");
}

function notAfter(/** @type {string} */ file) {
  return new Date(Date.parse(new X509Certificate(fs.readFileSync(file)).validTo));
}

async function certs(/** @type {ReturnType<typeof parseArgs>} */ a) {
  const sub = a.positional[1];
  if (sub === "certificate-key") {
    out(randomBytes(32).toString("hex"));
    return 0;
  }
  if (sub !== "check-expiration" && sub !== "renew") return kerr(`unknown command "${sub ?? ""}" for "kubeadm certs"`);
  if (!isRoot()) kerr("open /etc/kubernetes/pki/ca.crt: permission denied");
  if (!fs.existsSync(`${PKI}/ca.crt`))
    kerr(
      `error execution phase: [certs] failed to load certificate: couldn't load the certificate file ${PKI}/ca.crt: open ${PKI}/ca.crt: no such file or directory`,
    );
  out(
    `[${sub}] Reading configuration from the cluster...\n[${sub}] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'\n`,
  );
  if (sub === "check-expiration") {
    const now = Date.now();
    const present = CERT_FILES.filter(([, f]) => fs.existsSync(`${PKI}/${f}`));
    out(
      table([
        ["CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY", "EXTERNALLY MANAGED"],
        ...present.map(([name, f, ca]) => {
          const d = notAfter(`${PKI}/${f}`);
          return [String(name), goDate(d), shortHuman(d.getTime() - now), String(ca), "no"];
        }),
      ]),
    );
    out("");
    out(
      table([
        ["CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME", "EXTERNALLY MANAGED"],
        ...CA_FILES.filter(([, f]) => fs.existsSync(`${PKI}/${f}`)).map(([name, f]) => {
          const d = notAfter(`${PKI}/${f}`);
          return [String(name), goDate(d), shortHuman(d.getTime() - now), "no"];
        }),
      ]),
    );
    return 0;
  }
  const which = a.positional[2];
  const known = [
    "all",
    "admin.conf",
    "apiserver",
    "apiserver-etcd-client",
    "apiserver-kubelet-client",
    "controller-manager.conf",
    "etcd-healthcheck-client",
    "etcd-peer",
    "etcd-server",
    "front-proxy-client",
    "scheduler.conf",
    "super-admin.conf",
  ];
  if (!which || !known.includes(which)) kerr(`unknown command "${which ?? ""}" for "kubeadm certs renew"`);
  if (!fs.existsSync(`${PKI}/ca.key`))
    kerr("error execution phase: [renew] failed to renew certificates: CA key not found (external CA mode)");
  await stepCost("certs-renew");
  await nodeCerts(splitHostPort(localState().endpoint ?? "")[0] || undefined);
  const said = {
    apiserver: "certificate for serving the Kubernetes API",
    "etcd-healthcheck-client": "certificate for liveness probes to healthcheck etcd",
    "etcd-peer": "certificate for etcd nodes to communicate with each other",
    "etcd-server": "certificate for serving etcd",
  };
  for (const [name, text] of Object.entries(said)) if (which === "all" || which === name) out(`${text} renewed`);
  for (const conf of ["admin.conf", "super-admin.conf"]) {
    if (which !== "all" && which !== conf) continue;
    await renewKubeconfig(`${KUBE_DIR}/${conf}`);
    out(
      `certificate embedded in the kubeconfig file for the ${conf === "admin.conf" ? "admin to use and for kubeadm itself" : "super-admin"} renewed`,
    );
  }
  out(
    "\nDone renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates.",
  );
  return 0;
}

export async function kubeadmMain(/** @type {string[]} */ argv) {
  const a = parseArgs(argv, VALUED);
  const cmd = a.positional[0];
  switch (cmd) {
    case "init":
      return init(a);
    case "join":
      return join(a);
    case "token":
      return token(a);
    case "reset":
      return reset(a);
    case "certs":
      return certs(a);
    case "upgrade":
      return upgrade(a);
    case "version": {
      const v = kubeVersionOf(packageVersion("kubeadm"));
      if (a.get("o", "output") === "short") out(v);
      else
        out(
          `kubeadm version: &version.Info{Major:"1", Minor:"${v.split(".")[1]}", GitVersion:"${v}", GitCommit:"0000000000000000000000000000000000000000", GitTreeState:"clean", BuildDate:"2025-03-12T00:00:00Z", GoVersion:"go1.23.6", Compiler:"gc", Platform:"linux/amd64"}`,
        );
      return 0;
    }
    default:
      return kerr(`unknown command "${cmd ?? ""}" for "kubeadm"`);
  }
}
