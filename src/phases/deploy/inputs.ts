/**
 * Reading spec.deploy's inputs on this machine: manifest files and directories (Kustomize directories
 * whole), a chart directory or .tgz with its values files. Paths are relative to cluster.yaml's
 * directory. Each file is hashed; plain manifest files are parsed for the objects they hold.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, isAbsolute, join, relative, resolve } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { HactlError, errnoCode } from "../../core/errors.js";
import { expandHome } from "../../spec/secrets.js";
import type { DeploySpecItem } from "../../spec/schema.js";
import { readTarGz } from "../tar.js";
import { objectRef, secretDigest, sha256, type InputFile, type ItemInputs } from "./plan.js";

const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
const MANIFEST_EXT = /\.(ya?ml|json)$/;
/** The staged file holding the resolved secret values of a chart item (removed after the item). */
export const SECRET_VALUES_FILE = "secret-values.yaml";

function inputError(field: string, path: string, text: string, cause?: unknown): HactlError {
  return new HactlError("SPEC_INVALID", `${field}: ${path} ${text}`, {
    remedy: `Fix ${field} in cluster.yaml (paths are relative to cluster.yaml's directory).`,
    ...(cause === undefined ? {} : { cause }),
  });
}

async function kindOf(abs: string, field: string, shown: string): Promise<"file" | "dir"> {
  try {
    return (await stat(abs)).isDirectory() ? "dir" : "file";
  } catch (e) {
    throw inputError(field, shown, `cannot be read (${errnoCode(e) ?? "unknown error"})`, e);
  }
}

/** Every regular file under dir, relative paths, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

async function inputFile(abs: string, shown: string, staged: string): Promise<InputFile> {
  const data = await readFile(abs);
  return { path: shown, staged, sha256: sha256(data), data };
}

/** Objects of a plain manifest file as `kind.group/name`; a document without kind, apiVersion or name is an error. */
export function manifestObjects(text: string, shown: string): string[] {
  const out: string[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0)
      throw inputError("spec.deploy manifests", shown, `is not valid YAML: ${doc.errors[0]?.message ?? ""}`);
    const v: unknown = doc.toJSON();
    if (v === null || v === undefined) continue;
    const items = isList(v) ? v.items : [v];
    for (const o of items) {
      const m = o as { kind?: unknown; apiVersion?: unknown; metadata?: { name?: unknown } };
      if (typeof m.kind !== "string" || typeof m.apiVersion !== "string" || typeof m.metadata?.name !== "string") {
        throw inputError("spec.deploy manifests", shown, "holds a document without kind, apiVersion and metadata.name");
      }
      out.push(objectRef(m.kind, m.apiVersion, m.metadata.name));
    }
  }
  return out;
}

function isList(v: unknown): v is { items: unknown[] } {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as { kind?: unknown }).kind === "string" &&
    String((v as { kind: string }).kind).endsWith("List") &&
    Array.isArray((v as { items?: unknown }).items)
  );
}

function absolute(baseDir: string, p: string): string {
  const e = expandHome(p);
  return isAbsolute(e) ? e : resolve(baseDir, e);
}

async function manifestsInputs(
  item: DeploySpecItem,
  index: number,
  baseDir: string,
  paths: readonly string[],
): Promise<Pick<ItemInputs, "files" | "resources" | "objects">> {
  const files: InputFile[] = [];
  const resources: string[] = [];
  let objects: string[] | undefined = [];
  for (const [j, p] of paths.entries()) {
    const field = `spec.deploy[${index}].manifests[${j}]`;
    const abs = absolute(baseDir, p);
    const stagedRoot = `src/${j}-${basename(abs)}`;
    if ((await kindOf(abs, field, p)) === "file") {
      const f = await inputFile(abs, p, stagedRoot);
      objects?.push(...manifestObjects(f.data.toString("utf8"), p));
      files.push(f);
      resources.push(stagedRoot);
      continue;
    }
    const inside = await filesUnder(abs);
    if (inside.some((f) => KUSTOMIZATION_FILES.includes(f))) {
      for (const rel of inside) files.push(await inputFile(join(abs, rel), `${p}/${rel}`, `${stagedRoot}/${rel}`));
      resources.push(stagedRoot);
      objects = undefined;
      continue;
    }
    const manifests = inside.filter((f) => !f.includes("/") && MANIFEST_EXT.test(f));
    if (manifests.length === 0)
      throw inputError(field, p, "is a directory without manifests (*.yaml, *.yml, *.json) or kustomization.yaml");
    for (const rel of manifests) {
      const f = await inputFile(join(abs, rel), `${p}/${rel}`, `${stagedRoot}/${rel}`);
      objects?.push(...manifestObjects(f.data.toString("utf8"), f.path));
      files.push(f);
      resources.push(f.staged);
    }
  }
  return { files, resources, objects };
}

