/**
 * Reading cluster.yaml: YAML syntax, the zod schema and the cross-field rules are checked in one pass,
 * and every finding is placed at its line:column using the YAML document's source ranges.
 */
import { readFile } from "node:fs/promises";
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node as YamlNode,
} from "yaml";
import { HactlError, errnoCode } from "../core/errors.js";
import {
  draftsFromIssue,
  formatPath,
  formatProblems,
  hasErrors,
  summarizeProblems,
  type PathSegment,
  type Problem,
  type ProblemDraft,
} from "./problems.js";
import { nodeListRules, partsFromRaw, partsOf, specRules } from "./rules.js";
import { clusterDocumentSchema, clusterSchema, type ClusterSpec } from "./schema.js";

/** Files larger than this are refused before parsing: no real cluster.yaml comes near it. */
export const MAX_SPEC_BYTES = 1024 * 1024;

export interface ParseResult {
  /** Present only when there are no errors (warnings allowed). */
  readonly spec?: ClusterSpec;
  /** Sorted by position. */
  readonly problems: Problem[];
  /** The parsed YAML document, for comment-preserving edits and positions. */
  readonly doc: Document.Parsed;
}

interface ZodLike {
  readonly _zod: { readonly def: Record<string, unknown> & { readonly type: string } };
}

function isZodLike(value: unknown): value is ZodLike {
  return typeof value === "object" && value !== null && "_zod" in value;
}

/** The object schemas reachable at a path, looking through optional/default/union wrappers. */
function schemasAt(schema: ZodLike, segments: readonly PathSegment[]): ZodLike[] {
  const unwrap = (s: ZodLike): ZodLike[] => {
    const def = s._zod.def;
    switch (def.type) {
      case "optional":
      case "nullable":
      case "default":
      case "prefault":
      case "readonly":
        return isZodLike(def.innerType) ? unwrap(def.innerType) : [];
      case "pipe":
        return isZodLike(def.in) ? unwrap(def.in) : [];
      case "union":
        return Array.isArray(def.options) ? def.options.filter(isZodLike).flatMap(unwrap) : [];
      default:
        return [s];
    }
  };
  let current = unwrap(schema);
  for (const seg of segments) {
    const next: ZodLike[] = [];
    for (const s of current) {
      const def = s._zod.def;
      if (def.type === "object" && typeof seg === "string" && typeof def.shape === "object" && def.shape !== null) {
        const child: unknown = (def.shape as Record<string, unknown>)[seg];
        if (isZodLike(child)) next.push(...unwrap(child));
      } else if (def.type === "array" && typeof seg === "number" && isZodLike(def.element)) {
        next.push(...unwrap(def.element));
      } else if (def.type === "record" && isZodLike(def.valueType)) {
        next.push(...unwrap(def.valueType));
      }
    }
    current = next;
  }
  return current;
}

function allowedKeys(segments: readonly PathSegment[]): string[] {
  const keys = new Set<string>();
  for (const s of schemasAt(clusterDocumentSchema as unknown as ZodLike, segments)) {
    const shape = s._zod.def.shape;
    if (s._zod.def.type === "object" && typeof shape === "object" && shape !== null) {
      for (const k of Object.keys(shape)) keys.add(k);
    }
  }
  return [...keys];
}

/** The YAML node at a path, or the deepest existing ancestor (a missing key points at its parent map). */
function locate(doc: Document.Parsed, segments: readonly PathSegment[], atKey: boolean): YamlNode | undefined {
  let node: unknown = doc.contents;
  let keyNode: unknown;
  for (const seg of segments) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) === String(seg) : false));
      if (!pair) return node as YamlNode;
      keyNode = pair.key;
      if (pair.value === null || pair.value === undefined) return pair.key as YamlNode;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === "number") {
      const item: unknown = node.items[seg];
      if (item === undefined || item === null) return node as YamlNode;
      keyNode = undefined;
      node = item;
    } else {
      return node as YamlNode | undefined;
    }
  }
  if (atKey && keyNode) return keyNode as YamlNode;
  return node as YamlNode | undefined;
}

