import { randomBytes } from "node:crypto";
import { HactlError } from "../../core/errors.js";
import type { RemoteHost } from "../../core/host.js";
import { runValueKey } from "../../core/run-values.js";
import { redact, registerSecret } from "../../core/secrets.js";
import {
  CERT_KEY_MAX_AGE_MS,
  isCertKeyExpired,
  joinConfiguration,
  kubeadm,
  membersAt,
  memberAddress,
  parseCertificateKey,
  parseJoinCommand,
  parseMemberList,
} from "../../distros/kubeadm.js";
import { parseNodes } from "../../distros/kubectl.js";
import type { NodeSpec } from "../../spec/schema.js";

/** An expired certificate key is not the node's fault: that many re-uploads do not use up join attempts. */
const MAX_REUPLOADS = 3;

/** Where the 0600 join/init configuration (token, certificate key) lives while kubeadm reads it. */
export const JOIN_CONFIG_PATH = "/run/hactl-kubeadm-join.yaml";
export const INIT_CONFIG_PATH = "/run/hactl-kubeadm-init.yaml";

/**
 * The certificate key of this run, used by the control-plane joins: set by init (hactl generates it) or
 * by an upload; unknown at the start of a day-2 run, so the first control-plane join uploads.
 */
export interface CertKeyState {
  readonly key?: string | undefined;
  readonly uploadedAt?: number | undefined;
}

/** Where init and the joins of one apply keep the certificate key (the executor's per-apply values). */
export const CERT_KEY = runValueKey<CertKeyState>("kubeadm certificate key");

export interface KubeadmJoinOptions {
  leader: RemoteHost;
  node: RemoteHost;
  spec: NodeSpec;
  version: string;
  /** The key known so far in this apply (init's, or an earlier join's upload); {} when none. */
  certs: CertKeyState;
  attempts: number;
  readyTimeoutMs: number;
  signal: AbortSignal;
  log: (line: string) => void;
  /** Re-upload when the key is older than this (default 1h50m: the Secret lives 2 h). */
  maxKeyAgeMs?: number;
  now?: () => number;
}

/** Pure: must the certificates be uploaded again before the next control-plane join? */
export function needsCertUpload(certs: CertKeyState, now: number, maxAgeMs: number): boolean {
  return certs.key === undefined || certs.uploadedAt === undefined || now - certs.uploadedAt > maxAgeMs;
}

/** A fresh certificate key, registered as a secret before it goes anywhere. */
export function newCertificateKey(): string {
  const key = randomBytes(32).toString("hex");
  registerSecret(key);
  return key;
}

/** Re-uploads the control-plane certificates on the leader; the new key, uploaded at `now`. */
export async function uploadCerts(leader: RemoteHost, now: number, log: (l: string) => void): Promise<CertKeyState> {
  const res = await leader.run(kubeadm.uploadCerts());
  const key = parseCertificateKey(res.stdout);
  registerSecret(key);
  log("control-plane certificates uploaded again with a new certificate key");
  return { key, uploadedAt: now };
}

/**
 * Joins one node with a freshly created bootstrap token (and, for a control plane, a certificate key no
 * older than maxKeyAgeMs). Token and key reach kubeadm only through a 0600 JoinConfiguration that is
 * removed afterwards. A failed attempt is cleaned up (stale etcd member removed from the leader, node
 * reset, Node object deleted) before the next one; an expired certificate key is re-uploaded. Resolves
 * with the certificate key as it stands after the join (uploaded again or not), for the next join.
 */
