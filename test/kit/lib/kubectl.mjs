// `kubectl` stand-in backed by the kit's etcd store. Output lines and exit codes follow kubectl's printers.
import { createHash } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {
  BUILTIN_NAMESPACES,
  K,
  age,
  applyObject,
  capacityFor,
  deploymentProgress,
  deploymentView,
  kindInfo,
  listNodes,
  namespaceExists,
  nodeStatusWord,
  nodeView,
  notFound,
  pluralName,
  resolveKind,
  rolloutMark,
  singular,
  table,
  withStore,
} from "./store.mjs";
import { err, fail, localState, out, parseArgs, readStdin, sleep, stepCost } from "./util.mjs";
import { provisionClaims } from "./nfs-provisioner.mjs";

/** The yaml package, loaded only by the commands that need it (start-up time matters for every call). */
const loadYaml = async () => (await import("yaml")).default;

const VALUED = [
  "n",
  "namespace",
  "o",
  "output",
  "f",
  "filename",
  "replicas",
  "min",
  "max",
  "cpu-percent",
  "cpu",
  "timeout",
  "kubeconfig",
  "from-env-file",
  "from-literal",
  "from-file",
  "dry-run",
  "type",
  "grace-period",
  "l",
  "selector",
  "c",
  "container",
  "context",
  "k",
  "kustomize",
  "field-manager",
  "field-selector",
];

/** Resolve the kubeconfig and check that its server accepts TCP connections, as a real client would. */
export async function connect(/** @type {string|undefined} */ explicit) {
  const home = process.env.HOME ?? os.homedir();
  const candidates = explicit
    ? [explicit]
    : process.env.KUBECONFIG
      ? process.env.KUBECONFIG.split(":")
      : [`${home}/.kube/config`];
  let server = "";
  let used = "";
  for (const file of candidates) {
    let text;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      if (explicit || process.env.KUBECONFIG) {
        const code = /** @type {{code?: string}} */ (e).code;
        fail(
          1,
          `error: error loading config file "${file}": open ${file}: ${code === "EACCES" ? "permission denied" : "no such file or directory"}`,
        );
      }
      continue;
    }
    const servers = text.match(/^\s+server:\s*(\S+)\s*$/gm) ?? [];
    if (servers.length === 1) server = (servers[0] ?? "").trim().replace(/^server:\s*/, "");
    else {
      const cfg = (await loadYaml()).parse(text) ?? {};
      const ctx = (cfg.contexts ?? []).find((/** @type {any} */ c) => c.name === cfg["current-context"]);
      const cl =
        (cfg.clusters ?? []).find((/** @type {any} */ c) => c.name === ctx?.context?.cluster) ?? cfg.clusters?.[0];
      server = cl?.cluster?.server ?? "";
    }
    if (server) {
      used = text;
      break;
    }
  }
  if (!server)
    fail(1, "The connection to the server localhost:8080 was refused - did you specify the right host or port?");
  const u = new URL(server);
  const port = Number(u.port || 443);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const hostPort = `${u.hostname}:${port}`;
  await new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 3000 });
    s.on("connect", () => {
      s.destroy();
      resolve(undefined);
    });
    s.on("timeout", () => {
      s.destroy();
      fail1(`Unable to connect to the server: dial tcp ${hostPort}: i/o timeout`);
    });
    s.on("error", (/** @type {any} */ e) => {
      if (e.code === "ECONNREFUSED")
        fail1(`The connection to the server ${hostPort} was refused - did you specify the right host or port?`);
      fail1(
        `Unable to connect to the server: dial tcp ${hostPort}: connect: ${e.code === "EHOSTUNREACH" ? "no route to host" : e.message}`,
      );
    });
  });
  // On a MicroK8s worker the server is its local apiserver-proxy, which passes the connection to a
  // server of its provider.yaml: the request must be answered by an API server at the far end.
  const st = localState();
  if (st.distro === "microk8s" && st.role === "worker" && host === "127.0.0.1")
    await throughProxy(host, port, hostPort);
  await checkTls(used, host, port, server);
}

/**
 * A kubeconfig with a client certificate (kubeadm's): TLS as kubectl does it, the server verified with
 * the kubeconfig's CA and the client certificate presented; an unknown CA or a refused certificate ends
 * the command with kubectl's messages.
 */
async function checkTls(
  /** @type {string} */ text,
  /** @type {string} */ host,
  /** @type {number} */ port,
  /** @type {string} */ server,
) {
  const field = (/** @type {string} */ k) => Buffer.from(new RegExp(`${k}: (\\S+)`).exec(text)?.[1] ?? "", "base64");
  const cert = field("client-certificate-data");
  const ca = field("certificate-authority-data");
  if (cert.length === 0 || ca.length === 0) return;
  await new Promise((resolve) => {
    const req = https.request(
      { host, port, path: "/api", ca, cert, key: field("client-key-data"), agent: false, timeout: 5000 },
      (res) => {
        res.resume();
        if (res.statusCode === 401) fail1("error: You must be logged in to the server (Unauthorized)");
        resolve(undefined);
      },
    );
    req.on("timeout", () => req.destroy(new Error("i/o timeout")));
    req.on("error", (/** @type {any} */ e) => {
      const unknownCa = /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER|CERT_SIGNATURE_FAILURE/.test(
        String(e.code),
      );
      if (unknownCa)
        fail1(
          `Unable to connect to the server: tls: failed to verify certificate: x509: certificate signed by unknown authority`,
        );
      fail1(
        `Unable to connect to the server: ${e.code === "ECONNRESET" ? `read tcp: connection reset by peer` : e.message} (${server})`,
      );
    });
    req.end();
  });
}

