/**
 * Problems found in a cluster.yaml, and the one place that turns zod issues into sentences a user can act
 * on: every problem names its field (as a YAML path like spec.nodes[2].address), says what is wrong, shows
 * what was found, and carries a fix.
 */
import type { z } from "zod";
import { DEFAULT_K8S_MINOR } from "./k8s-versions.js";
import { MESSAGES } from "./schema.js";

export type Severity = "error" | "warning";
export type PathSegment = string | number;

export interface Problem {
  readonly severity: Severity;
  /** YAML path of the field, e.g. "spec.nodes[2].address"; "(document)" for the whole file. */
  readonly path: string;
  /** 1-based position in the file; 0 when the file could not be read at all. */
  readonly line: number;
  readonly column: number;
  /** Starts with the path: `spec.nodes[1].role: must be "control-plane" or "worker" (got "master")`. */
  readonly message: string;
  readonly fix: string;
}

/** A problem before it has a position in the file. */
export interface ProblemDraft {
  readonly severity: Severity;
  readonly segments: readonly PathSegment[];
  /** Points at the key rather than the value (unknown fields). */
  readonly atKey?: boolean;
  /** The message without the leading path. */
  readonly text: string;
  readonly fix: string;
}

export function formatPath(segments: readonly PathSegment[]): string {
  if (segments.length === 0) return "(document)";
  let out = "";
  for (const raw of segments) {
    const seg = typeof raw === "string" && raw.length > 60 ? `${raw.slice(0, 57)}...` : raw;
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** A value as shown in a message: quoted, escaped, and cut short so hostile input cannot flood the terminal. */
export function showValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") {
    const cut = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    const shown = JSON.stringify(cut);
    return value.length > 60 ? `${shown} (${value.length} characters)` : shown;
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === "object") return "a mapping";
  return typeof value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "list";
  if (typeof value === "object") return "mapping";
  return typeof value;
}

function quoteList(values: readonly unknown[]): string {
  const shown = values.map((v) => JSON.stringify(v));
  if (shown.length <= 1) return shown.join("");
  return `${shown.slice(0, -1).join(", ")} or ${shown[shown.length - 1]}`;
}

/** Example values by field name, used in fixes. */
const EXAMPLES: Record<string, string> = {
  apiVersion: "hactl.dev/v1alpha1",
  kind: "Cluster",
  name: "node-1",
  address: "10.0.0.11",
  role: "control-plane",
  user: "ops",
  port: "22",
  identityFile: "~/.ssh/id_ed25519",
  knownHostsFile: "~/.ssh/known_hosts",
  templates: "./my-templates",
  manifest: "./cni/calico.yaml",
  file: "/etc/hactl/secret.txt",
  env: "HACTL_SUDO_PASSWORD",
  version: `"${DEFAULT_K8S_MINOR}"`,
  type: "microk8s",
  vip: "10.0.0.100",
  server: "10.0.0.5",
  path: "/srv/nfs/k8s",
  mountPoint: "/grdata",
  interface: "eth0",
  mode: "keepalived-haproxy",
  podNetworkCidr: "10.244.0.0/16",
  serviceCidr: "10.96.0.0/12",
  namespace: "app",
  engine: "nginx",
  protocol: "tcp",
  apiPort: "7443",
  virtualRouterId: "51",
  connectTimeoutSeconds: "10",
  systemReplicas: "3",
  evictionTimeoutSeconds: "300",
  minReplicas: "2",
  maxReplicas: "5",
  cpuPercent: "80",
};

const EXPECTED_NAMES: Record<string, string> = {
  string: "text",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping",
  array: "a list",
  record: "a mapping",
};

function lastKey(segments: readonly PathSegment[]): string {
  for (let i = segments.length - 1; i >= 0; i--) {
    const seg = segments[i];
    if (typeof seg === "string") return seg;
  }
  return "";
}

