import { afterEach, describe, expect, it } from "vitest";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HactlError } from "../../../src/core/errors.js";
import { clearSecrets, redact } from "../../../src/core/secrets.js";
import { collectSecretRefs, describeSecretRef, parseSpec, resolveSecret } from "../../../src/spec/index.js";
import { fixture } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "hactl-secret-"));

afterEach(() => clearSecrets());

async function failure(p: Promise<unknown>): Promise<HactlError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof HactlError)) throw new Error(`expected a HactlError, got ${String(e)}`);
  return e;
}

describe("resolveSecret", () => {
  it("reads an environment variable and registers the value for redaction", async () => {
    const value = await resolveSecret(
      { env: "HACTL_TEST_PW" },
      { interactive: false, env: { HACTL_TEST_PW: "s3cret-sudo" } },
    );
    expect(value).toBe("s3cret-sudo");
    expect(redact("sudo said s3cret-sudo")).toBe("sudo said «redacted»");
  });

  it("reads a file, trimming the trailing newline", async () => {
    const path = join(dir, "pw");
    writeFileSync(path, "file-secret-1\n", { mode: 0o600 });
    expect(await resolveSecret({ file: path }, { interactive: false })).toBe("file-secret-1");
    expect(redact("file-secret-1")).toBe("«redacted»");
  });

  it("a missing env var fails with SECRET_UNRESOLVED naming the reference", async () => {
    const err = await failure(
      resolveSecret({ env: "HACTL_NOT_SET_X" }, { interactive: false, env: {}, label: "spec.ssh.sudoPassword" }),
    );
    expect(err.code).toBe("SECRET_UNRESOLVED");
    expect(err.message).toBe(
      "secret spec.ssh.sudoPassword { env: HACTL_NOT_SET_X } is not set: environment variable HACTL_NOT_SET_X is missing",
    );
    expect(err.remedy).toContain("Export HACTL_NOT_SET_X");
  });

  it("an empty env var counts as missing", async () => {
    const err = await failure(resolveSecret({ env: "E" }, { interactive: false, env: { E: "" } }));
    expect(err.message).toContain("is empty");
  });

  it("prompts for a missing env var in interactive runs, and registers the answer", async () => {
    const asked: string[] = [];
    const value = await resolveSecret(
      { env: "HACTL_PROMPTED" },
      {
        interactive: true,
        env: {},
        label: "sudo password",
        prompt: async (message) => {
          asked.push(message);
          return "typed-secret";
        },
      },
    );
    expect(value).toBe("typed-secret");
    expect(asked).toEqual(["sudo password (HACTL_PROMPTED is not set)"]);
    expect(redact("typed-secret")).toBe("«redacted»");
  });

  it("does not prompt in non-interactive runs even when a prompt is given", async () => {
    let called = false;
    const prompt = async () => {
      called = true;
      return "x";
    };
    await failure(resolveSecret({ env: "HACTL_NOPE" }, { interactive: false, env: {}, prompt }));
    expect(called).toBe(false);
  });

  it("a missing or unreadable file fails without showing contents", async () => {
    const missing = await failure(resolveSecret({ file: join(dir, "missing") }, { interactive: false }));
    expect(missing.code).toBe("SECRET_UNRESOLVED");
    expect(missing.message).toContain("cannot be read (ENOENT)");
    const empty = join(dir, "empty");
    writeFileSync(empty, "\n");
    expect((await failure(resolveSecret({ file: empty }, { interactive: false }))).message).toContain(
      "is an empty file",
    );
  });

  it("errors never contain a resolved value", async () => {
    const path = join(dir, "big");
    writeFileSync(path, "x".repeat(70 * 1024));
    chmodSync(path, 0o600);
    const err = await failure(resolveSecret({ file: path }, { interactive: false }));
    expect(err.message).not.toContain("xxxx");
  });

  it("describes references without values", () => {
    expect(describeSecretRef({ env: "A" })).toBe("{ env: A }");
    expect(describeSecretRef({ file: "/p" })).toBe("{ file: /p }");
  });
});

describe("collectSecretRefs", () => {
  it("lists every reference with its path", () => {
    const spec = parseSpec(fixture("good/microk8s-3cp-1w-web.yaml")).spec;
    if (!spec) throw new Error("fixture should parse");
    expect(collectSecretRefs(spec)).toEqual([
      { path: "spec.nodes[1].ssh.sudoPassword", ref: { env: "HACTL_SUDO_PASSWORD" } },
      { path: "spec.loadBalancer.stats.password", ref: { file: "/etc/hactl/stats-password" } },
      { path: "spec.externalServices.postgresql", ref: { env: "HACTL_POSTGRESQL" } },
      { path: "spec.externalServices.redis", ref: { file: "~/.config/hactl/redis-url" } },
    ]);
  });
});
