import { z } from "zod";
import type { Command } from "../core/command.js";
import { HactlError } from "../core/errors.js";
import { need, type RemoteHost } from "../core/host.js";
import { runs } from "../core/action.js";
import { actionStep, type Phase, type Step, type StepContext } from "../core/plan.js";
import { registerSecret } from "../core/secrets.js";
import { ETCD_CLIENT_PORT, KUBEADM_API_PORT, kubeadm } from "../distros/kubeadm.js";
import { parseRemote } from "../distros/remote-output.js";
import type { NodeSpec } from "../spec/schema.js";
import { clientCertificatePlace, withCertificateAuthority, withClientCertificate } from "./kubeconfig.js";
import {
  backInServicePhase,
  putBackInService,
  takeOutOfService,
  type ApiEndpoint,
  type LivezProbe,
  type ServiceLayoutInput,
} from "./out-of-service.js";

/**
 * Replacing the CAs of a kubeadm cluster (`hactl certs renew --ca`), in the order of the Kubernetes
 * documentation's "Manual Rotation of CA Certificates": new cluster, front-proxy and etcd CAs are made
 * once and copied to every control plane (workers get the cluster CA's certificate only); every node
 * first trusts both the old and the new CAs (bundles in the CA files and in the kubeconfigs), then the
 * control planes' certificates are re-issued by the new CAs one node at a time, then the old CAs are
 * dropped from every bundle. Control planes are out of service whenever their components restart.
 * The cluster-info ConfigMap in kube-public, whose CA `kubeadm join` discovers and checks against
 * --discovery-token-ca-cert-hash, carries both CAs before the first certificate of the new CA is served
 * and the new CA only once the control planes dropped the old one (as the documentation says).
 *
 * Progress lives on the nodes, so a re-run finishes an interrupted rotation: the new CAs in STAGE on
 * every control plane, and one marker line per finished stage in STAGE/done on every node.
 */

export const STAGE = "/var/lib/hactl/ca-rotation-kubeadm";
const PKI = "/etc/kubernetes/pki";
const MANIFESTS = "/etc/kubernetes/manifests";
const PARKED = "/etc/kubernetes/manifests.hactl-restart";

/** The CAs kubeadm makes: the name hactl stages them under, where kubeadm keeps them, the subject of a new one. */
export const KUBEADM_CAS = [
  { name: "ca", crt: `${PKI}/ca.crt`, key: `${PKI}/ca.key`, cn: "kubernetes" },
  { name: "front-proxy-ca", crt: `${PKI}/front-proxy-ca.crt`, key: `${PKI}/front-proxy-ca.key`, cn: "front-proxy-ca" },
  { name: "etcd-ca", crt: `${PKI}/etcd/ca.crt`, key: `${PKI}/etcd/ca.key`, cn: "etcd-ca" },
] as const;

/** Kubeconfigs whose certificate-authority-data must trust the API servers' certificates. */
const CONTROL_PLANE_KUBECONFIGS = [
  "admin.conf",
  "super-admin.conf",
  "controller-manager.conf",
  "scheduler.conf",
  "kubelet.conf",
].map((f) => `/etc/kubernetes/${f}`);
const KUBELET_CONF = "/etc/kubernetes/kubelet.conf";

export type RotationMark = "trusted" | "reissued" | "dropped";

export interface KubeadmCaFacts {
  /** The new CAs are already made (on the first control plane): a rotation is under way. */
  staged: boolean;
  /** Per node, the stages it finished in the rotation under way. */
  done: ReadonlyMap<string, ReadonlySet<RotationMark>>;
}

export interface KubeadmCaPlan {
  /** The control plane that makes the new CAs and signs the workers' kubelet certificates. */
  source: NodeSpec;
  /** A rotation was under way: this run finishes it. */
  resuming: boolean;
  /** Control planes that must still trust both CAs (one at a time, out of service). */
  trust: NodeSpec[];
  /** Workers that must still get the CA bundle and a kubelet certificate of the new CA. */
  workers: NodeSpec[];
  /** Control planes whose certificates the new CAs must still re-issue (one at a time, out of service). */
  reissue: NodeSpec[];
  /** Nodes that must still drop the old CAs. */
  drop: NodeSpec[];
}

