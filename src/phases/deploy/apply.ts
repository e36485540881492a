/**
 * Doing spec.deploy on one control plane: an item's files travel as one archive over SFTP into a
 * private staging directory, kubectl applies them server-side (field manager hactl) or helm installs the
 * chart, hactl waits until the item's Deployments are ready, and the record is rewritten. The staging
 * directory (which may hold resolved secret values) is removed after every item, success or not.
 */
import { parseAllDocuments, stringify } from "yaml";
import { z } from "zod";
import type { Command } from "../../core/command.js";
import { HactlError } from "../../core/errors.js";
import type { RemoteHost } from "../../core/host.js";
import { waitFor, type KubectlBuilder } from "../app/kube.js";
import { writeTarGz } from "../tar.js";
import { SECRET_VALUES_FILE, type ReadItem } from "./inputs.js";
import { appliedObjects, objectRef, resourceTypes, type ItemInputs, type RecordEntry } from "./plan.js";
import {
  FIELD_MANAGER,
  ITEM_LABEL,
  MANAGED_BY,
  RECORD_LABEL,
  RECORD_NAMESPACE,
  parseRecord,
  recordManifest,
} from "./record.js";

export const STAGING_ROOT = "/var/lib/hactl/deploy";

/** How the control plane runs kubectl and helm (the distribution's). */
export interface DeployTarget {
  readonly host: RemoteHost;
  readonly kubectl: KubectlBuilder;
  readonly helm: (...args: string[]) => Command;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
}

/** The kustomization hactl writes around a manifests item: its resources, its namespace, its owner label. */
export function kustomizationFor(inputs: ItemInputs): string {
  return stringify({
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    ...(inputs.namespace ? { namespace: inputs.namespace } : {}),
    resources: [...inputs.resources],
    labels: [{ pairs: { [ITEM_LABEL]: inputs.name, ...MANAGED_BY } }],
  });
}

/** `kubectl apply --server-side` arguments hactl always uses. */
export function serverSideApply(...args: string[]): string[] {
  return ["apply", "--server-side", `--field-manager=${FIELD_MANAGER}`, "--force-conflicts", ...args];
}

/** The helm arguments that install or upgrade a chart item from its staging directory. */
export function helmUpgradeArgs(inputs: ItemInputs, dir: string, timeoutSeconds: number): string[] {
  const [chart, ...values] = inputs.resources;
  return [
    "upgrade",
    "--install",
    inputs.release ?? inputs.name,
    `${dir}/${chart ?? "chart"}`,
    "--namespace",
    inputs.namespace ?? "default",
    "--create-namespace",
    ...values.flatMap((v) => ["-f", `${dir}/${v}`]),
    "--timeout",
    `${timeoutSeconds}s`,
  ];
}

const STAGE_SCRIPT = [
  "set -e",
  "umask 077",
  'rm -rf -- "$1"',
  'mkdir -p -- "$1"',
  'tar -xzf "$2" -C "$1"',
  'rm -f -- "$2"',
].join("\n");
const UNSTAGE_SCRIPT = 'rm -rf -- "$1"';

async function stage(t: DeployTarget, read: ReadItem, dir: string): Promise<void> {
  const files = read.inputs.files.map((f) => ({ name: f.staged, data: f.data }));
  if (read.inputs.type === "manifests")
    files.push({ name: "kustomization.yaml", data: Buffer.from(kustomizationFor(read.inputs)) });
  if (read.secretValues !== undefined) files.push({ name: SECRET_VALUES_FILE, data: Buffer.from(read.secretValues) });
  const archive = `${dir}.tgz`;
  await t.host.run({ argv: ["mkdir", "-p", "-m", "0700", STAGING_ROOT], sudo: true });
  await t.host.writeFile(archive, writeTarGz(files), { mode: 0o600, sudo: true });
  await t.host.run({ argv: ["sh", "-c", STAGE_SCRIPT, "hactl-stage", dir, archive], sudo: true });
}

const deploymentList = z.object({
  items: z.array(
    z.object({
      metadata: z.object({ name: z.string(), namespace: z.string().optional() }),
      spec: z.object({ replicas: z.number().optional() }).optional(),
      status: z.object({ readyReplicas: z.number().optional(), updatedReplicas: z.number().optional() }).optional(),
    }),
  ),
});

interface Workload {
  namespace: string;
  name: string;
}

/** Each Deployment's readiness line and whether all are ready. */
export function readiness(stdout: string, want: readonly Workload[]): { done: boolean; line: string } {
  const items = deploymentList.parse(JSON.parse(stdout)).items;
  const parts: string[] = [];
  let done = true;
  for (const w of want) {
    const d = items.find((x) => x.metadata.name === w.name && (x.metadata.namespace ?? w.namespace) === w.namespace);
    const replicas = d?.spec?.replicas ?? 1;
    const ready = d?.status?.readyReplicas ?? 0;
    const updated = d?.status?.updatedReplicas ?? 0;
    if (!d || ready < replicas || updated < replicas) done = false;
    parts.push(`${w.namespace}/${w.name} ${d ? `${ready}/${replicas} ready` : "missing"}`);
  }
  return { done, line: parts.join(", ") };
}

async function waitReady(
  t: DeployTarget,
  item: string,
  workloads: readonly Workload[],
  timeoutSeconds: number,
): Promise<void> {
  if (workloads.length === 0) return;
  await waitFor(
    `the Deployments of ${item}`,
    async () =>
      readiness(
        (await t.host.run(t.kubectl("get", "deployments", "--all-namespaces", "-o", "json"))).stdout,
        workloads,
      ),
    {
      timeoutMs: timeoutSeconds * 1000,
      signal: t.signal,
      intervalMs: 1000,
      progress: t.log,
      remedy: `See why: ${t.kubectl("get", "pods", "--all-namespaces").argv.join(" ")} and describe the pods that are not ready; fix the item and run hactl deploy ${item} again (it is not recorded, so it is applied again).`,
    },
  );
}

