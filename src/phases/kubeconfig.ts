/**
 * Pure kubeconfig handling for `hactl kubeconfig`: name the admin kubeconfig's cluster, user and context
 * after the cluster and point its server at the VIP (or load balancer), then merge it into another
 * kubeconfig by name, leaving every other entry, comment and setting of that file as it was.
 */
import { Document, isMap, isSeq, parseDocument, type YAMLMap, type YAMLSeq } from "yaml";
import { HactlError } from "../core/errors.js";

const SECTIONS = [
  { key: "clusters", body: "cluster" },
  { key: "users", body: "user" },
  { key: "contexts", body: "context" },
] as const;

type Section = (typeof SECTIONS)[number]["key"];

export interface NamedKubeconfig {
  /** The kubeconfig text with one cluster, one user and one context, all named after the cluster. */
  text: string;
  cluster: string;
  user: string;
  context: string;
}

function parse(text: string, what: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || (doc.contents !== null && !isMap(doc.contents))) {
    throw new HactlError("USAGE", `${what} is not a kubeconfig (YAML mapping)`, {
      details: doc.errors.map((e) => `  ${e.message}`).join("\n") || undefined,
      remedy: `Fix or move ${what} aside and run again.`,
    });
  }
  return doc;
}

function entries(doc: Document, key: Section): YAMLMap[] {
  const seq = doc.get(key);
  if (seq === undefined || seq === null) return [];
  if (!isSeq(seq))
    throw new HactlError("USAGE", `the kubeconfig's ${key} is not a list`, {
      remedy: `Fix ${key} in the kubeconfig and run again.`,
    });
  return (seq as YAMLSeq).items.filter((i): i is YAMLMap => isMap(i));
}

/**
 * The admin kubeconfig as fetched from a control plane (one cluster, user and context), renamed to
 * `name` (user `name-admin`), its server set to https://HOST:PORT when an endpoint is given.
 */
export function nameKubeconfig(
  fetched: string,
  name: string,
  endpoint: { host: string; port: number } | undefined,
): NamedKubeconfig {
  const doc = parse(fetched, "the fetched admin kubeconfig");
  const [cluster] = entries(doc, "clusters");
  const [user] = entries(doc, "users");
  const [context] = entries(doc, "contexts");
  if (!cluster || !user || !context) {
    throw new HactlError("INTERNAL", "the admin kubeconfig on the control plane has no cluster, user or context", {
      remedy: "Check the distribution on the control plane (microk8s config, or /etc/kubernetes/admin.conf).",
    });
  }
  const userName = `${name}-admin`;
  cluster.set("name", name);
  user.set("name", userName);
  context.set("name", name);
  context.setIn(["context", "cluster"], name);
  context.setIn(["context", "user"], userName);
  if (endpoint) cluster.setIn(["cluster", "server"], `https://${endpoint.host}:${endpoint.port}`);
  const one = new Document({
    apiVersion: "v1",
    kind: "Config",
    clusters: [cluster.toJSON()],
    users: [user.toJSON()],
    contexts: [context.toJSON()],
    "current-context": name,
    preferences: {},
  });
  return { text: one.toString({ lineWidth: 0 }), cluster: name, user: userName, context: name };
}

export interface MergeResult {
  text: string;
  /** Entries of this cluster that existed and were replaced (by section). */
  replaced: Section[];
  /** current-context was unset and now names this cluster. */
  currentContextSet: boolean;
}

/**
 * `incoming` (from nameKubeconfig) merged into `existing`: its cluster, user and context replace the
 * entries of the same names or are appended; nothing else changes. current-context is set only when
 * the file had none. An empty or missing file becomes a new kubeconfig.
 */