/** `cat STAGE/done` on a node: one finished stage per line. */
export function parseMarks(text: string): Set<RotationMark> {
  const marks = new Set<RotationMark>();
  for (const line of text.split("\n")) {
    const m = line.trim();
    if (m === "trusted" || m === "reissued" || m === "dropped") marks.add(m);
  }
  return marks;
}

/**
 * Pure: what a rotation still has to do. A fresh one (nothing staged) does everything; an interrupted
 * one only what the nodes have not marked as done.
 */
export function planKubeadmCaRotation(nodes: readonly NodeSpec[], facts: KubeadmCaFacts): KubeadmCaPlan {
  const cps = nodes.filter((n) => n.role === "control-plane");
  const source = cps[0];
  if (!source)
    throw new HactlError("USAGE", "cluster.yaml has no control plane; nothing was changed", {
      remedy: "Add a control-plane node to cluster.yaml.",
    });
  const has = (n: NodeSpec, m: RotationMark): boolean => facts.staged && (facts.done.get(n.name)?.has(m) ?? false);
  return {
    source,
    resuming: facts.staged,
    trust: cps.filter((n) => !has(n, "trusted")),
    workers: nodes.filter((n) => n.role === "worker" && !has(n, "reissued")),
    reissue: cps.filter((n) => !has(n, "reissued")),
    drop: nodes.filter((n) => !has(n, "dropped")),
  };
}

/** Reads the rotation's state on every node: STAGE/new on the source, STAGE/done everywhere. */
export const stagedCommand: Command = {
  argv: ["sh", "-c", 'test -f "$1/new/ca.key" && echo staged; true', "hactl-ca-staged", STAGE],
  sudo: true,
};
export const marksCommand: Command = {
  argv: ["sh", "-c", 'cat "$1/done" 2>/dev/null; true', "hactl-ca-marks", STAGE],
  sudo: true,
};

/**
 * Makes the new CAs in STAGE/new (RSA 2048, ten years, as kubeadm does) and keeps the first certificate
 * of each current CA file in STAGE/old, built aside and moved into place at once; kept when already there.
 */
const MAKE_CAS_SCRIPT = `set -e
s=$1; shift
if [ -f "$s/new/ca.key" ]; then echo "new CAs already made"; exit 0; fi
umask 077
rm -rf "$s.tmp"; mkdir -p "$s.tmp/new" "$s.tmp/old"
while [ $# -gt 0 ]; do
  n=$1 crt=$2 cn=$3; shift 3
  [ -f "$crt" ] || continue
  openssl x509 -in "$crt" -out "$s.tmp/old/$n.crt"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$cn" -keyout "$s.tmp/new/$n.key" -out "$s.tmp/new/$n.crt" \\
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" 2>/dev/null
  echo "new $n: $(openssl x509 -in "$s.tmp/new/$n.crt" -noout -subject)"
done
mkdir -p "$(dirname "$s")"; rm -rf "$s"; mv "$s.tmp" "$s"`;

/**
 * Writes the CA files from STAGE for one stage: trust = old then new (the first certificate still
 * matches the old key, so nothing signs with the new CA yet); reissue = new then old, with the new
 * key (kubeadm and the controller-manager sign with the first certificate); drop = new only.
 */
const CA_FILES_SCRIPT = `set -e
s=$1 stage=$2; shift 2
while [ $# -gt 0 ]; do
  n=$1 crt=$2 key=$3; shift 3
  [ -f "$s/new/$n.crt" ] && [ -f "$crt" ] || continue
  case $stage in
    trust) cat "$s/old/$n.crt" "$s/new/$n.crt" > "$crt.hactl-new" ;;
    reissue) cat "$s/new/$n.crt" "$s/old/$n.crt" > "$crt.hactl-new"; install -m 600 "$s/new/$n.key" "$key" ;;
    drop) cat "$s/new/$n.crt" > "$crt.hactl-new" ;;
  esac
  chmod 644 "$crt.hactl-new"; mv "$crt.hactl-new" "$crt"
done`;

