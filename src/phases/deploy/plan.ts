/**
 * spec.deploy, decided: which items are new, changed or unchanged against the record kept in the
 * cluster, in the spec's order, and the short diff a --dry-run shows. Pure: inputs (files already read
 * and hashed, secret values already digested) and the record in, decisions out.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { HactlError } from "../../core/errors.js";

/** One input file of an item, as it is staged on the control plane. */
export interface InputFile {
  /** The path as cluster.yaml names it (or the file's path inside a named directory), for messages. */
  readonly path: string;
  /** Where it goes inside the item's staging directory. */
  readonly staged: string;
  readonly sha256: string;
  readonly data: Buffer;
}

/** Everything that decides what an item applies; the checksum covers all of it. */
export interface ItemInputs {
  readonly name: string;
  readonly type: "manifests" | "chart";
  readonly namespace: string | undefined;
  /** Helm release (charts only). */
  readonly release: string | undefined;
  /** The chart's version from Chart.yaml (charts only). */
  readonly chartVersion: string | undefined;
  readonly files: readonly InputFile[];
  /** Resources of the generated kustomization (manifests) or the chart path and values files (charts), relative to the staging directory. */
  readonly resources: readonly string[];
  /** sha256 over the resolved secret values (never the values); undefined when the item has none. */
  readonly secretDigest: string | undefined;
  /** Objects as `kind.group/name`, when they are known without rendering (plain manifest files only). */
  readonly objects: readonly string[] | undefined;
  readonly timeoutSeconds: number;
}

/** What the record in the cluster keeps per item: checksums and names, never values. */
export const recordEntrySchema = z.object({
  item: z.string(),
  type: z.enum(["manifests", "chart"]),
  checksum: z.string(),
  files: z.record(z.string(), z.string()),
  revision: z.number().int(),
  chartVersion: z.string().optional(),
  namespace: z.string().optional(),
  release: z.string().optional(),
  objects: z.array(z.string()),
  appliedAt: z.string(),
  by: z.string(),
});
export type RecordEntry = z.output<typeof recordEntrySchema>;

export function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The checksum of an item's inputs: its settings, each file's path and content hash, and its secret digest. */
export function itemChecksum(item: Omit<ItemInputs, "objects" | "data">): string {
  const canonical = JSON.stringify({
    type: item.type,
    namespace: item.namespace ?? null,
    release: item.release ?? null,
    resources: item.resources,
    files: item.files.map((f) => [f.staged, f.sha256]),
    secrets: item.secretDigest ?? null,
  });
  return `sha256:${sha256(canonical)}`;
}

/** The digest of resolved secret values, keyed by value path; it is mixed into the checksum only. */
export function secretDigest(values: ReadonlyMap<string, string>): string | undefined {
  if (values.size === 0) return undefined;
  return sha256(JSON.stringify([...values.entries()].sort(([a], [b]) => a.localeCompare(b))));
}

export type ItemState = "new" | "changed" | "unchanged";

export interface ItemDiff {
  readonly filesAdded: readonly string[];
  readonly filesChanged: readonly string[];
  readonly filesRemoved: readonly string[];
  /** Known for plain manifest files only. */
  readonly objectsAdded: readonly string[] | undefined;
  readonly objectsRemoved: readonly string[] | undefined;
  /** The checksum changed though no file did: settings or secret values. */
  readonly settingsChanged: boolean;
}

export interface PlannedItem {
  readonly inputs: ItemInputs;
  readonly checksum: string;
  readonly state: ItemState;
  readonly recorded: RecordEntry | undefined;
  readonly diff: ItemDiff | undefined;
}

function diffOf(inputs: ItemInputs, recorded: RecordEntry): ItemDiff {
  const now = new Map(inputs.files.map((f) => [f.path, f.sha256]));
  const before = new Map(Object.entries(recorded.files));
  const filesAdded = [...now.keys()].filter((p) => !before.has(p));
  const filesChanged = [...now.entries()].filter(([p, h]) => before.has(p) && before.get(p) !== h).map(([p]) => p);
  const filesRemoved = [...before.keys()].filter((p) => !now.has(p));
  const objects = inputs.objects;
  return {
    filesAdded,
    filesChanged,
    filesRemoved,
    objectsAdded: objects?.filter((o) => !recorded.objects.includes(o)),
    objectsRemoved: objects ? recorded.objects.filter((o) => !objects.includes(o)) : undefined,
    settingsChanged: filesAdded.length + filesChanged.length + filesRemoved.length === 0,
  };
}

/**
 * Each item of spec.deploy (or only the named ones, still in the spec's order) against the record.
 * An unknown name is a usage error naming the items that exist.
 */
