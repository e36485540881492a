/**
 * A deliberately small, logic-less template language for the load-balancer configs in templates/:
 *   {{name}} / {{a.b}}            the value, inserted verbatim (strings, numbers, booleans only)
 *   {{#each list}}...{{/each}}    the body once per item; an item's fields shadow outer names
 *   {{#if flag}}...{{else}}...{{/if}}  truthy: not undefined/null/false/""/0/empty list
 *   {{! comment }}                dropped from the output
 * A block tag or comment alone on its line removes that whole line. Unknown names are errors, and a
 * value containing a newline, carriage return or NUL is refused: one hostile value must never be able
 * to add a directive to a config file.
 */
import { HactlError } from "../core/errors.js";

export type TemplateValue = string | number | boolean | null | undefined | TemplateContext | readonly TemplateValue[];
export interface TemplateContext {
  readonly [name: string]: TemplateValue;
}

type Tag = { kind: "var" | "each" | "if" | "/each" | "/if" | "else" | "!"; path: string; line: number };
type Token = { kind: "text"; text: string; atLineStart: boolean } | Tag;
type Node =
  | { kind: "text"; text: string }
  | { kind: "var"; path: string; line: number }
  | { kind: "each" | "if"; path: string; line: number; body: Node[]; orElse: Node[] };

const TAG = /\{\{(.*?)\}\}/gs;
const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const UNSAFE = /[\n\r\0]/;

function fail(origin: string, line: number, message: string): never {
  throw new HactlError("CONFIG_INVALID", `${origin}:${line}: ${message}`, {
    remedy:
      "Fix the template (its header comment lists the variables it may use), or remove the override so the built-in template is used.",
  });
}

