import { HactlError, MultiNodeError } from "../core/errors.js";
import { redact } from "../core/secrets.js";

/** The one place an error becomes text for the operator. */
export function renderError(err: HactlError): string {
  const lines: string[] = [];
  const where = [err.node ? `[${err.node}]` : "", err.step ? `${err.step}:` : ""].filter(Boolean).join(" ");
  lines.push(`error${where ? ` ${where}` : ""} ${err.message}`);
  if (err instanceof MultiNodeError) {
    for (const f of err.failures) {
      lines.push(`  - ${f.node ?? "?"}: ${f.message}`);
      if (f.details) lines.push(...indent(f.details, "      "));
      if (f.remedy) lines.push(`      fix: ${f.remedy}`);
    }
  } else if (err.details) {
    lines.push(...indent(err.details, "  "));
  }
  if (err.remedy) lines.push(`  fix: ${err.remedy}`);
  return redact(lines.join("\n"));
}

/** The error as JSON: the last event of a change, or the one document of a report; code, message, node and remedy always present. */
export function errorEvent(err: HactlError): Record<string, unknown> {
  return JSON.parse(
    redact(
      JSON.stringify({
        type: "error",
        code: err.code,
        message: err.message,
        node: err.node ?? null,
        step: err.step,
        remedy: err.remedy ?? null,
        details: err.details,
        failures:
          err instanceof MultiNodeError
            ? err.failures.map((f) => ({ node: f.node, code: f.code, message: f.message, remedy: f.remedy }))
            : undefined,
        exitCode: err.exitCode,
      }),
    ),
  ) as Record<string, unknown>;
}

function indent(text: string, prefix: string): string[] {
  return text.split("\n").map((l) => `${prefix}${l}`);
}
