// Start-up time of `hactl --version` and `hactl --help` against `node -e 0`: fresh processes, run in
// rounds (one of each per round, so drift in machine load hits all alike), after warm-up runs. When the
// single-file hactl has been built (`npm run build:single`), its `--version` and `--help` are timed too.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { median, percentile } from "./measure.mjs";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/**
 * @param {{ runs: number, warmup?: number }} o
 * @returns {{ name: string, argv: string[], samplesMs: number[], medianMs: number, p90Ms: number }[]}
 */
export function measureStartup({ runs, warmup = 3 }) {
  const hactl = join(REPO, "bin/hactl");
  const cases = [
    { name: "node -e 0", argv: [process.execPath, "-e", "0"] },
    { name: "hactl --version", argv: [process.execPath, hactl, "--version"] },
    { name: "hactl --help", argv: [process.execPath, hactl, "--help"] },
  ];
  const single = join(REPO, "dist-single/hactl");
  if (existsSync(single)) {
    cases.push(
      { name: "single-file hactl --version", argv: [single, "--version"] },
      { name: "single-file hactl --help", argv: [single, "--help"] },
    );
  }
  /** @type {number[][]} */
  const samples = cases.map(() => []);
  for (let round = 0; round < warmup + runs; round++) {
    cases.forEach((c, i) => {
      const t = performance.now();
      const r = spawnSync(/** @type {string} */ (c.argv[0]), c.argv.slice(1), {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, NO_COLOR: "1" },
      });
      const ms = performance.now() - t;
      if (r.status !== 0) throw new Error(`${c.name} exited with ${r.status}: ${String(r.stderr).trim()}`);
      if (round >= warmup) samples[i]?.push(ms);
    });
  }
  return cases.map((c, i) => {
    const s = samples[i] ?? [];
    return { name: c.name, argv: c.argv, samplesMs: s, medianMs: median(s), p90Ms: percentile(s, 90) };
  });
}