function classify(body: string, origin: string, line: number): Tag {
  const raw = body.trim();
  if (raw.startsWith("!")) return { kind: "!", path: "", line };
  if (raw === "else") return { kind: "else", path: "", line };
  const m = /^(#each|#if|\/each|\/if)?\s*(.*)$/s.exec(raw);
  const keyword = m?.[1];
  const path = (m?.[2] ?? "").trim();
  if (keyword === "/each" || keyword === "/if") {
    if (path !== "") fail(origin, line, `unexpected text after {{${keyword}}}`);
    return { kind: keyword, path, line };
  }
  if (!PATH.test(path)) fail(origin, line, `malformed tag {{${raw}}}`);
  return { kind: keyword === "#each" ? "each" : keyword === "#if" ? "if" : "var", path, line };
}

function tokenize(text: string, origin: string): Token[] {
  const tokens: Token[] = [];
  let last = 0;
  for (const m of text.matchAll(TAG)) {
    tokens.push({ kind: "text", text: text.slice(last, m.index), atLineStart: false });
    const line = text.slice(0, m.index).split("\n").length;
    tokens.push(classify(m[1] ?? "", origin, line));
    last = m.index + m[0].length;
  }
  const open = text.indexOf("{{", last);
  if (open >= 0) fail(origin, text.slice(0, open).split("\n").length, "unclosed '{{'");
  tokens.push({ kind: "text", text: text.slice(last), atLineStart: false });
  return trimStandalone(tokens);
}

/** Removes the line of every block tag or comment that stands alone on it. */
function trimStandalone(tokens: Token[]): Token[] {
  const first = tokens[0];
  if (first?.kind === "text") first.atLineStart = true;
  for (let i = 1; i < tokens.length - 1; i += 2) {
    const tag = tokens[i] as Tag;
    const before = tokens[i - 1] as Extract<Token, { kind: "text" }>;
    const after = tokens[i + 1] as Extract<Token, { kind: "text" }>;
    if (tag.kind === "var") continue;
    const nl = before.text.lastIndexOf("\n");
    const lead = before.text.slice(nl + 1);
    const startsLine = /^[ \t]*$/.test(lead) && (nl >= 0 || before.atLineStart);
    const isLast = i + 1 === tokens.length - 1;
    const tail = /^[ \t]*(\r?\n|$)/.exec(after.text);
    if (!startsLine || !tail || (tail[1] === "" && !isLast)) continue;
    before.text = before.text.slice(0, nl + 1);
    after.text = after.text.slice(tail[0].length);
    after.atLineStart = true;
  }
  return tokens;
}

function parse(tokens: Token[], origin: string): Node[] {
  const root: Node[] = [];
  const stack: Extract<Node, { body: Node[] }>[] = [];
  const elseSeen = new Set<Node>();
  const target = (): Node[] => {
    const open = stack[stack.length - 1];
    if (!open) return root;
    return elseSeen.has(open) ? open.orElse : open.body;
  };
  for (const t of tokens) {
    if (t.kind === "text") target().push({ kind: "text", text: t.text });
    else if (t.kind === "var") target().push({ kind: "var", path: t.path, line: t.line });
    else if (t.kind === "each" || t.kind === "if") {
      const node = { kind: t.kind, path: t.path, line: t.line, body: [], orElse: [] };
      target().push(node);
      stack.push(node);
    } else if (t.kind === "else") {
      const open = stack[stack.length - 1];
      if (open?.kind !== "if" || elseSeen.has(open)) fail(origin, t.line, "{{else}} outside an {{#if}} block");
      elseSeen.add(open);
    } else if (t.kind === "/each" || t.kind === "/if") {
      const open = stack.pop();
      if (!open || `/${open.kind}` !== t.kind) fail(origin, t.line, `{{${t.kind}}} does not close an open block`);
    }
  }
  const open = stack.pop();
  if (open) fail(origin, open.line, `{{#${open.kind} ${open.path}}} is never closed`);
  return root;
}

function isContext(v: TemplateValue): v is TemplateContext {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function lookup(scopes: readonly TemplateContext[], path: string, origin: string, line: number): TemplateValue {
  const [head = "", ...rest] = path.split(".");
  const scope = [...scopes].reverse().find((s) => Object.hasOwn(s, head));
  if (!scope) fail(origin, line, `unknown variable "${path}"`);
  let value = scope[head];
  for (const key of rest) {
    if (!isContext(value) || !Object.hasOwn(value, key)) fail(origin, line, `unknown variable "${path}"`);
    value = value[key];
  }
  return value;
}

function truthy(v: TemplateValue): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return v !== undefined && v !== null && v !== false && v !== "" && v !== 0;
}

function evaluate(nodes: readonly Node[], scopes: readonly TemplateContext[], origin: string): string {
  let out = "";
  for (const node of nodes) {
    if (node.kind === "text") {
      out += node.text;
      continue;
    }
    const value = lookup(scopes, node.path, origin, node.line);
    if (node.kind === "if") {
      out += evaluate(truthy(value) ? node.body : node.orElse, scopes, origin);
    } else if (node.kind === "each") {
      if (value === undefined || value === null) continue;
      if (!Array.isArray(value)) fail(origin, node.line, `"${node.path}" is not a list`);
      for (const item of value as readonly TemplateValue[]) {
        if (!isContext(item)) fail(origin, node.line, `items of "${node.path}" must be objects`);
        out += evaluate(node.body, [...scopes, item], origin);
      }
    } else {
      if (typeof value === "number" && !Number.isFinite(value))
        fail(origin, node.line, `"${node.path}" is not a finite number`);
      if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
        fail(origin, node.line, `"${node.path}" has no printable value`);
      }
      const text = String(value);
      if (UNSAFE.test(text))
        fail(origin, node.line, `refusing the value of "${node.path}": it contains a newline or NUL`);
      out += text;
    }
  }
  return out;
}

/** Renders `text` with `context`; `origin` (a file path or template name) prefixes every error. */
export function renderTemplate(text: string, context: TemplateContext, origin = "template"): string {
  return evaluate(parse(tokenize(text, origin), origin), [context], origin);
}
