import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HactlError } from "../../../src/core/errors.js";
import {
  helmUpgradeArgs,
  kustomizationFor,
  readiness,
  serverSideApply,
  workloadsIn,
} from "../../../src/phases/deploy/apply.js";
import { readItemInputs, secretValuesYaml } from "../../../src/phases/deploy/inputs.js";
import {
  appliedObjects,
  describeDeployPlan,
  itemsToApply,
  planDeploy,
  recordEntryFor,
  resourceTypes,
  sha256,
  type InputFile,
  type ItemInputs,
  type RecordEntry,
} from "../../../src/phases/deploy/plan.js";
import { parseRecord, recordManifest } from "../../../src/phases/deploy/record.js";
import { parseSpec } from "../../../src/spec/parse.js";
import { THREE_CP_ONE_WORKER } from "../../fakes/spec.js";

function file(path: string, content: string, staged = `src/0-${path}`): InputFile {
  const data = Buffer.from(content);
  return { path, staged, sha256: sha256(data), data };
}

function manifests(name: string, files: InputFile[], objects: string[] = []): ItemInputs {
  return {
    name,
    type: "manifests",
    namespace: "app",
    release: undefined,
    chartVersion: undefined,
    files,
    resources: files.map((f) => f.staged),
    secretDigest: undefined,
    objects,
    timeoutSeconds: 60,
  };
}

function chart(name: string, values: string, secretDigest?: string): ItemInputs {
  const files = [
    file("charts/api.tgz", "tgz-bytes", "chart.tgz"),
    file("values/api.yaml", values, "values/0-api.yaml"),
  ];
  return {
    name,
    type: "chart",
    namespace: "api",
    release: name,
    chartVersion: "1.2.0",
    files,
    resources: files.map((f) => f.staged),
    secretDigest,
    objects: undefined,
    timeoutSeconds: 60,
  };
}

function recorded(plan: ReturnType<typeof planDeploy>): Map<string, RecordEntry> {
  return new Map(
    plan.map((p) => [
      p.inputs.name,
      recordEntryFor(p, p.inputs.objects ?? [], new Date("2026-12-02T10:00:00Z"), "ops@ws"),
    ]),
  );
}

describe("planDeploy", () => {
  const web = manifests("web", [file("web.yaml", "kind: Deployment")], ["deployment.apps/web", "service/web"]);
  const api = chart("api", "replicas: 1\n");

  it("marks every item new against an empty record, in the spec's order", () => {
    const plan = planDeploy([web, api], new Map());
    expect(plan.map((p) => [p.inputs.name, p.state])).toEqual([
      ["web", "new"],
      ["api", "new"],
    ]);
    expect(itemsToApply(plan).map((p) => p.inputs.name)).toEqual(["web", "api"]);
  });

  it("applies only the item whose values file changed", () => {
    const record = recorded(planDeploy([web, api], new Map()));
    const plan = planDeploy([web, chart("api", "replicas: 2\n")], record);
    expect(plan.map((p) => p.state)).toEqual(["unchanged", "changed"]);
    expect(itemsToApply(plan).map((p) => p.inputs.name)).toEqual(["api"]);
    expect(plan[1]?.diff?.filesChanged).toEqual(["values/api.yaml"]);
    expect(plan[1]?.recorded?.revision).toBe(1);
    expect(recordEntryFor(plan[1]!, [], new Date(), "x").revision).toBe(2);
  });

  it("sees a changed secret value through the checksum only", () => {
    const record = recorded(planDeploy([chart("api", "a: 1\n", "DIGEST-ONE")], new Map()));
    const plan = planDeploy([chart("api", "a: 1\n", "DIGEST-TWO")], record);
    expect(plan[0]?.state).toBe("changed");
    expect(plan[0]?.diff).toMatchObject({ filesChanged: [], settingsChanged: true });
    expect(JSON.stringify(recordEntryFor(plan[0]!, [], new Date(), "x"))).not.toContain("DIGEST");
  });

  it("limits the plan to named items, keeping the spec's order, and refuses unknown names", () => {
    expect(planDeploy([web, api], new Map(), ["api", "web"]).map((p) => p.inputs.name)).toEqual(["web", "api"]);
    expect(() => planDeploy([web, api], new Map(), ["nope"])).toThrow(HactlError);
    expect(() => planDeploy([web, api], new Map(), ["nope"])).toThrow(/no item 'nope'; its items are: web, api/);
  });

  it("shows new, changed (files and objects) and unchanged items in the dry-run summary", () => {
    const record = recorded(planDeploy([web, api], new Map()));
    const web2 = manifests(
      "web",
      [file("web.yaml", "kind: Deployment\n# v2"), file("extra.yaml", "x", "src/1-extra.yaml")],
      ["deployment.apps/web", "configmap/extra"],
    );
    const cache = manifests("cache", [file("cache.yaml", "c")], ["deployment.apps/cache"]);
    const lines = describeDeployPlan(planDeploy([web2, api, cache], record));
    expect(lines).toEqual([
      "web (manifests in app): changed",
      "  file added: extra.yaml",
      "  file changed: web.yaml",
      "  + configmap/extra",
      "  - service/web (left in place: hactl deploy --remove web deletes what the item created)",
      "api (chart, release api in api): unchanged",
      "cache (manifests in app): new",
      "  + deployment.apps/cache",
    ]);
  });
});

