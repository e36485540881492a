import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runValidate } from "../../../src/actions/validate.js";
import type { HactlError } from "../../../src/core/errors.js";
import { quietContext } from "../../fakes/context.js";
import { BASE } from "./helpers.js";

describe("hactl validate", () => {
  const dir = mkdtempSync(join(tmpdir(), "hactl-validate-"));
  const file = (name: string, templates: string): string => {
    const path = join(dir, name);
    writeFileSync(path, BASE.replace("    vip: 10.0.0.100\n", `    vip: 10.0.0.100\n    templates: ${templates}\n`));
    return path;
  };

  it("refuses a loadBalancer.templates directory that does not exist, before any install would connect", async () => {
    const missing = join(dir, "no-such-templates");
    const err = (await runValidate({ file: file("missing.yaml", missing) }, quietContext()).catch(
      (e: unknown) => e,
    )) as HactlError;
    expect(err.code).toBe("SPEC_INVALID");
    expect(err.message).toBe(`templates directory ${missing} does not exist`);
  });

  it("accepts one that exists", async () => {
    const present = join(dir, "my-templates");
    mkdirSync(present);
    expect(await runValidate({ file: file("present.yaml", present) }, quietContext())).toBe(0);
  });
});