export async function joinKubeadmNode(o: KubeadmJoinOptions): Promise<CertKeyState> {
  const now = o.now ?? Date.now;
  const maxAge = o.maxKeyAgeMs ?? CERT_KEY_MAX_AGE_MS;
  const controlPlane = o.spec.role === "control-plane";
  let certs = o.certs;
  let lastError = "";
  let reuploads = 0;
  for (let attempt = 1; attempt <= o.attempts; attempt++) {
    if (o.signal.aborted) break;
    const minted = await o.leader.run(kubeadm.tokenCreate());
    const join = parseJoinCommand(minted.stdout);
    registerSecret(join.token);
    if (controlPlane && needsCertUpload(certs, now(), maxAge)) certs = await uploadCerts(o.leader, now(), o.log);
    o.log(
      `join attempt ${attempt}/${o.attempts} through ${join.endpoint} with a fresh bootstrap token${controlPlane ? " and the current certificate key" : ""}`,
    );
    const config = joinConfiguration({
      version: o.version,
      join,
      nodeName: o.spec.name,
      address: o.spec.address,
      certificateKey: controlPlane ? certs.key : undefined,
    });
    await o.node.writeFile(JOIN_CONFIG_PATH, config, { mode: 0o600, sudo: true });
    let joined;
    try {
      joined = await o.node.exec(kubeadm.join(JOIN_CONFIG_PATH), { signal: o.signal });
    } finally {
      await o.node.exec({ argv: ["rm", "-f", JOIN_CONFIG_PATH], sudo: true });
    }
    if (joined.code === 0) {
      await waitJoined(o);
      return certs;
    }
    const output = `${joined.stdout}\n${joined.stderr}`;
    lastError = redact(
      output
        .trim()
        .split("\n")
        .filter((l) => !l.startsWith("To see the stack trace"))
        .slice(-4)
        .join("\n"),
    );
    o.log(`join attempt ${attempt} failed (exit ${joined.code}): ${lastError}`);
    await cleanupFailedJoin(o);
    if (controlPlane && isCertKeyExpired(output) && reuploads < MAX_REUPLOADS) {
      o.log("the uploaded certificate key has expired: uploading the certificates again and retrying");
      certs = {};
      reuploads++;
      attempt--;
    }
  }
  throw new HactlError("JOIN_FAILED", `could not join ${o.spec.name} after ${o.attempts} attempts`, {
    node: o.spec.name,
    details: lastError,
    remedy: `The failed attempts were cleaned up (no etcd member or Node left for ${o.spec.name}). Check kubelet and containerd on ${o.spec.name} (journalctl -u kubelet) and the network to the control-plane endpoint, then run the same command again; nodes already joined are kept.`,
  });
}

/**
 * Removes what a failed join leaves: an etcd member at the node's address (a control-plane join that
 * got past the member add), the node's kubeadm state (`kubeadm reset -f`), and its Node object.
 */
export async function cleanupFailedJoin(
  o: Pick<KubeadmJoinOptions, "leader" | "node" | "spec" | "log">,
): Promise<void> {
  if (o.spec.role === "control-plane") await removeEtcdMembersAt(o.leader, o.spec.address, o.log);
  const reset = await o.node.exec(kubeadm.reset());
  if (reset.code !== 0)
    o.log(`kubeadm reset -f on ${o.spec.name} failed (exit ${reset.code}); the next attempt will report what is left`);
  await deleteNodeObject(o.leader, o.spec.name, o.log);
}

/** Removes every etcd member whose peer URL is on `address`, asking the leader's member. Returns how many. */
export async function removeEtcdMembersAt(
  leader: RemoteHost,
  address: string,
  log: (l: string) => void,
): Promise<number> {
  const list = await leader.run(kubeadm.etcdctl("member", "list"));
  const stale = membersAt(parseMemberList(list.stdout), address);
  for (const m of stale) {
    log(
      `removing etcd member ${m.id}${m.name ? ` (${m.name})` : ""} at ${memberAddress(m) ?? address}${m.learner ? ", a learner" : ""}`,
    );
    await leader.run(kubeadm.etcdctl("member", "remove", m.id));
  }
  return stale.length;
}

export async function deleteNodeObject(leader: RemoteHost, name: string, log: (l: string) => void): Promise<boolean> {
  const nodes = await leader.exec(kubeadm.kubectl("get", "nodes", "-o", "json"));
  if (nodes.code !== 0 || !parseNodes(nodes.stdout).some((n) => n.name === name)) return false;
  log(`deleting the Node object ${name}`);
  await leader.run(kubeadm.kubectl("delete", "node", name));
  return true;
}

async function waitJoined(o: KubeadmJoinOptions): Promise<void> {
  const deadline = Date.now() + o.readyTimeoutMs;
  for (;;) {
    const nodes = await o.leader.exec(kubeadm.kubectl("get", "nodes", "-o", "json"));
    const ready = nodes.code === 0 && parseNodes(nodes.stdout).some((n) => n.name === o.spec.name && n.ready);
    let voting = o.spec.role === "worker";
    if (!voting) {
      const list = await o.leader.exec(kubeadm.etcdctl("member", "list"));
      voting =
        list.code === 0 &&
        membersAt(parseMemberList(list.stdout), o.spec.address).some((m) => !m.learner && m.status === "started");
    }
    if (ready && voting) return;
    if (Date.now() > deadline || o.signal.aborted) {
      throw new HactlError(
        "JOIN_FAILED",
        `${o.spec.name} joined but did not become Ready${voting ? "" : " and a voting etcd member"} in time`,
        {
          node: o.spec.name,
          retryable: true,
          remedy: `Check 'kubectl get nodes' and 'etcdctl member list' on a control plane, then run the same command again.`,
        },
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
