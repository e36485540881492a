/**
 * Edits of cluster.yaml that keep the operator's comments, key order and layout (yaml's Document API),
 * used by add-node, remove-node, scale, autoscale, ha and reconfigure to record what they did; plus
 * writeSpec() for a fresh file from the wizard.
 */
import { isDeepStrictEqual } from "node:util";
import { Document, isMap, isScalar, isSeq, parseDocument, type ToStringOptions } from "yaml";
import { HactlError } from "../core/errors.js";
import type { PathSegment } from "./problems.js";
import type { ClusterSpecInput, NodeSpec } from "./schema.js";

function open(docText: string): Document.Parsed {
  const doc = parseDocument(docText, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    throw new HactlError(
      "SPEC_INVALID",
      `cannot edit cluster.yaml: it is not valid YAML (${first?.message.split("\n")[0] ?? "syntax error"})`,
      {
        remedy: "Fix the file first; `hactl validate -f cluster.yaml` shows where.",
      },
    );
  }
  return doc;
}

/** Keeps the file's own sequence indentation ("nodes:\n- a" vs "nodes:\n  - a"), skipping comment lines. */
function styleOf(docText: string): ToStringOptions {
  const between = "[ ]*(#[^\\n]*)?\\n(?:[ ]*(?:#[^\\n]*)?\\n)*";
  const unindented = new RegExp(`^([ ]*)[^\\s#-][^\\n]*:${between}\\1- `, "m").test(docText);
  const indented = new RegExp(`^([ ]*)[^\\s#-][^\\n]*:${between}\\1[ ]+- `, "m").test(docText);
  return { indentSeq: indented || !unindented, lineWidth: 0 };
}

/** A line's identity for layout matching: its indentation, then its text without any spacing. */
function layoutKey(line: string): string {
  const indent = /^[ ]*/.exec(line)?.[0] ?? "";
  return `${indent.length}|${line.replace(/\s+/g, "")}`;
}

/**
 * The yaml library re-spaces what it prints (comment alignment, flow-collection padding). Lines that
 * match an original line apart from spacing take the original's text back, in order; the result is kept
 * only if it still means exactly the same as the library's output.
 */
function keepLayout(original: string, edited: string): string {
  const before = original.split("\n");
  const after = edited.split("\n");
  let next = 0;
  const merged = after.map((line) => {
    const key = layoutKey(line);
    for (let k = next; k < before.length && k < next + 200; k++) {
      const candidate = before[k];
      if (candidate !== undefined && layoutKey(candidate) === key) {
        next = k + 1;
        return candidate;
      }
    }
    return line;
  });
  const text = merged.join("\n");
  const check = parseDocument(text, { uniqueKeys: true });
  if (check.errors.length > 0) return edited;
  return isDeepStrictEqual(check.toJS(), parseDocument(edited).toJS()) ? text : edited;
}

function render(doc: Document, original: string): string {
  return keepLayout(original, doc.toString(styleOf(original)));
}

function nodeEntry(node: NodeSpec): Record<string, unknown> {
  const entry: Record<string, unknown> = { name: node.name, address: node.address, role: node.role };
  if (node.gateway === true) entry.gateway = true;
  if (node.ssh && Object.keys(node.ssh).length > 0) entry.ssh = node.ssh;
  return entry;
}

/** Appends a node to spec.nodes in the style of the existing entries. Throws USAGE if the name is taken. */
export function addNode(docText: string, node: NodeSpec): string {
  const doc = open(docText);
  const nodes = doc.getIn(["spec", "nodes"], true);
  if (isSeq(nodes)) {
    for (const item of nodes.items) {
      if (isMap(item) && item.get("name") === node.name) {
        throw new HactlError("USAGE", `node ${node.name} is already in cluster.yaml`, {
          remedy: "Choose another name, or remove the existing entry first.",
        });
      }
    }
    const created = doc.createNode(nodeEntry(node));
    const first = nodes.items[0];
    if (isMap(first) && first.flow) created.flow = true;
    nodes.items.push(created);
  } else {
    doc.setIn(["spec", "nodes"], doc.createNode([nodeEntry(node)]));
  }
  return render(doc, docText);
}

/** Removes the node with this name from spec.nodes. Throws USAGE if there is none. */
export function removeNode(docText: string, name: string): string {
  const doc = open(docText);
  const nodes = doc.getIn(["spec", "nodes"], true);
  const index = isSeq(nodes) ? nodes.items.findIndex((item) => isMap(item) && item.get("name") === name) : -1;
  if (index < 0) {
    throw new HactlError("USAGE", `node ${name} is not in cluster.yaml`, {
      remedy: "Check the name with `hactl status`.",
    });
  }
  doc.deleteIn(["spec", "nodes", index]);
  return render(doc, docText);
}

/**
 * Sets one field, creating missing parent mappings; `undefined` deletes the field. A scalar keeps its
 * comments. Example: setPath(text, ["spec", "autoscaling", "enabled"], true).
 */
export function setPath(docText: string, path: readonly PathSegment[], value: unknown): string {
  if (path.length === 0) throw new HactlError("INTERNAL", "setPath needs a non-empty path");
  const doc = open(docText);
  if (value === undefined) {
    if (doc.hasIn(path)) doc.deleteIn(path);
  } else {
    const current = doc.getIn(path, true);
    if (isScalar(current) && (value === null || typeof value !== "object")) {
      current.value = value;
    } else {
      doc.setIn(path, doc.createNode(value));
    }
  }
  return render(doc, docText);
}

const HEADER = [
  " hactl cluster definition (apiVersion hactl.dev/v1alpha1).",
  " Check it with: hactl validate -f cluster.yaml     Fields: docs/cluster-yaml.md",
  " Secrets are references ({ env: NAME } or { file: PATH }), never values.",
].join("\n");

/** A fresh cluster.yaml for a spec (the wizard's output): header comment, one line per node. */
export function writeSpec(spec: ClusterSpecInput): string {
  const doc = new Document(spec);
  doc.commentBefore = HEADER;
  const nodes = doc.getIn(["spec", "nodes"], true);
  if (isSeq(nodes)) {
    for (const item of nodes.items) if (isMap(item)) item.flow = true;
  }
  const distribution = doc.getIn(["spec", "distribution"], true);
  if (isMap(distribution) && distribution.items.length <= 2) distribution.flow = true;
  return doc.toString({ indentSeq: true, lineWidth: 0 });
}
