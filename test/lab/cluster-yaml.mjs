// cluster.yaml documents for the lab: the same file an operator would write for real servers, with the
// lab's key, known_hosts and addresses filled in. Used by the demo, the end-to-end tests and the bench.

/**
 * @param {import("./lab.d.mts").Lab} lab
 * @param {{ name?: string, controlPlanes?: number, workers?: number, distribution?: "microk8s" | "kubeadm",
 *           lbMode?: "keepalived-haproxy" | "external" | "none", vip?: string, web?: boolean,
 *           extra?: string }} [opts]
 * @returns {string}
 */
export function labClusterYaml(lab, opts = {}) {
  const cps = opts.controlPlanes ?? 3;
  const workers = opts.workers ?? 0;
  const nodes = lab.nodes.slice(0, cps + workers);
  if (nodes.length < cps + workers) throw new Error(`the lab has ${lab.nodes.length} nodes, ${cps + workers} needed`);
  const mode = opts.lbMode ?? "keepalived-haproxy";
  const lines = [
    "apiVersion: hactl.dev/v1alpha1",
    "kind: Cluster",
    "metadata:",
    `  name: ${opts.name ?? "lab"}`,
    "spec:",
    "  distribution:",
    `    type: ${opts.distribution ?? "microk8s"}`,
    '    version: "1.29"',
    "  ssh:",
    "    user: root",
    `    identityFile: ${lab.sshKey}`,
    `    knownHostsFile: ${lab.knownHosts}`,
    "    useAgent: false",
    "  nodes:",
    ...nodes.map(
      (n, i) =>
        `    - { name: ${n.name}, address: ${n.address}, role: ${i < cps ? "control-plane" : "worker"}${nodeSsh(lab, n)} }`,
    ),
    "  loadBalancer:",
    `    mode: ${mode}`,
  ];
  const singleExternal = mode === "external" && lab.lbHosts.length < 2;
  if (mode !== "none" && !singleExternal) lines.push(`    vip: ${opts.vip ?? lab.vips[0]}`);
  if (opts.web) lines.push("    web: { enabled: true, port: 80, backendPort: 80 }");
  if (mode === "external") {
    lines.push(
      "    external:",
      "      engine: nginx",
      "      hosts:",
      ...lab.lbHosts.map((h) => `        - { name: ${h.name}, address: ${h.address} }`),
      "      ports:",
      "        - { port: 80, protocol: tcp }",
    );
  }
  if (opts.extra) lines.push(opts.extra);
  return `${lines.join("\n")}\n`;
}

/** The environment variable that carries the ops user's sudo password to hactl. */
export const OPS_SUDO_ENV = "HACTL_LAB_OPS_SUDO";

/**
 * The environment a hactl run against labClusterYaml's file needs (the ops user's sudo password, when a
 * node logs in as that user).
 * @param {import("./lab.d.mts").Lab} lab
 * @returns {Record<string, string>}
 */
export function labSecretEnv(lab) {
  return { [OPS_SUDO_ENV]: lab.opsUser.password };
}

/**
 * A node's `ssh:` override from its lab profile (port, login user), or "".
 * @param {import("./lab.d.mts").Lab} lab
 * @param {import("./lab.d.mts").LabNode} n
 */
function nodeSsh(lab, n) {
  /** @type {string[]} */
  const fields = [];
  if (n.sshPort && n.sshPort !== 22) fields.push(`port: ${n.sshPort}`);
  if (n.profile?.login === "ops") fields.push(`user: ${lab.opsUser.name}`, `sudoPassword: { env: ${OPS_SUDO_ENV} }`);
  return fields.length ? `, ssh: { ${fields.join(", ")} }` : "";
}
