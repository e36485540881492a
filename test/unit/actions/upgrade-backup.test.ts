import { describe, expect, it } from "vitest";
import { join } from "node:path";
import type { Session } from "../../../src/actions/session.js";
import { backupBeforeUpgrade } from "../../../src/actions/upgrade-backup.js";
import type { RemoteHost } from "../../../src/core/host.js";
import { quietContext } from "../../fakes/context.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

const spec = specFrom(THREE_CP_ONE_WORKER);

/** A session whose hosts fail every command: the dry run and --skip-backup must not touch a node. */
const untouchable = {
  hosts: new Map<string, RemoteHost>(),
  unreachable: [],
  close: () => Promise.resolve(),
} as unknown as Session;

describe("backupBeforeUpgrade", () => {
  it("names where a dry run's backup would go (backups/ beside cluster.yaml) and touches no node", async () => {
    const b = await backupBeforeUpgrade(spec, untouchable, quietContext(), {
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
    const b = await backupBeforeUpgrade(spec, untouchable, quietContext(), {
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
