import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { GlobalOptions } from "../../../src/core/context.js";
import { buildProgram } from "../../../src/cli/program.js";
import { runCommand } from "../../../src/cli/run-command.js";
import { createReporter } from "../../../src/core/output.js";
import { BASE } from "../spec/helpers.js";

const dir = mkdtempSync(join(tmpdir(), "hactl-json-output-"));
const good = join(dir, "good.yaml");
const bad = join(dir, "bad.yaml");
writeFileSync(good, BASE);
writeFileSync(bad, BASE.replace("kind: Cluster", "kind: Clustr"));

let stdout = "";
let stderr = "";
beforeEach(() => {
  stdout = "";
  stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation(
    (chunk: string | Uint8Array) => ((stdout += String(chunk)), true),
  );
  vi.spyOn(process.stderr, "write").mockImplementation(
    (chunk: string | Uint8Array) => ((stderr += String(chunk)), true),
  );
});
afterEach(() => vi.restoreAllMocks());

/** hactl ARGS through the real program and the real command runner (no process, no exit); returns the exit code. */
async function hactl(...args: string[]): Promise<number> {
  let code = -1;
  const program = buildProgram(async (name, body, kind) => {
    code = await runCommand(name, program.opts<GlobalOptions>(), body, kind, new AbortController().signal);
  });
  await program.parseAsync([...args, "--log-file", join(dir, "hactl.log")], { from: "user" });
  return code;
}

/** stdout must be exactly one JSON document (what `json.load(sys.stdin)` accepts). */
function oneDocument(): Record<string, unknown> {
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe("read-only reports print exactly one JSON document with --output json", () => {
  it("validate, valid file: the result", async () => {
    expect(await hactl("validate", "-f", good, "-o", "json")).toBe(0);
    expect(oneDocument()).toEqual({ file: good, valid: true, problems: [] });
  });

  it("validate, invalid file: the error with code, message, node and remedy, the problems under data, exit 2", async () => {
    expect(await hactl("-o", "json", "validate", "-f", bad)).toBe(2);
    const doc = oneDocument();
    expect(doc).toMatchObject({
      type: "error",
      code: "SPEC_INVALID",
      node: null,
      exitCode: 2,
      data: { file: bad, valid: false },
    });
    expect(doc.message).toBe(`${bad} has 1 error(s)`);
    expect(typeof doc.remedy).toBe("string");
    expect((doc.data as { problems: { path: string }[] }).problems.map((p) => p.path)).toEqual(["kind"]);
    expect(stderr).toBe("");
  });

  it("validate, missing file: the error document", async () => {
    expect(await hactl("validate", "-f", join(dir, "missing.yaml"), "--output=json")).toBe(2);
    expect(oneDocument()).toMatchObject({ type: "error", code: "SPEC_NOT_FOUND", node: null, exitCode: 2 });
  });

  it("schema: the JSON Schema itself, in json and in text mode", async () => {
    expect(await hactl("schema", "-o", "json")).toBe(0);
    const doc = oneDocument();
    expect(doc.$schema).toMatch(/json-schema/);
    expect(doc.properties).toHaveProperty("spec");
    const json = stdout;
    stdout = "";
    expect(await hactl("schema")).toBe(0);
    expect(stdout).toBe(json);
  });

  it("status that cannot start: one error document, exit code unchanged", async () => {
    expect(await hactl("status", "-f", join(dir, "missing.yaml"), "-o", "json")).toBe(2);
    expect(oneDocument()).toMatchObject({ type: "error", code: "SPEC_NOT_FOUND", exitCode: 2 });
  });

  it("text mode is unchanged: the problems on stdout, the error on stderr", async () => {
    expect(await hactl("validate", "-f", bad)).toBe(2);
    expect(stdout).toContain('kind: must be "Cluster"');
    expect(stderr).toContain(`error ${bad} has 1 error(s)`);
  });
});

describe("commands that change things keep the event stream", () => {
  it("render -o json: one JSON event per line (steps, the result)", async () => {
    expect(await hactl("render", "-f", good, "--out", join(dir, "rendered"), "-o", "json")).toBe(0);
    const types = stdout
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types.length).toBeGreaterThan(2);
    expect(types).toContain("step");
    expect(types.filter((t) => t === "result")).toHaveLength(1);
  });
});

describe("the reporter's document mode", () => {
  const reporter = (): { r: ReturnType<typeof createReporter>; out: string[]; err: string[] } => {
    const out: string[] = [];
    const err: string[] = [];
    const r = createReporter({
      mode: "json",
      json: "document",
      isTTY: false,
      color: false,
      out: (t) => out.push(t),
      err: (t) => err.push(t),
    });
    return { r, out, err };
  };

  it("prints nothing while the command runs, warnings on stderr, and the result once at close", () => {
    const { r, out, err } = reporter();
    r.phase("Gather facts");
    r.step("node-1", "facts", "done");
    r.info("3 nodes");
    r.print("a table");
    r.warn("node-3 is not reachable");
    r.result({ healthy: false });
    expect(out).toEqual([]);
    expect(err).toEqual(["warning: node-3 is not reachable\n"]);
    r.close();
    expect(out).toHaveLength(1);
    expect(JSON.parse(out[0] as string)).toEqual({ healthy: false });
    r.close();
    expect(out).toHaveLength(1);
  });

  it("an error replaces the result, which it keeps under data", () => {
    const { r, out } = reporter();
    r.result({ valid: false });
    r.failed({ type: "error", code: "SPEC_INVALID", message: "bad", node: null, remedy: "fix", exitCode: 2 });
    r.close();
    expect(out.map((t) => JSON.parse(t) as unknown)).toEqual([
      {
        type: "error",
        code: "SPEC_INVALID",
        message: "bad",
        node: null,
        remedy: "fix",
        exitCode: 2,
        data: { valid: false },
      },
    ]);
  });

  it("events mode still streams ndjson", () => {
    const out: string[] = [];
    const r = createReporter({
      mode: "json",
      isTTY: false,
      color: false,
      out: (t) => out.push(t),
      err: () => undefined,
    });
    r.phase("Install");
    r.result({ ok: true });
    r.failed({ type: "error", code: "X" });
    r.close();
    expect(out.map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(["phase", "result", "error"]);
  });
});
