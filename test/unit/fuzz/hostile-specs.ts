// Seeded generator of hostile cluster.yaml documents for CLI-level fuzzing (issue 8, fault 10).
// Every document it returns is invalid: a hostile value lands in a field with a fixed format (names,
// addresses, users, ports, enums), or the document itself is broken. hactl must answer each one with a
// validation error (exit 2) — never a crash, never a remote command.
import { stringify } from "yaml";

export interface HostileSpec {
  /** Short description for reports: which field got which value. */
  name: string;
  text: string;
}

export interface BaseSpecInput {
  addresses: readonly [string, string, string];
  vip: string;
  identityFile: string;
  knownHostsFile: string;
}

type Path = readonly (string | number)[];
type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** mulberry32: small, fast and reproducible from one 32-bit seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A valid three-control-plane spec pointing at the given machines. */
export function baseSpec(b: BaseSpecInput): { [k: string]: Json } {
  return {
    apiVersion: "hactl.dev/v1alpha1",
    kind: "Cluster",
    metadata: { name: "fuzz" },
    spec: {
      distribution: { type: "microk8s", version: "1.29" },
      ssh: { user: "root", identityFile: b.identityFile, knownHostsFile: b.knownHostsFile, useAgent: false },
      nodes: b.addresses.map((address, i) => ({ name: `node-${i + 1}`, address, role: "control-plane" })),
      loadBalancer: { mode: "keepalived-haproxy", vip: b.vip },
    },
  };
}

/** Strings no name, address, user, version, enum or interface field may accept. */
export const HOSTILE_STRINGS: readonly string[] = [
  "$(touch /tmp/hactl-fuzz-pwned)",
  "`touch /tmp/hactl-fuzz-pwned`",
  "node-1; touch /tmp/hactl-fuzz-pwned",
  "a|b",
  "a && b",
  "a > /etc/passwd",
  "${IFS}x",
  "'",
  '"',
  "\\",
  "-oProxyCommand=touch /tmp/hactl-fuzz-pwned",
  "--help",
  " node-1",
  "node 1",
  "",
  "a\nb",
  "a\rb",
  "a\u0000b",
  "a".repeat(300),
  "x".repeat(100_000),
  "nöde-1",
  "节点一",
  "\u202enode-1",
  "node\u200b-1",
  "🙂",
  "../../etc/shadow",
  "*",
  "%s%s%s%n",
];

/** Values of the wrong type for a string field (null only where the field is required). */
const WRONG_TYPES: readonly Json[] = [42, -1, 3.14, true, [], {}, ["node-1"], { a: 1 }];

/** Values no port or id field may accept. */
export const HOSTILE_NUMBERS: readonly Json[] = [
  "22; touch /tmp/hactl-fuzz-pwned",
  "$(id)",
  "22",
  "",
  -1,
  0,
  65_536,
  1e12,
  1.5,
  true,
  [],
  {},
  "２２",
];

const STRING_FIELDS: readonly { path: Path; required: boolean }[] = [
  { path: ["metadata", "name"], required: true },
  { path: ["spec", "distribution", "type"], required: true },
  { path: ["spec", "distribution", "version"], required: true },
  { path: ["spec", "ssh", "user"], required: false },
  { path: ["spec", "nodes", 0, "name"], required: true },
  { path: ["spec", "nodes", 1, "address"], required: true },
  { path: ["spec", "nodes", 2, "role"], required: true },
  { path: ["spec", "nodes", 1, "ssh"], required: false },
  { path: ["spec", "loadBalancer", "mode"], required: false },
  { path: ["spec", "loadBalancer", "vip"], required: true },
  { path: ["spec", "loadBalancer", "interface"], required: false },
];

const NUMBER_FIELDS: readonly Path[] = [
  ["spec", "ssh", "port"],
  ["spec", "loadBalancer", "apiPort"],
  ["spec", "loadBalancer", "virtualRouterId"],
  ["spec", "nodes", 0, "ssh"],
];

