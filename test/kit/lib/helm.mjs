// `helm` (MicroK8s' `microk8s helm3`) stand-in backed by the kit's store: `upgrade --install` from a local
// chart directory or .tgz, or with `--repo URL [--version V]` from the one chart repository the lab answers
// offline (csi-driver-nfs's, see charts/), values from `-f` files then `--set a.b=v`; `get manifest`,
// `uninstall`, `version`. Templates are rendered for the
// substitutions test charts use ({{ .Values.a.b }}, {{ .Release.Name }}, {{ .Release.Namespace }},
// {{ .Chart.Name }}, {{ .Chart.Version }}, optionally `| quote`); output lines and exit codes follow helm's.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect } from "./kubectl.mjs";
import { K, applyObject, kindInfo, namespaceExists, withStore } from "./store.mjs";
import { fail, out, parseArgs } from "./util.mjs";

const VALUED = ["n", "namespace", "f", "values", "timeout", "kubeconfig", "version", "o", "output", "repo", "set"];

/** Chart repositories the lab answers without a network: URL → the charts it serves, by name. */
const OFFLINE_REPOS = new Map([
  [
    "https://raw.githubusercontent.com/kubernetes-csi/csi-driver-nfs/master/charts",
    new Map([["csi-driver-nfs", path.join(import.meta.dirname, "charts", "csi-driver-nfs")]]),
  ],
]);

/** The chart directory of `--repo URL CHART [--version V]`, or helm's error for a repository it cannot reach. */
async function repoChart(
  /** @type {string} */ url,
  /** @type {string} */ name,
  /** @type {string|undefined} */ version,
) {
  const repo = OFFLINE_REPOS.get(url.replace(/\/$/, ""));
  if (!repo) {
    let host = url;
    try {
      host = new URL(url).hostname;
    } catch {
      fail(1, `Error: could not find protocol handler for: ${url}`);
    }
    fail(
      1,
      `Error: looks like "${url}" is not a valid chart repository or cannot be reached: Get "${url.replace(/\/$/, "")}/index.yaml": dial tcp: lookup ${host}: no such host`,
    );
  }
  const dir = repo.get(name);
  if (!dir) fail(1, `Error: chart "${name}" not found in ${url} repository`);
  const chart = (await loadYaml()).parse(fs.readFileSync(path.join(dir, "Chart.yaml"), "utf8"));
  if (version && version !== chart.version && version !== String(chart.version).replace(/^v/, ""))
    fail(1, `Error: chart "${name}" version "${version}" not found in ${url} repository`);
  return dir;
}

/** `--set a.b=v,c=w` into a values object (strings, with true/false and integers typed as helm types them). */
function setValues(/** @type {string[]} */ sets) {
  /** @type {any} */
  const values = {};
  for (const pair of sets.flatMap((s) => s.split(","))) {
    const eq = pair.indexOf("=");
    if (eq <= 0) fail(1, `Error: failed parsing --set data: key "${pair}" has no value`);
    const keys = pair.slice(0, eq).split(".");
    const raw = pair.slice(eq + 1);
    const value = raw === "true" ? true : raw === "false" ? false : /^-?\d+$/.test(raw) ? Number(raw) : raw;
    let cur = values;
    for (const k of keys.slice(0, -1)) cur = cur[k] ??= {};
    cur[keys[keys.length - 1] ?? ""] = value;
  }
  return values;
}
const HELM_VERSION = "v3.14.0";

const loadYaml = async () => (await import("yaml")).default;
const releaseKey = (/** @type {string} */ ns, /** @type {string} */ name) => `/kit/helm/${ns}/${name}`;

