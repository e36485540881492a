// The wizard through a real pseudo-terminal: `hactl init` typed at like a person would, compared with
// `hactl init --yes` given the same answers as flags. Both must write the very same cluster.yaml.
// Needs the built binary: bin/hactl when dist/ is newer than src/, otherwise a private build is made.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hactlBinary, run } from "../built-hactl.js";

const driver = fileURLToPath(new URL("./pty-drive.py", import.meta.url));
const PG_URL = "postgresql://app:N0tInTheFile@db.internal:5432/app";

const DOWN = "\u001b[B";
const CLEAR_LINE = "\u0015";

/** What a person types, question by question (expected screen text → keys). */
const typing: [string, string][] = [
  ["Cluster name", "shop\r"],
  ["Kubernetes distribution", `${DOWN}\r`],
  ["kubeadm version", "1.37\r"],
  ["How many nodes", "4\r"],
  ["Same SSH login", "\r"],
  ["Every node: SSH user", "ubuntu\r"],
  ["Every node: how does hactl log in", `${DOWN}\r`],
  ["Every node: private key file", `${CLEAR_LINE}~/.ssh/lab_key\r`],
  ["Node 1 of 4: name", "\r"],
  ["node-1: address", "10.77.0.300\r"],
  ["must be an IPv4 address", `${CLEAR_LINE}10.77.0.11\r`],
  ["node-1: role", "\r"],
  ["Node 2 of 4: name", "\r"],
  ["node-2: address", "10.77.0.12\r"],
  ["node-2: role", "\r"],
  ["Node 3 of 4: name", "\r"],
  ["node-3: address", "10.77.0.13\r"],
  ["node-3: role", "\r"],
  ["Node 4 of 4: name", "\r"],
  ["node-4: address", "10.77.0.14\r"],
  ["node-4: role", "\r"],
  ["Nodes that log in differently", "node-4\r"],
  ["node-4: SSH user", `${CLEAR_LINE}root\r`],
  ["node-4: how does hactl log in", "\r"],
  ["node-4: private key file", "\r"],
  ["Load balancer in front", "\r"],
  ["Port of the Kubernetes API", "\r"],
  ["Virtual IP", "10.77.0.100\r"],
  ["Interface for the VIP", "eth0\r"],
  ["balance web traffic", "y\r"],
  ["Turn on HA mode", "y\r"],
  ["Replicas of each system service", "\r"],
  ["Seconds before workloads leave", "60\r"],
  ["Turn on autoscaling", "n\r"],
  ["Turn on Linkerd", "y\r"],
  ["External PostgreSQL", "PG_URL\r"],
  ["External MongoDB", "\r"],
  ["External S3", "\r"],
  ["External Redis", "\r"],
  ["External RabbitMQ", "\r"],
  ["Write .*\\?", "y\r"],
];

const flags = [
  "--name",
  "shop",
  "--distribution",
  "kubeadm",
  "--k8s-version",
  "1.37",
  "--node",
  "node-1=10.77.0.11:control-plane:ubuntu",
  "--node",
  "node-2=10.77.0.12::ubuntu",
  "--node",
  "node-3=10.77.0.13:cp:ubuntu",
  "--node",
  "node-4=10.77.0.14:worker:root",
  "--identity-file",
  "~/.ssh/lab_key",
  "--vip",
  "10.77.0.100",
  "--interface",
  "eth0",
  "--web",
  "--ha",
  "--eviction-timeout",
  "60",
  "--no-autoscaling",
  "--linkerd",
  "--postgresql-env",
  "PG_URL",
];

