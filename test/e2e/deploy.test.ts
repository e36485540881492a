/**
 * spec.deploy end to end on one lab and one install: a manifests directory and a local Helm chart with a
 * values file and a secret value; only a changed item is re-applied; the record is read back from a
 * second workstation directory holding only cluster.yaml; --remove; a failing item stops the run.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labClusterYaml } from "../lab/cluster-yaml.mjs";
import { inNode, labDown, labUp, type Lab, type LabNode } from "../lab/lab.mjs";
import { hactl, workdir, writeSpec, type HactlRun } from "./hactl.js";

let lab: Lab;
let dir: string;
let spec: string;
let installRun: HactlRun;
const node1 = (): LabNode => lab.nodes[0] as LabNode;
const PLANTED = "Pl4nted-Db-Passw0rd";
const env = { HACTL_TEST_DB_PW: PLANTED };

const ITEMS = `  deploy:
    - { name: web, manifests: [./k8s], namespace: app }
    - { name: api, chart: ./charts/api, values: [./values/api.yaml], namespace: api, secretValues: { db.password: { env: HACTL_TEST_DB_PW } } }
`;

const WEB = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: registry.example/web:1 }] }
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec: { selector: { app: web }, ports: [{ port: 80 }] }
`;

const API_DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector: { matchLabels: { app: {{ .Release.Name }} } }
  template:
    metadata: { labels: { app: {{ .Release.Name }} } }
    spec: { containers: [{ name: api, image: {{ .Values.image | quote }} }] }
`;

const API_SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-db
stringData:
  password: {{ .Values.db.password | quote }}
`;

function files(root: string): void {
  mkdirSync(join(root, "k8s"));
  mkdirSync(join(root, "charts", "api", "templates"), { recursive: true });
  mkdirSync(join(root, "values"));
  writeFileSync(join(root, "k8s", "web.yaml"), WEB);
  writeFileSync(join(root, "charts", "api", "Chart.yaml"), "apiVersion: v2\nname: api\nversion: 1.2.0\n");
  writeFileSync(
    join(root, "charts", "api", "values.yaml"),
    "replicas: 1\nimage: registry.example/api:1\ndb: { password: none }\n",
  );
  writeFileSync(join(root, "charts", "api", "templates", "deployment.yaml"), API_DEPLOYMENT);
  writeFileSync(join(root, "charts", "api", "templates", "secret.yaml"), API_SECRET);
  writeFileSync(join(root, "values", "api.yaml"), "replicas: 1\n");
}

async function kubectl<T>(args: string[]): Promise<T> {
  const r = await inNode(node1(), ["microk8s", "kubectl", ...args, "-o", "json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

interface Deployments {
  items: {
    metadata: { name: string; labels?: Record<string, string> };
    spec: { replicas: number };
    status?: { readyReplicas?: number };
  }[];
}

async function ready(namespace: string): Promise<Record<string, string>> {
  const list = await kubectl<Deployments>(["get", "deployments", "-n", namespace]);
  return Object.fromEntries(
    list.items.map((d) => [d.metadata.name, `${d.status?.readyReplicas ?? 0}/${d.spec.replicas}`]),
  );
}

interface Listed {
  items: { item: string; revision: number; checksum: string; chartVersion?: string; by: string; appliedAt: string }[];
}

async function list(workDir: string, file: string): Promise<Listed> {
  const run = await hactl(workDir, ["deploy", "--list", "-f", file, "-o", "json"]);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout) as Listed;
}

/** The record as the cluster holds it: item → revision (read with kubectl on a node, no hactl run). */
async function recorded(): Promise<Record<string, number>> {
  const secret = await kubectl<{ data?: Record<string, string> }>([
    "get",
    "secret",
    "hactl-deploy",
    "-n",
    "hactl-system",
  ]);
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, b]) => [
      k,
      (JSON.parse(Buffer.from(b, "base64").toString()) as { revision: number }).revision,
    ]),
  );
}

function expectNoSecret(run: HactlRun): void {
  expect(`${run.stdout}\n${run.stderr}\n${run.log}`).not.toContain(PLANTED);
}

beforeAll(async () => {
  lab = await labUp({ nodes: 3 });
  dir = workdir("deploy");
  files(dir);
  spec = writeSpec(dir, labClusterYaml(lab, { controlPlanes: 3, lbMode: "none", extra: ITEMS }));
  // Short simulated rollouts: every deploy waits for its Deployments, and that wait is not what this file tests.
  for (const n of lab.nodes)
    await inNode(n, [
      "sh",
      "-c",
      "mkdir -p /var/lib/hactl-kit && echo HACTL_KIT_ROLLOUT_MS=300 > /var/lib/hactl-kit/env",
    ]);
  installRun = await hactl(dir, ["install", "-f", spec, "--yes"], { env });
  expect(installRun.code, `${installRun.stdout}\n${installRun.stderr}`).toBe(0);
});

