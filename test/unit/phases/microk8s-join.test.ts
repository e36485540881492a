import { afterEach, describe, expect, it } from "vitest";
import { HactlError } from "../../../src/core/errors.js";
import { clearSecrets, redact } from "../../../src/core/secrets.js";
import { joinMicrok8sNode, waitMember, type JoinOptions } from "../../../src/phases/microk8s-join.js";
import { FakeHost } from "../../fakes/fake-host.js";
import { addNodeJson, nodesJson, statusYaml, type DatastoreMember } from "../../fakes/outputs.js";
import { THREE_CP_ONE_WORKER, specFrom } from "../../fakes/spec.js";

afterEach(() => clearSecrets());

const spec = specFrom(THREE_CP_ONE_WORKER);
const nodeSpec = (name: string) => spec.spec.nodes.find((n) => n.name === name) as (typeof spec.spec.nodes)[number];
const tokenFor = (i: number): string => `${String(i).repeat(32).slice(0, 32)}/abcdef01234${i}`;
const HOSTNAME_REFUSED =
  'Connection failed. The hostname (node-2) of the joining node does not resolve to the IP "10.0.0.12". Refusing join (400).';

/**
 * A leader and a joining node sharing one small cluster model: each add-node mints a new token, a join
 * succeeds when `outcomes` says so, and a failed join leaves the node half-joined until leave/remove-node.
 */
function cluster(joining: string, address: string, outcomes: ("ok" | "fail")[], onLeave: () => void = () => undefined) {
  const member: DatastoreMember[] = [{ ip: "10.0.0.11", role: "voter" }];
  const state = { minted: 0, joins: 0, inKube: false, inDatastore: false, ready: false };
  const leader = new FakeHost("node-1", "10.0.0.11")
    .on({ equal: ["microk8s", "add-node", "--format", "json"] }, () => ({
      stdout: addNodeJson(tokenFor(++state.minted), ["172.17.0.1", "10.0.0.11"]),
    }))
    .on({ prefix: ["microk8s", "kubectl", "get", "nodes"] }, () => ({
      stdout: nodesJson([
        { name: "node-1" },
        ...(state.inKube ? [{ name: joining, ready: state.ready ? ("True" as const) : ("False" as const) }] : []),
      ]),
    }))
    .on({ prefix: ["microk8s", "status"] }, () => ({
      stdout: statusYaml({
        members: [...member, ...(state.inDatastore ? [{ ip: address, role: "voter" as const }] : [])],
      }),
    }))
    .on({ prefix: ["microk8s", "remove-node"] }, () => {
      state.inKube = false;
      state.inDatastore = false;
      return { code: 0 };
    });
  const node = new FakeHost(joining, address)
    .on({ prefix: ["sh", "-c"] }, () => {
      const outcome = outcomes[state.joins++] ?? "fail";
      state.inKube = true;
      state.inDatastore = true;
      if (outcome === "ok") {
        state.ready = true;
        return {
          code: 0,
          stdout:
            "Contacting cluster at 10.0.0.11\nWaiting for this node to finish joining the cluster. .. \nSuccessfully joined the cluster.\n",
        };
      }
      return { code: 6, stdout: HOSTNAME_REFUSED };
    })
    .on({ equal: ["microk8s", "leave"] }, () => {
      onLeave();
      return { code: 0 };
    });
  return { leader, node, state };
}

function options(
  c: ReturnType<typeof cluster>,
  name: string,
  over: Partial<JoinOptions> = {},
): JoinOptions & { logs: string[] } {
  const logs: string[] = [];
  return {
    leader: c.leader,
    leaderAddress: "10.0.0.11",
    node: c.node,
    spec: nodeSpec(name),
    attempts: 3,
    readyTimeoutMs: 60_000,
    signal: new AbortController().signal,
    log: (l) => logs.push(l),
    logs,
    ...over,
  };
}

const allArgv = (...hosts: FakeHost[]): string =>
  hosts.flatMap((h) => h.commands.map((c) => c.argv.join(" "))).join("\n");