function position(
  doc: Document.Parsed,
  lines: LineCounter,
  segments: readonly PathSegment[],
  atKey: boolean,
): { line: number; column: number } {
  const node = locate(doc, segments, atKey);
  const offset = node?.range?.[0] ?? 0;
  const pos = lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

function place(draft: ProblemDraft, doc: Document.Parsed, lines: LineCounter): Problem {
  const path = formatPath(draft.segments);
  return {
    severity: draft.severity,
    path,
    ...position(doc, lines, draft.segments, draft.atKey ?? false),
    message: `${path}: ${draft.text}`,
    fix: draft.fix,
  };
}

function byPosition(a: Problem, b: Problem): number {
  return a.line - b.line || a.column - b.column || (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1);
}

/** Parses and validates cluster.yaml text. Never throws for any input text. */
export function parseSpec(text: string, fileName = "cluster.yaml"): ParseResult {
  const lines = new LineCounter();
  if (text.length > MAX_SPEC_BYTES) {
    const doc = parseDocument("", { lineCounter: lines });
    return {
      doc,
      problems: [
        {
          severity: "error",
          path: "(document)",
          line: 1,
          column: 1,
          message: `(document): ${fileName} is ${text.length} bytes; the limit is ${MAX_SPEC_BYTES}`,
          fix: "check that this is the right file",
        },
      ],
    };
  }
  const doc = parseDocument(text, {
    lineCounter: lines,
    uniqueKeys: true,
    prettyErrors: true,
    strict: true,
    logLevel: "error",
  });

  const yamlProblems: Problem[] = [
    ...doc.errors.map((e) => ({ e, severity: "error" as const })),
    ...doc.warnings.map((e) => ({ e, severity: "warning" as const })),
  ].map(({ e, severity }) => {
    const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
    const first = e.message.split("\n")[0] ?? e.message;
    const message =
      e.code === "MULTIPLE_DOCS"
        ? "the file holds more than one document"
        : first.replace(/ at line \d+, column \d+:?$/, "");
    return {
      severity,
      path: "(document)",
      line: pos.line,
      column: pos.col,
      message: `(document): YAML ${message}`,
      fix: yamlFix(e.code),
    };
  });
  visit(doc, {
    Pair(_, pair) {
      if (pair.key !== null && !isScalar(pair.key)) {
        const pos = lines.linePos((pair.key as YamlNode).range?.[0] ?? 0);
        yamlProblems.push({
          severity: "error",
          path: "(document)",
          line: pos.line,
          column: pos.col,
          message: "(document): a mapping key must be plain text, not a list or mapping",
          fix: "write the key as a plain word, e.g. name:",
        });
      }
    },
  });
  if (yamlProblems.some((p) => p.severity === "error")) return { doc, problems: yamlProblems.sort(byPosition) };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return {
      doc,
      problems: [
        ...yamlProblems,
        {
          severity: "error",
          path: "(document)",
          line: 1,
          column: 1,
          message: `(document): YAML ${message}`,
          fix: "remove the aliases (*name) that expand too much",
        },
      ],
    };
  }

  if (data === null || data === undefined || typeof data !== "object" || Array.isArray(data)) {
    const got =
      data === null || data === undefined ? "an empty document" : Array.isArray(data) ? "a list" : `a ${typeof data}`;
    return {
      doc,
      problems: [
        ...yamlProblems,
        {
          severity: "error",
          path: "(document)",
          line: 1,
          column: 1,
          message: `(document): must be a mapping with apiVersion, kind, metadata and spec (got ${got})`,
          fix: "start from the file `hactl init` writes, or see docs/cluster-yaml.md",
        },
      ],
    };
  }

  const drafts: ProblemDraft[] = [];
  const result = clusterSchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    const ctx = {
      allowedKeys,
      sourceOf: (segments: readonly PathSegment[]): string | undefined => {
        const node = locate(doc, segments, false);
        const range = isScalar(node) ? node.range : undefined;
        return range ? text.slice(range[0], range[1]) : undefined;
      },
    };
    for (const issue of result.error.issues) drafts.push(...draftsFromIssue(issue, ctx));
  }
  drafts.push(...nodeListRules(data));
  drafts.push(...specRules(result.success ? partsOf(result.data) : partsFromRaw(data)));

  const seen = new Set<string>();
  const problems = [...yamlProblems, ...drafts.map((d) => place(d, doc, lines))].filter((p) => {
    const key = `${p.severity}|${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  problems.sort(byPosition);
  if (result.success && !hasErrors(problems)) return { spec: result.data, problems, doc };
  return { problems, doc };
}

function yamlFix(code: string): string {
  switch (code) {
    case "DUPLICATE_KEY":
      return "each field may appear once per mapping: remove or merge the duplicate";
    case "BAD_INDENT":
    case "MISSING_CHAR":
    case "UNEXPECTED_TOKEN":
      return "check the indentation (spaces, not tabs) and the punctuation on this line";
    case "TAB_AS_INDENT":
      return "indent with spaces, not tabs";
    case "MULTIPLE_DOCS":
      return "keep one document per file (remove the extra ---)";
    default:
      return "fix the YAML syntax on this line (a YAML linter shows the details)";
  }
}

export interface LoadedSpec {
  readonly spec: ClusterSpec;
  /** Warnings only (errors make loadSpecFile throw). */
  readonly problems: Problem[];
  readonly doc: Document.Parsed;
  readonly text: string;
  readonly path: string;
}

/**
 * Reads and validates a cluster.yaml. Missing file: HactlError SPEC_NOT_FOUND. Any error: HactlError
 * SPEC_INVALID whose details are the formatted problems (warnings included).
 */
export async function loadSpecFile(path: string): Promise<LoadedSpec> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = errnoCode(e) ?? "";
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new HactlError("SPEC_NOT_FOUND", `cluster file not found: ${path}`, {
        remedy: "Write one with `hactl init`, or pass the right file with -f PATH.",
      });
    }
    throw new HactlError(
      "SPEC_NOT_FOUND",
      `cannot read cluster file ${path}: ${e instanceof Error ? e.message : String(e)}`,
      {
        remedy: "Check the file's permissions, or pass another file with -f PATH.",
        cause: e,
      },
    );
  }
  const { spec, problems, doc } = parseSpec(text, path);
  if (!spec) {
    throw new HactlError("SPEC_INVALID", `${path} is not valid: ${summarizeProblems(problems)}`, {
      details: formatProblems(problems, path),
      remedy: `Fix the problems above, then check with \`hactl validate -f ${path}\`.`,
    });
  }
  return { spec, problems, doc, text, path };
}
