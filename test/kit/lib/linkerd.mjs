// `linkerd` stand-in: install [--crds] prints manifests for `kubectl apply -f -`, check reads the cluster,
// uninstall prints what `kubectl delete -f -` removes. Run as `microk8s linkerd` on a node (the addon's CLI,
// with MicroK8s' client config) or as the operator's CLI on the workstation (KUBECONFIG or --kubeconfig).
import { Etcd, knownEndpoints } from "./etcd.mjs";
import { connect } from "./kubectl.mjs";
import YAML from "yaml";
import { K, capacityFor, deploymentProgress, listNodes, withStore } from "./store.mjs";
import { fail, out, parseArgs } from "./util.mjs";

const VERSION = "edge-25.4.4";
const CRDS = [
  "authorizationpolicies.policy.linkerd.io",
  "httproutes.policy.linkerd.io",
  "meshtlsauthentications.policy.linkerd.io",
  "networkauthentications.policy.linkerd.io",
  "serverauthorizations.policy.linkerd.io",
  "servers.policy.linkerd.io",
  "serviceprofiles.linkerd.io",
];
const CONTROL_PLANE = ["linkerd-identity", "linkerd-destination", "linkerd-proxy-injector"];

/** @param {"crds"|"control-plane"|"viz"} part @param {{ha?: boolean}} [opts] @returns {any[]} */
export function linkerdManifests(part, opts = {}) {
  if (part === "crds") {
    return CRDS.map((name) => ({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name, labels: { "linkerd.io/control-plane-ns": "linkerd" } },
      spec: { group: name.split(".").slice(1).join(".") },
    }));
  }
  const ns = part === "viz" ? "linkerd-viz" : "linkerd";
  const deployments = part === "viz" ? ["metrics-api", "prometheus", "tap", "tap-injector", "web"] : CONTROL_PLANE;
  const replicas = opts.ha ? 3 : 1;
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: ns,
        labels: { "linkerd.io/is-control-plane": "true", "config.linkerd.io/admission-webhooks": "disabled" },
      },
    },
    ...(part === "control-plane"
      ? [
          {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "linkerd-config", namespace: ns },
            data: { values: `controllerReplicas: ${replicas}\n` },
          },
        ]
      : []),
    ...deployments.map((name) => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: {
        name,
        namespace: ns,
        labels: { "linkerd.io/control-plane-component": name.replace(/^linkerd-/, "") },
      },
      spec: {
        replicas,
        selector: { matchLabels: { "linkerd.io/control-plane-component": name.replace(/^linkerd-/, "") } },
        template: {
          metadata: { labels: { "linkerd.io/control-plane-component": name.replace(/^linkerd-/, "") } },
          spec: {},
        },
      },
    })),
  ];
}

const dump = (/** @type {any[]} */ docs) => docs.map((d) => `---\n${YAML.stringify(d)}`).join("");

/** @param {Etcd} db */
async function state(db) {
  const crds = await db.get(K.obj("CustomResourceDefinition", "", "servers.policy.linkerd.io"));
  const config = await db.get(K.obj("ConfigMap", "linkerd", "linkerd-config"));
  const nodes = await listNodes(db);
  const deps = await Promise.all(CONTROL_PLANE.map((n) => db.get(K.obj("Deployment", "linkerd", n))));
  const ready = deps.every(
    (d) => d && deploymentProgress(d, capacityFor(nodes, d)).ready >= Number(d.spec?.replicas ?? 1),
  );
  return {
    crds: Boolean(crds),
    config: Boolean(config),
    ready,
    ha: deps.every((d) => Number(d?.spec?.replicas ?? 0) >= 3),
  };
}