function example(segments: readonly PathSegment[], fallback: string): string {
  const key = lastKey(segments);
  const value = EXAMPLES[key] ?? fallback;
  return key ? `${key}: ${value}` : value;
}

/** HACTL_SUDO_PASSWORD for ...sudoPassword, HACTL_POSTGRESQL for ...postgresql. */
export function suggestedEnvName(segments: readonly PathSegment[]): string {
  const key = lastKey(segments) || "secret";
  return `HACTL_${key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .toUpperCase()}`;
}

function fixForMessage(message: string, segments: readonly PathSegment[]): string | undefined {
  const key = lastKey(segments);
  switch (message) {
    case MESSAGES.secretLiteral: {
      const env = suggestedEnvName(segments);
      return `replace the value with a reference, e.g. ${key}: { env: ${env} }, and export ${env} before running hactl (or use { file: PATH })`;
    }
    case MESSAGES.secretShape:
      return `write ${key}: { env: ${suggestedEnvName(segments)} } or ${key}: { file: /path/to/secret }`;
    case MESSAGES.hostLabel:
      return key === "namespace" || segments.includes("services") || segments.includes("replicas")
        ? `use a Kubernetes name such as "app" or "web" (lowercase, digits, '-')`
        : `use a short lowercase name without dots, e.g. ${example(segments, "node-1")}`;
    case MESSAGES.address:
      return `use the IPv4 address the machine is reachable on, e.g. ${example(segments, "10.0.0.11")}`;
    case MESSAGES.ipv4:
      return `use a free IPv4 address on the nodes' network, e.g. ${example(segments, "10.0.0.100")}`;
    case MESSAGES.user:
      return `use the login name on the server, e.g. ${example(segments, "ops")}`;
    case MESSAGES.iface:
      return `use the interface name from 'ip -br addr' on the node, e.g. ${example(segments, "eth0")}, or leave it out to detect it`;
    case MESSAGES.version:
      return `write the minor version as a quoted string, e.g. version: "${DEFAULT_K8S_MINOR}"`;
    case MESSAGES.envName:
      return `use an environment variable name, e.g. env: ${suggestedEnvName(segments.slice(0, -1))}`;
    case MESSAGES.path:
      return `use a plain path on one line, e.g. ${example(segments, "~/.ssh/id_ed25519")}`;
    case MESSAGES.absolutePath:
      return `write the absolute path, e.g. ${example(segments, "/srv/nfs/k8s")}`;
    case MESSAGES.mountOption:
      return `write one option per list item, e.g. ${lastKey(segments) || "options"}: [nfsvers=4.1, hard]`;
    case MESSAGES.cidr:
      return `use a network in CIDR form, e.g. ${example(segments, "10.244.0.0/16")}`;
    default:
      return undefined;
  }
}