/**
 * Restarts a control plane's static pods and kubelet: manifests out until etcd and the API server no
 * longer listen (the kubelet stopped them), back until both listen again, then the kubelet restarted.
 * Manifests parked by an interrupted run are put back first.
 */
const RESTART_CONTROL_PLANE_SCRIPT = `set -e
m=$1 p=$2; shift 2
back() { for f in "$p"/*.yaml; do [ -e "$f" ] && mv "$f" "$m"/; done; rmdir "$p"; }
listening() { ss -Hltn "sport = :$1" | grep -q .; }
[ -d "$p" ] && back
mkdir -p "$p"
for f in "$m"/*.yaml; do [ -e "$f" ] && mv "$f" "$p"/; done
for port in "$@"; do
  i=0
  while listening "$port"; do
    i=$((i+1)); [ "$i" -le 120 ] || { back; echo "port $port still open after 60 s" >&2; exit 1; }
    sleep 0.5
  done
done
back
for port in "$@"; do
  i=0
  until listening "$port"; do
    i=$((i+1)); [ "$i" -le 240 ] || { echo "port $port still closed after 120 s" >&2; exit 1; }
    sleep 0.5
  done
done
systemctl restart kubelet`;

const caArgs = (withKeys: boolean): string[] => KUBEADM_CAS.flatMap((c) => [c.name, c.crt, withKeys ? c.key : c.cn]);

async function sh(
  host: RemoteHost,
  script: string,
  name: string,
  args: readonly string[],
  ctx: StepContext,
  timeoutMs = 120_000,
): Promise<void> {
  const r = await host.run(
    { argv: ["sh", "-c", script, name, ...args], sudo: true, timeoutMs },
    { signal: ctx.signal },
  );
  for (const line of r.stdout.split("\n").filter(Boolean)) ctx.log(line);
}

async function mark(host: RemoteHost, m: RotationMark, ctx: StepContext): Promise<void> {
  await sh(host, 'mkdir -p "$1" && echo "$2" >> "$1/done"', "hactl-ca-mark", [STAGE, m], ctx);
}

/** The CA files of one stage, then every kubeconfig's CA data set to the cluster CA file's new content. */
async function writeTrust(
  host: RemoteHost,
  stage: "trust" | "reissue" | "drop",
  kubeconfigs: readonly string[],
  ctx: StepContext,
): Promise<void> {
  await sh(host, CA_FILES_SCRIPT, "hactl-ca-files", [STAGE, stage, ...caArgs(true)], ctx);
  const bundle = await host.readFile(`${PKI}/ca.crt`, { sudo: true });
  if (!bundle)
    throw new HactlError("COMMAND_FAILED", `${PKI}/ca.crt is missing`, {
      remedy: "Run hactl certs check; then run the same command again.",
    });
  for (const file of kubeconfigs) {
    const text = await host.readFile(file, { sudo: true });
    if (text === undefined) continue;
    await host.writeFile(file, withCertificateAuthority(text, bundle), { mode: 0o600, sudo: true });
  }
}

/** Signs a new kubelet client certificate (system:node:NAME, group system:nodes) with the new CA on the source. */
const KUBELET_CERT_SCRIPT = `set -e
s=$1 node=$2
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
umask 077
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/key" -out "$d/csr" -subj "/O=system:nodes/CN=system:node:$node" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\\nbasicConstraints=critical,CA:FALSE\\nkeyUsage=critical,digitalSignature\\n' > "$d/ext"
openssl x509 -req -in "$d/csr" -CA "$s/new/ca.crt" -CAkey "$s/new/ca.key" -set_serial "0x$(openssl rand -hex 16)" -days 365 -extfile "$d/ext" -out "$d/crt" 2>/dev/null
cat "$d/crt" "$d/key"`;

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----\n?/g;

