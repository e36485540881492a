// The failover rounds of `npm run bench -- --failover N`, run inside the workstation namespace (hl-ws) by
// lib/failover.mjs, where the VIP is reachable: per round, power off the VIP holder, then a control plane
// that does not hold the VIP, each measured from the client's side and booted again before the next.
// Prints one JSON document ({ rounds: [...] }) on stdout; progress goes to stderr.
// Usage: node bench/lib/failover-rounds.mjs ROUNDS VIP PORT BACKEND_PORT

import { measureFailover, seconds, vipHolders, waitSteady } from "../../test/lab/failover.mjs";
import { readLab, startNode, stopNode } from "../../test/lab/lab.mjs";

const [roundsArg, vip, portArg, backendPortArg] = process.argv.slice(2);
const rounds = Number(roundsArg);
const port = Number(portArg);
const backendPort = Number(backendPortArg);
if (!Number.isInteger(rounds) || rounds < 1 || !vip || !port || !backendPort) {
  throw new Error("usage: failover-rounds.mjs ROUNDS VIP PORT BACKEND_PORT");
}
const lab = readLab();
if (!lab) throw new Error("no lab is up");
const cps = lab.nodes.slice(0, 3);
const log = (/** @type {string} */ line) => process.stderr.write(`bench:   ${line}\n`);

/** @type {Record<string, unknown>[]} */
const results = [];
for (let round = 1; round <= rounds; round++) {
  for (const scenario of /** @type {const} */ (["holder", "non-holder"])) {
    const holders = await vipHolders(cps, vip);
    if (holders.length !== 1)
      throw new Error(`round ${round}: expected one VIP holder, found ${holders.join(", ") || "none"}`);
    const node =
      scenario === "holder" ? cps.find((n) => n.name === holders[0]) : cps.find((n) => n.name !== holders[0]);
    if (!node) throw new Error(`round ${round}: no node for the ${scenario} case`);
    const r = await measureFailover({ target: { host: vip, port, path: "/livez" }, stop: () => stopNode(node) });
    const after = await vipHolders(cps, vip);
    log(
      `round ${round}, ${scenario} ${node.name} powered off: steady after ${seconds(r.recoveredMs)} (${r.failed} failed of ${r.probes}); VIP on ${after.join(", ") || "nobody"}`,
    );
    results.push({ round, scenario, node: node.name, vipAfter: after, ...r });
    await startNode(node);
    // its own API server ready again (datastore member back) before the next power-off
    if (
      !(await waitSteady({ host: node.address, port: backendPort, path: "/readyz" }, { count: 3, withinMs: 90_000 }))
    ) {
      throw new Error(`${node.name} did not become ready within 90 s of its boot`);
    }
    // the VIP back on the first control plane (the highest VRRP priority takes it back), so every
    // round starts from the same state, and the load balancers' checks take the node back in (rise 2)
    const first = /** @type {import("../../test/lab/lab.d.mts").LabNode} */ (cps[0]);
    const until = Date.now() + 30_000;
    while ((await vipHolders(cps, vip)).join() !== first.name) {
      if (Date.now() > until)
        throw new Error(`the VIP did not come back to ${first.name} within 30 s of ${node.name}'s boot`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}
process.stdout.write(`${JSON.stringify({ rounds: results })}\n`);
