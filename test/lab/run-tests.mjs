// `npm test`: as root, builds hactl, creates the lab's bridge and workstation namespaces and runs all
// vitest projects inside the workstation namespace, then tears the lab down whatever happens.
// Not as root: runs the unit tests only. Extra arguments go to vitest.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  acquireLabLock,
  ensureRequirements,
  ensureWorkstation,
  labDownAll,
  releaseLabLock,
  WORKSTATION_NS,
} from "./lab.mjs";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const extra = process.argv.slice(2);

/**
 * Run a command with inherited stdio; resolves with its exit code.
 * @param {string} cmd
 * @param {string[]} args
 * @param {(child: import("node:child_process").ChildProcess) => void} [onChild]
 * @param {{ detached?: boolean }} [opts]
 * @returns {Promise<number>}
 */
function runInherit(cmd, args, onChild, { detached = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "inherit", cwd: repo, detached });
    onChild?.(child);
    child.on("error", reject);
    child.on("close", (code, signal) => resolve(code ?? (signal === "SIGINT" ? 130 : 143)));
  });
}

async function main() {
  if (process.getuid?.() !== 0) {
    console.error(
      "npm test: not running as root, so only the unit tests run (the lab tests need root: `sudo npm test`).",
    );
    return runInherit("npx", ["vitest", "run", "--project", "unit", ...extra]);
  }

  // One lab per machine: a second `npm test` (another checkout, another terminal) waits here for the
  // first to finish instead of tearing its lab down.
  if (!process.env.HACTL_LAB_LOCKED) {
    // flock does not pass signals on, so the locked run gets a process group of its own and this
    // process forwards Ctrl-C and SIGTERM to the whole group (the inner run then tears the lab down)
    console.error("npm test: waiting for the lab lock (/run/hactl-lab.lock) if another run holds it");
    const args = [
      "/run/hactl-lab.lock",
      "env",
      "HACTL_LAB_LOCKED=1",
      process.execPath,
      fileURLToPath(import.meta.url),
      ...extra,
    ];
    return runInherit(
      "flock",
      args,
      (child) => {
        /** @param {NodeJS.Signals} signal */
        const forward = (signal) => {
          try {
            if (child.pid) process.kill(-child.pid, signal);
          } catch {
            // the group has ended
          }
        };
        process.on("SIGINT", forward);
        process.on("SIGTERM", forward);
      },
      { detached: true },
    );
  }

  await ensureRequirements({ log: (line) => console.error(line) });
  // one test run owns the lab at a time; a second one waits here
  await acquireLabLock({ log: (line) => console.error(`npm test: ${line}`) });
  process.on("exit", releaseLabLock);

  console.error("npm test: building hactl (npm run build)");
  const buildCode = await runInherit("npm", ["run", "--silent", "build"]);
  if (buildCode !== 0)
    console.error(`npm test: the build failed (exit ${buildCode}); tests that run bin/hactl will fail`);

  /** @type {import("node:child_process").ChildProcess | undefined} */
  let vitest;
  let tornDown = false;
  const teardown = async () => {
    if (tornDown) return;
    tornDown = true;
    try {
      await labDownAll();
    } finally {
      releaseLabLock();
    }
  };
  /** @param {NodeJS.Signals} signal */
  const onSignal = (signal) => {
    console.error(`npm test: ${signal}, stopping the tests and tearing the lab down`);
    if (vitest && vitest.exitCode === null) {
      vitest.kill(signal);
      // vitest's own exit leads to the teardown in finally
      setTimeout(() => vitest?.kill("SIGKILL"), 10_000).unref();
    } else {
      void teardown().finally(() => process.exit(130));
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    await labDownAll();
    await ensureWorkstation();
    // nsenter --net switches only the network namespace, so the tests share the host's mounts and the
    // namespaces they create are visible (and removable) from here
    const code = await runInherit(
      "nsenter",
      [`--net=/run/netns/${WORKSTATION_NS}`, "--", "npx", "vitest", "run", ...extra],
      (c) => {
        vitest = c;
      },
    );
    return buildCode !== 0 && code === 0 ? 1 : code;
  } finally {
    await teardown();
  }
}

main().then(
  (code) => process.exit(code),
  async (err) => {
    console.error(`npm test: ${err instanceof Error ? err.message : String(err)}`);
    try {
      if (process.getuid?.() === 0) await labDownAll();
    } catch (e) {
      console.error(`npm test: teardown failed too: ${e instanceof Error ? e.message : String(e)}`);
    }
    process.exit(1);
  },
);