export function mergeKubeconfig(existing: string, incoming: NamedKubeconfig, file: string): MergeResult {
  const target =
    existing.trim() === ""
      ? new Document({ apiVersion: "v1", kind: "Config", preferences: {} })
      : parse(existing, file);
  if (target.contents === null) target.contents = target.createNode({ apiVersion: "v1", kind: "Config" }) as YAMLMap;
  const source = parse(incoming.text, "the fetched kubeconfig");
  const replaced: Section[] = [];
  for (const { key } of SECTIONS) {
    const entry = entries(source, key)[0];
    if (!entry) continue;
    const name = entry.get("name");
    let seq = target.get(key);
    if (!isSeq(seq)) {
      if (seq !== undefined && seq !== null)
        throw new HactlError("USAGE", `${key} in ${file} is not a list`, {
          remedy: `Fix ${key} in ${file} and run again.`,
        });
      seq = target.createNode([]);
      target.set(key, seq);
    }
    const items = (seq as YAMLSeq).items;
    const at = items.findIndex((i) => isMap(i) && i.get("name") === name);
    const node = target.createNode(entry.toJSON());
    if (at >= 0) {
      items[at] = node;
      replaced.push(key);
    } else {
      items.push(node);
    }
  }
  const current = target.get("current-context");
  const currentContextSet = current === undefined || current === null || current === "";
  if (currentContextSet) target.set("current-context", incoming.context);
  return { text: target.toString({ lineWidth: 0 }), replaced, currentContextSet };
}

/** The credentials in a kubeconfig (client keys, tokens, passwords): registered for redaction. */
export function kubeconfigSecrets(text: string): string[] {
  const doc = parseDocument(text);
  const out: string[] = [];
  for (const entry of isMap(doc.contents) ? entries(doc, "users") : []) {
    for (const key of ["client-key-data", "token", "password"]) {
      const value = entry.getIn(["user", key]);
      if (typeof value === "string" && value !== "") out.push(value);
    }
  }
  return out;
}

/**
 * Pure: the kubeconfig with `caPem` (one CA or a bundle) as every cluster's certificate-authority-data.
 * A cluster that names a CA file instead (`certificate-authority:`) keeps it: that file is updated on
 * its own.
 */
export function withCertificateAuthority(text: string, caPem: string): string {
  const doc = parse(text, "the kubeconfig");
  for (const cluster of entries(doc, "clusters")) {
    if (cluster.getIn(["cluster", "certificate-authority"]) !== undefined) continue;
    cluster.setIn(["cluster", "certificate-authority-data"], Buffer.from(caPem).toString("base64"));
  }
  return doc.toString({ lineWidth: 0 });
}

/** Where a kubeconfig user's client certificate lives: embedded, or in a file (the kubelet's rotated PEM). */
export type ClientCertificatePlace = { kind: "embedded" } | { kind: "file"; path: string } | { kind: "none" };

/** Pure: where the current context's user keeps its client certificate. */
export function clientCertificatePlace(text: string): ClientCertificatePlace {
  const doc = parse(text, "the kubeconfig");
  const user = currentUser(doc);
  if (!user) return { kind: "none" };
  if (typeof user.getIn(["user", "client-certificate-data"]) === "string") return { kind: "embedded" };
  const file = user.getIn(["user", "client-certificate"]);
  return typeof file === "string" && file !== "" ? { kind: "file", path: file } : { kind: "none" };
}

/** Pure: the kubeconfig with the current user's embedded client certificate and key replaced. */
export function withClientCertificate(text: string, certPem: string, keyPem: string): string {
  const doc = parse(text, "the kubeconfig");
  const user = currentUser(doc);
  if (!user)
    throw new HactlError("INTERNAL", "the kubeconfig has no user for its current context", {
      remedy: "Check the kubeconfig on the node.",
    });
  user.setIn(["user", "client-certificate-data"], Buffer.from(certPem).toString("base64"));
  user.setIn(["user", "client-key-data"], Buffer.from(keyPem).toString("base64"));
  return doc.toString({ lineWidth: 0 });
}

function currentUser(doc: Document): YAMLMap | undefined {
  const current = doc.get("current-context");
  const users = entries(doc, "users");
  const context = entries(doc, "contexts").find((c) => c.get("name") === current) ?? entries(doc, "contexts")[0];
  const name = context?.getIn(["context", "user"]);
  return users.find((u) => u.get("name") === name) ?? (users.length === 1 ? users[0] : undefined);
}