/** The kubelet's kubeconfig with a client certificate of the new CA (embedded, or in the PEM file it names). */
async function newKubeletCertificate(
  source: RemoteHost,
  host: RemoteHost,
  node: NodeSpec,
  ctx: StepContext,
): Promise<void> {
  const r = await source.run(
    { argv: ["sh", "-c", KUBELET_CERT_SCRIPT, "hactl-kubelet-cert", STAGE, node.name], sudo: true, timeoutMs: 60_000 },
    { signal: ctx.signal },
  );
  const blocks = r.stdout.match(PEM_BLOCK) ?? [];
  const cert = blocks.find((b) => b.includes("CERTIFICATE"));
  const key = blocks.find((b) => b.includes("PRIVATE KEY"));
  if (!cert || !key)
    throw new HactlError("COMMAND_FAILED", `no kubelet certificate could be signed for ${node.name}`, {
      node: node.name,
      remedy: "Check openssl on the first control plane; then run the same command again.",
    });
  registerSecret(key.trim());
  const conf = await host.readFile(KUBELET_CONF, { sudo: true });
  if (!conf)
    throw new HactlError("COMMAND_FAILED", `${KUBELET_CONF} is missing on ${node.name}`, {
      node: node.name,
      remedy: "Re-join the node (hactl remove-node, then hactl add-node).",
    });
  const place = clientCertificatePlace(conf);
  if (place.kind === "file") await host.writeFile(place.path, `${cert}${key}`, { mode: 0o600, sudo: true });
  else await host.writeFile(KUBELET_CONF, withClientCertificate(conf, cert, key), { mode: 0o600, sudo: true });
  ctx.log(`kubelet client certificate of the new CA written (${place.kind === "file" ? place.path : KUBELET_CONF})`);
}

const restartControlPlane = (host: RemoteHost, ctx: StepContext): Promise<void> =>
  sh(
    host,
    RESTART_CONTROL_PLANE_SCRIPT,
    "hactl-restart-control-plane",
    [MANIFESTS, PARKED, String(ETCD_CLIENT_PORT), String(KUBEADM_API_PORT)],
    ctx,
    180_000,
  );
const restartKubelet = (host: RemoteHost, ctx: StepContext): Promise<void> =>
  sh(host, "systemctl restart kubelet", "hactl-restart-kubelet", [], ctx);

function makeCasStep(source: NodeSpec): Step {
  return {
    id: `ca-make:${source.name}`,
    node: source.name,
    title: "make new cluster, front-proxy and etcd CAs (kept if an interrupted run made them)",
    describe: [
      `openssl req -x509 -newkey rsa:2048 -days 3650 for ${KUBEADM_CAS.map((c) => c.name).join(", ")} into ${STAGE}/new (mode 0700)`,
      `first certificate of each current CA file into ${STAGE}/old`,
    ],
    async run(ctx) {
      await sh(need(ctx.hosts, source.name), MAKE_CAS_SCRIPT, "hactl-make-cas", [STAGE, ...caArgs(false)], ctx);
      return "changed";
    },
  };
}

