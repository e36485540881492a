import { stringify as toYaml } from "yaml";
import type { Command } from "../core/command.js";
import { KUBEADM_API_PORT } from "./ports.js";
import { unexpectedOutput } from "./remote-output.js";

/**
 * kubeadm with stacked etcd: pure command builders and parsers of its documented output. Nothing here
 * touches a node. Secrets (bootstrap tokens, certificate keys) never go into an argv built here: they
 * travel in a 0600 config file (see joinConfiguration / initConfiguration).
 */

export { KUBEADM_API_PORT };
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
/** Ports a fresh control-plane node must have free: API, etcd client and peer, kubelet, controller-manager, scheduler. */
export const KUBEADM_PORTS = [KUBEADM_API_PORT, ETCD_CLIENT_PORT, ETCD_PEER_PORT, 10250, 10257, 10259] as const;

export const ADMIN_CONF = "/etc/kubernetes/admin.conf";
/** Where hactl puts the helm binary of spec.distribution.helm on a kubeadm control plane. */
export const KUBEADM_HELM_PATH = "/var/lib/hactl/bin/helm";
export const KUBELET_CONF = "/etc/kubernetes/kubelet.conf";
/** The uploaded certificate key (kubeadm-certs Secret) lives 2 h; hactl re-uploads when its copy is older than this. */
export const CERT_KEY_MAX_AGE_MS = (60 + 50) * 60_000;

const ETCD_PKI = "/etc/kubernetes/pki/etcd";

export const kubeadm = {
  /** kubeadm init from a config file; the token and certificate key are not printed. */
  init: (configPath: string): Command => ({
    argv: [
      "kubeadm",
      "init",
      "--config",
      configPath,
      "--upload-certs",
      "--skip-token-print",
      "--skip-certificate-key-print",
    ],
    sudo: true,
    timeoutMs: 15 * 60_000,
  }),
  /** A fresh bootstrap token and the join command that uses it (one line, captured, never printed). */
  tokenCreate: (): Command => ({
    argv: ["kubeadm", "token", "create", "--ttl", "1h0m0s", "--description", "hactl join", "--print-join-command"],
    sudo: true,
    timeoutMs: 120_000,
  }),
  /** Re-encrypts the control-plane certificates under a new key and prints it. */
  uploadCerts: (): Command => ({
    argv: ["kubeadm", "init", "phase", "upload-certs", "--upload-certs"],
    sudo: true,
    timeoutMs: 120_000,
  }),
  join: (configPath: string): Command => ({
    argv: ["kubeadm", "join", "--config", configPath],
    sudo: true,
    timeoutMs: 10 * 60_000,
  }),
  reset: (): Command => ({ argv: ["kubeadm", "reset", "-f"], sudo: true, timeoutMs: 5 * 60_000 }),
  versionShort: (): Command => ({ argv: ["kubeadm", "version", "-o", "short"], timeoutMs: 60_000 }),
  kubectl: (...args: string[]): Command => ({
    argv: ["kubectl", "--kubeconfig", ADMIN_CONF, ...args],
    sudo: true,
    timeoutMs: 120_000,
  }),
  /** `kubectl apply -f -` with the manifest on stdin. */
  applyStdin: (manifest: string): Command => ({
    argv: ["kubectl", "--kubeconfig", ADMIN_CONF, "apply", "-f", "-"],
    sudo: true,
    stdin: manifest,
    timeoutMs: 300_000,
  }),
  /** The helm binary hactl uploaded (spec.distribution.helm), with the admin kubeconfig. */
  helm: (...args: string[]): Command => ({
    argv: [KUBEADM_HELM_PATH, "--kubeconfig", ADMIN_CONF, ...args],
    sudo: true,
    timeoutMs: 15 * 60_000,
  }),
  /**
   * `apt-get install --no-download` of local .deb files (paths with a slash): apt resolves them against each
   * other and the installed packages and fetches nothing; a dependency in neither is an error, not a download.
   */
  installDebs: (files: readonly string[]): Command => ({
    argv: ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "--no-download", ...files],
    sudo: true,
    timeoutMs: 15 * 60_000,
  }),
  /** `ctr -n k8s.io images import FILE`: images the kubelet (CRI) sees, from a `ctr images export` tarball. */
  importImages: (file: string): Command => ({
    argv: ["ctr", "-n", "k8s.io", "images", "import", file],
    sudo: true,
    timeoutMs: 15 * 60_000,
  }),
  applyUrl: (url: string): Command => ({
    argv: ["kubectl", "--kubeconfig", ADMIN_CONF, "apply", "-f", url],
    sudo: true,
    timeoutMs: 300_000,
  }),
  /** etcdctl v3 against the node's own stacked member, with the kubeadm etcd certificates. */
  etcdctl: (...args: string[]): Command => ({
    argv: [
      "env",
      "ETCDCTL_API=3",
      "etcdctl",
      `--endpoints=https://127.0.0.1:${ETCD_CLIENT_PORT}`,
      `--cacert=${ETCD_PKI}/ca.crt`,
      `--cert=${ETCD_PKI}/server.crt`,
      `--key=${ETCD_PKI}/server.key`,
      "--command-timeout=15s",
      ...args,
    ],
    sudo: true,
    timeoutMs: 60_000,
  }),
  /**
   * Which kubeadm files the node has: one line each of kubelet, admin, etcd; and `apiserver <image>` from
   * the kube-apiserver static Pod manifest (its tag is the version of the node's control plane).
   */
  files: (): Command => ({
    argv: [
      "sh",
      "-c",
      `test -f ${KUBELET_CONF} && echo kubelet; test -f ${ADMIN_CONF} && echo admin; test -f /etc/kubernetes/manifests/etcd.yaml && echo etcd; sed -n 's/^ *image: *\\(.*kube-apiserver:.*\\)$/apiserver \\1/p' /etc/kubernetes/manifests/kube-apiserver.yaml 2>/dev/null; true`,
    ],
    sudo: true,
    timeoutMs: 30_000,
  }),
};

