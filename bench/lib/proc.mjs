// Process helpers of the benchmark: timed runs inside the workstation namespace, and cleanup of the
// processes a run left behind (Ansible's SSH control masters), found by a path only this run uses.

import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, readdirSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { WORKSTATION_NS } from "../../test/lab/lab.mjs";

/** @type {Set<import("node:child_process").ChildProcess>} */
const running = new Set();

/** SIGTERM every child the benchmark is still waiting for (on Ctrl-C). */
export function stopRunning() {
  for (const child of running) {
    try {
      if (child.pid) process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}

/**
 * Run argv inside the workstation namespace (as an operator's laptop would), under GNU time, with its
 * stdout and stderr going to files. Resolves with the wall time measured here, from spawn to exit.
 * @param {string[]} argv
 * @param {{ cwd: string, env: Record<string, string | undefined>, stdoutFile: string, stderrFile: string,
 *           timeFile?: string, timeoutMs: number }} opts
 * @returns {Promise<{ code: number, wallMs: number, timedOut: boolean }>}
 */
export function timedInWorkstation(argv, opts) {
  const wrapped = [
    "nsenter",
    `--net=/run/netns/${WORKSTATION_NS}`,
    "--",
    ...(opts.timeFile ? ["/usr/bin/time", "-v", "-o", opts.timeFile] : []),
    ...argv,
  ];
  const out = openSync(opts.stdoutFile, "w");
  const err = openSync(opts.stderrFile, "w");
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(/** @type {string} */ (wrapped[0]), wrapped.slice(1), {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ["ignore", out, err],
      detached: true,
    });
    closeSync(out);
    closeSync(err);
    running.add(child);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, opts.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      running.delete(child);
      reject(e);
    });
    child.on("exit", (code, signal) => {
      const wallMs = performance.now() - started;
      clearTimeout(timer);
      running.delete(child);
      resolve({ code: code ?? (signal ? 128 + 9 : 1), wallMs, timedOut });
    });
  });
}

/**
 * Kill (by pid) every process whose command line contains `marker`, except this process and its
 * parents: Ansible's ControlPersist masters outlive ansible-playbook by 60 s.
 * @param {string} marker a path unique to one run
 * @returns {number[]} the pids signalled
 */
export function killByMarker(marker) {
  /** @type {number[]} */
  const killed = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
    } catch {
      continue;
    }
    if (!cmd.includes(marker)) continue;
    try {
      process.kill(Number(entry), "SIGTERM");
      killed.push(Number(entry));
    } catch {
      // gone already
    }
  }
  return killed;
}