describe("record", () => {
  it("round-trips through the Secret, with checksums and names only", () => {
    const plan = planDeploy([chart("api", "password: hunter2\n", "digest")], new Map());
    const record = recorded(plan);
    const manifest = recordManifest(record);
    expect(manifest).not.toContain("hunter2");
    const secret = (JSON.parse(manifest) as { items: { kind: string }[] }).items.find((i) => i.kind === "Secret");
    expect(parseRecord(JSON.stringify({ items: [secret] }))).toEqual(record);
    expect(parseRecord(JSON.stringify({ apiVersion: "v1", kind: "List", items: [] })).size).toBe(0);
  });
});

describe("kubectl and helm output", () => {
  it("reads server-side apply lines and the resource types to delete", () => {
    const objects = appliedObjects(
      "namespace/app serverside-applied\ndeployment.apps/web serverside-applied\nservice/web serverside-applied\n",
    );
    expect(objects).toEqual(["namespace/app", "deployment.apps/web", "service/web"]);
    expect(resourceTypes(objects)).toEqual(["namespace", "deployment.apps", "service"]);
  });

  it("finds the Deployments of a rendered release and reports readiness per workload", () => {
    const { objects, deployments } = workloadsIn(
      "---\n# Source: api/templates/d.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: api\n",
      "api",
    );
    expect(objects).toEqual(["deployment.apps/api", "service/api"]);
    const list = (ready: number) =>
      JSON.stringify({
        items: [
          {
            metadata: { name: "api", namespace: "api" },
            spec: { replicas: 2 },
            status: { readyReplicas: ready, updatedReplicas: 2 },
          },
        ],
      });
    expect(readiness(list(1), deployments)).toEqual({ done: false, line: "api/api 1/2 ready" });
    expect(readiness(list(2), deployments).done).toBe(true);
    expect(readiness(list(2), [...deployments, { namespace: "api", name: "gone" }]).line).toBe(
      "api/api 2/2 ready, api/gone missing",
    );
  });

  it("builds server-side apply and helm upgrade arguments", () => {
    expect(serverSideApply("-k", "/d")).toEqual([
      "apply",
      "--server-side",
      "--field-manager=hactl",
      "--force-conflicts",
      "-k",
      "/d",
    ]);
    expect(helmUpgradeArgs(chart("api", "x"), "/s/api", 60)).toEqual([
      "upgrade",
      "--install",
      "api",
      "/s/api/chart.tgz",
      "--namespace",
      "api",
      "--create-namespace",
      "-f",
      "/s/api/values/0-api.yaml",
      "--timeout",
      "60s",
    ]);
    const k = kustomizationFor(manifests("web", [file("web.yaml", "x")]));
    expect(k).toContain("namespace: app");
    expect(k).toContain("hactl.dev/deploy-item: web");
    expect(k).toContain("- src/0-web.yaml");
  });
});

