// Failover through a load balancer, measured from the client's side: one request after another, each on
// a fresh connection (as a new kubectl or browser would open), while a node is powered off. Used by
// test/e2e/failover.test.ts and `npm run bench -- --failover N`. Run it where the lab's addresses are
// reachable (the workstation namespace hl-ws). The power-off itself is lab.mjs's stopNode: the node's link
// goes down and every process in its namespaces is killed at once.

import http from "node:http";
import https from "node:https";
import { performance } from "node:perf_hooks";
import { inNode } from "./lab.mjs";

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @typedef {{ scheme?: "https" | "http", host: string, port: number, path?: string, method?: string }} Target
 * @typedef {{ ok: boolean, status?: number, error?: string, ms: number }} Probe
 * @typedef {{ at: number, ms: number, ok: boolean, status?: number, error?: string }} TimedProbe
 *   (at: ms after the stop began; ms: how long the request took)
 */

/**
 * One request on a fresh connection. It succeeds when the answer is 200 within `timeoutMs` (connect,
 * TLS and response together); the certificate is not checked (this is a probe of the path).
 * @param {Target} target @param {number} timeoutMs
 * @returns {Promise<Probe>}
 */
export function probeOnce(target, timeoutMs) {
  const started = performance.now();
  const lib = target.scheme === "http" ? http : https;
  return new Promise((resolve) => {
    let settled = false;
    /** @param {Omit<Probe, "ms">} r */
    const done = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, ms: performance.now() - started });
    };
    const req = lib.request(
      {
        host: target.host,
        port: target.port,
        path: target.path ?? "/livez",
        method: target.method ?? "GET",
        agent: false,
        rejectUnauthorized: false,
      },
      (res) => {
        res.resume();
        res.on("end", () => done({ ok: res.statusCode === 200, status: res.statusCode }));
        res.on("error", (e) => done({ ok: false, error: e.message }));
      },
    );
    const timer = setTimeout(() => {
      done({ ok: false, error: `no answer within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on("error", (e) => done({ ok: false, error: e.message }));
    req.end();
  });
}

/**
 * Probe until `count` requests in a row succeed, or `withinMs` passes. Resolves with whether it did.
 * @param {Target} target @param {{ count?: number, withinMs?: number, timeoutMs?: number, gapMs?: number }} [o]
 */
export async function waitSteady(target, { count = 20, withinMs = 60_000, timeoutMs = 2000, gapMs = 50 } = {}) {
  const until = performance.now() + withinMs;
  let run = 0;
  while (performance.now() < until) {
    run = (await probeOnce(target, timeoutMs)).ok ? run + 1 : 0;
    if (run >= count) return true;
    await sleep(gapMs);
  }
  return false;
}

/**
 * The steady point of a probe series: `recoveredMs` is when the first request of the first run of
 * `count` successes in a row was answered, counted from the stop (0 when that run is the first
 * request: nothing failed before it). Pure, so the bench's and the tests' figures come from one rule.
 * @param {TimedProbe[]} probes in order @param {number} count
 */
export function steadyPoint(probes, count) {
  let run = 0;
  for (let i = 0; i < probes.length; i++) {
    const p = /** @type {TimedProbe} */ (probes[i]);
    run = p.ok ? run + 1 : 0;
    if (run === count) {
      const first = /** @type {TimedProbe} */ (probes[i - count + 1]);
      const index = i - count + 1;
      return { steady: true, recoveredMs: index === 0 ? 0 : first.at + first.ms, firstSteadyIndex: index };
    }
  }
  return { steady: false, recoveredMs: undefined, firstSteadyIndex: undefined };
}

/**
 * @typedef {{ recoveredMs: number | undefined, steady: boolean, failed: number, probes: number,
 *   firstFailureMs: number | undefined, lastFailureMs: number | undefined, slowestOkMs: number,
 *   errors: string[], stopMs: number }} FailoverResult
 *   (recoveredMs: from the start of the stop to the answer of the first of `count` successes in a row;
 *   undefined when the API was not steady within the limit. stopMs: how long the stop itself took.)
 */

/**
 * Checks that the target is steady, starts `stop` and probes from that instant, one request after
 * another, until `count` requests in a row have succeeded after the stop finished (or `limitMs`).
 * @param {{ target: Target, stop: () => Promise<unknown>, count?: number, timeoutMs?: number,
 *   gapMs?: number, limitMs?: number }} o
 * @returns {Promise<FailoverResult>}
 */
export async function measureFailover({ target, stop, count = 20, timeoutMs = 2000, gapMs = 50, limitMs = 30_000 }) {
  if (!(await waitSteady(target, { count, withinMs: 60_000, timeoutMs, gapMs }))) {
    throw new Error(`${target.host}:${target.port} was not steady (${count} answers in a row) before the stop`);
  }
  /** @type {TimedProbe[]} */
  const probes = [];
  let stopDone = false;
  let stopMs = 0;
  /** @type {unknown} */
  let stopError;
  const t0 = performance.now();
  const stopping = stop().then(
    () => {
      stopDone = true;
      stopMs = performance.now() - t0;
    },
    (e) => {
      stopError = e ?? new Error("the stop failed");
    },
  );
  let run = 0;
  for (;;) {
    const at = performance.now() - t0;
    const r = await probeOnce(target, timeoutMs);
    probes.push({
      at,
      ms: r.ms,
      ok: r.ok,
      ...(r.status !== undefined ? { status: r.status } : {}),
      ...(r.error ? { error: r.error } : {}),
    });
    run = r.ok ? run + 1 : 0;
    if ((run >= count && stopDone) || stopError !== undefined) break;
    if (performance.now() - t0 > limitMs) break;
    await sleep(gapMs);
  }
  await stopping;
  if (stopError !== undefined) throw stopError;
  const point = steadyPoint(probes, count);
  const failures = probes.filter((p) => !p.ok);
  const steadyProbes = point.firstSteadyIndex === undefined ? [] : probes.slice(point.firstSteadyIndex);
  return {
    recoveredMs: point.recoveredMs,
    steady: point.steady,
    failed: failures.length,
    probes: probes.length,
    firstFailureMs: failures[0]?.at,
    lastFailureMs: failures.at(-1)?.at,
    slowestOkMs: Math.max(0, ...steadyProbes.map((p) => p.ms)),
    errors: [...new Set(failures.map((p) => p.error ?? `HTTP ${p.status}`))],
    stopMs,
  };
}

/**
 * The nodes that hold `vip` on one of their interfaces now.
 * @param {readonly import("./lab.d.mts").LabNode[]} nodes @param {string} vip
 * @returns {Promise<string[]>}
 */
export async function vipHolders(nodes, vip) {
  const held = await Promise.all(
    nodes.map(async (n) => {
      try {
        return (await inNode(n, ["ip", "-4", "-o", "addr", "show"])).stdout.includes(`${vip}/`);
      } catch {
        return false;
      }
    }),
  );
  return nodes.filter((_, i) => held[i]).map((n) => n.name);
}

/** "3.2 s" */
export const seconds = (/** @type {number | undefined} */ ms) =>
  ms === undefined ? "not steady" : `${(ms / 1000).toFixed(1)} s`;

/**
 * One line for a report: "API steady again after 3.2 s (5 of 180 requests failed, between 0.1 s and 3.1 s; slowest
 * successful request after that 1.02 s)".
 * @param {FailoverResult} r
 */
export function describeFailover(r) {
  const failed =
    r.failed === 0
      ? "no request failed"
      : `${r.failed} of ${r.probes} requests failed, between ${seconds(r.firstFailureMs)} and ${seconds(r.lastFailureMs)}: ${r.errors.join("; ")}`;
  return `steady again after ${seconds(r.recoveredMs)} (${failed}; slowest request after that ${(r.slowestOkMs / 1000).toFixed(2)} s)`;
}