describe("joinMicrok8sNode", () => {
  it("joins with a fresh token on the leader's address, sent on stdin only", async () => {
    const c = cluster("node-2", "10.0.0.12", ["ok"]);
    await joinMicrok8sNode(options(c, "node-2"));
    const joins = c.node.commandsMatching({ prefix: ["sh", "-c"] });
    expect(joins).toHaveLength(1);
    expect(joins[0]?.stdin).toBe(`10.0.0.11:25000/${tokenFor(1)}\n`);
    expect(joins[0]?.argv).not.toContain("--worker");
    expect(allArgv(c.leader, c.node)).not.toContain(tokenFor(1).slice(0, 32));
    expect(c.node.commandsMatching({ equal: ["microk8s", "leave"] })).toHaveLength(0);
  });

  it("after a failed join cleans up the half-joined node, then succeeds with a new token", async () => {
    const c = cluster("node-2", "10.0.0.12", ["fail", "ok"]);
    const o = options(c, "node-2");
    await joinMicrok8sNode(o);
    expect(c.state.minted).toBe(2);
    const stdins = c.node.commandsMatching({ prefix: ["sh", "-c"] }).map((j) => j.stdin);
    expect(stdins).toEqual([`10.0.0.11:25000/${tokenFor(1)}\n`, `10.0.0.11:25000/${tokenFor(2)}\n`]);
    expect(c.node.lines.filter((l) => !l.startsWith("sh -c"))).toEqual(["microk8s leave"]);
    const leaderLines = c.leader.lines;
    const removeAt = leaderLines.indexOf("microk8s remove-node node-2 --force");
    expect(removeAt).toBeGreaterThan(leaderLines.indexOf("microk8s add-node --format json"));
    expect(removeAt).toBeLessThan(leaderLines.lastIndexOf("microk8s add-node --format json"));
    for (const t of [tokenFor(1), tokenFor(2)]) expect(allArgv(c.leader, c.node)).not.toContain(t.slice(0, 32));
    expect(o.logs.some((l) => l.includes("join attempt 1 failed (exit 6)"))).toBe(true);
  });

  it("registers every minted token so logs and errors redact it", async () => {
    const c = cluster("node-2", "10.0.0.12", ["fail", "ok"]);
    await joinMicrok8sNode(options(c, "node-2"));
    expect(redact(`microk8s join 10.0.0.11:25000/${tokenFor(2)}`)).toBe("microk8s join «redacted»");
    expect(redact(tokenFor(1))).toBe("«redacted»");
  });

  it("fails with JOIN_FAILED naming the node after every attempt failed, each with its own token", async () => {
    const c = cluster("node-3", "10.0.0.13", ["fail", "fail", "fail"]);
    const err = (await joinMicrok8sNode(options(c, "node-3")).catch((e: unknown) => e)) as HactlError;
    expect(err).toBeInstanceOf(HactlError);
    expect(err.code).toBe("JOIN_FAILED");
    expect(err.node).toBe("node-3");
    expect(err.message).toBe("could not join node-3 after 3 attempts");
    expect(err.details).toContain("Refusing join (400)");
    expect(err.remedy).toContain("run the same command again");
    expect(c.state.minted).toBe(3);
    expect(new Set(c.node.commandsMatching({ prefix: ["sh", "-c"] }).map((j) => j.stdin)).size).toBe(3);
    expect(c.leader.commandsMatching({ prefix: ["microk8s", "remove-node"] })).toHaveLength(3);
    expect(allArgv(c.leader, c.node)).not.toMatch(/[0-9]{32}/);
  });

  it("stops between attempts with INTERRUPTED once the run is interrupted, minting no further token", async () => {
    const ac = new AbortController();
    const c = cluster("node-2", "10.0.0.12", ["fail", "ok"], () => ac.abort());
    const err = (await joinMicrok8sNode(options(c, "node-2", { signal: ac.signal })).catch(
      (e: unknown) => e,
    )) as HactlError;
    expect(err.code).toBe("INTERRUPTED");
    expect(err.node).toBe("node-2");
    expect(c.state.minted).toBe(1);
    expect(c.leader.commandsMatching({ prefix: ["microk8s", "remove-node"] })).toHaveLength(1);
  });

  it("first removes what an interrupted join left of a half-joined node, then joins with a fresh token", async () => {
    const c = cluster("node-2", "10.0.0.12", ["ok"]);
    c.state.inKube = true;
    c.state.inDatastore = true;
    await joinMicrok8sNode(options(c, "node-2", { halfJoined: true }));
    expect(c.node.lines[0]).toBe("microk8s leave");
    const leaderLines = c.leader.lines;
    expect(leaderLines.indexOf("microk8s remove-node node-2 --force")).toBeLessThan(
      leaderLines.indexOf("microk8s add-node --format json"),
    );
    expect(c.state.minted).toBe(1);
  });

  it("does not query for leftovers when the gathered state shows none", async () => {
    const c = cluster("node-2", "10.0.0.12", ["ok"]);
    await joinMicrok8sNode(options(c, "node-2"));
    expect(c.leader.lines[0]).toBe("microk8s add-node --format json");
  });

  it("joins a worker with --worker and waits only for Ready", async () => {
    const c = cluster("worker-1", "10.0.0.21", ["ok"]);
    await joinMicrok8sNode(options(c, "worker-1"));
    expect(c.node.commandsMatching({ prefix: ["sh", "-c"] })[0]?.argv.at(-1)).toBe("--worker");
    expect(c.leader.commandsMatching({ prefix: ["microk8s", "status"] })).toHaveLength(0);
  });

  it("with skipReadyWait returns after a successful join without reading the node list; waitMember waits later", async () => {
    const c = cluster("worker-1", "10.0.0.21", ["ok"]);
    await joinMicrok8sNode(options(c, "worker-1", { skipReadyWait: true }));
    expect(c.leader.commandsMatching({ prefix: ["microk8s", "kubectl"] })).toHaveLength(0);
    await waitMember({
      leader: c.leader,
      spec: nodeSpec("worker-1"),
      readyTimeoutMs: 60_000,
      signal: new AbortController().signal,
    });
    expect(c.leader.commandsMatching({ prefix: ["microk8s", "kubectl"] })).toHaveLength(1);
  });

  it("reports a Ctrl-C during the wait for Ready as the interruption, not as a failed join", async () => {
    const ac = new AbortController();
    ac.abort(new HactlError("INTERRUPTED", "interrupted by Ctrl-C after the step that was running"));
    const notReady = new FakeHost("node-1", "10.0.0.11").on(
      { prefix: ["microk8s", "kubectl"] },
      { stdout: nodesJson([{ name: "node-1" }, { name: "worker-1", ready: "False" }]) },
    );
    const err = (await waitMember({
      leader: notReady,
      spec: nodeSpec("worker-1"),
      readyTimeoutMs: 60_000,
      signal: ac.signal,
    }).catch((e: unknown) => e)) as HactlError;
    expect(err.code).toBe("INTERRUPTED");
  });

  it("reports a join that never became Ready as a retryable JOIN_FAILED", async () => {
    const c = cluster("node-2", "10.0.0.12", ["ok"]);
    const neverReady = new FakeHost("node-1", "10.0.0.11")
      .on({ equal: ["microk8s", "add-node", "--format", "json"] }, { stdout: addNodeJson(tokenFor(7), ["10.0.0.11"]) })
      .on(
        { prefix: ["microk8s", "kubectl"] },
        { stdout: nodesJson([{ name: "node-1" }, { name: "node-2", ready: "False" }]) },
      )
      .on(
        { prefix: ["microk8s", "status"] },
        { stdout: statusYaml({ members: [{ ip: "10.0.0.11", role: "voter" }] }) },
      );
    const err = (await joinMicrok8sNode({ ...options(c, "node-2"), leader: neverReady, readyTimeoutMs: -1 }).catch(
      (e: unknown) => e,
    )) as HactlError;
    expect(err.code).toBe("JOIN_FAILED");
    expect(err.retryable).toBe(true);
    expect(err.message).toBe("node-2 joined but did not become Ready and a datastore member in time");
  });
});
