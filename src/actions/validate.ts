import { readFile } from "node:fs/promises";
import type { RunContext } from "../core/context.js";
import { HactlError } from "../core/errors.js";
import { endOfSupportFix, endOfSupportProblem } from "../spec/k8s-versions.js";
import { parseSpec } from "../spec/parse.js";
import { formatProblems, hasErrors } from "../spec/problems.js";

/** `hactl validate`: every problem at once, with line:column and a fix; exit 2 when any is an error. */
export async function runValidate(opts: { file: string }, ctx: RunContext): Promise<number> {
  let text: string;
  try {
    text = await readFile(opts.file, "utf8");
  } catch {
    throw new HactlError("SPEC_NOT_FOUND", `cluster file not found: ${opts.file}`, {
      remedy: "Write one with `hactl init`, or pass the right file with -f PATH.",
    });
  }
  const { spec, problems } = parseSpec(text, opts.file);
  const failed = hasErrors(problems) || !spec;
  ctx.reporter.result({ file: opts.file, valid: !failed, problems });
  if (problems.length > 0) ctx.reporter.print(formatProblems(problems, opts.file));
  if (failed) {
    throw new HactlError(
      "SPEC_INVALID",
      `${opts.file} has ${problems.filter((p) => p.severity === "error").length} error(s)`,
      {
        remedy: "Fix each problem listed with its line:column; each names its fix.",
      },
    );
  }
  // The one field that names something on this machine: an override directory install would read.
  if (spec.spec.loadBalancer.templates !== undefined)
    (await import("../lb/template-source.js")).templateSource(spec.spec.loadBalancer.templates);
  const today = new Date();
  const unsupported = endOfSupportProblem(spec.spec.distribution.version, today);
  if (unsupported) ctx.reporter.warn(`${unsupported}: ${endOfSupportFix(today)}`);
  ctx.reporter.info(
    `${opts.file} is valid${problems.length ? ` (${problems.length} warning(s))` : ""}: ${spec.spec.nodes.length} nodes, ${spec.spec.distribution.type} ${spec.spec.distribution.version}, load balancer ${spec.spec.loadBalancer.mode}.`,
  );
  return 0;
}

/** `hactl schema`: the JSON Schema is the text output too; with --output json it is the one document. */
export async function runSchema(ctx: RunContext): Promise<number> {
  const { clusterJsonSchema } = await import("../spec/json-schema.js");
  const schema = clusterJsonSchema();
  if (ctx.reporter.mode === "json") ctx.reporter.result(schema);
  else process.stdout.write(`${JSON.stringify(schema, null, 2)}\n`);
  return 0;
}