export function planDeploy(
  items: readonly ItemInputs[],
  record: ReadonlyMap<string, RecordEntry>,
  names: readonly string[] = [],
): PlannedItem[] {
  const unknown = names.filter((n) => !items.some((i) => i.name === n));
  if (unknown.length > 0) {
    throw new HactlError(
      "USAGE",
      `spec.deploy has no item ${unknown.map((n) => `'${n}'`).join(", ")}; its items are: ${items.length > 0 ? items.map((i) => i.name).join(", ") : "(none)"}`,
      {
        remedy: "Name items of spec.deploy in cluster.yaml, or run `hactl deploy` without names for all of them.",
      },
    );
  }
  return items
    .filter((i) => names.length === 0 || names.includes(i.name))
    .map((inputs) => {
      const checksum = itemChecksum(inputs);
      const recorded = record.get(inputs.name);
      const state: ItemState = !recorded ? "new" : recorded.checksum === checksum ? "unchanged" : "changed";
      return {
        inputs,
        checksum,
        state,
        recorded,
        diff: recorded && state === "changed" ? diffOf(inputs, recorded) : undefined,
      };
    });
}

/** The items a run applies, in order. */
export function itemsToApply(plan: readonly PlannedItem[]): PlannedItem[] {
  return plan.filter((p) => p.state !== "unchanged");
}

/** The --dry-run lines: per item its state, and for a changed one what changed. */
export function describeDeployPlan(plan: readonly PlannedItem[]): string[] {
  const lines: string[] = [];
  for (const p of plan) {
    const what =
      p.inputs.type === "chart"
        ? `chart, release ${p.inputs.release ?? p.inputs.name} in ${p.inputs.namespace ?? "?"}`
        : `manifests${p.inputs.namespace ? ` in ${p.inputs.namespace}` : ""}`;
    lines.push(`${p.inputs.name} (${what}): ${p.state}`);
    if (p.state === "new" && p.inputs.objects) lines.push(...p.inputs.objects.map((o) => `  + ${o}`));
    const d = p.diff;
    if (!d) continue;
    lines.push(
      ...d.filesAdded.map((f) => `  file added: ${f}`),
      ...d.filesChanged.map((f) => `  file changed: ${f}`),
      ...d.filesRemoved.map((f) => `  file removed: ${f}`),
    );
    if (d.settingsChanged) lines.push("  settings or secret values changed");
    lines.push(
      ...(d.objectsAdded ?? []).map((o) => `  + ${o}`),
      ...(d.objectsRemoved ?? []).map(
        (o) => `  - ${o} (left in place: hactl deploy --remove ${p.inputs.name} deletes what the item created)`,
      ),
    );
  }
  return lines;
}

/** The dry run as JSON. */
export function deployPlanJson(plan: readonly PlannedItem[]): unknown {
  return plan.map((p) => ({
    item: p.inputs.name,
    type: p.inputs.type,
    state: p.state,
    checksum: p.checksum,
    ...(p.diff ? { diff: p.diff } : {}),
  }));
}

/** The record entry written after an item succeeded. */
export function recordEntryFor(p: PlannedItem, objects: readonly string[], appliedAt: Date, by: string): RecordEntry {
  return {
    item: p.inputs.name,
    type: p.inputs.type,
    checksum: p.checksum,
    files: Object.fromEntries(p.inputs.files.map((f) => [f.path, f.sha256])),
    revision: (p.recorded?.revision ?? 0) + 1,
    ...(p.inputs.chartVersion ? { chartVersion: p.inputs.chartVersion } : {}),
    ...(p.inputs.namespace ? { namespace: p.inputs.namespace } : {}),
    ...(p.inputs.release ? { release: p.inputs.release } : {}),
    objects: [...objects],
    appliedAt: appliedAt.toISOString(),
    by,
  };
}

/** `kind.group/name` as kubectl prints an object (`deployment.apps/web`, `service/web`). */
export function objectRef(kind: string, apiVersion: string, name: string): string {
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
  return `${kind.toLowerCase()}${group ? `.${group}` : ""}/${name}`;
}

/** The object refs kubectl's apply printed (`deployment.apps/web serverside-applied`). */
export function appliedObjects(stdout: string): string[] {
  return stdout
    .split("\n")
    .map((l) => /^(\S+\/\S+) (?:serverside-applied|created|configured|unchanged)$/.exec(l.trim())?.[1])
    .filter((x): x is string => x !== undefined);
}

/** The resource types of recorded objects, for a delete by label: `deployment.apps,service`. */
export function resourceTypes(objects: readonly string[]): string[] {
  return [...new Set(objects.map((o) => o.slice(0, o.indexOf("/"))).filter((t) => t !== ""))];
}