/** GET /readyz through the worker's proxy; a proxy with no reachable server closes the connection (EOF). */
function throughProxy(/** @type {string} */ host, /** @type {number} */ port, /** @type {string} */ hostPort) {
  return new Promise((resolve) => {
    const req = https.get({ host, port, path: "/readyz", rejectUnauthorized: false, timeout: 5000 }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve(undefined);
      else
        fail1(
          `Error from server (InternalError): an error on the server ("readyz check failed") has prevented the request from succeeding`,
        );
    });
    req.on("timeout", () => {
      req.destroy();
      fail1(`Unable to connect to the server: net/http: TLS handshake timeout`);
    });
    req.on("error", (/** @type {any} */ e) =>
      fail1(
        `Unable to connect to the server: ${e.code === "ECONNRESET" || /socket hang up|disconnected/.test(e.message) ? "EOF" : `dial tcp ${hostPort}: ${e.message}`}`,
      ),
    );
  });
}

/** Exit from inside a socket callback. */
function fail1(/** @type {string} */ msg) {
  err(msg);
  process.exit(1);
}

/** @param {string[]} argv @param {{kubeconfig?: string}} [opts] */
export async function kubectlMain(argv, opts = {}) {
  const a = parseArgs(argv, VALUED);
  const [verb, ...pos] = a.positional;
  if (!verb || verb === "help") {
    out(
      "kubectl controls the Kubernetes cluster manager.\n\nFind more information at: https://kubernetes.io/docs/reference/kubectl/",
    );
    return 0;
  }
  if (verb === "version" && a.has("client")) {
    out("Client Version: v1.32.3\nKustomize Version: v5.5.0");
    return 0;
  }
  if (!(verb === "create" && a.get("dry-run") === "client") && verb !== "kustomize")
    await connect(a.get("kubeconfig") ?? opts.kubeconfig);
  const ns = a.get("n", "namespace") ?? "default";
  const output = a.get("o", "output");
  switch (verb) {
    case "get":
      return withStore((db) =>
        get(db, pos, ns, output, a.has("A", "all-namespaces"), a.get("l", "selector"), a.get("field-selector")),
      );
    case "scale":
      return withStore((db) => scale(db, pos, ns, a));
    case "autoscale":
      return withStore((db) => autoscale(db, pos, ns, a));
    case "delete":
      return withStore((db) => del(db, pos, ns, a));
    case "rollout":
      return withStore((db) => rollout(db, pos, ns, a));
    case "cordon":
    case "uncordon":
      return withStore((db) => cordon(db, pos[0] ?? "", verb === "cordon"));
    case "drain":
      return withStore((db) => drain(db, pos[0] ?? "", a));
    case "apply":
      return withStore((db) => apply(db, a, ns));
    case "create":
      return withStore((db) => create(db, pos, ns, a));
    case "label":
    case "annotate":
      return withStore((db) => labelOrAnnotate(db, verb, pos, ns, a.has("overwrite")));
    case "version":
      out("Client Version: v1.32.3\nKustomize Version: v5.5.0\nServer Version: v1.32.3");
      return 0;
    case "kustomize":
      {
        const yaml = await loadYaml();
        out(
          (await kustomizeBuild(path.resolve(pos[0] ?? ".")))
            .map((d) => yaml.stringify(d))
            .join("---\n")
            .trimEnd(),
        );
      }
      return 0;
    case "cluster-info":
      out("Kubernetes control plane is running at https://127.0.0.1:16443");
      return 0;
    default:
      fail(1, `error: unknown command "${verb}" for "kubectl"\nRun 'kubectl --help' for usage.`);
  }
}

/** "deployment/web", ["deployment", "web"] or ["deployment"] -> {kind, name} */
function target(/** @type {string[]} */ pos) {
  const first = pos[0] ?? "";
  if (first.includes("/")) {
    const [word, name] = first.split("/");
    return { kind: resolveKind(word ?? ""), word: word ?? "", name: name ?? "", rest: pos.slice(1) };
  }
  return { kind: resolveKind(first), word: first, name: pos[1] ?? "", rest: pos.slice(2) };
}

/** @returns {never} */
function unknownType(/** @type {string} */ word) {
  return fail(1, `error: the server doesn't have a resource type "${word}"`);
}

// ---------------------------------------------------------------------------------------------
// get

/** @param {import("./etcd.mjs").Etcd} db */
async function objectsOf(db, /** @type {string} */ kind, /** @type {string} */ ns, /** @type {boolean} */ allNs) {
  if (kind === "Node") {
    return (await listNodes(db)).map((n) => nodeView(n.rec, n.ready, n.live));
  }
  if (kind === "Namespace") {
    const stored = (await db.list(K.objs("Namespace", "_"))).map((x) => x.value);
    const builtins = BUILTIN_NAMESPACES.filter((b) => !stored.some((s) => s.metadata.name === b)).map((b) => ({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: b, creationTimestamp: undefined, labels: { "kubernetes.io/metadata.name": b } },
    }));
    return [...builtins, ...stored]
      .map((o) => ({ ...o, status: { phase: "Active" } }))
      .sort((x, y) => x.metadata.name.localeCompare(y.metadata.name));
  }
  if (kind === "Pod") return pods(db, allNs ? undefined : ns);
  if (kind === "PersistentVolumeClaim" || kind === "PersistentVolume" || kind === "Event") await provisionClaims(db);
  const info = kindInfo(kind);
  const prefix = info.cluster ? K.objs(kind, "_") : allNs ? `/kit/objects/${kind}/` : K.objs(kind, ns);
  const items = (await db.list(prefix)).map((x) => x.value);
  if (kind === "Deployment" || kind === "HorizontalPodAutoscaler") {
    const nodes = await listNodes(db);
    const deps =
      kind === "HorizontalPodAutoscaler" ? (await db.list("/kit/objects/Deployment/")).map((x) => x.value) : [];
    return items.map((o) => (kind === "Deployment" ? deploymentView(o, capacityFor(nodes, o)) : hpaView(o, deps)));
  }
  return items;
}

