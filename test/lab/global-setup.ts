// vitest globalSetup of the "lab" project: the lab tests need root and the workstation namespace,
// which `npm test` (test/lab/run-tests.mjs) provides. Each test file brings up its own lab; this
// teardown removes whatever a failed or interrupted file left behind.
import { insideWorkstation, labDownAll, WORKSTATION_NS } from "./lab.mjs";

export function setup(): () => Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      "The lab tests need root. Run them with `npm test` as root (non-root `npm test` runs the unit tests only).",
    );
  }
  if (!insideWorkstation()) {
    throw new Error(
      `The lab tests must run inside the ${WORKSTATION_NS} network namespace. Run them with \`npm test\` ` +
        "(for example `npm test -- test/lab/lab.test.ts` or `npm test -- --project lab`), not with vitest directly.",
    );
  }
  return async () => {
    await labDownAll();
  };
}
