import { describe, expect, it } from "vitest";
import { join } from "node:path";
import type { Session } from "../../../src/actions/session.js";
import { backupBeforeUpgrade } from "../../../src/actions/upgrade-backup.js";
import type { RunContext } from "../../../src/core/context.js";
import type { RemoteHost } from "../../../src/core/host.js";
import { createReporter } from "../../../src/core/output.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const spec = specFrom(THREE_CP_ONE_WORKER);

function ctx(): RunContext {
  const reporter = createReporter({
    mode: "json",
    isTTY: false,
    color: false,
    out: () => undefined,
    err: () => undefined,
  });
  return {
    reporter,
    interactive: false,
    yes: true,
    acceptNewHostKeys: false,
    commandTimeoutMs: undefined,
    signal: new AbortController().signal,
  };
}

/** A session whose hosts fail every command: the dry run and --skip-backup must not touch a node. */
const untouchable = {
  hosts: new Map<string, RemoteHost>(),
  unreachable: [],
  close: () => Promise.resolve(),
} as unknown as Session;

describe("backupBeforeUpgrade", () => {
  it("names where a dry run's backup would go (backups/ beside cluster.yaml) and touches no node", async () => {
    const b = await backupBeforeUpgrade(spec, untouchable, ctx(), {
      specFile: "/srv/ops/cluster.yaml",
      dryRun: true,
      skip: false,
    });
    expect(b.location).toMatch(
      new RegExp(`^${join("/srv/ops", "backups", spec.metadata.name)}-\\d{8}T\\d{6}Z\\.tar\\.gz$`),
    );
    expect(b.note).toContain(`to ${b.location ?? ""}`);
  });

  it("takes none with --skip-backup and says so", async () => {
    const b = await backupBeforeUpgrade(spec, untouchable, ctx(), {
      specFile: "cluster.yaml",
      dryRun: false,
      skip: true,
    });
    expect(b).toEqual({
      location: undefined,
      note: "Backup: skipped (--skip-backup); the operator took one before the upgrade.",
    });
  });
});