/** @param {any} hpa @param {any[]} deps */
function hpaView(hpa, deps) {
  const dep = deps.find(
    (d) => d.metadata.namespace === hpa.metadata.namespace && d.metadata.name === hpa.spec.scaleTargetRef?.name,
  );
  const replicas = Number(dep?.spec?.replicas ?? 0);
  return { ...hpa, status: { currentReplicas: replicas, desiredReplicas: replicas, currentMetrics: null } };
}

/** Virtual pods: each Deployment's replicas spread over the Ready, schedulable nodes. @param {import("./etcd.mjs").Etcd} db */
async function pods(db, /** @type {string|undefined} */ ns) {
  const nodes = await listNodes(db);
  const deps = (await db.list(ns ? K.objs("Deployment", ns) : "/kit/objects/Deployment/")).map((x) => x.value);
  const out = [];
  for (const d of deps) {
    const tol = d.spec?.template?.spec?.tolerations ?? [];
    const candidates = nodes.filter(
      (n) =>
        n.ready &&
        !n.rec.unschedulable &&
        !n.rec.taints.some(
          (t) =>
            t.effect === "NoSchedule" &&
            !tol.some((/** @type {any} */ x) => x.key === t.key || (x.operator === "Exists" && !x.key)),
        ),
    );
    const p = deploymentProgress(d, candidates.length > 0);
    const rs = createHash("sha256")
      .update(`${d.metadata.uid}${d.kit?.restartedAt ?? ""}`)
      .digest("hex")
      .slice(0, 10)
      .replace(/[01]/g, "b");
    for (let i = 0; i < p.replicas; i++) {
      const node = candidates.length ? candidates[i % candidates.length]?.rec.name : undefined;
      const suffix = createHash("sha256").update(`${rs}${i}`).digest("hex").slice(0, 5).replace(/[01]/g, "x");
      out.push({
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: `${d.metadata.name}-${rs}-${suffix}`,
          namespace: d.metadata.namespace,
          creationTimestamp: new Date(d.kit?.changedAt ?? Date.now()).toISOString(),
          ownerReferences: [{ kind: "ReplicaSet", name: `${d.metadata.name}-${rs}` }],
          labels: d.spec?.selector?.matchLabels ?? {},
        },
        spec: { nodeName: node },
        status: {
          phase: i < p.ready ? "Running" : "Pending",
          podIP: node ? `10.1.${i + 1}.${((i * 7) % 250) + 2}` : undefined,
        },
      });
    }
  }
  return out;
}

/** A tiny JSONPath: {.a.b[0].c}, {.items[*].metadata.name}, text between expressions kept. */
function jsonpath(/** @type {string} */ expr, /** @type {any} */ data) {
  return expr.replace(/\{([^}]*)\}/g, (_m, path) => {
    /** @type {any[]} */
    let cur = [data];
    for (const part of String(path)
      .replace(/^\./, "")
      .split(/\.(?![^[]*\])/)
      .filter(Boolean)) {
      const m = /^([^[]*)(?:\[(\*|\d+)\])?$/.exec(part);
      if (!m) return "";
      const next = [];
      for (const c of cur) {
        const v = m[1] ? c?.[m[1]] : c;
        if (m[2] === "*") next.push(...(Array.isArray(v) ? v : []));
        else if (m[2] !== undefined) next.push(v?.[Number(m[2])]);
        else next.push(v);
      }
      cur = next.filter((x) => x !== undefined);
    }
    return cur.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(" ");
  });
}

/** @param {import("./etcd.mjs").Etcd} db */
async function get(
  db,
  /** @type {string[]} */ pos,
  /** @type {string} */ ns,
  /** @type {string|undefined} */ output,
  /** @type {boolean} */ allNs,
  /** @type {string|undefined} */ selector = undefined,
  /** @type {string|undefined} */ fieldSelector = undefined,
) {
  const words = (pos[0] ?? "").split(",");
  if (!pos[0])
    fail(
      1,
      'You must specify the type of resource to get. Use "kubectl api-resources" for a complete list of supported resources.',
    );
  if (words.length === 1 && words[0] === "all")
    return get(db, ["pods,deployments", ...pos.slice(1)], ns, output, allNs, selector);
  let name = pos[1];
  let printed = false;
  const lists = [];
  for (const w of words) {
    const [word, slashName] = w.split("/");
    const kind = resolveKind(word ?? "");
    if (!kind) unknownType(word ?? "");
    if (slashName) name = slashName;
    const info = kindInfo(kind);
    if (!info.cluster && !allNs && kind !== "Namespace" && !(await namespaceExists(db, ns)) && !name) {
      // kubectl still answers with an empty list for a missing namespace
    }
    let items = (await objectsOf(db, kind, ns, allNs)).filter(
      (o) => matchesSelector(o, selector) && matchesFields(o, fieldSelector),
    );
    if (name) {
      items = items.filter((o) => o.metadata.name === name);
      if (items.length === 0) notFound(kind, name);
    }
    lists.push({ kind, items });
  }
  const all = lists.flatMap((l) => l.items);
  if (output === "json" || output === "yaml" || output?.startsWith("jsonpath")) {
    const data =
      name && all.length === 1
        ? all[0]
        : { apiVersion: "v1", kind: "List", items: all, metadata: { resourceVersion: "" } };
    if (output === "json") out(JSON.stringify(data, null, 4));
    else if (output === "yaml") out((await loadYaml()).stringify(data));
    else process.stdout.write(jsonpath(output.slice(output.indexOf("=") + 1).replace(/^'|'$/g, ""), data));
    return 0;
  }
  if (output === "name") {
    for (const l of lists) for (const o of l.items) out(`${singular(l.kind, o.apiVersion)}/${o.metadata.name}`);
    return 0;
  }
  if (all.length === 0) {
    const k = lists[0]?.kind ?? "";
    err(
      kindInfo(k).cluster
        ? "No resources found"
        : allNs
          ? "No resources found"
          : `No resources found in ${ns} namespace.`,
    );
    return 0;
  }
  for (const l of lists) {
    if (l.items.length === 0) continue;
    if (printed) out("");
    printed = true;
    out(render(l.kind, l.items, output === "wide", allNs, lists.length > 1));
  }
  return 0;
}