/** @param {string[]} argv @param {{kubeconfig?: string}} [opts] */
export async function linkerdMain(argv, opts = {}) {
  const a = parseArgs(argv, ["o", "output", "n", "namespace", "wait", "kubeconfig"]);
  const [cmd, sub] = a.positional;
  // install (not --crds), uninstall and check talk to the cluster through the kubeconfig's server first.
  const needsCluster =
    (cmd === "install" && !sub && !a.has("crds")) || (cmd === "uninstall" && !sub) || (cmd === "check" && !sub);
  if (needsCluster) await connect(a.get("kubeconfig") ?? opts.kubeconfig);
  if (cmd === "version") {
    out(`Client version: ${VERSION}`);
    if (!a.has("client")) {
      const s = await withStore(state).catch(() => ({ config: false }));
      out(`Server version: ${s.config ? VERSION : "unavailable"}`);
    }
    return 0;
  }
  if (cmd === "install" && !sub) {
    if (a.has("crds")) {
      out(dump(linkerdManifests("crds")));
      return 0;
    }
    const s = await withStore(state);
    if (!s.crds) fail(1, "Linkerd CRDs must be installed first. Run linkerd install with the --crds flag.");
    out(dump(linkerdManifests("control-plane", { ha: a.has("ha") })));
    return 0;
  }
  if (cmd === "viz" && sub === "install") {
    out(dump(linkerdManifests("viz", { ha: a.has("ha") })));
    return 0;
  }
  if (cmd === "uninstall" || (cmd === "viz" && sub === "uninstall")) {
    out(
      dump(
        cmd === "viz" ? linkerdManifests("viz") : [...linkerdManifests("control-plane"), ...linkerdManifests("crds")],
      ),
    );
    return 0;
  }
  if (cmd === "check") return check(a.has("pre"));
  fail(1, `Error: unknown command "${cmd ?? ""}" for "linkerd"\nRun 'linkerd --help' for usage.`);
}

async function check(/** @type {boolean} */ pre) {
  let s;
  try {
    s = await state(new Etcd(knownEndpoints()));
  } catch {
    out(
      [
        "kubernetes-api",
        "--------------",
        "√ can initialize the client",
        "× can query the Kubernetes API",
        "    the server has asked for the client to provide credentials",
        "    see https://linkerd.io/2/checks/#k8s-api for hints",
        "",
        "Status check results are ×",
      ].join("\n"),
    );
    return 1;
  }
  const head = [
    "kubernetes-api",
    "--------------",
    "√ can initialize the client",
    "√ can query the Kubernetes API",
    "",
    "kubernetes-version",
    "------------------",
    "√ is running the minimum Kubernetes API version",
    "",
  ];
  if (pre) {
    if (s.config) {
      out(
        [
          ...head,
          "pre-kubernetes-setup",
          "--------------------",
          "× control plane namespace does not already exist",
          '    The "linkerd" namespace already exists',
          "    see https://linkerd.io/2/checks/#pre-ns for hints",
          "",
          "Status check results are ×",
        ].join("\n"),
      );
      return 1;
    }
    out(
      [
        ...head,
        "pre-kubernetes-setup",
        "--------------------",
        "√ control plane namespace does not already exist",
        "√ can create non-namespaced resources",
        "√ can create ServiceAccounts",
        "",
        "Status check results are √",
      ].join("\n"),
    );
    return 0;
  }
  if (!s.config) {
    out(
      [
        ...head,
        "linkerd-existence",
        "-----------------",
        "× 'linkerd-config' config map exists",
        '    configmaps "linkerd-config" not found',
        "    see https://linkerd.io/2/checks/#l5d-existence-linkerd-config for hints",
        "",
        "Status check results are ×",
      ].join("\n"),
    );
    return 1;
  }
  if (!s.ready) {
    out(
      [
        ...head,
        "linkerd-existence",
        "-----------------",
        "√ 'linkerd-config' config map exists",
        "√ heartbeat ServiceAccount exist",
        "× control plane pods are ready",
        '    No running pods for "linkerd-destination"',
        "    see https://linkerd.io/2/checks/#l5d-api-control-ready for hints",
        "",
        "Status check results are ×",
      ].join("\n"),
    );
    return 1;
  }
  out(
    [
      ...head,
      "linkerd-existence",
      "-----------------",
      "√ 'linkerd-config' config map exists",
      "√ heartbeat ServiceAccount exist",
      "√ control plane replica sets are ready",
      "√ no unschedulable pods",
      "√ control plane pods are ready",
      "",
      "linkerd-identity",
      "----------------",
      "√ certificate config is valid",
      "√ trust anchors are within their validity period",
      "√ issuer cert is within its validity period",
      "",
      "control-plane-version",
      "---------------------",
      "√ can retrieve the control plane version",
      "√ control plane and cli versions match",
      "",
      ...(s.ha ? ["linkerd-ha-checks", "-----------------", "√ multiple replicas of control plane pods", ""] : []),
      "Status check results are √",
    ].join("\n"),
  );
  return 0;
}
