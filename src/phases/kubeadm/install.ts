import { need } from "../../core/host.js";
import { HactlError } from "../../core/errors.js";
import type { Phase, Plan, Step } from "../../core/plan.js";
import { redact } from "../../core/secrets.js";
import { CALICO_MANIFEST_URL, initConfiguration, kubeadm } from "../../distros/kubeadm.js";
import { isKubeadmMember, type KubeadmClusterState } from "../../gather/kubeadm-state.js";
import type { NodeSpec } from "../../spec/schema.js";
import type { LocalBundle } from "../../bundle/local-files.js";
import { lbStep } from "../activate-config.js";
import { hostsEntriesStep, nonlocalBindStep, packagesStep } from "../prepare-hosts.js";
import { CERT_KEY, INIT_CONFIG_PATH, joinKubeadmNode, newCertificateKey } from "./join.js";
import { kubeadmHostSteps } from "./prepare.js";
import type { ClusterPlanInput } from "../install-microk8s.js";

export interface KubeadmPlanInput extends ClusterPlanInput {
  state: KubeadmClusterState;
  /** VIP:PORT every API client (and kubeadm) uses. */
  controlPlaneEndpoint: string;
  /** The CNI manifest's text (spec.distribution.cni.manifest), or undefined for the bundled Calico URL. */
  cniManifest: string | undefined;
  /** Install packages and images from this offline bundle on nodes not in the cluster yet; nothing is fetched. */
  bundle?: LocalBundle;
}

const ETCD_CLIENT = { pkg: "etcd-client", command: "etcdctl" };

/**
 * Pure: the whole kubeadm install (or what is left of it) as phases: hosts prepared in parallel, the load
 * balancers first (kubeadm init needs the endpoint), init on the first control plane, the CNI, then
 * control planes one at a time (etcd adds one member at a time) and the workers in parallel.
 */
export function planKubeadmInstall(input: KubeadmPlanInput): Plan {
  const { spec, state } = input;
  const dist = spec.spec.distribution;
  if (dist.type !== "kubeadm") return [];
  const nodes = spec.spec.nodes;
  const leader = nodes.find((n) => n.name === state.leader) ?? nodes.find((n) => n.role === "control-plane");
  if (!leader) return [];
  const external = spec.spec.loadBalancer.external?.hosts ?? [];
  const entries = [...nodes, ...external].map((n) => ({ name: n.name, address: n.address }));

  const prepare: Step[] = [];
  for (const m of [...nodes, ...external]) {
    if (input.hostsEntriesFor.has(m.name)) prepare.push(hostsEntriesStep(m.name, entries));
    if (input.nonlocalBind.has(m.name)) prepare.push(nonlocalBindStep(m.name));
    const facts = input.facts.get(m.name);
    const isCp = nodes.some((n) => n.name === m.name && n.role === "control-plane");
    const pkgs = [...(input.lbPackages.get(m.name) ?? []), ...(isCp ? [ETCD_CLIENT] : [])];
    const step = facts && pkgs.length ? packagesStep(m.name, facts, pkgs) : undefined;
    if (step) prepare.push(step);
  }
  for (const n of nodes) {
    const fromBundle = input.bundle && !state.installed.has(n.name) ? input.bundle : undefined;
    prepare.push(...kubeadmHostSteps(n.name, dist.version, fromBundle));
  }

  const lb: Step[] = [...input.lbFiles].map(([name, files]) => lbStep(name, files));
  const initialized = state.leader !== undefined;
  const bootstrap: Step[] = [];
  if (!initialized) bootstrap.push(initStep(leader, input));
  bootstrap.push(cniStep(leader.name, input.cniManifest, input.bundle !== undefined));

  const missing = nodes.filter((n) => n.name !== leader.name && !isKubeadmMember(state, n));
  const join = (n: NodeSpec): Step => joinStep(n, leader, input);
  return [
    { title: "Prepare hosts", mode: "parallel", steps: prepare },
    { title: "Configure load balancers", mode: "parallel", steps: lb },
    { title: "Initialise the control plane", mode: "serial", steps: bootstrap },
    {
      title: "Join control-plane nodes",
      mode: "serial",
      steps: missing.filter((n) => n.role === "control-plane").map(join),
    },
    { title: "Join workers", mode: "parallel", steps: missing.filter((n) => n.role === "worker").map(join) },
  ] satisfies Phase[];
}

