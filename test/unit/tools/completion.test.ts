// The completion scripts as a shell runs them: bash sources the script and calls its function with
// COMP_WORDS set as readline would; fish answers `complete -C`; zsh at least parses it.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_LABEL, machineNames } from "../../../src/actions/completion.js";
import { PATTERNS } from "../../../src/spec/schema.js";
import { hactlBinary, run } from "../built-hactl.js";

const has = (shell: string): boolean => ["/usr/bin", "/bin", "/usr/local/bin"].some((d) => existsSync(join(d, shell)));

const CLUSTER = `apiVersion: hactl.dev/v1alpha1
kind: Cluster
metadata: { name: shop }
spec:
  nodes:
    - { name: node-a, address: 10.0.0.11, role: control-plane }
    - { name: node-b, address: 10.0.0.12, role: control-plane }
    - { name: "$(touch pwned)", address: 10.0.0.13, role: control-plane }
  loadBalancer:
    mode: external
    external: { hosts: [{ name: lb-1, address: 10.0.0.21 }] }
`;

describe("machine names for completion", () => {
  it("reads nodes and load-balancer hosts, and drops anything that is not a host name", () => {
    expect(machineNames(CLUSTER)).toEqual(["node-a", "node-b", "lb-1"]);
    expect(machineNames("spec: [unclosed")).toEqual([]);
    expect(machineNames("")).toEqual([]);
    expect(HOST_LABEL.source).toBe(PATTERNS.HOST_LABEL.source);
  });
});

describe("hactl completion through real shells", () => {
  let work: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "hactl-completion-"));
    const hactl = await hactlBinary(work);
    const bin = join(work, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "hactl"), `#!/bin/sh\nexec "${process.execPath}" "${hactl}" "$@"\n`);
    chmodSync(join(bin, "hactl"), 0o755);
    writeFileSync(join(work, "cluster.yaml"), CLUSTER);
    writeFileSync(join(work, "other.yaml"), CLUSTER.replace(/node-/g, "web-"));
    env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}`, XDG_STATE_HOME: join(work, "state") };
    for (const shell of ["bash", "zsh", "fish"])
      writeFileSync(join(work, `script.${shell}`), execFileSync(join(bin, "hactl"), ["completion", shell], { env }));
  }, 180_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** What bash offers for the words typed so far (the last one is the word being completed). */
  async function bash(...typed: string[]): Promise<string[]> {
    const words = typed.map((w) => `'${w}'`).join(" ");
    const script = `source ${join(work, "script.bash")}; COMP_WORDS=(${words}); COMP_CWORD=${typed.length - 1}; _hactl; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const res = await run("bash", ["--norc", "-c", script], env, 30_000, work);
    expect(res.stderr).toBe("");
    return res.stdout.split("\n").filter((l) => l !== "");
  }

  it("bash completes commands, flags, choices, and node names from cluster.yaml or -f", async () => {
    expect(await bash("hactl", "ss")).toEqual(["ssh"]);
    expect(await bash("hactl", "k")).toEqual(["kubeconfig"]);
    expect(await bash("hactl", "ssh", "")).toEqual(["node-a", "node-b", "lb-1"]);
    expect(await bash("hactl", "-o", "json", "ssh", "-f", "other.yaml", "web-")).toEqual(["web-a", "web-b"]);
    expect(await bash("hactl", "remove-node", "--file=other.yaml", "w")).toEqual(["web-a", "web-b"]);
    expect(await bash("hactl", "-o", "")).toEqual(["text", "json"]);
    expect(await bash("hactl", "--log-file", "/tmp/x", "st")).toEqual(["status"]);
    expect(await bash("hactl", "init", "--lb-mode", "")).toEqual(["keepalived-haproxy", "external", "none"]);
    expect(await bash("hactl", "kubeconfig", "--m")).toEqual(["--merge"]);
    expect(await bash("hactl", "completion", "")).toEqual(["bash", "zsh", "fish"]);
    expect(await bash("hactl", "ssh", "node-a", "--", "")).toEqual([]);
    expect(await bash("hactl", "ssh", "node-a", "")).toEqual([]);
    // --ha is a switch for init but takes a value for reconfigure
    expect(await bash("hactl", "init", "--ha", "--no-d")).toEqual(["--no-discover"]);
    expect(await bash("hactl", "reconfigure", "--ha", "")).toEqual([]);
    expect(existsSync(join(work, "pwned"))).toBe(false);
  }, 60_000);

  it.skipIf(!has("fish"))(
    "fish completes commands and node names",
    async () => {
      const fish = async (line: string): Promise<string[]> => {
        const res = await run(
          "fish",
          ["--no-config", "-c", `source ${join(work, "script.fish")}; complete -C '${line}'`],
          env,
          30_000,
          work,
        );
        expect(res.stderr).toBe("");
        return res.stdout
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => l.split("\t")[0] ?? "");
      };
      expect(await fish("hactl kubec")).toEqual(["kubeconfig"]);
      expect(await fish("hactl ssh ")).toEqual(["lb-1", "node-a", "node-b"]);
      expect(await fish("hactl kubeconfig --me")).toEqual(["--merge"]);
      expect(existsSync(join(work, "pwned"))).toBe(false);
    },
    60_000,
  );

  it.skipIf(!has("zsh"))(
    "zsh parses the script and its function offers the same words",
    async () => {
      const syntax = await run("zsh", ["-n", join(work, "script.zsh")], env, 30_000, work);
      expect(syntax.code, syntax.stderr).toBe(0);
      // compsys' functions stubbed to print what they were given: the script's own logic, run by zsh
      const zsh = async (...typed: string[]): Promise<string[]> => {
        const stubs = [
          "compdef() { :; }",
          'compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }',
          "_describe() { local name=$4; print -rl -- ${${(P)name}%%:*}; }",
          "_files() { print -r -- FILES; }",
        ].join("\n");
        const words = typed.map((w) => `'${w}'`).join(" ");
        const res = await run(
          "zsh",
          [
            "-f",
            "-c",
            `${stubs}\nsource ${join(work, "script.zsh")}\nwords=(${words}); CURRENT=${typed.length}; _hactl`,
          ],
          env,
          30_000,
          work,
        );
        expect(res.stderr).toBe("");
        return res.stdout.split("\n").filter((l) => l !== "");
      };
      expect(await zsh("hactl", "")).toContain("kubeconfig");
      expect(await zsh("hactl", "ssh", "")).toEqual(["node-a", "node-b", "lb-1"]);
      expect(await zsh("hactl", "-o", "json", "ssh", "-f", "other.yaml", "")).toEqual(["web-a", "web-b", "lb-1"]);
      expect(await zsh("hactl", "-o", "")).toEqual(["text", "json"]);
      expect(await zsh("hactl", "kubeconfig", "--out", "")).toEqual(["FILES"]);
      expect(await zsh("hactl", "kubeconfig", "--")).toContain("--merge");
      expect(await zsh("hactl", "reconfigure", "--ha", "")).toEqual([]);
      expect(existsSync(join(work, "pwned"))).toBe(false);
    },
    60_000,
  );
});