/** The bundled CNI when spec.distribution.cni.manifest is not set. */
export const CALICO_MANIFEST_URL =
  "https://raw.githubusercontent.com/projectcalico/calico/v3.27.3/manifests/calico.yaml";

export interface JoinCommand {
  endpoint: string;
  token: string;
  caCertHashes: string[];
}

/**
 * Parses `kubeadm token create --print-join-command` (one line) or the multi-line join command of
 * `kubeadm init` (backslash-newline continuations, TAB or space indentation).
 */
export function parseJoinCommand(stdout: string): JoinCommand {
  const flat = stdout.replace(/\\\r?\n/g, " ");
  const line = flat.split("\n").find((l) => /^\s*kubeadm join\s/.test(l));
  if (!line) throw unexpectedOutput("kubeadm token create --print-join-command", "a `kubeadm join` line");
  const words = line.trim().split(/\s+/);
  const endpoint = words[2] ?? "";
  let token = "";
  const hashes: string[] = [];
  for (let i = 3; i < words.length; i++) {
    if (words[i] === "--token") token = words[++i] ?? "";
    else if (words[i] === "--discovery-token-ca-cert-hash") hashes.push(words[++i] ?? "");
  }
  if (!/^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(token))
    throw unexpectedOutput(
      "kubeadm token create --print-join-command",
      "a bootstrap token (--token abcdef.0123456789abcdef) in the join command",
    );
  if (!/^[^\s:]+:\d+$/.test(endpoint))
    throw unexpectedOutput(
      "kubeadm token create --print-join-command",
      "the API endpoint (HOST:PORT) after `kubeadm join`",
    );
  if (hashes.length === 0 || hashes.some((h) => !/^sha256:[0-9a-f]{64}$/.test(h)))
    throw unexpectedOutput(
      "kubeadm token create --print-join-command",
      "--discovery-token-ca-cert-hash sha256:<64 hex digits>",
    );
  return { endpoint, token, caCertHashes: hashes };
}

/** The key printed by `kubeadm init phase upload-certs --upload-certs` (the line after "Using certificate key:"). */
export function parseCertificateKey(stdout: string): string {
  const lines = stdout.split("\n").map((l) => l.trim());
  const at = lines.findIndex((l) => /Using certificate key:$/.test(l));
  const key = at >= 0 ? lines.slice(at + 1).find((l) => l.length > 0) : undefined;
  if (!key || !/^[0-9a-f]{64}$/.test(key))
    throw unexpectedOutput(
      "kubeadm init phase upload-certs --upload-certs",
      '64 hex digits on the line after "Using certificate key:"',
    );
  return key;
}

