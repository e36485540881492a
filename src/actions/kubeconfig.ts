/**
 * `hactl kubeconfig`: the admin kubeconfig fetched again over SSH from the first control plane that
 * answers, named after the cluster and pointing at the VIP (or the external load balancer), written
 * 0600 to its own file or merged by name into ~/.kube/config.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { RunContext } from "../core/context.js";
import { HactlError, errnoCode } from "../core/errors.js";
import { writeFileAtomic } from "../core/local-file.js";
import { registerSecret } from "../core/secrets.js";
import { byDistribution, driverFor } from "../distros/registry.js";
import { kubeconfigSecrets, mergeKubeconfig, nameKubeconfig } from "../phases/kubeconfig.js";
import { loadSpecFile } from "../spec/parse.js";
import type { ClusterSpec } from "../spec/schema.js";
import { apiEndpoint } from "./converge-stages.js";
import { controlPlaneEndpoint } from "./kubeadm/converge.js";
import { openSession } from "./session.js";

export interface KubeconfigOptions {
  file: string;
  out?: string | undefined;
  merge: boolean;
}

/** Writes the kubeconfig 0600 (even when it existed), atomically; an unwritable path is a usage error. */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(path, text, { mode: 0o600, createDir: true });
  } catch (e) {
    const code = errnoCode(e) ?? "unknown error";
    throw new HactlError("USAGE", `cannot write ${path} (${code})`, {
      remedy: "Choose another file with --out, or fix the directory's permissions.",
      cause: e,
    });
  }
}

async function fetchAdminKubeconfig(spec: ClusterSpec, ctx: RunContext): Promise<{ text: string; from: string }> {
  const controlPlanes = spec.spec.nodes.filter((n) => n.role === "control-plane");
  const session = await openSession(spec, controlPlanes, ctx, { tolerateUnreachable: true });
  try {
    const tried: string[] = [];
    const driver = driverFor(spec);
    for (const node of controlPlanes) {
      const host = session.hosts.get(node.name);
      if (!host) continue;
      const got = await driver.adminKubeconfig(host);
      if ("text" in got) return { text: got.text, from: node.name };
      tried.push(`${node.name}: ${got.missing}`);
    }
    throw new HactlError("UNHEALTHY", "no control plane could give the admin kubeconfig", {
      details: [...session.unreachable.map((e) => `${e.node ?? "?"}: not reachable: ${e.message}`), ...tried].join(
        "\n",
      ),
      remedy: "Check the control planes with `hactl status`; the cluster must be installed (hactl install) first.",
    });
  } finally {
    await session.close();
  }
}

export async function runKubeconfig(opts: KubeconfigOptions, ctx: RunContext): Promise<number> {
  const { spec } = await loadSpecFile(opts.file);
  const name = spec.metadata.name;
  const endpoint = byDistribution(spec, { kubeadm: controlPlaneEndpoint, microk8s: apiEndpoint })(spec);
  const fetched = await fetchAdminKubeconfig(spec, ctx);
  for (const secret of kubeconfigSecrets(fetched.text)) registerSecret(secret);
  const named = nameKubeconfig(fetched.text, name, endpoint);
  const server = endpoint
    ? `https://${endpoint.host}:${endpoint.port}`
    : `the address of ${fetched.from} (no VIP or load balancer in cluster.yaml)`;
  if (!opts.merge) {
    const out = resolve(opts.out ?? `${name}.kubeconfig`);
    await writePrivateFile(out, named.text);
    ctx.reporter.result({ cluster: name, file: out, server, from: fetched.from, merged: false });
    ctx.reporter.info(
      `Wrote ${out} (mode 0600): context ${named.context}, server ${server}, fetched from ${fetched.from}.\nNext: KUBECONFIG=${out} kubectl get nodes`,
    );
    return 0;
  }
  const target = resolve(opts.out ?? join(homedir(), ".kube", "config"));
  const existing = await readFile(target, "utf8").catch((e: unknown) => {
    if (errnoCode(e) === "ENOENT") return "";
    throw new HactlError("USAGE", `cannot read ${target}`, {
      remedy: "Fix its permissions, or merge into another file with --out.",
      cause: e,
    });
  });
  const merged = mergeKubeconfig(existing, named, target);
  await writePrivateFile(target, merged.text);
  const how =
    merged.replaced.length > 0
      ? `replaced the ${merged.replaced.join(", ")} named ${name}`
      : `added cluster ${name}, user ${named.user} and context ${name}`;
  ctx.reporter.result({
    cluster: name,
    file: target,
    server,
    from: fetched.from,
    merged: true,
    replaced: merged.replaced,
    currentContextSet: merged.currentContextSet,
  });
  ctx.reporter.info(
    `Merged into ${target} (mode 0600): ${how}; other entries unchanged.\nNext: ${merged.currentContextSet ? "" : `kubectl config use-context ${name}, then `}kubectl get nodes`,
  );
  return 0;
}
