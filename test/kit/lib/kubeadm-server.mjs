// Server side of `kubeadm join`, answered by any control-plane agent behind the control-plane endpoint:
// the cluster-info ConfigMap (signed per bootstrap token) and the join call (token, certificate key,
// stacked etcd member add).
//
// cluster-info is an ordinary ConfigMap in kube-public (kubeadm init creates it; `kubectl get/apply`
// read and change it, as the manual CA rotation of the Kubernetes docs does). Its jws-kubeconfig-<id>
// keys are the bootstrap signer's (kube-controller-manager), which re-signs data.kubeconfig for every
// valid token whenever either changes: the kit computes them when the ConfigMap is read anonymously.
import { createHash, createHmac } from "node:crypto";
import { peerUrl } from "./etcd.mjs";
import { K } from "./store.mjs";
import { makeClientCert } from "./tls.mjs";

const b64url = (/** @type {string|Buffer} */ s) => Buffer.from(s).toString("base64url");

/** Detached JWS (HS256) over the kubeconfig, keyed by the token secret, as the bootstrap signer makes it. */
export function jwsSign(/** @type {string} */ payload, /** @type {string} */ tokenId, /** @type {string} */ secret) {
  const header = b64url(JSON.stringify({ alg: "HS256", kid: tokenId }));
  const sig = createHmac("sha256", secret)
    .update(`${header}.${b64url(payload)}`)
    .digest("base64url");
  return `${header}..${sig}`;
}

/** The kubeconfig kubeadm init puts in cluster-info: the cluster CA and the control-plane endpoint. */
export function clusterInfoKubeconfig(/** @type {{caCrt: string, server: string}} */ cluster) {
  return [
    "apiVersion: v1",
    "clusters:",
    "- cluster:",
    `    certificate-authority-data: ${Buffer.from(cluster.caCrt).toString("base64")}`,
    `    server: https://${cluster.server}`,
    '  name: ""',
    "contexts: null",
    'current-context: ""',
    "kind: Config",
    "preferences: {}",
    "users: null",
    "",
  ].join("\n");
}

/** @param {any} t */
export const tokenValid = (t) => t && (t.expiresAt === null || Date.now() < Date.parse(t.expiresAt));

export const CLUSTER_INFO_KEY = K.obj("ConfigMap", "kube-public", "cluster-info");

/** The cluster-info ConfigMap as kubeadm init creates it (the signatures are added when it is read). */
export function clusterInfoConfigMap(/** @type {{caCrt: string, server: string}} */ cluster) {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cluster-info", namespace: "kube-public" },
    data: { kubeconfig: clusterInfoKubeconfig(cluster) },
  };
}

/** GET /api/v1/namespaces/kube-public/configmaps/cluster-info (anonymous, as kubeadm's discovery asks) */
export async function kubeadmClusterInfo(/** @type {import("./etcd.mjs").Etcd} */ db) {
  const cm = await db.get(CLUSTER_INFO_KEY);
  if (!cm?.data?.kubeconfig)
    return {
      code: 404,
      body: {
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        message: 'configmaps "cluster-info" not found',
        reason: "NotFound",
        code: 404,
      },
    };
  const tokens = (await db.list(K.bootstraps)).map((t) => t.value).filter(tokenValid);
  const kubeconfig = String(cm.data.kubeconfig);
  /** @type {Record<string, string>} */
  const data = Object.fromEntries(Object.entries(cm.data).filter(([k]) => !k.startsWith("jws-kubeconfig-")));
  for (const t of tokens) data[`jws-kubeconfig-${t.id}`] = jwsSign(kubeconfig, t.id, t.secret);
  return { code: 200, body: { kind: "ConfigMap", apiVersion: "v1", metadata: cm.metadata, data } };
}

/**
 * POST /kit/v1/kubeadm/join  {token, certificateKey?, controlPlane, name, address}
 * @param {import("./etcd.mjs").Etcd} db @param {any} req
 */
export async function kubeadmJoinHandler(db, req) {
  const [id, secret] = String(req.token ?? "").split(".");
  const tok = await db.get(K.bootstrap(id ?? ""));
  if (!tokenValid(tok) || tok.secret !== secret) {
    return { code: 401, body: { message: "Unauthorized", reason: "token" } };
  }
  const cluster = await db.get(K.cluster);
  const members = await db.members();
  const endpoints = members
    .map((m) => m.peerURLs[0])
    .filter(Boolean)
    .map((u) => `http://${new URL(/** @type {string} */ (u)).hostname}:12379`);
  if (!req.controlPlane) {
    // TLS bootstrap: the cluster signs the joining kubelet's client certificate (a worker has no CA key)
    const kubeletClient = await makeClientCert({
      caCrt: "/etc/kubernetes/pki/ca.crt",
      caKey: "/etc/kubernetes/pki/ca.key",
      cn: `system:node:${String(req.name)}`,
      org: "system:nodes",
    });
    return { code: 200, body: { endpoints, cluster: publicCluster(cluster), kubeletClient } };
  }
  if (!cluster.controlPlaneEndpoint) return { code: 409, body: { reason: "no-endpoint" } };
  const ck = await db.get(K.certKey);
  const keyHash = createHash("sha256")
    .update(String(req.certificateKey ?? ""))
    .digest("hex");
  if (!ck || Date.now() >= Date.parse(ck.expiresAt) || ck.keyHash !== keyHash) {
    return { code: 404, body: { reason: "certs" } };
  }
  const peer = peerUrl(String(req.address), true);
  if (members.some((m) => m.peerURLs.includes(peer))) {
    return { code: 409, body: { reason: "member-exists", message: `etcdserver: Peer URLs already exists` } };
  }
  let memberId;
  try {
    memberId = await db.memberAddRetry(peer, true);
  } catch (e) {
    return { code: 500, body: { reason: "etcd", message: e instanceof Error ? e.message : String(e) } };
  }
  const after = await db.members();
  const initialCluster = after.map((m) => `${m.name || String(req.name)}=${m.peerURLs[0]}`).join(",");
  return {
    code: 200,
    body: {
      caCrt: ck.caCrt,
      caKey: ck.caKey,
      etcdCaCrt: ck.etcdCaCrt,
      etcdCaKey: ck.etcdCaKey,
      endpoints,
      initialCluster,
      memberId,
      cluster: publicCluster(cluster),
    },
  };
}

const publicCluster = (/** @type {any} */ c) => ({
  controlPlaneEndpoint: c.controlPlaneEndpoint,
  version: c.version,
  podSubnet: c.podSubnet,
});
