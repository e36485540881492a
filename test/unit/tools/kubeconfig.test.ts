import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { HactlError } from "../../../src/core/errors.js";
import { kubeconfigSecrets, mergeKubeconfig, nameKubeconfig } from "../../../src/phases/kubeconfig.js";

const CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkVENDQVJ1Z0F3SUJBZ0lRYz0KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";

/** `microk8s config` as MicroK8s prints it (token user, the node's own address). */
const MICROK8S = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${CA}
    server: https://10.0.0.11:16443
  name: microk8s-cluster
contexts:
- context:
    cluster: microk8s-cluster
    user: admin
  name: microk8s
current-context: microk8s
kind: Config
preferences: {}
users:
- name: admin
  user:
    token: c2VjcmV0LXRva2VuLTEyMzQ1Njc4OTA=
`;

/** kubeadm's /etc/kubernetes/admin.conf (client certificate user, the control-plane endpoint). */
const KUBEADM = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${CA}
    server: https://10.0.0.100:7443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
kind: Config
preferences: {}
users:
- name: kubernetes-admin
  user:
    client-certificate-data: Q0VSVElGSUNBVEUtREFUQQ==
    client-key-data: UFJJVkFURS1LRVktREFUQS1kby1ub3QtbGVhaw==
`;

/** A workstation's ~/.kube/config: kind, GKE (exec plugin), EKS (exec with env), an older entry for shop. */
const WORKSTATION = `# managed by hand; keep this comment
apiVersion: v1
kind: Config
preferences:
  colors: true
current-context: kind-dev
clusters:
  - name: kind-dev
    cluster:
      certificate-authority-data: ${CA}
      server: https://127.0.0.1:41235
  - name: shop
    cluster:
      certificate-authority-data: b2xkLWNh
      server: https://10.0.0.99:7443
  - name: gke_proj_europe-west1_prod
    cluster:
      certificate-authority-data: ${CA}
      server: https://34.76.1.2
      extensions:
        - name: client.authentication.k8s.io/exec
          extension: { audience: prod }
  - name: arn:aws:eks:eu-west-1:123456789012:cluster/web
    cluster:
      server: https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com
      certificate-authority-data: ${CA}
contexts:
  - name: kind-dev
    context: { cluster: kind-dev, user: kind-dev }
  - name: shop
    context: { cluster: shop, user: shop-admin, namespace: app }
  - name: gke_proj_europe-west1_prod
    context: { cluster: gke_proj_europe-west1_prod, user: gke_proj_europe-west1_prod }
  - name: arn:aws:eks:eu-west-1:123456789012:cluster/web
    context:
      cluster: arn:aws:eks:eu-west-1:123456789012:cluster/web
      user: arn:aws:eks:eu-west-1:123456789012:cluster/web
users:
  - name: kind-dev
    user:
      client-certificate-data: a2luZC1jZXJ0
      client-key-data: a2luZC1rZXk=
  - name: shop-admin
    user: { token: old-token-value }
  - name: gke_proj_europe-west1_prod
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: gke-gcloud-auth-plugin
        provideClusterInfo: true
        interactiveMode: IfAvailable
  - name: arn:aws:eks:eu-west-1:123456789012:cluster/web
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: aws
        args: [--region, eu-west-1, eks, get-token, --cluster-name, web, --output, json]
        env:
          - { name: AWS_PROFILE, value: work }
`;

type Named = { name: string };
type Kubeconfig = {
  clusters: (Named & { cluster: Record<string, unknown> })[];
  users: (Named & { user: Record<string, unknown> })[];
  contexts: (Named & { context: Record<string, unknown> })[];
  "current-context"?: string;
  preferences?: unknown;
};
const load = (text: string): Kubeconfig => parse(text) as Kubeconfig;
const others = (k: Kubeconfig, section: "clusters" | "users" | "contexts"): Named[] =>
  k[section].filter((e) => !e.name.startsWith("shop"));