/** A claim's access modes as kubectl prints them (RWO, ROX, RWX, RWOP), or empty. */
function accessModes(/** @type {string[]|undefined} */ modes) {
  const short = /** @type {Record<string, string>} */ ({
    ReadWriteOnce: "RWO",
    ReadOnlyMany: "ROX",
    ReadWriteMany: "RWX",
    ReadWriteOncePod: "RWOP",
  });
  return (modes ?? []).map((m) => short[m] ?? m).join(",");
}

/** A field selector of `a.b=v` and `a.b!=v` terms (comma-separated), as kubectl's --field-selector takes it. */
function matchesFields(/** @type {any} */ o, /** @type {string|undefined} */ selector) {
  if (!selector) return true;
  return selector.split(",").every((term) => {
    const m = /^([^!=]+)(!=|==?)(.*)$/.exec(term);
    if (!m) fail(1, `error: invalid selector: '${selector}'; can't understand '${term}'`);
    let v = o;
    for (const k of String(m?.[1]).split(".")) v = v?.[k];
    const equal = String(v ?? "") === m?.[3];
    return m?.[2] === "!=" ? !equal : equal;
  });
}

/** A label selector of `k=v`, `k!=v` and `k` terms (comma-separated), as kubectl's -l takes it. */
function matchesSelector(/** @type {any} */ o, /** @type {string|undefined} */ selector) {
  if (!selector) return true;
  const labels = o.metadata?.labels ?? {};
  return selector.split(",").every((term) => {
    const ne = /^([^!=]+)!=(.*)$/.exec(term);
    if (ne) return labels[ne[1] ?? ""] !== ne[2];
    const eq = /^([^=]+)==?(.*)$/.exec(term);
    if (eq) return labels[eq[1] ?? ""] === eq[2];
    return term in labels;
  });
}

function render(
  /** @type {string} */ kind,
  /** @type {any[]} */ items,
  /** @type {boolean} */ wide,
  /** @type {boolean} */ allNs,
  /** @type {boolean} */ prefixed,
) {
  const nsCol = (/** @type {any} */ o) => (allNs ? [o.metadata.namespace ?? ""] : []);
  const nsHead = allNs ? ["NAMESPACE"] : [];
  const nm = (/** @type {any} */ o) =>
    prefixed ? `${singular(kind, o.apiVersion)}/${o.metadata.name}` : o.metadata.name;
  switch (kind) {
    case "Node": {
      const head = [
        "NAME",
        "STATUS",
        "ROLES",
        "AGE",
        "VERSION",
        ...(wide ? ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"] : []),
      ];
      return table([
        head,
        ...items.map((n) => {
          const ready = n.status.conditions.find((/** @type {any} */ c) => c.type === "Ready")?.status === "True";
          const roles =
            Object.keys(n.metadata.labels)
              .filter((l) => l.startsWith("node-role.kubernetes.io/"))
              .map((l) => l.split("/")[1])
              .join(",") || "<none>";
          return [
            nm(n),
            nodeStatusWord({ ...n, unschedulable: n.spec.unschedulable }, ready),
            roles,
            age(n.metadata.creationTimestamp),
            n.status.nodeInfo.kubeletVersion,
            ...(wide
              ? [
                  n.status.addresses[0].address,
                  "<none>",
                  n.status.nodeInfo.osImage,
                  n.status.nodeInfo.kernelVersion,
                  n.status.nodeInfo.containerRuntimeVersion,
                ]
              : []),
          ];
        }),
      ]);
    }
    case "Deployment":
      return table([
        [...nsHead, "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        ...items.map((d) => [
          ...nsCol(d),
          nm(d),
          `${d.status.readyReplicas}/${d.spec.replicas ?? 1}`,
          String(d.status.updatedReplicas),
          String(d.status.availableReplicas),
          age(d.metadata.creationTimestamp),
        ]),
      ]);
    case "HorizontalPodAutoscaler":
      return table([
        [...nsHead, "NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"],
        ...items.map((h) => {
          const cpu =
            h.spec.metrics?.[0]?.resource?.target?.averageUtilization ?? h.spec.targetCPUUtilizationPercentage ?? 80;
          return [
            ...nsCol(h),
            nm(h),
            `Deployment/${h.spec.scaleTargetRef.name}`,
            `cpu: <unknown>/${cpu}%`,
            String(h.spec.minReplicas ?? 1),
            String(h.spec.maxReplicas),
            String(h.status.currentReplicas),
            age(h.metadata.creationTimestamp),
          ];
        }),
      ]);
    case "Namespace":
      return table([
        ["NAME", "STATUS", "AGE"],
        ...items.map((n) => [nm(n), "Active", age(n.metadata.creationTimestamp)]),
      ]);
    case "Pod":
      return table([
        [
          ...nsHead,
          "NAME",
          "READY",
          "STATUS",
          "RESTARTS",
          "AGE",
          ...(wide ? ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"] : []),
        ],
        ...items.map((p) => [
          ...nsCol(p),
          nm(p),
          p.status.phase === "Running" ? "1/1" : "0/1",
          p.status.phase === "Running" ? "Running" : "Pending",
          "0",
          age(p.metadata.creationTimestamp),
          ...(wide ? [p.status.podIP ?? "<none>", p.spec.nodeName ?? "<none>", "<none>", "<none>"] : []),
        ]),
      ]);
    case "Secret":
      return table([
        [...nsHead, "NAME", "TYPE", "DATA", "AGE"],
        ...items.map((s) => [
          ...nsCol(s),
          nm(s),
          s.type ?? "Opaque",
          String(Object.keys(s.data ?? {}).length + Object.keys(s.stringData ?? {}).length),
          age(s.metadata.creationTimestamp),
        ]),
      ]);
    case "ConfigMap":
      return table([
        [...nsHead, "NAME", "DATA", "AGE"],
        ...items.map((c) => [
          ...nsCol(c),
          nm(c),
          String(Object.keys(c.data ?? {}).length),
          age(c.metadata.creationTimestamp),
        ]),
      ]);
    case "PersistentVolumeClaim":
      return table([
        [
          ...nsHead,
          "NAME",
          "STATUS",
          "VOLUME",
          "CAPACITY",
          "ACCESS MODES",
          "STORAGECLASS",
          "VOLUMEATTRIBUTESCLASS",
          "AGE",
        ],
        ...items.map((c) => [
          ...nsCol(c),
          nm(c),
          c.status?.phase ?? "Pending",
          c.spec?.volumeName ?? "",
          c.status?.capacity?.storage ?? "",
          accessModes(c.status?.accessModes),
          c.spec?.storageClassName ?? "<unset>",
          "<unset>",
          age(c.metadata.creationTimestamp),
        ]),
      ]);
    case "StorageClass":
      return table([
        ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"],
        ...items.map((c) => [
          c.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true"
            ? `${nm(c)} (default)`
            : nm(c),
          c.provisioner,
          c.reclaimPolicy ?? "Delete",
          c.volumeBindingMode ?? "Immediate",
          String(c.allowVolumeExpansion ?? false),
          age(c.metadata.creationTimestamp),
        ]),
      ]);
    case "Event":
      return table([
        [...nsHead, "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        ...items.map((e) => [
          ...nsCol(e),
          age(e.lastTimestamp),
          e.type ?? "Normal",
          e.reason ?? "",
          `${String(e.involvedObject?.kind ?? "").toLowerCase()}/${e.involvedObject?.name ?? ""}`,
          String(e.message ?? "").replace(/\n/g, " "),
        ]),
      ]);
    default:
      return table([
        [...nsHead, "NAME", "AGE"],
        ...items.map((o) => [...nsCol(o), nm(o), age(o.metadata.creationTimestamp)]),
      ]);
  }
}