/** What the issue translator may ask about the file; supplied by parse.ts. */
export interface IssueContext {
  /** Field names allowed at a path (from the schema), for "unknown field" and "must be a mapping" fixes. */
  allowedKeys(segments: readonly PathSegment[]): readonly string[];
  /** The value's text as written in the file (YAML turns 1.30 into 1.3; the user wrote 1.30). */
  sourceOf(segments: readonly PathSegment[]): string | undefined;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Math.abs(a.length - b.length) + 64;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

type Issue = z.core.$ZodIssue;

/** Turns one zod issue into drafts (an unknown-keys issue yields one draft per key). */
export function draftsFromIssue(issue: Issue, ctx: IssueContext, prefix: readonly PathSegment[] = []): ProblemDraft[] {
  const segments: PathSegment[] = [...prefix, ...issue.path.filter((p): p is string | number => typeof p !== "symbol")];
  const input: unknown = issue.input;
  const key = lastKey(segments);
  const error = (text: string, fix: string, atKey = false): ProblemDraft => ({
    severity: "error",
    segments,
    text,
    fix,
    atKey,
  });

  switch (issue.code) {
    case "invalid_type": {
      const fields = issue.expected === "object" ? ctx.allowedKeys(segments) : [];
      if (input === undefined) {
        if (fields.length > 0)
          return [error("is required", `add ${key}: with its fields (${fields.join(", ")}); see docs/cluster-yaml.md`)];
        return [
          error(
            "is required",
            `add ${example(segments, `<${EXPECTED_NAMES[issue.expected] ?? issue.expected}>`)} here`,
          ),
        ];
      }
      const expected = EXPECTED_NAMES[issue.expected] ?? issue.expected;
      if (issue.expected === "string" && (typeof input === "number" || typeof input === "boolean")) {
        const written = ctx.sourceOf(segments) ?? String(input);
        const shown = written.length > 60 ? `${written.slice(0, 57)}...` : written;
        return [
          error(
            `must be ${expected} (got ${kindOf(input)} ${shown})`,
            `quote it: ${key}: "${shown.replace(/["\\]/g, "")}"`,
          ),
        ];
      }
      if (fields.length > 0) {
        return [
          error(
            `must be a mapping (got ${kindOf(input)} ${showValue(input)})`,
            `write ${key} as a mapping with the fields ${fields.join(", ")}, e.g. ${key}: { ${fields[0]}: ... }`,
          ),
        ];
      }
      if (
        (issue.expected === "number" || issue.expected === "int") &&
        typeof input === "string" &&
        /^-?\d+(\.\d+)?$/.test(input.trim())
      ) {
        return [
          error(`must be a number, not text (got ${showValue(input)})`, `remove the quotes: ${key}: ${input.trim()}`),
        ];
      }
      if (issue.expected === "int" && typeof input === "number") {
        return [
          error(
            `must be a whole number (got ${showValue(input)})`,
            `use a whole number, e.g. ${example(segments, String(Math.round(input)))}`,
          ),
        ];
      }
      return [
        error(
          `must be ${expected} (got ${kindOf(input)} ${showValue(input)})`,
          `write ${expected} here, e.g. ${example(segments, "...")}`,
        ),
      ];
    }
    case "invalid_value": {
      const values = issue.values;
      const got = showValue(input);
      if (values.length === 1) {
        return [error(`must be ${quoteList(values)} (got ${got})`, `write ${key}: ${String(values[0])}`)];
      }
      const hint = key === "role" ? ` (a "master" is a control-plane node)` : "";
      return [
        error(
          `must be ${quoteList(values)} (got ${got})`,
          `use one of ${quoteList(values)}${hint}, e.g. ${key}: ${String(values[0])}`,
        ),
      ];
    }
    case "invalid_union": {
      if (issue.discriminator !== undefined && issue.inclusive !== false) {
        const options = (issue.options ?? []).filter((o): o is string => typeof o === "string");
        const value = isRecord(input) ? input[issue.discriminator] : input;
        if (value === undefined)
          return [error("is required", `add ${key}: ${String(options[0] ?? "")} (one of ${quoteList(options)})`)];
        return [
          error(
            `must be ${quoteList(options)} (got ${showValue(value)})`,
            `use one of ${quoteList(options)}, e.g. ${key}: ${String(options[0] ?? "")}`,
          ),
        ];
      }
      const known = fixForMessage(issue.message, segments);
      if (issue.message === MESSAGES.secretLiteral) {
        // Never echo what may be a real password.
        const length = typeof input === "string" ? input.length : 0;
        return [error(`${issue.message} (got a literal value of ${length} characters)`, known ?? "")];
      }
      if (known) return [error(`${issue.message} (got ${showValue(input)})`, known)];
      const branches = "errors" in issue ? issue.errors : [];
      const best = [...branches].sort((a, b) => a.length - b.length)[0];
      if (best && best.length > 0) return best.flatMap((i) => draftsFromIssue(i, ctx, segments));
      return [error(`is not valid (got ${showValue(input)})`, "see docs/cluster-yaml.md for the allowed forms")];
    }
    case "unrecognized_keys": {
      const allowed = ctx.allowedKeys(segments);
      return issue.keys.map((k) => {
        const guess = closest(k, allowed);
        const fix = guess
          ? `did you mean "${guess}"? Rename the field, or remove it`
          : `remove it; fields allowed here: ${allowed.join(", ") || "none"}`;
        return {
          severity: "error" as const,
          segments: [...segments, k],
          atKey: true,
          text: `unknown field ${JSON.stringify(k.length > 60 ? `${k.slice(0, 57)}...` : k)}`,
          fix,
        };
      });
    }
    case "too_small":
    case "too_big": {
      const small = issue.code === "too_small";
      const bound = Number(small ? issue.minimum : issue.maximum);
      const inclusive = issue.inclusive !== false;
      if (issue.origin === "array" || issue.origin === "set") {
        const n = Array.isArray(input) ? input.length : 0;
        const text = small
          ? `needs at least ${bound} item(s) (got ${n})`
          : `may have at most ${bound} item(s) (got ${n})`;
        return [error(text, small ? `add entries to ${key}` : `remove entries from ${key}`)];
      }
      if (issue.origin === "string") {
        const known = fixForMessage(issue.message, segments);
        if (known) return [error(`${issue.message} (got ${showValue(input)})`, known)];
        const text = small
          ? `must not be empty`
          : `must be at most ${bound} characters (got ${typeof input === "string" ? input.length : "?"})`;
        return [error(text, `shorten ${key}`)];
      }
      const limit = inclusive ? bound : small ? bound + 1 : bound - 1;
      const text = small
        ? `must be at least ${limit} (got ${showValue(input)})`
        : `must be at most ${limit} (got ${showValue(input)})`;
      return [error(text, `use a value ${small ? "of at least" : "no larger than"} ${limit}, e.g. ${key}: ${limit}`)];
    }
    case "invalid_format": {
      const known = fixForMessage(issue.message, segments);
      return [
        error(
          `${issue.message} (got ${showValue(input)})`,
          known ?? `see docs/cluster-yaml.md for the format of ${key}`,
        ),
      ];
    }
    case "invalid_key": {
      const badKey = segments.length > 0 ? String(segments[segments.length - 1]) : "";
      return [
        error(
          `key ${showValue(badKey)} is not a valid service name`,
          `use the Deployment's name (lowercase letters, digits, '-'), e.g. web: 2`,
          true,
        ),
      ];
    }
    case "custom": {
      const known = fixForMessage(issue.message, segments);
      return [error(`${issue.message} (got ${showValue(input)})`, known ?? "see docs/cluster-yaml.md")];
    }
    default:
      return [error(`${issue.message} (got ${showValue(input)})`, "see docs/cluster-yaml.md")];
  }
}

/** `cluster.yaml:12:14 error spec.nodes[1].role: ...` then `  fix: ...`, one pair per problem. */
export function formatProblems(problems: readonly Problem[], fileName: string): string {
  const lines: string[] = [];
  for (const p of problems) {
    const where = p.line > 0 ? `${fileName}:${p.line}:${p.column}` : fileName;
    lines.push(`${where} ${p.severity} ${p.message}`);
    if (p.fix) lines.push(`  fix: ${p.fix}`);
  }
  return lines.join("\n");
}

/** "2 errors, 1 warning" (or "no problems"). */
export function summarizeProblems(problems: readonly Problem[]): string {
  const errors = problems.filter((p) => p.severity === "error").length;
  const warnings = problems.length - errors;
  if (problems.length === 0) return "no problems";
  const parts: string[] = [];
  if (errors > 0) parts.push(`${errors} error${errors === 1 ? "" : "s"}`);
  if (warnings > 0) parts.push(`${warnings} warning${warnings === 1 ? "" : "s"}`);
  return parts.join(", ");
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === "error");
}