/** Workloads named by manifests YAML (helm get manifest output), with their namespace. */
export function workloadsIn(
  manifest: string,
  defaultNamespace: string,
): { objects: string[]; deployments: Workload[] } {
  const objects: string[] = [];
  const deployments: Workload[] = [];
  for (const doc of parseAllDocuments(manifest)) {
    const v = doc.toJSON() as {
      kind?: unknown;
      apiVersion?: unknown;
      metadata?: { name?: unknown; namespace?: unknown };
    } | null;
    if (!v || typeof v.kind !== "string" || typeof v.apiVersion !== "string" || typeof v.metadata?.name !== "string")
      continue;
    objects.push(objectRef(v.kind, v.apiVersion, v.metadata.name));
    if (v.kind === "Deployment")
      deployments.push({
        namespace: typeof v.metadata.namespace === "string" ? v.metadata.namespace : defaultNamespace,
        name: v.metadata.name,
      });
  }
  return { objects, deployments };
}

async function applyManifests(t: DeployTarget, inputs: ItemInputs, dir: string): Promise<string[]> {
  if (inputs.namespace) {
    const ns = JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: inputs.namespace } });
    await t.host.run({ ...t.kubectl(...serverSideApply("-f", "-")), stdin: ns });
  }
  const applied = await t.host.run({
    ...t.kubectl(...serverSideApply("-k", dir)),
    timeoutMs: inputs.timeoutSeconds * 1000,
  });
  t.log(applied.stdout.trim());
  const listed = await t.host.run(
    t.kubectl("get", "deployments", "--all-namespaces", "-l", `${ITEM_LABEL}=${inputs.name}`, "-o", "json"),
  );
  const deployments = deploymentList
    .parse(JSON.parse(listed.stdout))
    .items.map((d) => ({ namespace: d.metadata.namespace ?? inputs.namespace ?? "default", name: d.metadata.name }));
  await waitReady(t, inputs.name, deployments, inputs.timeoutSeconds);
  return appliedObjects(applied.stdout);
}

async function applyChart(t: DeployTarget, inputs: ItemInputs, dir: string): Promise<string[]> {
  const namespace = inputs.namespace ?? "default";
  const release = inputs.release ?? inputs.name;
  const out = await t.host.run({
    ...t.helm(...helmUpgradeArgs(inputs, dir, inputs.timeoutSeconds)),
    timeoutMs: (inputs.timeoutSeconds + 60) * 1000,
  });
  t.log(out.stdout.trim());
  const manifest = await t.host.run(t.helm("get", "manifest", release, "--namespace", namespace));
  const { objects, deployments } = workloadsIn(manifest.stdout, namespace);
  await waitReady(t, inputs.name, deployments, inputs.timeoutSeconds);
  return objects;
}

/** Stages, applies and waits for one item; returns the objects it applied. Staging is always removed. */
export async function applyItem(t: DeployTarget, read: ReadItem): Promise<string[]> {
  const dir = `${STAGING_ROOT}/${read.inputs.name}`;
  await stage(t, read, dir);
  try {
    return read.inputs.type === "manifests"
      ? await applyManifests(t, read.inputs, dir)
      : await applyChart(t, read.inputs, dir);
  } finally {
    await t.host.exec({ argv: ["sh", "-c", UNSTAGE_SCRIPT, "hactl-unstage", dir], sudo: true });
  }
}

/** Deletes what a recorded item created: its labelled objects, or its Helm release. */
export async function removeItem(t: DeployTarget, entry: RecordEntry): Promise<void> {
  if (entry.type === "chart") {
    await t.host.run(
      t.helm("uninstall", entry.release ?? entry.item, "--namespace", entry.namespace ?? "default", "--wait"),
    );
    return;
  }
  const types = resourceTypes(entry.objects);
  if (types.length === 0) return;
  const out = await t.host.run(
    t.kubectl(
      "delete",
      types.join(","),
      "--all-namespaces",
      "-l",
      `${ITEM_LABEL}=${entry.item}`,
      "--ignore-not-found",
      "--wait=true",
    ),
  );
  t.log(out.stdout.trim());
}

/** The record as the cluster holds it now (empty before the first deploy). */
export async function readRecord(host: RemoteHost, kubectl: KubectlBuilder): Promise<Map<string, RecordEntry>> {
  const out = await host.run(
    kubectl("get", "secrets", "--namespace", RECORD_NAMESPACE, "-l", `${RECORD_LABEL}=deploy`, "-o", "json"),
  );
  return parseRecord(out.stdout);
}

/** Rewrites the record with `change` applied to what the cluster holds now. */
export async function updateRecord(t: DeployTarget, change: (record: Map<string, RecordEntry>) => void): Promise<void> {
  const record = await readRecord(t.host, t.kubectl);
  change(record);
  await t.host.run({ ...t.kubectl(...serverSideApply("-f", "-")), stdin: recordManifest(record) });
}

export function deployError(item: string, cause: unknown): HactlError {
  const e = cause instanceof HactlError ? cause : undefined;
  return new HactlError(e?.code ?? "COMMAND_FAILED", `deploy item ${item} failed: ${e?.message ?? String(cause)}`, {
    ...(e?.node ? { node: e.node } : {}),
    ...(e?.details ? { details: e.details } : {}),
    remedy: `${e?.remedy ? `${e.remedy} ` : ""}Nothing after ${item} was applied and ${item} is not recorded; fix it and run hactl deploy again.`,
    cause,
  });
}