afterAll(async () => {
  await labDown();
});

describe("hactl deploy", () => {
  it("install applies both items in order once the cluster is healthy: running, labelled, recorded", async () => {
    expect(await ready("app")).toEqual({ web: "1/1" });
    expect(await ready("api")).toEqual({ api: "1/1" });
    const web = await kubectl<{ metadata: { labels: Record<string, string> } }>([
      "get",
      "deployment",
      "web",
      "-n",
      "app",
    ]);
    expect(web.metadata.labels["hactl.dev/deploy-item"]).toBe("web");
    const secret = await kubectl<{ data: Record<string, string> }>(["get", "secret", "api-db", "-n", "api"]);
    expect(Buffer.from(secret.data.password ?? "", "base64").toString()).toBe(PLANTED);
    expectNoSecret(installRun);
    expect(await recorded()).toEqual({ web: 1, api: 1 });
    const record = await kubectl<{ data: Record<string, string> }>([
      "get",
      "secret",
      "hactl-deploy",
      "-n",
      "hactl-system",
    ]);
    const stored = Object.values(record.data)
      .map((b) => Buffer.from(b, "base64").toString())
      .join("\n");
    expect(stored).not.toContain(PLANTED);
    expect(stored).toContain('"chartVersion":"1.2.0"');
  });

  it("a changed values file re-applies only that item (dry run first shows the diff)", async () => {
    writeFileSync(join(dir, "values", "api.yaml"), "replicas: 2\n");
    const dry = await hactl(dir, ["deploy", "-f", spec, "--dry-run"], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("web (manifests in app): unchanged");
    expect(dry.stdout).toContain("api (chart, release api in api): changed");
    expect(dry.stdout).toContain("file changed: ./values/api.yaml");
    expect(await ready("api")).toEqual({ api: "1/1" });
    const logFile = join(dir, "changed-values.log");
    const run = await hactl(dir, ["deploy", "-f", spec, "--yes", "-o", "json", "--log-file", logFile], { env });
    expect(run.code, run.stderr).toBe(0);
    const events = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type?: string; data?: { items?: { item: string; applied: boolean }[] } });
    const result = events.find((e) => e.data?.items)?.data?.items;
    expect(result).toEqual([
      expect.objectContaining({ item: "web", applied: false }),
      expect.objectContaining({ item: "api", applied: true }),
    ]);
    const log = readFileSync(logFile, "utf8");
    expect(log).toContain("helm3 upgrade --install api");
    expect(log).not.toMatch(/apply --server-side[^\n]*-k/);
    expect(await ready("api")).toEqual({ api: "2/2" });
    expectNoSecret(run);
    expect(await recorded()).toEqual({ web: 1, api: 2 });
  });

  it("--list works from a second workstation directory that holds only cluster.yaml", async () => {
    const other = workdir("deploy-other");
    const otherSpec = writeSpec(other, readFileSync(spec, "utf8"));
    const theirs = await list(other, otherSpec);
    expect(theirs.items.map((i) => [i.item, i.revision, i.chartVersion])).toEqual([
      ["web", 1, undefined],
      ["api", 2, "1.2.0"],
    ]);
    expect(
      theirs.items.every(
        (i) => i.checksum.startsWith("sha256:") && i.by.includes("@") && !Number.isNaN(Date.parse(i.appliedAt)),
      ),
    ).toBe(true);
  });

  it("--remove deletes what the item created and drops it from the record", async () => {
    const run = await hactl(dir, ["deploy", "--remove", "web", "-f", spec, "--yes"]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(await ready("app")).toEqual({});
    expect((await inNode(node1(), ["microk8s", "kubectl", "get", "service", "web", "-n", "app"])).code).toBe(1);
    expect(await recorded()).toEqual({ api: 2 });
  });

  it("a failing item stops the run: items before it are applied and recorded, it and those after are not", async () => {
    writeFileSync(
      join(dir, "broken.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: broken, namespace: no-such-namespace }\n",
    );
    writeFileSync(join(dir, "late.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: late }\n");
    const text = readFileSync(spec, "utf8").replace(
      "    - { name: api,",
      "    - { name: broken, manifests: [./broken.yaml] }\n    - { name: late, manifests: [./late.yaml], namespace: app }\n    - { name: api,",
    );
    writeFileSync(spec, text);
    const run = await hactl(dir, ["deploy", "-f", spec, "--yes"], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("deploy item broken failed");
    expect(run.stderr).toContain('namespaces "no-such-namespace" not found');
    expect(await ready("app")).toEqual({ web: "1/1" });
    expect((await inNode(node1(), ["microk8s", "kubectl", "get", "configmap", "late", "-n", "app"])).code).toBe(1);
    expect(await recorded()).toEqual({ web: 1, api: 2 });
  });
});