// ---------------------------------------------------------------------------------------------
// scale / autoscale / rollout

/** @param {import("./etcd.mjs").Etcd} db */
async function scale(
  db,
  /** @type {string[]} */ pos,
  /** @type {string} */ ns,
  /** @type {ReturnType<typeof parseArgs>} */ a,
) {
  const replicas = Number(a.get("replicas") ?? -1);
  if (!a.has("replicas") || !Number.isInteger(replicas) || replicas < 0)
    fail(1, "error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0");
  const t = target(pos);
  if (t.kind !== "Deployment" && t.kind !== "StatefulSet") unknownType(t.word);
  await stepCost("scale");
  const names = a.has("all") ? (await db.list(K.objs(t.kind, ns))).map((x) => x.value.metadata.name) : [t.name];
  if (!a.has("all") && !t.name) fail(1, "error: resource(s) were provided, but no name was specified");
  for (const name of names) {
    const key = K.obj(t.kind, ns, name);
    const updated = await db.update(key, (cur) => {
      if (!cur) return undefined;
      return {
        ...cur,
        spec: { ...cur.spec, replicas },
        kit: rolloutMark(cur, { ...cur, spec: { ...cur.spec, replicas } }),
      };
    });
    if (!updated) notFound(t.kind, name);
    out(`${singular(t.kind)}/${name} scaled`);
  }
  return 0;
}

/** @param {import("./etcd.mjs").Etcd} db */
async function autoscale(
  db,
  /** @type {string[]} */ pos,
  /** @type {string} */ ns,
  /** @type {ReturnType<typeof parseArgs>} */ a,
) {
  const t = target(pos);
  if (t.kind !== "Deployment") unknownType(t.word);
  if (!a.has("max")) fail(1, "error: --max=MAXPODS is required and must be at least 1, max: -1");
  const max = Number(a.get("max"));
  const min = Number(a.get("min") ?? 1);
  if (a.has("cpu-percent"))
    err(
      "Flag --cpu-percent has been deprecated, Use --cpu with percentage or resource quantity format (e.g., '70%' for utilization or '500m' for milliCPU).",
    );
  const cpu = Number(String(a.get("cpu-percent") ?? a.get("cpu") ?? "80").replace(/%$/, ""));
  const dep = await db.get(K.obj("Deployment", ns, t.name));
  if (!dep) notFound("Deployment", t.name);
  const hpa = {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: t.name, namespace: ns, creationTimestamp: new Date().toISOString() },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: t.name },
      minReplicas: min,
      maxReplicas: max,
      metrics: [
        { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: cpu } } },
      ],
    },
  };
  const ok = await db.putIf(K.obj("HorizontalPodAutoscaler", ns, t.name), 0, hpa);
  if (!ok)
    fail(1, `Error from server (AlreadyExists): horizontalpodautoscalers.autoscaling "${t.name}" already exists`);
  await db.update(K.obj("Deployment", ns, t.name), (cur) => {
    const r = Number(cur?.spec?.replicas ?? 1);
    const clamped = Math.min(max, Math.max(min, r));
    if (!cur || clamped === r) return undefined;
    const next = { ...cur, spec: { ...cur.spec, replicas: clamped } };
    return { ...next, kit: rolloutMark(cur, next) };
  });
  out(`horizontalpodautoscaler.autoscaling/${t.name} autoscaled`);
  return 0;
}