/** The chart's version from its Chart.yaml (in the directory, or the .tgz's top directory). */
function chartVersion(chartYaml: string | undefined): string | undefined {
  if (chartYaml === undefined) return undefined;
  const m = /^version:\s*["']?([^"'\s]+)/m.exec(chartYaml);
  return m?.[1];
}

async function chartInputs(
  item: DeploySpecItem,
  index: number,
  baseDir: string,
  chart: string,
): Promise<Pick<ItemInputs, "files" | "resources" | "chartVersion">> {
  const field = `spec.deploy[${index}].chart`;
  const abs = absolute(baseDir, chart);
  const files: InputFile[] = [];
  let version: string | undefined;
  let chartRef: string;
  if ((await kindOf(abs, field, chart)) === "dir") {
    const inside = await filesUnder(abs);
    if (!inside.includes("Chart.yaml")) throw inputError(field, chart, "is a directory without Chart.yaml");
    for (const rel of inside) files.push(await inputFile(join(abs, rel), `${chart}/${rel}`, `chart/${rel}`));
    version = chartVersion(files.find((f) => f.staged === "chart/Chart.yaml")?.data.toString("utf8"));
    chartRef = "chart";
  } else {
    const f = await inputFile(abs, chart, "chart.tgz");
    let entries;
    try {
      entries = readTarGz(f.data);
    } catch (e) {
      throw inputError(field, chart, "is neither a chart directory nor a readable .tgz", e);
    }
    const top = entries.find((e) => /^[^/]+\/Chart\.yaml$/.test(e.name));
    if (!top) throw inputError(field, chart, "is a .tgz without <chart>/Chart.yaml");
    version = chartVersion(top.data.toString("utf8"));
    files.push(f);
    chartRef = "chart.tgz";
  }
  const values: string[] = [];
  for (const [j, v] of (item.values ?? []).entries()) {
    const vAbs = absolute(baseDir, v);
    if ((await kindOf(vAbs, `spec.deploy[${index}].values[${j}]`, v)) === "dir")
      throw inputError(`spec.deploy[${index}].values[${j}]`, v, "is a directory, not a values file");
    const f = await inputFile(vAbs, v, `values/${j}-${basename(vAbs)}`);
    files.push(f);
    values.push(f.staged);
  }
  return { files, resources: [chartRef, ...values], chartVersion: version };
}

/** Nested values from dotted paths: `db.password` → { db: { password } }, as YAML. */
export function secretValuesYaml(values: ReadonlyMap<string, string>): string {
  const root: Record<string, unknown> = {};
  for (const [path, value] of values) {
    const keys = path.split(".");
    let cur = root;
    for (const k of keys.slice(0, -1)) {
      const next = cur[k];
      cur =
        typeof next === "object" && next !== null
          ? (next as Record<string, unknown>)
          : (cur[k] = {} as Record<string, unknown>);
    }
    cur[keys[keys.length - 1] ?? ""] = value;
  }
  return stringify(root);
}

export interface ReadItem {
  readonly inputs: ItemInputs;
  /** The staged secret values file's content (charts with secretValues), never hashed into the record alone. */
  readonly secretValues: string | undefined;
}

/** Reads one item's inputs; `secrets` are its resolved secretValues (already registered for redaction). */
export async function readItemInputs(
  item: DeploySpecItem,
  index: number,
  baseDir: string,
  secrets: ReadonlyMap<string, string>,
): Promise<ReadItem> {
  const common = {
    name: item.name,
    namespace: item.namespace,
    timeoutSeconds: item.timeoutSeconds,
    secretDigest: secretDigest(secrets),
  };
  if (item.manifests) {
    const m = await manifestsInputs(item, index, baseDir, item.manifests);
    return {
      inputs: { ...common, type: "manifests", release: undefined, chartVersion: undefined, ...m },
      secretValues: undefined,
    };
  }
  if (!item.chart)
    throw new HactlError(
      "INTERNAL",
      `spec.deploy[${index}] has neither manifests nor chart (validation lets no such item through)`,
    );
  const c = await chartInputs(item, index, baseDir, item.chart);
  const secretFile = secrets.size > 0 ? secretValuesYaml(secrets) : undefined;
  return {
    inputs: {
      ...common,
      type: "chart",
      release: item.release ?? item.name,
      ...c,
      resources: secretFile ? [...c.resources, SECRET_VALUES_FILE] : c.resources,
      objects: undefined,
    },
    secretValues: secretFile,
  };
}