describe("readItemInputs", () => {
  it("reads files, plain directories and Kustomize directories relative to cluster.yaml", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hactl-deploy-"));
    await mkdir(join(dir, "k8s"));
    await mkdir(join(dir, "overlay"));
    await writeFile(
      join(dir, "web.yaml"),
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\n---\napiVersion: v1\nkind: Service\nmetadata: { name: web }\n",
    );
    await writeFile(join(dir, "k8s", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\n");
    await writeFile(join(dir, "k8s", "README.md"), "not a manifest");
    await writeFile(join(dir, "overlay", "kustomization.yaml"), "resources: [cm.yaml]\n");
    await writeFile(join(dir, "overlay", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: o }\n");
    const item = { name: "web", manifests: ["web.yaml", "k8s"], timeoutSeconds: 60 };
    const plain = await readItemInputs(item, 0, dir, new Map());
    expect(plain.inputs.resources).toEqual(["src/0-web.yaml", "src/1-k8s/cm.yaml"]);
    expect(plain.inputs.objects).toEqual(["deployment.apps/web", "service/web", "configmap/settings"]);
    const withKustomize = await readItemInputs({ ...item, manifests: ["web.yaml", "overlay"] }, 0, dir, new Map());
    expect(withKustomize.inputs.resources).toEqual(["src/0-web.yaml", "src/1-overlay"]);
    expect(withKustomize.inputs.files.map((f) => f.staged)).toEqual([
      "src/0-web.yaml",
      "src/1-overlay/cm.yaml",
      "src/1-overlay/kustomization.yaml",
    ]);
    expect(withKustomize.inputs.objects).toBeUndefined();
    await expect(readItemInputs({ ...item, manifests: ["missing.yaml"] }, 2, dir, new Map())).rejects.toThrow(
      /spec.deploy\[2\].manifests\[0\]: missing.yaml cannot be read \(ENOENT\)/,
    );
  });

  it("nests secret values by their dotted path", () => {
    expect(
      secretValuesYaml(
        new Map([
          ["db.password", "s3cret"],
          ["db.user", "app"],
          ["token", "t"],
        ]),
      ),
    ).toBe("db:\n  password: s3cret\n  user: app\ntoken: t\n");
  });
});

describe("spec.deploy validation", () => {
  const withDeploy = (deploy: string, dist = "") =>
    parseSpec(
      THREE_CP_ONE_WORKER.replace(
        'distribution: { type: microk8s, version: "1.29" }',
        dist || 'distribution: { type: microk8s, version: "1.29" }',
      ) + `  deploy:\n${deploy}`,
    );
  const messages = (r: ReturnType<typeof parseSpec>) => r.problems.map((p) => p.message);

  it("accepts manifests and chart items", () => {
    const r = withDeploy(
      "    - { name: web, manifests: [./k8s] }\n    - { name: api, chart: ./api.tgz, values: [./api.yaml], namespace: api, secretValues: { db.password: { env: DB_PW } } }\n",
    );
    expect(messages(r)).toEqual([]);
    expect(r.spec?.spec.deploy.map((d) => d.timeoutSeconds)).toEqual([300, 300]);
  });

  it("names each mistake with its field and a fix", () => {
    const r = withDeploy(
      "    - { name: web, manifests: [a.yaml], chart: c.tgz }\n    - { name: web }\n    - { name: api, chart: c.tgz }\n    - { name: x, manifests: [a.yaml], values: [v.yaml] }\n",
    );
    const text = messages(r).join("\n");
    expect(text).toMatch(/spec\.deploy\[0\].*both manifests and chart/);
    expect(text).toMatch(/spec\.deploy\[1\]\.name.*already the name of spec\.deploy\[0\]/);
    expect(text).toMatch(/spec\.deploy\[1\].*neither manifests nor chart/);
    expect(text).toMatch(/spec\.deploy\[2\].*needs a namespace/);
    expect(text).toMatch(/spec\.deploy\[3\]\.values.*belongs to a Helm chart item/);
  });

  it("refuses a secret value written in the file, without echoing it", () => {
    const text = messages(
      withDeploy("    - { name: y, chart: c.tgz, namespace: y, secretValues: { pw: hunter2 } }\n"),
    ).join("\n");
    expect(text).toMatch(/spec\.deploy\[0\]\.secretValues\.pw.*secrets are never values/);
    expect(text).not.toContain("hunter2");
  });

  it("asks kubeadm clusters with a chart for a helm binary", () => {
    const r = withDeploy(
      "    - { name: api, chart: c.tgz, namespace: api }\n",
      'distribution: { type: kubeadm, version: "1.29" }',
    );
    expect(messages(r).join("\n")).toMatch(/spec\.distribution.*kubeadm cluster has no helm of its own/);
  });
});