/** @param {import("./etcd.mjs").Etcd} db */
async function rollout(
  db,
  /** @type {string[]} */ pos,
  /** @type {string} */ ns,
  /** @type {ReturnType<typeof parseArgs>} */ a,
) {
  const [sub, ...rest] = pos;
  const t = target(rest);
  if (t.kind !== "Deployment") unknownType(t.word);
  if (sub === "restart") {
    const names = t.name ? [t.name] : (await db.list(K.objs("Deployment", ns))).map((x) => x.value.metadata.name);
    for (const name of names) {
      let tooSoon = false;
      const updated = await db.update(K.obj("Deployment", ns, name), (cur) => {
        if (!cur) return undefined;
        if (cur.kit?.restartedAt && Date.now() - cur.kit.restartedAt < 1000) {
          tooSoon = true;
          return undefined;
        }
        return {
          ...cur,
          metadata: { ...cur.metadata, generation: (cur.metadata.generation ?? 1) + 1 },
          kit: rolloutMark(cur, cur, true),
        };
      });
      if (!updated) notFound("Deployment", name);
      if (tooSoon)
        fail(
          1,
          `error: failed to create patch for ${name}: if restart has already been triggered within the past second, please wait before attempting to trigger another`,
        );
      out(`deployment.apps/${name} restarted`);
    }
    return 0;
  }
  if (sub === "status") {
    const timeoutMs = parseDuration(a.get("timeout") ?? "0");
    const until = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
    let last = "";
    for (;;) {
      const dep = await db.get(K.obj("Deployment", ns, t.name));
      if (!dep) notFound("Deployment", t.name);
      const p = deploymentProgress(dep, capacityFor(await listNodes(db), dep));
      let line;
      if (p.updated < p.replicas)
        line = `Waiting for deployment "${t.name}" rollout to finish: ${p.updated} out of ${p.replicas} new replicas have been updated...`;
      else if (p.ready < p.replicas)
        line = `Waiting for deployment "${t.name}" rollout to finish: ${p.ready} of ${p.replicas} updated replicas are available...`;
      else {
        out(`deployment "${t.name}" successfully rolled out`);
        return 0;
      }
      if (line !== last) out(line);
      last = line;
      if (a.get("watch") === "false") return 0;
      if (Date.now() >= until) fail(1, "error: timed out waiting for the condition");
      await sleep(300);
    }
  }
  fail(1, `error: unknown command "${sub ?? ""}" for "kubectl rollout"`);
}

function parseDuration(/** @type {string} */ s) {
  let ms = 0;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)?/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const n = Number(m[1]);
    ms += n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "s"] ?? 1000);
  }
  return ms;
}

// ---------------------------------------------------------------------------------------------
// nodes: cordon / drain / delete

/** @param {import("./etcd.mjs").Etcd} db */
async function cordon(db, /** @type {string} */ name, /** @type {boolean} */ on) {
  let already = false;
  const rec = await db.update(K.node(name), (cur) => {
    if (!cur) return undefined;
    if (Boolean(cur.unschedulable) === on) {
      already = true;
      return undefined;
    }
    return { ...cur, unschedulable: on };
  });
  if (!rec) fail(1, `Error from server (NotFound): nodes "${name}" not found`);
  out(`node/${name} ${already ? "already " : ""}${on ? "cordoned" : "uncordoned"}`);
  return 0;
}

/** @param {import("./etcd.mjs").Etcd} db */
async function drain(db, /** @type {string} */ name, /** @type {ReturnType<typeof parseArgs>} */ a) {
  const rec = await db.get(K.node(name));
  if (!rec) fail(1, `Error from server (NotFound): nodes "${name}" not found`);
  const nodePods = (await pods(db, undefined)).filter((p) => p.spec.nodeName === name);
  const dsPods = ["calico-node", "kube-proxy"].map(
    (d) =>
      `kube-system/${d}-${createHash("sha256")
        .update(name + d)
        .digest("hex")
        .slice(0, 5)}`,
  );
  if (!a.has("ignore-daemonsets")) {
    await db.update(K.node(name), (cur) => (cur && !cur.unschedulable ? { ...cur, unschedulable: true } : undefined));
    out(`node/${name} cordoned`);
    fail(
      1,
      `error: unable to drain node "${name}" due to error: cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ${dsPods.join(", ")}, continuing command...\nThere are pending nodes to be drained:\n ${name}\ncannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ${dsPods.join(", ")}`,
    );
  }
  await cordon(db, name, true).catch(() => 0);
  err(`Warning: ignoring DaemonSet-managed Pods: ${dsPods.join(", ")}`);
  await stepCost("drain");
  for (const p of nodePods) out(`evicting pod ${p.metadata.namespace}/${p.metadata.name}`);
  const touched = new Set(
    nodePods.map((p) => `${p.metadata.namespace}/${p.metadata.ownerReferences[0].name.replace(/-[^-]+$/, "")}`),
  );
  for (const key of touched) {
    const [ns, dep] = key.split("/");
    await db.update(K.obj("Deployment", ns ?? "", dep ?? ""), (cur) =>
      cur ? { ...cur, kit: rolloutMark(cur, cur) } : undefined,
    );
  }
  for (const p of nodePods) out(`pod/${p.metadata.name} evicted`);
  out(`node/${name} drained`);
  return 0;
}