/** Copies STAGE from the source: control planes get the new CAs' keys too, workers the cluster CA's certificates only. */
function copyStep(source: NodeSpec, node: NodeSpec): Step {
  const files = KUBEADM_CAS.flatMap((c) =>
    node.role === "control-plane"
      ? [`new/${c.name}.crt`, `new/${c.name}.key`, `old/${c.name}.crt`]
      : c.name === "ca"
        ? ["new/ca.crt", "old/ca.crt"]
        : [],
  );
  return {
    id: `ca-copy:${node.name}`,
    node: node.name,
    title: `copy the new CAs from ${source.name}${node.role === "worker" ? " (certificates only)" : ""}`,
    describe: [`${files.join(", ")} from ${source.name}:${STAGE} to ${STAGE} (keys mode 0600)`],
    async run(ctx) {
      const from = need(ctx.hosts, source.name);
      const to = need(ctx.hosts, node.name);
      await to.run({ argv: ["sh", "-c", 'mkdir -p -m 700 "$1/new" "$1/old"', "hactl-ca-dir", STAGE], sudo: true });
      for (const f of files) {
        const text = await from.readFile(`${STAGE}/${f}`, { sudo: true });
        if (text === undefined) continue;
        if (f.endsWith(".key")) registerSecret(text.trim());
        await to.writeFile(`${STAGE}/${f}`, text, { mode: 0o600, sudo: true });
      }
      return "changed";
    },
  };
}

function trustStep(node: NodeSpec): Step {
  return {
    id: `ca-trust:${node.name}`,
    node: node.name,
    title: "trust the old and the new CAs (bundles), restart etcd, the API server and the kubelet",
    describe: [
      `CA files in ${PKI}: old then new certificate (old key kept)`,
      "certificate-authority-data of the kubeconfigs: both CAs",
      `restart the static pods (manifests out of ${MANIFESTS} until etcd and the API server stopped) and the kubelet`,
    ],
    async run(ctx) {
      const host = need(ctx.hosts, node.name);
      await writeTrust(host, "trust", CONTROL_PLANE_KUBECONFIGS, ctx);
      await restartControlPlane(host, ctx);
      await mark(host, "trusted", ctx);
      return "changed";
    },
  };
}

function workerStep(source: NodeSpec, node: NodeSpec): Step {
  return {
    id: `ca-worker:${node.name}`,
    node: node.name,
    title: "trust both cluster CAs and use a kubelet certificate of the new CA",
    describe: [
      `${PKI}/ca.crt and kubelet.conf's certificate-authority-data: old then new CA`,
      `kubelet client certificate signed by the new CA on ${source.name}`,
      "systemctl restart kubelet",
    ],
    async run(ctx) {
      const host = need(ctx.hosts, node.name);
      await writeTrust(host, "trust", [KUBELET_CONF], ctx);
      await newKubeletCertificate(need(ctx.hosts, source.name), host, node, ctx);
      await restartKubelet(host, ctx);
      await mark(host, "trusted", ctx);
      await mark(host, "reissued", ctx);
      return "changed";
    },
  };
}

function reissueStep(source: NodeSpec, node: NodeSpec): Step {
  return {
    id: `ca-reissue:${node.name}`,
    node: node.name,
    title: "re-issue this node's certificates with the new CAs",
    describe: [
      `CA files in ${PKI}: new then old certificate, the new keys`,
      "kubeadm certs renew all (server, peer and client certificates and kubeconfigs, signed by the new CAs)",
      `kubelet client certificate signed by the new CA on ${source.name}`,
      `restart the static pods (manifests out of ${MANIFESTS} until etcd and the API server stopped) and the kubelet`,
    ],
    async run(ctx) {
      const host = need(ctx.hosts, node.name);
      await sh(host, CA_FILES_SCRIPT, "hactl-ca-files", [STAGE, "reissue", ...caArgs(true)], ctx);
      await sh(host, "kubeadm certs renew all", "hactl-certs-renew", [], ctx, 600_000);
      await writeTrust(host, "reissue", CONTROL_PLANE_KUBECONFIGS, ctx);
      await newKubeletCertificate(need(ctx.hosts, source.name), host, node, ctx);
      await restartControlPlane(host, ctx);
      await mark(host, "reissued", ctx);
      return "changed";
    },
  };
}