function setPath(doc: { [k: string]: Json }, path: Path, value: Json): void {
  let cur: Json = doc;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string | number;
    const holder = cur as { [k: string]: Json } & Json[];
    const next: Json | undefined = holder[key as keyof typeof holder] as Json | undefined;
    if (next === undefined || next === null || typeof next !== "object") {
      const created: { [k: string]: Json } = {};
      (holder as { [k: string]: Json })[String(key)] = created;
      cur = created;
    } else {
      cur = next;
    }
  }
  (cur as { [k: string]: Json })[String(path[path.length - 1])] = value;
}

const show = (v: Json): string => {
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...(${s.length} chars)` : s;
};

const pathText = (p: Path): string =>
  p
    .map((k) => (typeof k === "number" ? `[${k}]` : `.${k}`))
    .join("")
    .slice(1);

/** Documents whose structure or syntax is hostile, independent of the seed. */
export function brokenDocuments(b: BaseSpecInput): HostileSpec[] {
  const valid = stringify(baseSpec(b));
  const laughs = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 9; i++)
    laughs.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(", ")}]`);
  const withSpec = (spec: Json): string => stringify({ ...baseSpec(b), spec });
  return [
    { name: "YAML alias bomb (10^9 nodes)", text: `${laughs.join("\n")}\n` },
    { name: "nesting 5000 levels deep", text: `metadata: ${"[".repeat(5000)}${"]".repeat(5000)}\n` },
    { name: "binary garbage", text: "\u0000\u0001\u0002{{{[[[:::\n\t- - -\u00ff" },
    { name: "tab indentation", text: valid.replace(/\n {2}/g, "\n\t") },
    { name: "duplicate keys", text: `${valid}metadata: { name: other }\n` },
    { name: "document is a list", text: "- a\n- b\n" },
    { name: "document is a number", text: "42\n" },
    { name: "empty document", text: "" },
    { name: "spec is a list", text: withSpec(["nodes"]) },
    { name: "nodes is a string", text: valid.replace(/nodes:\n(\s+- .*\n(\s{4,}.*\n)*)+/, 'nodes: "node-1 node-2"\n') },
    { name: "nodes is empty", text: withSpec({ ...(baseSpec(b).spec as { [k: string]: Json }), nodes: [] }) },
    { name: "nodes holds null", text: withSpec({ ...(baseSpec(b).spec as { [k: string]: Json }), nodes: [null] }) },
    { name: "truncated in the middle", text: valid.slice(0, Math.floor(valid.length * 0.6)) },
    {
      name: "secret given as a literal value",
      text: `${valid}  externalServices:\n    postgresql: "postgresql://app:hunter2@10.0.0.1:5432/app"\n`,
    },
  ];
}

/** `count` seeded random documents, each with one hostile value in a field with a fixed format. */
export function randomHostileSpecs(b: BaseSpecInput, seed: number, count: number): HostileSpec[] {
  const rand = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const out: HostileSpec[] = [];
  for (let i = 0; i < count; i++) {
    const doc = baseSpec(b);
    let path: Path;
    let value: Json;
    if (rand() < 0.7) {
      const field = pick(STRING_FIELDS);
      path = field.path[field.path.length - 1] === "ssh" ? [...field.path, "user"] : field.path;
      const pool: Json[] = [...HOSTILE_STRINGS, ...WRONG_TYPES, ...(field.required ? [null] : [])];
      value = pick(pool);
    } else {
      const field = pick(NUMBER_FIELDS);
      path = field[field.length - 1] === "ssh" ? [...field, "port"] : field;
      value = pick(HOSTILE_NUMBERS);
    }
    setPath(doc, path, value);
    out.push({ name: `${pathText(path)} = ${show(value)}`, text: stringify(doc, { lineWidth: 0 }) });
  }
  return out;
}