/** @param {import("./etcd.mjs").Etcd} db */
async function del(
  db,
  /** @type {string[]} */ pos,
  /** @type {string} */ ns,
  /** @type {ReturnType<typeof parseArgs>} */ a,
) {
  const ignore = a.has("ignore-not-found");
  if (a.has("f", "filename")) {
    for (const doc of await readManifests(a.get("f", "filename") ?? "-")) {
      const info = kindInfo(doc.kind, doc.apiVersion);
      const dns = info.cluster ? "" : (doc.metadata.namespace ?? ns);
      const n = await db.del(K.obj(doc.kind, dns, doc.metadata.name));
      if (n) out(`${singular(doc.kind, doc.apiVersion)} "${doc.metadata.name}" deleted`);
      else if (!ignore)
        err(
          `Error from server (NotFound): error when deleting "STDIN": ${pluralName(doc.kind)} "${doc.metadata.name}" not found`,
        );
    }
    return 0;
  }
  const selector = a.get("l", "selector");
  if (selector) return deleteBySelector(db, pos[0] ?? "", selector, a.has("A", "all-namespaces") ? undefined : ns);
  const t = target(pos);
  if (!t.kind) unknownType(t.word);
  const names = [t.name, ...t.rest].filter(Boolean);
  let code = 0;
  for (const name of names) {
    if (t.kind === "Node") {
      const n = await db.del(K.node(name));
      await db.del(K.alive(name));
      if (!n && !ignore) {
        err(`Error from server (NotFound): nodes "${name}" not found`);
        code = 1;
        continue;
      }
      if (n) out(`node "${name}" deleted`);
      continue;
    }
    const info = kindInfo(t.kind);
    const dns = info.cluster ? "" : ns;
    const n = await db.del(K.obj(t.kind, dns, name));
    if (t.kind === "Namespace" && n) {
      for (const o of await db.list("/kit/objects/")) if (o.key.split("/")[4] === name) await db.del(o.key);
    }
    if (!n) {
      if (ignore) continue;
      err(`Error from server (NotFound): ${pluralName(t.kind)} "${name}" not found`);
      code = 1;
      continue;
    }
    out(`${singular(t.kind)} "${name}" deleted`);
  }
  return code;
}

/** `kubectl delete TYPE[,TYPE...] -l SELECTOR [-A]`. @param {import("./etcd.mjs").Etcd} db */
async function deleteBySelector(
  db,
  /** @type {string} */ types,
  /** @type {string} */ selector,
  /** @type {string|undefined} */ ns,
) {
  if (!types) fail(1, "error: You must provide one or more resources by argument or filename.");
  let deleted = 0;
  for (const word of types.split(",")) {
    const kind = resolveKind(word);
    if (!kind) return unknownType(word);
    const info = kindInfo(kind);
    const prefix = info.cluster ? K.objs(kind, "_") : ns ? K.objs(kind, ns) : `/kit/objects/${kind}/`;
    for (const { key, value } of await db.list(prefix)) {
      if (!matchesSelector(value, selector)) continue;
      await db.del(key);
      deleted++;
      out(`${singular(kind, value.apiVersion)} "${value.metadata.name}" deleted`);
    }
  }
  if (deleted === 0) err(ns ? `No resources found in ${ns} namespace.` : "No resources found");
  return 0;
}

// ---------------------------------------------------------------------------------------------
// apply / create / label

function readFileOrFail(/** @type {string} */ file) {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return fail(1, `error: the path "${file}" does not exist`);
  }
}

/**
 * Lab nodes have no Internet access: the well-known CNI manifest URLs are answered with the objects that
 * matter to the cluster (their node DaemonSets); any other URL fails as a lookup would offline.
 */
function urlManifest(/** @type {string} */ url) {
  const ds = (/** @type {string} */ name, /** @type {string} */ ns) =>
    `---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec: {}\n`;
  if (/calico/.test(url)) {
    return `${ds("calico-node", "kube-system")}---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: calico-kube-controllers\n  namespace: kube-system\nspec:\n  replicas: 1\n  template:\n    spec:\n      tolerations:\n      - key: node-role.kubernetes.io/control-plane\n        effect: NoSchedule\n`;
  }
  if (/flannel/.test(url))
    return `---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-flannel\n${ds("kube-flannel-ds", "kube-flannel")}`;
  fail(
    1,
    `error: unable to read URL "${url}", server reported dial tcp: lookup ${new URL(url).hostname}: no such host`,
  );
}

const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/**
 * `kubectl kustomize` for what manifests usually use: resources (files, and directories with their own
 * kustomization), namespace, labels[].pairs and commonLabels.
 */
async function kustomizeBuild(/** @type {string} */ dir) {
  const kfile = KUSTOMIZATION_FILES.map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (!kfile)
    fail(
      1,
      `error: unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '${dir}'`,
    );
  const yaml = await loadYaml();
  const k = yaml.parse(fs.readFileSync(kfile, "utf8")) ?? {};
  /** @type {any[]} */
  const docs = [];
  for (const r of k.resources ?? []) {
    const p = path.resolve(dir, String(r));
    if (!fs.existsSync(p))
      fail(
        1,
        `error: accumulating resources: accumulation err='accumulating resources from '${r}': open ${p}: no such file or directory'`,
      );
    if (fs.statSync(p).isDirectory()) docs.push(...(await kustomizeBuild(p)));
    else docs.push(...(await readManifests(p)));
  }
  const labels = {
    ...(k.commonLabels ?? {}),
    ...Object.assign({}, ...(k.labels ?? []).map((/** @type {any} */ l) => l.pairs ?? {})),
  };
  for (const d of docs) {
    d.metadata.labels = { ...(d.metadata.labels ?? {}), ...labels };
    if (k.namespace && !kindInfo(d.kind, d.apiVersion).cluster) d.metadata.namespace = k.namespace;
  }
  return docs;
}

async function readManifests(/** @type {string} */ file) {
  const text = file === "-" ? await readStdin() : /^https?:\/\//.test(file) ? urlManifest(file) : readFileOrFail(file);
  const docs = [];
  for (const d of (await loadYaml()).parseAllDocuments(text)) {
    const v = d.toJSON();
    if (!v) continue;
    if (v.kind === "List" || v.kind?.endsWith("List")) docs.push(...(v.items ?? []));
    else docs.push(v);
  }
  for (const d of docs) {
    if (!d.kind || !d.apiVersion || !d.metadata?.name)
      fail(
        1,
        'error: error validating "STDIN": error validating data: [apiVersion not set, kind not set]; if you choose to ignore these errors, turn validation off with --validate=false',
      );
  }
  return docs;
}