function initStep(leader: NodeSpec, input: KubeadmPlanInput): Step {
  const dist = input.spec.spec.distribution;
  const cidr = dist.type === "kubeadm" ? dist.podNetworkCidr : "";
  return {
    id: `init:${leader.name}`,
    node: leader.name,
    title: "kubeadm init (stacked etcd)",
    describe: [
      `kubeadm init --control-plane-endpoint ${input.controlPlaneEndpoint} --upload-certs --pod-network-cidr ${cidr} (as a 0600 config file)`,
      "skipped when /etc/kubernetes/admin.conf exists",
    ],
    async run(ctx) {
      const host = need(ctx.hosts, leader.name);
      if ((await host.exec({ argv: ["test", "-f", "/etc/kubernetes/admin.conf"], sudo: true })).code === 0)
        return "unchanged";
      const key = newCertificateKey();
      const config = initConfiguration({
        version: dist.version,
        nodeName: leader.name,
        address: leader.address,
        controlPlaneEndpoint: input.controlPlaneEndpoint,
        podNetworkCidr: cidr,
        serviceCidr: dist.type === "kubeadm" ? dist.serviceCidr : undefined,
        certificateKey: key,
      });
      const started = Date.now();
      await host.writeFile(INIT_CONFIG_PATH, config, { mode: 0o600, sudo: true });
      let res;
      try {
        res = await host.exec(kubeadm.init(INIT_CONFIG_PATH), { signal: ctx.signal });
      } finally {
        await host.exec({ argv: ["rm", "-f", INIT_CONFIG_PATH], sudo: true });
      }
      if (res.code !== 0) {
        throw new HactlError("COMMAND_FAILED", `kubeadm init failed on ${leader.name} (exit ${res.code})`, {
          node: leader.name,
          details: redact(`${res.stdout}\n${res.stderr}`.trim().split("\n").slice(-6).join("\n")),
          remedy: `Fix the cause above, run 'kubeadm reset -f' on ${leader.name}, then run the same command again.`,
        });
      }
      ctx.values.set(CERT_KEY, { key, uploadedAt: started });
      return "changed";
    },
  };
}

function cniStep(leader: string, manifest: string | undefined, fromBundle: boolean): Step {
  const source = fromBundle ? "the offline bundle" : "cluster.yaml";
  return {
    id: `cni:${leader}`,
    node: leader,
    title: manifest === undefined ? "apply the Calico CNI" : `apply the CNI manifest from ${source}`,
    describe: [
      manifest === undefined
        ? `kubectl apply -f ${CALICO_MANIFEST_URL}`
        : `kubectl apply -f - (${fromBundle ? "the bundle's CNI manifest" : "spec.distribution.cni.manifest"})`,
    ],
    async run(ctx) {
      const host = need(ctx.hosts, leader);
      const res = await host.run(
        manifest === undefined ? kubeadm.applyUrl(CALICO_MANIFEST_URL) : kubeadm.applyStdin(manifest),
        { signal: ctx.signal },
      );
      return applyChanged(res.stdout) ? "changed" : "unchanged";
    },
  };
}

/** Pure: did `kubectl apply` create or change anything (any line not ending in "unchanged")? */
export function applyChanged(stdout: string): boolean {
  return stdout.split("\n").some((l) => l.trim() !== "" && !/\bunchanged$/.test(l.trim()));
}

function joinStep(node: NodeSpec, leader: NodeSpec, input: KubeadmPlanInput): Step {
  const cp = node.role === "control-plane";
  return {
    id: `join:${node.name}`,
    node: node.name,
    title: `join as ${node.role}`,
    describe: [
      `on ${leader.name}: kubeadm token create --print-join-command (fresh token, captured)`,
      ...(cp
        ? [
            `on ${leader.name}: kubeadm init phase upload-certs --upload-certs when the certificate key may have expired`,
          ]
        : []),
      `kubeadm join --config <0600 JoinConfiguration>${cp ? " (control plane)" : ""}`,
      `wait until Ready${cp ? " and a voting etcd member" : ""}; on failure: remove its etcd member, kubeadm reset -f, retry`,
    ],
    async run(ctx) {
      const certs = await joinKubeadmNode({
        leader: need(ctx.hosts, leader.name),
        node: need(ctx.hosts, node.name),
        spec: node,
        version: input.spec.spec.distribution.version,
        certs: ctx.values.get(CERT_KEY) ?? {},
        attempts: input.joinAttempts,
        readyTimeoutMs: 5 * 60_000,
        signal: ctx.signal,
        log: ctx.log,
      });
      if (cp) ctx.values.set(CERT_KEY, certs);
      return "changed";
    },
  };
}
