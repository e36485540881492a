import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, type Lab, type LabNode } from "../lab/lab.mjs";
import { hactl as hactlAll, workdir, writeSpec, type HactlRun } from "./hactl.js";

let lab: Lab;
let dir: string;
let spec: string;
const node = (i: number): LabNode => lab.nodes[i - 1] as LabNode;
const SERVICES = ["main", "worker", "web"];

/** Values planted in connection strings; none may appear in any output or log. */
const PLANTED = ["Pl4nted-Pg-Pass", "R3dis-Planted-Pw", "Br0ken-Planted-Pw"];

function manifest(): string {
  const deployment = (name: string) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "app" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name, image: `registry.example/${name}:1`, resources: { requests: { cpu: "100m", memory: "128Mi" } } },
          ],
        },
      },
    },
  });
  return JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: [{ apiVersion: "v1", kind: "Namespace", metadata: { name: "app" } }, ...SERVICES.map(deployment)],
  });
}

async function kubectlJson<T>(args: string[]): Promise<T> {
  const r = await inNode(node(1), ["microk8s", "kubectl", ...args, "-o", "json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

interface DeployList {
  items: { metadata: { name: string }; spec: { replicas: number }; status?: { readyReplicas?: number } }[];
}

async function replicas(): Promise<Record<string, string>> {
  const list = await kubectlJson<DeployList>(["get", "deployments", "-n", "app"]);
  return Object.fromEntries(
    list.items.map((d) => [d.metadata.name, `${d.spec.replicas}/${d.status?.readyReplicas ?? 0}`]),
  );
}

async function meshAnnotation(): Promise<string | undefined> {
  const ns = await kubectlJson<{ metadata: { annotations?: Record<string, string> } }>(["get", "namespace", "app"]);
  return ns.metadata.annotations?.["linkerd.io/inject"];
}

let runs = 0;

/** Runs hactl with a log file of its own, so `log` holds this run's log only. */
async function hactl(
  workDir: string,
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HactlRun> {
  runs += 1;
  const logFile = join(workDir, `run-${runs}.log`);
  const run = await hactlAll(workDir, ["--log-file", logFile, ...args], opts);
  let log = "";
  try {
    log = readFileSync(logFile, "utf8");
  } catch {
    log = "";
  }
  return { ...run, log };
}

function specReplicas(): Record<string, number> {
  const doc = parseYaml(readFileSync(spec, "utf8")) as { spec: { replicas?: Record<string, number> } };
  return doc.spec.replicas ?? {};
}

function everything(run: HactlRun): string {
  return `${run.stdout}\n${run.stderr}\n${run.log}`;
}

function expectNoPlanted(run: HactlRun): void {
  const text = everything(run);
  for (const p of PLANTED) {
    expect(text).not.toContain(p);
    expect(text).not.toContain(Buffer.from(p).toString("base64"));
  }
}

beforeAll(async () => {
  lab = await labUp({ nodes: 3 });
  dir = workdir("app");
  spec = writeSpec(dir, labClusterYaml(lab, { controlPlanes: 3, lbMode: "none" }));
  const run = await hactl(dir, ["install", "-f", spec, "--yes"]);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
  const seeded = await inNode(node(1), ["microk8s", "kubectl", "apply", "-f", "-"], { input: manifest() });
  expect(seeded.code, seeded.stderr).toBe(0);
  const deadline = Date.now() + 30_000;
  const seededReady = async (): Promise<boolean> => {
    const now = await replicas();
    return SERVICES.every((s) => now[s] === "1/1");
  };
  while (!(await seededReady())) {
    if (Date.now() > deadline) throw new Error(`seeded services not ready: ${JSON.stringify(await replicas())}`);
    await new Promise((r) => setTimeout(r, 500));
  }
});

afterAll(async () => {
  await labDown();
});

describe("hactl scale", () => {
  it("scale main 2, then scale all 3: the cluster reports the replicas ready, cluster.yaml records them", async () => {
    const one = await hactl(dir, ["scale", "main", "2", "-f", spec, "--yes"]);
    expect(one.code, `${one.stdout}\n${one.stderr}`).toBe(0);
    expect(await replicas()).toEqual({ main: "2/2", worker: "1/1", web: "1/1" });
    const all = await hactl(dir, ["scale", "all", "3", "-f", spec, "--yes"]);
    expect(all.code, `${all.stdout}\n${all.stderr}`).toBe(0);
    expect(await replicas()).toEqual({ main: "3/3", worker: "3/3", web: "3/3" });
    expect(all.log).toMatch(/web \d\/3 ready/);
    expect(specReplicas()).toEqual({ main: 3, worker: 3, web: 3 });
  });

  it("an unknown service is refused with the list of services; --dry-run changes nothing", async () => {
    const run = await hactl(dir, ["scale", "db", "2", "-f", spec, "--yes"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("there is no service 'db' in namespace app; the services are: main, web, worker");
    const dry = await hactl(dir, ["scale", "web", "1", "-f", spec, "--dry-run", "--yes"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("3 → 1: kubectl scale deployment/web --replicas=1 -n app");
    expect((await replicas()).web).toBe("3/3");
  });
});

describe("hactl autoscale and linkerd", () => {
  it("autoscale enable creates an autoscaler per service, warns about capacity and turns Linkerd on", async () => {
    const run = await hactl(
      dir,
      ["autoscale", "enable", "--min", "2", "--max", "4", "--cpu", "70", "-f", spec, "--yes"],
      { timeoutMs: 300_000 },
    );
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stderr).toContain("Each service's resource needs multiply by the minimum replicas (2)");
    expect(run.stdout).toMatch(/total\s+0\.60 CPU, 768 MiB/);
    expect(run.stdout).toMatch(/cluster: 3 node\(s\)/);
    const hpas = await kubectlJson<{
      items: { metadata: { name: string }; spec: { minReplicas: number; maxReplicas: number } }[];
    }>(["get", "hpa", "-n", "app"]);
    expect(hpas.items.map((h) => `${h.metadata.name} ${h.spec.minReplicas}-${h.spec.maxReplicas}`).sort()).toEqual([
      "main 2-4",
      "web 2-4",
      "worker 2-4",
    ]);
    // Nothing was installed by hand: no node has a linkerd CLI; Linkerd came from MicroK8s' community addon.
    for (const i of [1, 2, 3])
      expect((await inNode(node(i), ["sh", "-c", "command -v linkerd || echo absent"])).stdout).toBe("absent\n");
    expect(everything(run)).toContain("enable MicroK8s' community addon repository");
    expect(everything(run)).toContain("enable the linkerd addon");
    expect((await inNode(node(1), ["microk8s", "status", "--addon", "linkerd"])).stdout).toBe("enabled\n");
    expect(
      (await inNode(node(1), ["microk8s", "kubectl", "get", "configmap", "linkerd-config", "-n", "linkerd"])).code,
    ).toBe(0);
    expect((await inNode(node(1), ["microk8s", "linkerd", "check"])).stdout).toContain("Status check results are √");
    expect(await meshAnnotation()).toBe("enabled");
    const file = readFileSync(spec, "utf8");
    expect(file).toMatch(/autoscaling:\n\s+enabled: true\n\s+minReplicas: 2\n\s+maxReplicas: 4\n\s+cpuPercent: 70/);
    expect(file).toMatch(/linkerd:\n\s+enabled: true/);
    const again = await hactl(dir, ["linkerd", "enable", "-f", spec, "--yes"]);
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(again.stdout).toContain("Nothing to do: the cluster already matches.");
  });

  it("scaling is refused while autoscaling is on, and works after autoscale disable", async () => {
    const refused = await hactl(dir, ["scale", "main", "2", "-f", spec, "--yes"]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("manual scaling is refused while autoscaling is on");
    expect(refused.stderr).toContain("hactl autoscale disable");
    const linkerdOff = await hactl(dir, ["linkerd", "disable", "-f", spec, "--yes"]);
    expect(linkerdOff.code).toBe(3);
    expect(linkerdOff.stderr).toContain("autoscaling needs it");

    const off = await hactl(dir, ["autoscale", "disable", "-f", spec, "--yes"]);
    expect(off.code, `${off.stdout}\n${off.stderr}`).toBe(0);
    expect((await kubectlJson<{ items: unknown[] }>(["get", "hpa", "-n", "app"])).items).toEqual([]);
    expect(readFileSync(spec, "utf8")).toMatch(/autoscaling:\n\s+enabled: false/);
    const scaled = await hactl(dir, ["scale", "main", "2", "-f", spec, "--yes"]);
    expect(scaled.code, `${scaled.stdout}\n${scaled.stderr}`).toBe(0);
    expect((await replicas()).main).toBe("2/2");
  });

  it("linkerd disable unmeshes and disables the addon; enable again needs no community step", async () => {
    const off = await hactl(dir, ["linkerd", "disable", "-f", spec, "--yes"], { timeoutMs: 300_000 });
    expect(off.code, `${off.stdout}\n${off.stderr}`).toBe(0);
    expect(await meshAnnotation()).toBe("disabled");
    expect((await inNode(node(1), ["microk8s", "status", "--addon", "linkerd"])).stdout).toBe("disabled\n");
    expect((await inNode(node(1), ["microk8s", "status", "--addon", "community"])).stdout).toBe("enabled\n");
    expect((await inNode(node(1), ["microk8s", "linkerd", "check"])).stdout).toContain("Linkerd not available");
    expect(readFileSync(spec, "utf8")).toMatch(/linkerd:\n\s+enabled: false/);

    const on = await hactl(dir, ["linkerd", "enable", "-f", spec, "--yes"], { timeoutMs: 300_000 });
    expect(on.code, `${on.stdout}\n${on.stderr}`).toBe(0);
    expect(everything(on)).not.toContain("enable MicroK8s' community addon repository");
    expect(everything(on)).toContain("enable the linkerd addon");
    expect(await meshAnnotation()).toBe("enabled");
    expect((await inNode(node(1), ["microk8s", "linkerd", "check"])).stdout).toContain("Status check results are √");
  });
});

describe("hactl ha", () => {
  it("rejects eviction timeouts 5 and 301 and fewer than 3 nodes, before touching anything", async () => {
    for (const value of ["5", "301"]) {
      const run = await hactl(dir, [
        "ha",
        "enable",
        "--system-replicas",
        "3",
        "--eviction-timeout",
        value,
        "-f",
        spec,
        "--yes",
      ]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        `option '--eviction-timeout <seconds>' argument '${value}' is invalid. It must be a whole number from 10 to 300 seconds.`,
      );
    }
    const replicasRun = await hactl(dir, [
      "ha",
      "enable",
      "--system-replicas",
      "2",
      "--eviction-timeout",
      "30",
      "-f",
      spec,
      "--yes",
    ]);
    expect(replicasRun.code).toBe(2);
    expect(replicasRun.stderr).toContain(
      "option '--system-replicas <n>' argument '2' is invalid. It must be a whole number from 3 to 100.",
    );
    const small = writeSpec(
      dir,
      labClusterYaml(lab, { controlPlanes: 1, workers: 1, lbMode: "none" }),
      "two-nodes.yaml",
    );
    const run = await hactl(dir, [
      "ha",
      "enable",
      "--system-replicas",
      "3",
      "--eviction-timeout",
      "30",
      "-f",
      small,
      "--yes",
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("a highly available cluster needs at least 3");
  });

  it("ha enable updates the nodes strictly one at a time and leaves every node Ready", async () => {
    const run = await hactl(
      dir,
      ["ha", "enable", "--system-replicas", "3", "--eviction-timeout", "30", "-f", spec, "--yes"],
      { timeoutMs: 600_000 },
    );
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);

    const marks = run.log
      .split("\n")
      .map((l) => /^(\S+) \[(node-\d+)\] ha: (cordoned|uncordoned) (node-\d+)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ at: Date.parse(m[1] ?? ""), node: m[4] ?? "", what: m[3] ?? "" }));
    expect(marks).toHaveLength(6);
    const cordoned = new Set<string>();
    let last = 0;
    for (const m of marks) {
      expect(m.at).toBeGreaterThanOrEqual(last);
      last = m.at;
      if (m.what === "cordoned") {
        expect([...cordoned], `${m.node} cordoned while others were`).toEqual([]);
        cordoned.add(m.node);
      } else {
        expect([...cordoned]).toEqual([m.node]);
        cordoned.delete(m.node);
      }
    }
    expect(new Set(marks.map((m) => m.node))).toEqual(new Set(["node-1", "node-2", "node-3"]));

    const nodes = await kubectlJson<{
      items: {
        metadata: { name: string };
        spec: { unschedulable?: boolean };
        status: { conditions: { type: string; status: string }[] };
      }[];
    }>(["get", "nodes"]);
    for (const n of nodes.items) {
      expect(n.status.conditions.find((c) => c.type === "Ready")?.status, n.metadata.name).toBe("True");
      expect(n.spec.unschedulable ?? false, n.metadata.name).toBe(false);
    }
    for (const i of [1, 2, 3]) {
      const args = await inNode(node(i), ["cat", "/var/snap/microk8s/current/args/kube-apiserver"]);
      expect(args.stdout).toContain("--default-not-ready-toleration-seconds=30");
      expect(args.stdout).toContain("--default-unreachable-toleration-seconds=30");
    }
    const system = await kubectlJson<DeployList>(["get", "deployments", "-n", "kube-system"]);
    expect(system.items.length).toBeGreaterThan(0);
    for (const d of system.items) expect(d.spec.replicas, d.metadata.name).toBe(3);
    expect(run.log).toMatch(/restarted deployment\/main/);
    expect(readFileSync(spec, "utf8")).toMatch(
      /ha:\n\s+enabled: true\n\s+systemReplicas: 3\n\s+evictionTimeoutSeconds: 30/,
    );

    const again = await hactl(dir, [
      "ha",
      "enable",
      "--system-replicas",
      "3",
      "--eviction-timeout",
      "30",
      "-f",
      spec,
      "--yes",
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.log).not.toMatch(/ha: cordoned/);
  }, 600_000);
});

describe("external services", () => {
  it("a malformed connection string is refused with the field and a fix, and never shown", async () => {
    const env = { PG_URL: `postgresql://app:${PLANTED[2]}@${node(1).address}/app` };
    const run = await hactl(dir, ["reconfigure", "--external", "postgresql=env:PG_URL", "-f", spec, "--yes"], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("spec.externalServices.postgresql is not a valid postgresql connection string");
    expect(run.stderr).toContain("the host has no port: write HOST:PORT");
    expect(run.stderr).toContain(
      "Set the value behind spec.externalServices.postgresql { env: PG_URL } to the shape postgresql://USER:PASSWORD@",
    );
    expectNoPlanted(run);
    expect(readFileSync(spec, "utf8")).not.toContain("PG_URL");
  });

  it("valid connection strings are probed from a node and stored as a Secret; no value appears anywhere", async () => {
    const pg = `postgresql://app:${PLANTED[0]}@${node(2).address}:22/app`;
    const redis = `redis://:${PLANTED[1]}@${node(3).address}:16443/0`;
    const args = [
      "reconfigure",
      "--external",
      "postgresql=env:PG_URL",
      "--external",
      "redis=env:REDIS_URL",
      "-f",
      spec,
      "--yes",
    ];
    const run = await hactl(dir, args, { env: { PG_URL: pg, REDIS_URL: redis } });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain(`postgresql: ${node(2).address}:22 reachable`);
    expect(run.stdout).toContain("externalServices.redis: none → { env: REDIS_URL }");
    expectNoPlanted(run);
    const secret = await kubectlJson<{ data: Record<string, string> }>([
      "get",
      "secret",
      "hactl-external-services",
      "-n",
      "app",
    ]);
    expect(Buffer.from(secret.data.POSTGRESQL_URL ?? "", "base64").toString()).toBe(pg);
    expect(Buffer.from(secret.data.REDIS_URL ?? "", "base64").toString()).toBe(redis);
    const file = readFileSync(spec, "utf8");
    expect(file).toMatch(/postgresql:\s*\{?\s*env: PG_URL/);
    for (const p of PLANTED) expect(file).not.toContain(p);

    const json = await hactl(dir, ["reconfigure", "-f", spec, "--yes", "--output", "json"], {
      env: { PG_URL: pg, REDIS_URL: redis },
    });
    expect(json.code, json.stderr).toBe(0);
    expectNoPlanted(json);
  });
});

describe("ha with fewer than 3 nodes in the cluster", () => {
  it("is refused when only 2 nodes are members, even though cluster.yaml lists 3", async () => {
    expect((await inNode(node(3), ["microk8s", "leave"])).code).toBe(0);
    expect((await inNode(node(1), ["microk8s", "remove-node", "node-3", "--force"])).code).toBe(0);
    const run = await hactl(dir, [
      "ha",
      "enable",
      "--system-replicas",
      "3",
      "--eviction-timeout",
      "60",
      "-f",
      spec,
      "--yes",
    ]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(3);
    expect(run.stderr).toContain("HA mode needs at least 3 nodes; the cluster has 2");
    expect(run.log).not.toMatch(/ha: cordoned/);
  });

  it("no planted value is in any file of the run directory (logs, cluster.yaml)", () => {
    for (const f of readdirSync(dir)) {
      if (!f.endsWith(".log") && !f.endsWith(".yaml")) continue;
      const text = readFileSync(join(dir, f), "utf8");
      for (const p of PLANTED) expect(text, f).not.toContain(p);
    }
  });
});