describe("naming the fetched admin kubeconfig after the cluster", () => {
  it("renames MicroK8s' entries and points the server at the VIP", () => {
    const named = nameKubeconfig(MICROK8S, "shop", { host: "10.0.0.100", port: 7443 });
    const k = load(named.text);
    expect(k.clusters).toEqual([
      { name: "shop", cluster: { "certificate-authority-data": CA, server: "https://10.0.0.100:7443" } },
    ]);
    expect(k.contexts).toEqual([{ name: "shop", context: { cluster: "shop", user: "shop-admin" } }]);
    expect(k.users).toEqual([{ name: "shop-admin", user: { token: "c2VjcmV0LXRva2VuLTEyMzQ1Njc4OTA=" } }]);
    expect(k["current-context"]).toBe("shop");
  });

  it("keeps the node's address when there is no VIP or load balancer", () => {
    expect(load(nameKubeconfig(MICROK8S, "shop", undefined).text).clusters[0]?.cluster.server).toBe(
      "https://10.0.0.11:16443",
    );
  });

  it("renames kubeadm's admin.conf, keeping the client certificate", () => {
    const k = load(nameKubeconfig(KUBEADM, "shop", { host: "lb.example.net", port: 6443 }).text);
    expect(k.clusters[0]?.cluster.server).toBe("https://lb.example.net:6443");
    expect(k.users[0]).toEqual({
      name: "shop-admin",
      user: {
        "client-certificate-data": "Q0VSVElGSUNBVEUtREFUQQ==",
        "client-key-data": "UFJJVkFURS1LRVktREFUQS1kby1ub3QtbGVhaw==",
      },
    });
  });

  it("names the credentials to redact", () => {
    expect(kubeconfigSecrets(KUBEADM)).toEqual(["UFJJVkFURS1LRVktREFUQS1kby1ub3QtbGVhaw=="]);
    expect(kubeconfigSecrets(MICROK8S)).toEqual(["c2VjcmV0LXRva2VuLTEyMzQ1Njc4OTA="]);
  });
});

describe("merging into a workstation's kubeconfig", () => {
  const incoming = nameKubeconfig(MICROK8S, "shop", { host: "10.0.0.100", port: 7443 });

  it("replaces the cluster's own entries in place and leaves every other entry, setting and comment alone", () => {
    const before = load(WORKSTATION);
    const result = mergeKubeconfig(WORKSTATION, incoming, "~/.kube/config");
    const after = load(result.text);
    expect(result.replaced).toEqual(["clusters", "users", "contexts"]);
    expect(result.currentContextSet).toBe(false);
    for (const section of ["clusters", "users", "contexts"] as const) {
      expect(others(after, section)).toEqual(others(before, section));
      expect(after[section].map((e) => e.name)).toEqual(before[section].map((e) => e.name));
    }
    expect(after.clusters[1]).toEqual({
      name: "shop",
      cluster: { "certificate-authority-data": CA, server: "https://10.0.0.100:7443" },
    });
    expect(after.users[1]).toEqual({ name: "shop-admin", user: { token: "c2VjcmV0LXRva2VuLTEyMzQ1Njc4OTA=" } });
    expect(after.contexts[1]).toEqual({ name: "shop", context: { cluster: "shop", user: "shop-admin" } });
    expect(after["current-context"]).toBe("kind-dev");
    expect(after.preferences).toEqual({ colors: true });
    expect(result.text.startsWith("# managed by hand; keep this comment\n")).toBe(true);
    expect(result.text).toContain("args: [ --region, eu-west-1, eks, get-token, --cluster-name, web, --output, json ]");
  });

  it("is idempotent: merging twice gives the same file", () => {
    const once = mergeKubeconfig(WORKSTATION, incoming, "config").text;
    expect(mergeKubeconfig(once, incoming, "config").text).toBe(once);
  });

  it("appends to a file without this cluster, and makes it current only when nothing was", () => {
    const without = WORKSTATION.replace("current-context: kind-dev\n", "");
    const oldShopGone = mergeKubeconfig(without.replace(/shop/g, "legacy"), incoming, "config");
    const k = load(oldShopGone.text);
    expect(oldShopGone.replaced).toEqual([]);
    expect(k.clusters.map((c) => c.name).at(-1)).toBe("shop");
    expect(k.contexts.map((c) => c.name)).toContain("legacy");
    expect(k["current-context"]).toBe("shop");
    expect(oldShopGone.currentContextSet).toBe(true);
  });

  it("starts a new kubeconfig from an empty or missing file", () => {
    const k = load(mergeKubeconfig("", incoming, "config").text);
    expect(k).toMatchObject({ apiVersion: "v1", kind: "Config", "current-context": "shop" });
    expect(k.users).toEqual([{ name: "shop-admin", user: { token: "c2VjcmV0LXRva2VuLTEyMzQ1Njc4OTA=" } }]);
  });

  it("refuses a file that is not a kubeconfig instead of overwriting it", () => {
    expect(() => mergeKubeconfig("clusters: [\n  - {", incoming, "/home/me/.kube/config")).toThrow(HactlError);
    expect(() => mergeKubeconfig("- just\n- a list\n", incoming, "/home/me/.kube/config")).toThrow(
      /is not a kubeconfig/,
    );
    expect(() => mergeKubeconfig("clusters: oops\n", incoming, "cfg")).toThrow(/clusters in cfg is not a list/);
  });
});