/** @param {string[]} argv @param {{kubeconfig?: string}} [opts] */
export async function helmMain(argv, opts = {}) {
  const a = parseArgs(argv, VALUED);
  const [verb, ...pos] = a.positional;
  if (verb === "version") {
    out(
      a.has("short")
        ? `${HELM_VERSION}+gc309b6f`
        : `version.BuildInfo{Version:"${HELM_VERSION}", GitCommit:"c309b6f0ff63856811846ce18f3bdc93d2b4d54b", GitTreeState:"clean", GoVersion:"go1.21.7"}`,
    );
    return 0;
  }
  if (!verb) {
    out("The Kubernetes package manager\n\nUsage:\n  helm [command]");
    return 0;
  }
  await connect(a.get("kubeconfig") ?? opts.kubeconfig);
  const ns = a.get("n", "namespace") ?? "default";
  switch (verb) {
    case "upgrade":
      if (!a.has("install")) fail(1, "Error: the kit's helm supports upgrade --install only");
      return withStore((db) => upgradeInstall(db, pos, ns, a));
    case "get":
      if (pos[0] !== "manifest") fail(1, `Error: unknown command "${pos[0] ?? ""}" for "helm get"`);
      return withStore(async (db) => {
        const rel = await db.get(releaseKey(ns, pos[1] ?? ""));
        if (!rel) fail(1, "Error: release: not found");
        process.stdout.write(rel.manifest);
        return 0;
      });
    case "uninstall":
    case "delete":
      return withStore((db) => uninstall(db, pos[0] ?? "", ns));
    default:
      fail(1, `Error: unknown command "${verb}" for "helm"\nRun 'helm --help' for usage.`);
  }
}

/** A chart directory (or a .tgz unpacked into a temporary directory): Chart.yaml, values.yaml, templates. */
async function loadChart(/** @type {string} */ ref) {
  if (!fs.existsSync(ref)) fail(1, `Error: path "${ref}" not found`);
  let dir = ref;
  if (fs.statSync(ref).isFile()) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kit-helm-"));
    try {
      execFileSync("tar", ["-xzf", ref, "-C", tmp]);
    } catch {
      fail(1, `Error: file '${ref}' does not appear to be a gzipped archive; got 'application/octet-stream'`);
    }
    const top = fs.readdirSync(tmp).find((d) => fs.existsSync(path.join(tmp, d, "Chart.yaml")));
    if (!top) fail(1, "Error: Chart.yaml file is missing");
    dir = path.join(tmp, top);
  }
  const yaml = await loadYaml();
  if (!fs.existsSync(path.join(dir, "Chart.yaml"))) fail(1, `Error: Chart.yaml file is missing`);
  const chart = yaml.parse(fs.readFileSync(path.join(dir, "Chart.yaml"), "utf8")) ?? {};
  const values = fs.existsSync(path.join(dir, "values.yaml"))
    ? (yaml.parse(fs.readFileSync(path.join(dir, "values.yaml"), "utf8")) ?? {})
    : {};
  const tdir = path.join(dir, "templates");
  const templates = fs.existsSync(tdir)
    ? fs
        .readdirSync(tdir)
        .filter((f) => /\.(ya?ml|json)$/.test(f) && !f.startsWith("_"))
        .sort()
        .map((f) => ({ name: `${chart.name}/templates/${f}`, text: fs.readFileSync(path.join(tdir, f), "utf8") }))
    : [];
  return { chart, values, templates };
}

/** @param {any} base @param {any} over */
function merge(base, over) {
  if (
    typeof base !== "object" ||
    base === null ||
    Array.isArray(base) ||
    typeof over !== "object" ||
    over === null ||
    Array.isArray(over)
  )
    return over;
  const outv = { ...base };
  for (const [k, v] of Object.entries(over)) outv[k] = k in base ? merge(base[k], v) : v;
  return outv;
}

/** Renders {{ .Path }} and {{ .Path | quote }}; anything else is a template error as helm reports it. */
function render(
  /** @type {{name: string, text: string}} */ t,
  /** @type {any} */ scope,
  /** @type {string} */ failPrefix,
) {
  return t.text.replace(/\{\{-?\s*([^}]*?)\s*-?\}\}/g, (_m, expr, offset) => {
    const [ref, ...pipes] = String(expr)
      .split("|")
      .map((x) => x.trim());
    if (!/^\.[A-Za-z][\w.]*$/.test(ref ?? "") || pipes.some((p) => p !== "quote")) {
      const line = t.text.slice(0, offset).split("\n").length;
      fail(
        1,
        `Error: ${failPrefix}: parse error at (${t.name}:${line}): function "${String(ref).split(/\s/)[0]}" not defined`,
      );
    }
    let v = scope;
    for (const k of String(ref).slice(1).split(".")) v = v?.[k];
    const s = v === undefined || v === null ? "<no value>" : typeof v === "object" ? JSON.stringify(v) : String(v);
    return pipes.includes("quote") ? JSON.stringify(v === undefined || v === null ? "" : s) : s;
  });
}