/** The join failed because the kubeadm-certs Secret (certificate key) expired or was replaced. */
export function isCertKeyExpired(output: string): boolean {
  return /Secret "kubeadm-certs" was not found|This Secret might have expired|error downloading certs|error decoding certificate key/.test(
    output,
  );
}

export interface EtcdMember {
  /** Hex id as etcdctl prints it. */
  id: string;
  status: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  learner: boolean;
}

/** `etcdctl member list` (simple format): `ID, STATUS, NAME, PEER ADDRS, CLIENT ADDRS[, IS LEARNER]`. */
export function parseMemberList(stdout: string): EtcdMember[] {
  const members: EtcdMember[] = [];
  for (const line of stdout.split("\n")) {
    const cols = line.split(",").map((c) => c.trim());
    const id = cols[0] ?? "";
    if (!/^[0-9a-f]+$/.test(id) || cols.length < 5) continue;
    members.push({
      id,
      status: cols[1] ?? "",
      name: cols[2] ?? "",
      peerUrls: (cols[3] ?? "").split(/\s+/).filter(Boolean),
      clientUrls: (cols[4] ?? "").split(/\s+/).filter(Boolean),
      learner: cols[5] === "true",
    });
  }
  return members;
}

/** The host part of the member's first peer URL (`https://10.0.0.12:2380` → `10.0.0.12`). */
export function memberAddress(m: EtcdMember): string | undefined {
  const url = m.peerUrls[0];
  if (!url) return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** Members whose peer URL is on `address` (a half-joined node leaves one behind, often without a name). */
export function membersAt(members: readonly EtcdMember[], address: string): EtcdMember[] {
  return members.filter((m) => memberAddress(m) === address);
}

/** kubeadm config API version for a Kubernetes minor version: v1beta4 from 1.31 on. */
export function kubeadmApiVersion(version: string): string {
  const minor = Number(/^1\.(\d+)/.exec(version)?.[1] ?? 0);
  return minor >= 31 ? "kubeadm.k8s.io/v1beta4" : "kubeadm.k8s.io/v1beta3";
}

export interface InitConfigInput {
  version: string;
  nodeName: string;
  address: string;
  /** VIP:PORT in front of every API server. */
  controlPlaneEndpoint: string;
  podNetworkCidr: string;
  serviceCidr?: string | undefined;
  certificateKey: string;
}

/** InitConfiguration + ClusterConfiguration for `kubeadm init --config` (written 0600: it holds the certificate key). */
export function initConfiguration(i: InitConfigInput): string {
  const apiVersion = kubeadmApiVersion(i.version);
  const init = {
    apiVersion,
    kind: "InitConfiguration",
    certificateKey: i.certificateKey,
    localAPIEndpoint: { advertiseAddress: i.address, bindPort: KUBEADM_API_PORT },
    nodeRegistration: { name: i.nodeName },
  };
  const cluster = {
    apiVersion,
    kind: "ClusterConfiguration",
    controlPlaneEndpoint: i.controlPlaneEndpoint,
    networking: { podSubnet: i.podNetworkCidr, ...(i.serviceCidr ? { serviceSubnet: i.serviceCidr } : {}) },
  };
  return `${toYaml(init)}---\n${toYaml(cluster)}`;
}

export interface JoinConfigInput {
  version: string;
  join: JoinCommand;
  nodeName: string;
  address: string;
  /** Set for a control-plane join. */
  certificateKey?: string | undefined;
}

/** JoinConfiguration for `kubeadm join --config` (written 0600: it holds the token and the key). */
export function joinConfiguration(j: JoinConfigInput): string {
  const doc = {
    apiVersion: kubeadmApiVersion(j.version),
    kind: "JoinConfiguration",
    discovery: {
      bootstrapToken: { apiServerEndpoint: j.join.endpoint, token: j.join.token, caCertHashes: j.join.caCertHashes },
    },
    nodeRegistration: { name: j.nodeName },
    ...(j.certificateKey !== undefined
      ? {
          controlPlane: {
            certificateKey: j.certificateKey,
            localAPIEndpoint: { advertiseAddress: j.address, bindPort: KUBEADM_API_PORT },
          },
        }
      : {}),
  };
  return toYaml(doc);
}

/** `v1.29.15` or `1.29.15` → `1.29`. */
export function minorOf(version: string): string | undefined {
  return /^v?(\d+\.\d+)/.exec(version.trim())?.[1];
}
