import { afterEach, describe, expect, it } from "vitest";
import { EXIT, HactlError, MultiNodeError, asHactlError } from "../../../src/core/errors.js";
import { clearSecrets, redact, registerSecret } from "../../../src/core/secrets.js";

afterEach(() => clearSecrets());

describe("redact", () => {
  it("returns text unchanged when nothing is registered", () => {
    expect(redact("token abcdef")).toBe("token abcdef");
  });

  it("masks every occurrence of a registered secret", () => {
    registerSecret("s3cr3t-token");
    expect(redact("a s3cr3t-token b s3cr3t-token")).toBe("a «redacted» b «redacted»");
  });

  it("ignores values shorter than 4 characters", () => {
    registerSecret("abc");
    registerSecret(undefined);
    expect(redact("abc abcd")).toBe("abc abcd");
  });

  it("masks the URL-encoded form of a secret", () => {
    registerSecret("p@ss word/1");
    expect(redact(`user=${encodeURIComponent("p@ss word/1")}`)).toBe("user=«redacted»");
  });

  it("derives the password of a URL's userinfo, raw and decoded", () => {
    registerSecret("postgres://app:pa%24%24w0rd@db.internal:5432/app");
    expect(redact("login with pa%24%24w0rd")).toBe("login with «redacted»");
    expect(redact("login with pa$$w0rd")).toBe("login with «redacted»");
    expect(redact("postgres://app:pa%24%24w0rd@db.internal:5432/app")).toBe("«redacted»");
  });

  it("masks the longest secret first so no fragment of it survives", () => {
    registerSecret("10.0.0.11:25000/0123456789abcdef0123456789abcdef/abcdef012345");
    registerSecret("0123456789abcdef0123456789abcdef/abcdef012345");
    expect(redact("microk8s join 10.0.0.11:25000/0123456789abcdef0123456789abcdef/abcdef012345")).toBe(
      "microk8s join «redacted»",
    );
  });
});

describe("HactlError exit codes", () => {
  it.each([
    ["USAGE", EXIT.usage],
    ["SPEC_INVALID", EXIT.usage],
    ["SSH_TIMEOUT", EXIT.connection],
    ["SSH_HOST_KEY_CHANGED", EXIT.connection],
    ["PREFLIGHT_FAILED", EXIT.preflight],
    ["QUORUM_RISK", EXIT.preflight],
    ["LOCKED", EXIT.locked],
    ["UNHEALTHY", EXIT.unhealthy],
    ["NOT_IMPLEMENTED", EXIT.notImplemented],
    ["INTERRUPTED", 130],
    ["USER_ABORTED", 130],
    ["COMMAND_FAILED", EXIT.failed],
    ["JOIN_FAILED", EXIT.failed],
    ["CONFIG_INVALID", EXIT.failed],
  ] as const)("%s exits %i", (code, exit) => {
    expect(new HactlError(code, "x").exitCode).toBe(exit);
  });

  it("a MultiNodeError exits with the most severe of its failures", () => {
    const m = new MultiNodeError("gather", [new HactlError("COMMAND_FAILED", "a"), new HactlError("SSH_REFUSED", "b")]);
    expect(m.code).toBe("COMMAND_FAILED");
    expect(m.exitCode).toBe(EXIT.connection);
  });

  it("inStep names the step once and keeps every other field", () => {
    const e = new HactlError("SSH_TIMEOUT", "slow", { node: "n1", remedy: "r", retryable: true, details: "d" }).inStep(
      "gather",
    );
    expect([e.step, e.node, e.remedy, e.retryable, e.details, e.code]).toEqual([
      "gather",
      "n1",
      "r",
      true,
      "d",
      "SSH_TIMEOUT",
    ]);
    expect(e.inStep("other").step).toBe("gather");
  });

  it("asHactlError keeps HactlErrors and marks anything else as an INTERNAL bug", () => {
    const h = new HactlError("LOCKED", "busy");
    expect(asHactlError(h)).toBe(h);
    const wrapped = asHactlError("weird");
    expect(wrapped.code).toBe("INTERNAL");
    expect(wrapped.message).toContain("weird");
    expect(wrapped.remedy).toMatch(/bug/);
  });
});
