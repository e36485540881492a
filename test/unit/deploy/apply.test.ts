import { describe, expect, it } from "vitest";
import { listLines } from "../../../src/actions/deploy.js";
import { microk8s } from "../../../src/distros/microk8s.js";
import { applyItem, removeItem, updateRecord, type DeployTarget } from "../../../src/phases/deploy/apply.js";
import { planDeploy, recordEntryFor, sha256, type ItemInputs } from "../../../src/phases/deploy/plan.js";
import { FakeHost } from "../../fakes/fake-host.js";
import { specFrom, THREE_CP_ONE_WORKER } from "../../fakes/spec.js";

const WEB = "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\n";

function webInputs(): ItemInputs {
  const data = Buffer.from(WEB);
  return {
    name: "web",
    type: "manifests",
    namespace: "app",
    release: undefined,
    chartVersion: undefined,
    files: [{ path: "web.yaml", staged: "src/0-web.yaml", sha256: sha256(data), data }],
    resources: ["src/0-web.yaml"],
    secretDigest: undefined,
    objects: ["deployment.apps/web"],
    timeoutSeconds: 10,
  };
}

const deployments = (ready: number) => ({
  stdout: JSON.stringify({
    items: [
      {
        metadata: { name: "web", namespace: "app" },
        spec: { replicas: 1 },
        status: { readyReplicas: ready, updatedReplicas: 1 },
      },
    ],
  }),
});

function target(host: FakeHost): DeployTarget {
  return {
    host,
    kubectl: microk8s.kubectl,
    helm: microk8s.helm,
    signal: new AbortController().signal,
    log: () => undefined,
  };
}

describe("applyItem (manifests)", () => {
  it("stages one archive, applies server-side with the item's kustomization, waits for its Deployments, and always unstages", async () => {
    const host = new FakeHost("node-1")
      .on({ prefix: ["mkdir"] }, { code: 0 })
      .on({ prefix: ["sh", "-c"] }, { code: 0 })
      .on(
        {
          prefix: [
            "microk8s",
            "kubectl",
            "apply",
            "--server-side",
            "--field-manager=hactl",
            "--force-conflicts",
            "-f",
            "-",
          ],
        },
        { stdout: "namespace/app serverside-applied\n" },
      )
      .on(
        { prefix: ["microk8s", "kubectl", "apply", "--server-side"] },
        { stdout: "deployment.apps/web serverside-applied\n" },
      )
      .on({ prefix: ["microk8s", "kubectl", "get", "deployments", "--all-namespaces", "-l"] }, deployments(0))
      .on(
        { prefix: ["microk8s", "kubectl", "get", "deployments", "--all-namespaces", "-o"] },
        deployments(0),
        deployments(1),
      );
    const objects = await applyItem(target(host), { inputs: webInputs(), secretValues: undefined });
    expect(objects).toEqual(["deployment.apps/web"]);
    const archive = host.written.find((w) => w.path === "/var/lib/hactl/deploy/web.tgz");
    expect(archive?.options).toMatchObject({ mode: 0o600, sudo: true });
    const lines = host.lines;
    const applyK = lines.findIndex((l) => l.endsWith("-k /var/lib/hactl/deploy/web"));
    expect(applyK).toBeGreaterThan(lines.findIndex((l) => l.includes("hactl-stage")));
    expect(lines[lines.length - 1]).toContain("hactl-unstage");
  });

  it("unstages after a failed apply too (the staging may hold secret values)", async () => {
    const host = new FakeHost("node-1")
      .on({ prefix: ["mkdir"] }, { code: 0 })
      .on({ prefix: ["sh", "-c"] }, { code: 0 })
      .on(
        {
          prefix: [
            "microk8s",
            "kubectl",
            "apply",
            "--server-side",
            "--field-manager=hactl",
            "--force-conflicts",
            "-f",
            "-",
          ],
        },
        { code: 0 },
      )
      .on(
        { prefix: ["microk8s", "kubectl", "apply"] },
        { code: 1, stderr: 'Error from server (NotFound): namespaces "x" not found' },
      );
    await expect(applyItem(target(host), { inputs: webInputs(), secretValues: undefined })).rejects.toThrow();
    expect(host.lines[host.lines.length - 1]).toContain("hactl-unstage");
  });
});

describe("record and remove", () => {
  it("rewrites the record from what the cluster holds now; --remove deletes by the owner label", async () => {
    const [planned] = planDeploy([webInputs()], new Map());
    const entry = recordEntryFor(
      planned!,
      ["deployment.apps/web", "service/web"],
      new Date("2026-12-02T10:00:00Z"),
      "ops@ws",
    );
    const other = { ...entry, item: "api" };
    const existing = {
      items: [
        { metadata: { name: "hactl-deploy" }, data: { api: Buffer.from(JSON.stringify(other)).toString("base64") } },
      ],
    };
    const host = new FakeHost("node-1")
      .on({ prefix: ["microk8s", "kubectl", "get", "secrets"] }, { stdout: JSON.stringify(existing) })
      .on({ prefix: ["microk8s", "kubectl", "apply"] }, { code: 0 })
      .on({ prefix: ["microk8s", "kubectl", "delete"] }, { stdout: 'deployment.apps "web" deleted\n' });
    await updateRecord(target(host), (r) => r.set("web", entry));
    const written = JSON.parse(
      host.commandsMatching({ prefix: ["microk8s", "kubectl", "apply"] })[0]?.stdin ?? "{}",
    ) as { items: { kind: string; data?: Record<string, string> }[] };
    expect(Object.keys(written.items.find((i) => i.kind === "Secret")?.data ?? {})).toEqual(["api", "web"]);
    await removeItem(target(host), entry);
    expect(host.lines).toContain(
      "microk8s kubectl delete deployment.apps,service --all-namespaces -l hactl.dev/deploy-item=web --ignore-not-found --wait=true",
    );
  });

  it("--list prints one row per item in spec order and names items no longer in the spec", () => {
    const spec = specFrom(`${THREE_CP_ONE_WORKER}  deploy:\n    - { name: web, manifests: [web.yaml] }\n`);
    const [planned] = planDeploy([webInputs()], new Map());
    const web = recordEntryFor(planned!, [], new Date("2026-12-02T10:00:00Z"), "ops@ws");
    const lines = listLines([web, { ...web, item: "old", type: "chart", chartVersion: "0.9.0" }], spec);
    expect(lines[0]).toMatch(/^ITEM\s+TYPE\s+REVISION\s+VERSION\s+CHECKSUM\s+APPLIED\s+BY$/);
    expect(lines[1]).toMatch(/^web\s+manifests\s+1\s+-\s+sha256:\w{12}\s+2026-12-02T10:00:00.000Z\s+ops@ws$/);
    expect(lines[2]).toMatch(/^old\s+chart\s+1\s+0\.9\.0/);
    expect(lines[4]).toBe("Recorded but not in spec.deploy: old (hactl deploy --remove NAME deletes one).");
    expect(listLines([], spec)).toEqual(["Nothing is deployed (no record in secret hactl-system/hactl-deploy)."]);
  });
});
