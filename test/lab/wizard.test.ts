// The wizard against the lab: `hactl init` in a pseudo-terminal connects to the control-plane nodes it
// was told about, offers the interfaces it found there, and falls back to a typed name when a node is
// down. Runs inside the workstation namespace (`npm test -- test/lab/wizard.test.ts`).
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSpec } from "../../src/spec/parse.js";
import { labDown, labUp, startNode, stopNode, type Lab } from "./lab.mjs";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const bin = join(repo, "bin", "hactl");
const driver = join(repo, "test", "unit", "wizard", "pty-drive.py");
const DOWN = "\u001b[B";

let lab: Lab;
let work: string;
let env: NodeJS.ProcessEnv;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function typeInto(name: string, steps: [string, string][], args: string[]): Promise<Run> {
  const file = join(work, `${name}.steps.json`);
  writeFileSync(file, JSON.stringify(steps.map(([expect, send]) => ({ expect, send }))));
  return new Promise((resolve) => {
    execFile(
      "python3",
      [driver, file, "--", process.execPath, bin, ...args],
      { cwd: work, env, timeout: 150_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Answers for three lab nodes logging in as root with the lab's key, up to the VIP. */
function upToVip(): [string, string][] {
  const nodeSteps = lab.nodes.slice(0, 3).flatMap((n, i): [string, string][] => [
    [`Node ${i + 1} of 3: name`, `${n.name}\r`],
    [`${n.name}: address`, `${n.address}\r`],
    [`${n.name}: SSH user`, "\r"],
    [`${n.name}: how does hactl log in`, i === 0 ? `${DOWN}\r` : "\r"],
    [`${n.name}: private key file`, i === 0 ? `\u0015${lab.sshKey}\r` : "\r"],
  ]);
  return [
    ["Cluster name", "labwiz\r"],
    ["Kubernetes distribution", "\r"],
    ["microk8s version", "\r"],
    ["How many nodes", "3\r"],
    // node by node (the shared login is typed in test/unit/wizard/pty.test.ts)
    ["Same SSH login", "n\r"],
    ...nodeSteps,
    ["Load balancer in front", "\r"],
    ["Port of the Kubernetes API", "\r"],
    ["Virtual IP", `${lab.vips[0]}\r`],
  ];
}

const rest: [string, string][] = [
  ["balance web traffic", "n\r"],
  ["Turn on HA mode", "n\r"],
  ["Turn on autoscaling", "n\r"],
  ["Turn on Linkerd", "n\r"],
  ["External PostgreSQL", "\r"],
  ["External MongoDB", "\r"],
  ["External S3", "\r"],
  ["External Redis", "\r"],
  ["External RabbitMQ", "\r"],
  ["Write .*\\?", "y\r"],
];

beforeAll(async () => {
  lab = await labUp({ nodes: 3 });
  work = mkdtempSync(join(tmpdir(), "hactl-wizard-lab-"));
  // a private HOME whose known_hosts trusts the lab's host keys, so nothing is asked or written in root's
  mkdirSync(join(work, "home", ".ssh"), { recursive: true, mode: 0o700 });
  copyFileSync(lab.knownHosts, join(work, "home", ".ssh", "known_hosts"));
  env = { ...process.env, HOME: join(work, "home"), XDG_STATE_HOME: join(work, "state"), TERM: "xterm-256color" };
});

afterAll(async () => {
  await labDown();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("hactl init against the lab", () => {
  it("offers the interface found on the control-plane nodes and writes it", async () => {
    const out = join(work, "found.yaml");
    const run = await typeInto(
      "found",
      [...upToVip(), ["Interface that carries the VIP", "\r"], ...rest],
      ["init", "--out", out],
    );
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain(`${lab.iface} (on all 3, carries their addresses)`);
    const parsed = parseSpec(readFileSync(out, "utf8"));
    expect(parsed.problems.filter((p) => p.severity === "error")).toEqual([]);
    expect(parsed.spec?.spec.loadBalancer.interface).toBe(lab.iface);
    expect(parsed.spec?.spec.ssh).toMatchObject({ user: "root", identityFile: lab.sshKey, useAgent: false });
  });

  it("asks for the name as text when a node cannot be reached", async () => {
    const down = lab.nodes[2];
    if (!down) throw new Error("the lab has no third node");
    await stopNode(down);
    try {
      const out = join(work, "typed.yaml");
      const run = await typeInto(
        "typed",
        [...upToVip(), ["Could not reach them all", ""], ["Interface for the VIP", "ens9\r"], ...rest],
        ["init", "--out", out],
      );
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toContain("could not list the interfaces");
      expect(parseSpec(readFileSync(out, "utf8")).spec?.spec.loadBalancer.interface).toBe("ens9");
    } finally {
      await startNode(down);
    }
  });
});