function dropStep(node: NodeSpec): Step {
  const cp = node.role === "control-plane";
  return {
    id: `ca-drop:${node.name}`,
    node: node.name,
    title: "trust the new CAs only",
    describe: [
      `CA files in ${PKI} and the kubeconfigs' certificate-authority-data: the new CA only`,
      cp ? "restart the static pods and the kubelet" : "systemctl restart kubelet",
    ],
    async run(ctx) {
      const host = need(ctx.hosts, node.name);
      await writeTrust(host, "drop", cp ? CONTROL_PLANE_KUBECONFIGS : [KUBELET_CONF], ctx);
      if (cp) await restartControlPlane(host, ctx);
      else await restartKubelet(host, ctx);
      await mark(host, "dropped", ctx);
      return "changed";
    },
  };
}

const CLUSTER_INFO = ["-n", "kube-public", "get", "configmap", "cluster-info", "-o", "json"] as const;
const clusterInfoSchema = z.object({ data: z.object({ kubeconfig: z.string() }) });

/**
 * Pure: the cluster-info ConfigMap to apply so that `kubeadm join` discovers `caPem` (the
 * certificate-authority-data of its kubeconfig), from `kubectl get configmap cluster-info -o json`;
 * undefined when it carries that CA already. Only data.kubeconfig is applied: the bootstrap signer
 * owns the jws-kubeconfig-<token id> keys and signs the new kubeconfig for every token.
 */
export function clusterInfoManifest(getJson: string, caPem: string): string | undefined {
  const current = parseRemote(`kubectl ${CLUSTER_INFO.join(" ")}`, getJson, clusterInfoSchema).data.kubeconfig;
  const want = Buffer.from(caPem).toString("base64");
  const cas = [...current.matchAll(/certificate-authority-data:\s*(\S+)/g)].map((m) => m[1]);
  if (cas.length > 0 && cas.every((ca) => ca === want)) return undefined;
  const kubeconfig = withCertificateAuthority(current, caPem);
  return `${JSON.stringify({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cluster-info", namespace: "kube-public" },
    data: { kubeconfig },
  })}\n`;
}

/** cluster-info gets the source's cluster CA file as it is now: both CAs during the rotation, the new one after. */
function clusterInfoStep(source: NodeSpec, stage: "both" | "new"): Step {
  return {
    id: `ca-cluster-info-${stage}:${source.name}`,
    node: source.name,
    title:
      stage === "both"
        ? "kube-public/cluster-info: both cluster CAs (what kubeadm join discovers)"
        : "kube-public/cluster-info: the new cluster CA only (what kubeadm join discovers)",
    describe: [
      `kubectl ${CLUSTER_INFO.join(" ")}`,
      `its kubeconfig's certificate-authority-data: ${PKI}/ca.crt of ${source.name} (${stage === "both" ? "old and new CA" : "new CA"})`,
      "kubectl apply -f - (the bootstrap signer signs it again for every token)",
    ],
    async run(ctx) {
      const host = need(ctx.hosts, source.name);
      const got = await host.run(kubeadm.kubectl(...CLUSTER_INFO), { signal: ctx.signal });
      const ca = await host.readFile(`${PKI}/ca.crt`, { sudo: true });
      if (!ca)
        throw new HactlError("COMMAND_FAILED", `${PKI}/ca.crt is missing`, {
          node: source.name,
          remedy: "Run hactl certs check; then run the same command again.",
        });
      const manifest = clusterInfoManifest(got.stdout, ca);
      if (!manifest) return "unchanged";
      const applied = await host.run(kubeadm.applyStdin(manifest), { signal: ctx.signal });
      for (const line of applied.stdout.split("\n").filter(Boolean)) ctx.log(line);
      return "changed";
    },
  };
}

function cleanupStep(node: NodeSpec): Step {
  return actionStep({
    id: `ca-cleanup:${node.name}`,
    node: node.name,
    title: "remove the staged CAs",
    actions: [runs({ argv: ["rm", "-rf", STAGE], sudo: true })],
  });
}

export interface CaRotationOptions {
  endpoint?: ApiEndpoint;
  probe: LivezProbe;
  /** Load-balancer machines an interrupted run left with a node out of service: put back first. */
  staleLb?: ReadonlySet<string>;
}