/** @param {import("./etcd.mjs").Etcd} db */
async function apply(db, /** @type {ReturnType<typeof parseArgs>} */ a, /** @type {string} */ ns) {
  const file = a.get("f", "filename");
  const kdir = a.get("k", "kustomize");
  if (!file && !kdir) fail(1, "error: must specify one of -f and -k");
  if (file && kdir) fail(1, "error: only one of -f or -k can be specified");
  const serverSide = a.has("server-side") && a.get("server-side") !== "false";
  const docs = kdir ? await kustomizeBuild(path.resolve(kdir)) : await readManifests(file ?? "-");
  // Namespaces first, as kustomize orders them (and as manifests usually list them).
  docs.sort((x, y) => Number(y.kind === "Namespace") - Number(x.kind === "Namespace"));
  for (const doc of docs) {
    const info = kindInfo(doc.kind, doc.apiVersion);
    if (!info.cluster && !doc.metadata.namespace) doc.metadata.namespace = ns;
    if (doc.kind === "Secret" && doc.stringData) {
      doc.data = {
        ...(doc.data ?? {}),
        ...Object.fromEntries(
          Object.entries(doc.stringData).map(([k, v]) => [k, Buffer.from(String(v)).toString("base64")]),
        ),
      };
      delete doc.stringData;
    }
    const verdict = await applyObject(db, doc);
    out(`${singular(doc.kind, doc.apiVersion)}/${doc.metadata.name} ${serverSide ? "serverside-applied" : verdict}`);
  }
  return 0;
}

/** @param {import("./etcd.mjs").Etcd} db */
async function create(
  db,
  /** @type {string[]} */ pos,
  /** @type {string} */ ns,
  /** @type {ReturnType<typeof parseArgs>} */ a,
) {
  const [what, sub, name] = pos;
  if (what === "namespace" || what === "ns") {
    const nsName = sub ?? "";
    if (
      !(await db.putIf(K.obj("Namespace", "", nsName), 0, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: {
          name: nsName,
          creationTimestamp: new Date().toISOString(),
          labels: { "kubernetes.io/metadata.name": nsName },
        },
      }))
    ) {
      fail(1, `Error from server (AlreadyExists): namespaces "${nsName}" already exists`);
    }
    out(`namespace/${nsName} created`);
    return 0;
  }
  if (what !== "secret" || sub !== "generic" || !name)
    fail(1, `error: unknown command "${[what, sub].filter(Boolean).join(" ")}" for "kubectl create"`);
  /** @type {Record<string, string>} */
  const data = {};
  for (const lit of a.all("from-literal")) {
    const i = lit.indexOf("=");
    data[lit.slice(0, i)] = Buffer.from(lit.slice(i + 1)).toString("base64");
  }
  for (const f of a.all("from-env-file")) {
    const text = f === "-" || f === "/dev/stdin" ? await readStdin() : fs.readFileSync(f, "utf8");
    for (const line of text.split("\n")) {
      if (!line.trim() || line.trimStart().startsWith("#")) continue;
      const i = line.indexOf("=");
      if (i <= 0)
        fail(
          1,
          `error: "${line}" is not a valid key name: a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.'`,
        );
      data[line.slice(0, i)] = Buffer.from(line.slice(i + 1)).toString("base64");
    }
  }
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: ns, creationTimestamp: null },
    data,
    type: a.get("type") ?? "Opaque",
  };
  if (a.get("dry-run") === "client") {
    if (a.get("o", "output") === "json") out(JSON.stringify(secret, null, 4));
    else out((await loadYaml()).stringify(secret));
    return 0;
  }
  if (!(await namespaceExists(db, ns))) fail(1, `error: failed to create secret namespaces "${ns}" not found`);
  const ok = await db.putIf(K.obj("Secret", ns, name), 0, {
    ...secret,
    metadata: { ...secret.metadata, creationTimestamp: new Date().toISOString() },
  });
  if (!ok) fail(1, `error: failed to create secret secrets "${name}" already exists`);
  out(`secret/${name} created`);
  return 0;
}

/** @param {import("./etcd.mjs").Etcd} db */
async function labelOrAnnotate(
  db,
  /** @type {"label"|"annotate"} */ verb,
  /** @type {string[]} */ pos,
  /** @type {string} */ ns,
  /** @type {boolean} */ overwrite,
) {
  const t = target(pos);
  if (!t.kind) unknownType(t.word);
  const field = verb === "label" ? "labels" : "annotations";
  const pairs = [t.name.includes("=") ? "" : "", ...t.rest].filter(Boolean);
  const info = kindInfo(t.kind);
  const key = t.kind === "Node" ? K.node(t.name) : K.obj(t.kind, info.cluster ? "" : ns, t.name);
  if (t.kind === "Namespace" && BUILTIN_NAMESPACES.includes(t.name) && !(await db.getRaw(key))) {
    await db.putIf(key, 0, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: t.name, labels: { "kubernetes.io/metadata.name": t.name } },
    });
  }
  let conflict = "";
  const updated = await db.update(key, (cur) => {
    if (!cur) return undefined;
    const meta = t.kind === "Node" ? cur : cur.metadata;
    const map = { ...(meta[field] ?? {}) };
    for (const p of pairs) {
      if (p.endsWith("-")) delete map[p.slice(0, -1)];
      else {
        const [k, v] = p.split("=");
        if (map[k ?? ""] !== undefined && map[k ?? ""] !== v && !overwrite) conflict = k ?? "";
        map[k ?? ""] = v ?? "";
      }
    }
    if (conflict) return undefined;
    return t.kind === "Node" ? { ...cur, [field]: map } : { ...cur, metadata: { ...cur.metadata, [field]: map } };
  });
  if (conflict) fail(1, `error: '${conflict}' already has a value, and --overwrite is false`);
  if (!updated) notFound(t.kind, t.name);
  out(`${singular(t.kind)}/${t.name} ${verb === "label" ? "labeled" : "annotated"}`);
  return 0;
}