describe("hactl init through a pseudo-terminal", () => {
  let work: string;
  let hactl: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "hactl-wizard-pty-"));
    hactl = await hactlBinary(work);
    env = { ...process.env, XDG_STATE_HOME: join(work, "state"), PG_URL, TERM: "xterm-256color" };
  }, 180_000);

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it("writes the same cluster.yaml as the equivalent flags, with no secret in it", async () => {
    const typedFile = join(work, "typed.yaml");
    const flagsFile = join(work, "flags.yaml");
    const steps = join(work, "steps.json");
    writeFileSync(steps, JSON.stringify(typing.map(([expect, send]) => ({ expect, send }))));

    const typed = await run(
      "python3",
      [driver, steps, "--", process.execPath, hactl, "init", "--out", typedFile, "--no-discover"],
      env,
    );
    expect(typed.stderr).toBe("");
    expect(typed.code, typed.stdout).toBe(0);
    expect(typed.stdout).toContain("must be an IPv4 address");
    expect(typed.stdout).toContain("PG_URL is set and looks like a PostgreSQL connection string");

    const flagged = await run(process.execPath, [hactl, "init", "--out", flagsFile, "--yes", ...flags], env);
    expect(flagged.code, flagged.stderr).toBe(0);

    const text = readFileSync(typedFile, "utf8");
    expect(readFileSync(flagsFile, "utf8")).toBe(text);
    expect(text).toContain("postgresql:\n      env: PG_URL");
    expect(text).toContain("{ name: node-4, address: 10.77.0.14, role: worker, ssh: { user: root } }");
    for (const out of [text, typed.stdout, flagged.stdout, flagged.stderr]) {
      expect(out).not.toContain("N0tInTheFile");
      expect(out).not.toContain("db.internal");
    }

    const validate = await run(process.execPath, [hactl, "validate", "-f", typedFile], env);
    expect(validate.code, validate.stdout + validate.stderr).toBe(0);
  }, 120_000);

  it("stops the connect spinner with ✗ before the interface question when the nodes cannot be reached", async () => {
    // Nothing listens on port 22 of these loopback addresses: every connection is refused at once.
    const steps = join(work, "unreachable.json");
    const snapshots = join(work, "unreachable-screens.json");
    const script: { expect: string; send: string; settle?: number; snapshot?: string }[] = [
      { expect: "Cluster name", send: "\r" },
      { expect: "Kubernetes distribution", send: "\r" },
      { expect: "microk8s version", send: "1.29\r" },
      { expect: "out of upstream support since 2025-02-28", send: "" },
      { expect: "How many nodes", send: "\r" },
      { expect: "Same SSH login", send: "\r" },
      { expect: "Every node: SSH user", send: "\r" },
      { expect: "Every node: how does hactl log in", send: "\r" },
      ...[1, 2, 3].flatMap((i) => [
        { expect: `Node ${i} of 3: name`, send: "\r" },
        { expect: `node-${i}: address`, send: `127.0.0.${10 + i}\r` },
      ]),
      { expect: "Nodes that log in differently", send: "\r" },
      { expect: "Load balancer in front", send: "\r" },
      { expect: "Port of the Kubernetes API", send: "\r" },
      { expect: "Virtual IP", send: "10.77.0.100\r" },
      // a spinner left running redraws every 80 ms: a second is plenty to see it on the screen
      { expect: "Interface for the VIP", send: "\u0003", settle: 1.2, snapshot: "interface" },
    ];
    writeFileSync(steps, JSON.stringify(script));
    const home = join(work, "home");
    mkdirSync(home, { recursive: true });
    const res = await run(
      "python3",
      [
        driver,
        steps,
        "--snapshots",
        snapshots,
        "--",
        process.execPath,
        hactl,
        "init",
        "--out",
        join(work, "unreachable.yaml"),
      ],
      { ...env, HOME: home, SSH_AUTH_SOCK: "" },
    );
    expect(res.code, res.stdout + res.stderr).toBe(130);
    const screen = (JSON.parse(readFileSync(snapshots, "utf8")) as Record<string, string[]>).interface ?? [];
    const shown = screen.join("\n");
    expect(shown).toMatch(/✗ Connect to 3 machines: 3 of 3 not reachable/);
    expect(shown).toContain("Could not reach them all; type the interface name instead.");
    // no spinner frame anywhere, and the question is the last thing on the screen, where the cursor waits
    expect(shown).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
    expect(screen.at(-1)).toMatch(
      /Interface for the VIP \(blank: the one carrying each machine's address, found at install\)/,
    );
    expect(screen.filter((l) => l.includes("Interface for the VIP"))).toHaveLength(1);
  }, 120_000);

  it("without a terminal, names the flags that are missing instead of asking", async () => {
    const res = await run(
      process.execPath,
      [hactl, "init", "--out", join(work, "none.yaml"), "--lb-mode", "external"],
      env,
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("--node NAME=ADDRESS");
    expect(res.stderr).toContain("--lb-host NAME=ADDRESS");
    expect(res.stderr).toContain("--lb-port PORT");
  }, 60_000);

  it("refuses to replace an existing file unless --force", async () => {
    const file = join(work, "exists.yaml");
    writeFileSync(file, "keep me\n");
    const refused = await run(process.execPath, [hactl, "init", "--out", file, "--yes", ...flags], env);
    expect(refused.code).toBe(2);
    expect(readFileSync(file, "utf8")).toBe("keep me\n");
    const forced = await run(process.execPath, [hactl, "init", "--out", file, "--yes", "--force", ...flags], env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).toContain("name: shop");
  }, 60_000);
});