/**
 * Pure: the phases of a kubeadm CA rotation. Every control-plane stage runs out of service (out of every
 * load-balancer backend, not holding the VIP) and ends with the API answering on the node and through
 * the VIP; workers restart only their kubelet. The new CAs are made (or kept) and copied first, and the
 * staged CAs are removed from every node last. A node an interrupted run left out of service is put
 * back before anything else, so that no two control planes are ever out at once.
 */
export function kubeadmCaRotationPhases(
  layout: ServiceLayoutInput,
  plan: KubeadmCaPlan,
  opts: CaRotationOptions,
): Phase[] {
  const nodes = layout.spec.spec.nodes;
  // A control plane goes out of service up to three times: its step ids are prefixed with the stage.
  const stageIds = (stage: string, phases: Phase[]): Phase[] =>
    phases.map((p) => ({ ...p, steps: p.steps.map((st) => ({ ...st, id: `${stage}:${st.id}` })) }));
  const around = (node: NodeSpec, title: string, step: Step): Phase[] => {
    const stage = step.id.split(":")[0] ?? "ca";
    return [
      ...stageIds(stage, takeOutOfService(layout, node)),
      { title: `${title} on ${node.name}`, mode: "serial", steps: [step] },
      ...stageIds(stage, putBackInService(layout, node, opts)),
    ];
  };
  const others = nodes.filter(
    (n) =>
      n.name !== plan.source.name &&
      (plan.trust.includes(n) || plan.workers.includes(n) || plan.reissue.includes(n) || plan.drop.includes(n)),
  );
  const phases: Phase[] = [];
  if (opts.staleLb && opts.staleLb.size > 0) phases.push(backInServicePhase(layout, opts.staleLb));
  if (plan.trust.length + plan.workers.length + plan.reissue.length > 0) {
    phases.push({ title: "Make the new CAs", mode: "serial", steps: [makeCasStep(plan.source)] });
    if (others.length > 0)
      phases.push({ title: "Copy the new CAs", mode: "parallel", steps: others.map((n) => copyStep(plan.source, n)) });
  }
  for (const n of plan.trust) phases.push(...around(n, "Trust both CAs", trustStep(n)));
  if (plan.workers.length > 0)
    phases.push({
      title: "Workers: both CAs and a kubelet certificate of the new CA",
      mode: "serial",
      steps: plan.workers.map((n) => workerStep(plan.source, n)),
    });
  if (plan.reissue.length > 0)
    phases.push({
      title: "Publish both cluster CAs for kubeadm join",
      mode: "serial",
      steps: [clusterInfoStep(plan.source, "both")],
    });
  for (const n of plan.reissue)
    phases.push(...around(n, "Re-issue the certificates with the new CAs", reissueStep(plan.source, n)));
  for (const n of plan.drop.filter((d) => d.role === "control-plane"))
    phases.push(...around(n, "Drop the old CAs", dropStep(n)));
  phases.push({
    title: "Publish the new cluster CA for kubeadm join",
    mode: "serial",
    steps: [clusterInfoStep(plan.source, "new")],
  });
  const workersDrop = plan.drop.filter((d) => d.role === "worker");
  if (workersDrop.length > 0)
    phases.push({ title: "Workers: drop the old CA", mode: "serial", steps: workersDrop.map((n) => dropStep(n)) });
  // The source's staged CAs mean "a rotation is under way": they go last, so a run stopped in between
  // finishes the clean-up instead of trusting another node's stale marks.
  const rest = nodes.filter((n) => n.name !== plan.source.name);
  if (rest.length > 0)
    phases.push({ title: "Remove the staged CAs", mode: "parallel", steps: rest.map((n) => cleanupStep(n)) });
  phases.push({
    title: `Remove the staged CAs on ${plan.source.name}`,
    mode: "serial",
    steps: [cleanupStep(plan.source)],
  });
  return phases;
}
