// `npm run bench -- --failover N`: how long the API through the VIP stays unsteady after a control plane is
// powered off. A fresh lab of 3 nodes, hactl install (MicroK8s, keepalived + haproxy on the control planes,
// not timed), then lib/failover-rounds.mjs inside the workstation namespace does N rounds of two power-offs.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { labClusterYaml } from "../../test/lab/cluster-yaml.mjs";
import { spread } from "./measure.mjs";
import { timedInWorkstation } from "./proc.mjs";
import { freshLab, hactlEnv } from "./runs.mjs";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const ROUNDS_SCRIPT = join(REPO, "bench/lib/failover-rounds.mjs");
const API_PORT = 7443;
const BACKEND_API_PORT = 16443;

/**
 * @typedef {{ round: number, scenario: "holder" | "non-holder", node: string, vipAfter: string[] }
 *   & import("../../test/lab/failover.d.mts").FailoverResult} FailoverRound
 * @typedef {{ ok: boolean, note?: string, rounds: FailoverRound[], dir: string }} FailoverResults
 */

/**
 * @param {{ rounds: number, costs: Record<string, number>, workDir: string, log: (line: string) => void }} o
 * @returns {Promise<FailoverResults>}
 */
export async function runFailover({ rounds, costs, workDir, log }) {
  const dir = join(workDir, "failover");
  await mkdir(dir, { recursive: true });
  const lab = await freshLab(3, costs, log);
  const spec = join(dir, "cluster.yaml");
  await writeFile(spec, labClusterYaml(lab, { name: "bench", controlPlanes: 3 }));
  const install = await timedInWorkstation(
    [process.execPath, join(REPO, "bin/hactl"), "install", "-f", spec, "--yes", "--log-file", join(dir, "install.log")],
    {
      cwd: dir,
      env: hactlEnv(dir),
      stdoutFile: join(dir, "install.stdout.txt"),
      stderrFile: join(dir, "install.stderr.txt"),
      timeoutMs: 10 * 60_000,
    },
  );
  if (install.code !== 0)
    return { ok: false, note: `hactl install failed (exit ${install.code}), see ${dir}`, rounds: [], dir };
  log(`  3 control planes installed in ${(install.wallMs / 1000).toFixed(1)} s; ${rounds} round(s) of power-offs`);
  const roundsArgv = [
    process.execPath,
    ROUNDS_SCRIPT,
    String(rounds),
    /** @type {string} */ (lab.vips[0]),
    String(API_PORT),
    String(BACKEND_API_PORT),
  ];
  const out = await timedInWorkstation(roundsArgv, {
    cwd: REPO,
    env: process.env,
    stdoutFile: join(dir, "rounds.json"),
    stderrFile: join(dir, "rounds.stderr.txt"),
    timeoutMs: rounds * 5 * 60_000,
  });
  for (const line of (await readFile(join(dir, "rounds.stderr.txt"), "utf8")).split("\n").filter(Boolean))
    log(line.replace(/^bench: /, ""));
  if (out.code !== 0)
    return {
      ok: false,
      note: `the failover rounds failed (exit ${out.code}), see ${dir}/rounds.stderr.txt`,
      rounds: [],
      dir,
    };
  const parsed = /** @type {{ rounds: FailoverRound[] }} */ (
    JSON.parse(await readFile(join(dir, "rounds.json"), "utf8"))
  );
  return { ok: parsed.rounds.every((r) => r.steady), rounds: parsed.rounds, dir };
}

/** The figures per scenario: median and worst time to steady, failed requests, slowest request after. @param {FailoverRound[]} rounds */
export function failoverSummary(rounds) {
  return /** @type {const} */ (["holder", "non-holder"]).map((scenario) => {
    const mine = rounds.filter((r) => r.scenario === scenario);
    const recovered = spread(
      mine.filter((r) => r.recoveredMs !== undefined).map((r) => /** @type {number} */ (r.recoveredMs)),
    );
    return {
      scenario,
      rounds: mine.length,
      notSteady: mine.filter((r) => !r.steady).length,
      recovered,
      failed: spread(mine.map((r) => r.failed)),
      slowestOkMs: Math.max(0, ...mine.map((r) => r.slowestOkMs)),
    };
  });
}