/** @param {import("./etcd.mjs").Etcd} db @param {string[]} pos @param {string} ns @param {ReturnType<typeof parseArgs>} a */
async function upgradeInstall(db, pos, ns, a) {
  const [name, chartRef] = pos;
  if (!name || !chartRef)
    fail(1, `Error: "helm upgrade" requires 2 arguments\n\nUsage:  helm upgrade [RELEASE] [CHART] [flags]`);
  const prev = await db.get(releaseKey(ns, name));
  const failPrefix = prev ? "UPGRADE FAILED" : "INSTALLATION FAILED";
  const repo = a.get("repo");
  const {
    chart,
    values: defaults,
    templates,
  } = await loadChart(repo ? await repoChart(repo, chartRef, a.get("version")) : chartRef);
  const yaml = await loadYaml();
  let values = defaults;
  for (const f of [...a.all("f"), ...a.all("values")]) {
    if (!fs.existsSync(f)) fail(1, `Error: open ${f}: no such file or directory`);
    values = merge(values, yaml.parse(fs.readFileSync(f, "utf8")) ?? {});
  }
  values = merge(values, setValues(a.all("set")));
  if (!(await namespaceExists(db, ns))) {
    if (!a.has("create-namespace"))
      fail(1, `Error: ${failPrefix}: create: failed to create: namespaces "${ns}" not found`);
    await applyObject(db, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: ns, labels: { "kubernetes.io/metadata.name": ns } },
    });
  }
  const scope = {
    Values: values,
    Release: { Name: name, Namespace: ns, Revision: (prev?.revision ?? 0) + 1 },
    Chart: { Name: chart.name, Version: chart.version },
  };
  const rendered = templates.map((t) => ({ name: t.name, text: render(t, scope, failPrefix) }));
  /** @type {any[]} */
  const docs = [];
  for (const r of rendered) {
    for (const d of yaml.parseAllDocuments(r.text)) {
      const v = d.toJSON();
      if (!v) continue;
      if (!v.kind || !v.apiVersion || !v.metadata?.name)
        fail(
          1,
          `Error: ${failPrefix}: unable to build kubernetes objects from release manifest: error validating "": error validating data: [apiVersion not set, kind not set]`,
        );
      if (!kindInfo(v.kind, v.apiVersion).cluster) v.metadata.namespace ??= ns;
      v.metadata.labels = { ...(v.metadata.labels ?? {}), "app.kubernetes.io/managed-by": "Helm" };
      v.metadata.annotations = {
        ...(v.metadata.annotations ?? {}),
        "meta.helm.sh/release-name": name,
        "meta.helm.sh/release-namespace": ns,
      };
      docs.push({ source: r.name, obj: v });
    }
  }
  for (const d of docs) await applyObject(db, d.obj);
  const keyOf = (/** @type {any} */ o) =>
    K.obj(o.kind, kindInfo(o.kind, o.apiVersion).cluster ? "" : o.metadata.namespace, o.metadata.name);
  const kept = new Set(docs.map((d) => keyOf(d.obj)));
  for (const key of prev?.objects ?? []) if (!kept.has(key)) await db.del(key);
  const manifest = docs.map((d) => `---\n# Source: ${d.source}\n${yaml.stringify(d.obj)}`).join("");
  const revision = (prev?.revision ?? 0) + 1;
  await db.put(releaseKey(ns, name), {
    name,
    namespace: ns,
    revision,
    chart: `${chart.name}-${chart.version}`,
    manifest,
    objects: [...kept],
    updated: new Date().toISOString(),
  });
  out(
    prev
      ? `Release "${name}" has been upgraded. Happy Helming!`
      : `Release "${name}" does not exist. Installing it now.`,
  );
  out(
    `NAME: ${name}\nLAST DEPLOYED: ${new Date().toUTCString()}\nNAMESPACE: ${ns}\nSTATUS: deployed\nREVISION: ${revision}\nTEST SUITE: None`,
  );
  return 0;
}

/** @param {import("./etcd.mjs").Etcd} db */
async function uninstall(db, /** @type {string} */ name, /** @type {string} */ ns) {
  if (!name)
    fail(
      1,
      'Error: "helm uninstall" requires at least 1 argument\n\nUsage:  helm uninstall RELEASE_NAME [...] [flags]',
    );
  const rel = await db.get(releaseKey(ns, name));
  if (!rel) fail(1, `Error: uninstall: Release not loaded: ${name}: release: not found`);
  for (const key of rel.objects) await db.del(key);
  await db.del(releaseKey(ns, name));
  out(`release "${name}" uninstalled`);
  return 0;
}
