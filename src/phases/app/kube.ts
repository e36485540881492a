/**
 * kubectl on a control-plane node, as the application commands use it: typed reads of Deployments,
 * autoscalers and nodes, and waits that poll the cluster (never hactl's own memory). MicroK8s' kubectl
 * is the default; kubeadm clusters pass theirs (`kubeadm.kubectl`, the admin kubeconfig) as `via`.
 */
import { z } from "zod";
import type { Command, ExecResult } from "../../core/command.js";
import { HactlError, interruptedError } from "../../core/errors.js";
import type { RemoteHost } from "../../core/host.js";
import { microk8s } from "../../distros/microk8s.js";
import { parseDeployments, parseNodes, type KubeDeployment, type KubeNode } from "../../distros/kubectl.js";

/** How a distribution runs kubectl on a control-plane node: `microk8s.kubectl` or `kubeadm.kubectl`. */
export type KubectlBuilder = (...args: string[]) => Command;

export interface KubectlOptions {
  /** Bytes for kubectl's stdin (manifests, secrets). Never logged. */
  stdin?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The distribution's kubectl; default MicroK8s'. */
  via?: KubectlBuilder;
}

/** Runs `microk8s kubectl ARGS` (or the `via` kubectl) on host; rejects with COMMAND_FAILED unless it exits 0. */
export async function kubectl(
  host: RemoteHost,
  args: readonly string[],
  opts: KubectlOptions = {},
): Promise<ExecResult> {
  const base = (opts.via ?? microk8s.kubectl)(...args);
  return host.run(
    {
      ...base,
      ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    },
    opts.signal ? { signal: opts.signal } : {},
  );
}

export async function getDeployments(
  host: RemoteHost,
  namespace: string,
  via?: KubectlBuilder,
): Promise<KubeDeployment[]> {
  return parseDeployments(
    (await kubectl(host, ["get", "deployments", "-n", namespace, "-o", "json"], via ? { via } : {})).stdout,
  );
}

/** The raw `get deployments -o json` text (for resource requests). */
export async function getDeploymentsJson(host: RemoteHost, namespace: string): Promise<string> {
  return (await kubectl(host, ["get", "deployments", "-n", namespace, "-o", "json"])).stdout;
}

const hpaList = z.object({
  items: z.array(
    z.object({
      metadata: z.object({ name: z.string() }),
      spec: z
        .object({
          scaleTargetRef: z.object({ name: z.string() }).optional(),
          minReplicas: z.number().optional(),
          maxReplicas: z.number().optional(),
        })
        .optional(),
    }),
  ),
});

export interface Autoscaler {
  name: string;
  target: string;
  minReplicas: number | undefined;
  maxReplicas: number | undefined;
}

export function parseAutoscalers(stdout: string): Autoscaler[] {
  return hpaList.parse(JSON.parse(stdout)).items.map((h) => ({
    name: h.metadata.name,
    target: h.spec?.scaleTargetRef?.name ?? h.metadata.name,
    minReplicas: h.spec?.minReplicas,
    maxReplicas: h.spec?.maxReplicas,
  }));
}

export async function getAutoscalers(host: RemoteHost, namespace: string, via?: KubectlBuilder): Promise<Autoscaler[]> {
  return parseAutoscalers(
    (await kubectl(host, ["get", "horizontalpodautoscalers", "-n", namespace, "-o", "json"], via ? { via } : {}))
      .stdout,
  );
}

export async function getNodes(host: RemoteHost): Promise<KubeNode[]> {
  return parseNodes((await kubectl(host, ["get", "nodes", "-o", "json"])).stdout);
}

export interface WaitOptions {
  timeoutMs: number;
  signal: AbortSignal;
  intervalMs?: number;
  /** Called when the observed progress line changes. */
  progress?: (line: string) => void;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

/**
 * Polls `check` until it returns true. `check` also reports a progress line; it is passed on only when
 * it changes. Fails with COMMAND_TIMEOUT naming `what` after the timeout.
 */
export async function waitFor(
  what: string,
  check: () => Promise<{ done: boolean; line: string }>,
  opts: WaitOptions & { remedy: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = "";
  for (;;) {
    if (opts.signal.aborted) throw interruptedError(opts.signal);
    const r = await check();
    if (r.line !== last) {
      opts.progress?.(r.line);
      last = r.line;
    }
    if (r.done) return;
    if (Date.now() >= deadline) {
      throw new HactlError(
        "COMMAND_TIMEOUT",
        `timed out after ${Math.round(opts.timeoutMs / 1000)}s waiting for ${what} (last: ${last})`,
        {
          remedy: opts.remedy,
          retryable: true,
        },
      );
    }
    await sleep(opts.intervalMs ?? 1000, opts.signal);
  }
}

/** Waits until each named Deployment has exactly `replicas` ready replicas, as the cluster reports them. */
export async function waitReplicas(
  host: RemoteHost,
  namespace: string,
  want: ReadonlyMap<string, number>,
  opts: WaitOptions,
): Promise<void> {
  await waitFor(
    `${[...want.keys()].join(", ")} to be ready`,
    async () => {
      const deps = await getDeployments(host, namespace);
      const parts: string[] = [];
      let done = true;
      for (const [name, n] of want) {
        const d = deps.find((x) => x.name === name);
        const ready = d?.readyReplicas ?? 0;
        if (!d || d.replicas !== n || ready !== n) done = false;
        parts.push(`${name} ${ready}/${n} ready`);
      }
      return { done, line: parts.join(", ") };
    },
    {
      ...opts,
      remedy: `Check the pods: microk8s kubectl get pods -n ${namespace} (events show why they are not ready), then run the same command again.`,
    },
  );
}

/** Waits until the node reports Ready. */
export async function waitNodeReady(host: RemoteHost, node: string, opts: WaitOptions): Promise<void> {
  await waitFor(
    `${node} to be Ready`,
    async () => {
      const res = await host.exec({ ...microk8s.kubectl("get", "nodes", "-o", "json"), timeoutMs: 30_000 });
      if (res.code !== 0) return { done: false, line: `${node}: the API does not answer yet` };
      const n = parseNodes(res.stdout).find((x) => x.name === node);
      return { done: Boolean(n?.ready), line: `${node}: ${n ? (n.ready ? "Ready" : "NotReady") : "not listed"}` };
    },
    {
      ...opts,
      remedy: `Look at ${node}: microk8s inspect, and journalctl -u snap.microk8s.daemon-kubelite. Run the same command again when it is Ready.`,
    },
  );
}

/** `rollout restart` then `rollout status` for each Deployment, one after another. */
export async function rollingRestart(
  host: RemoteHost,
  namespace: string,
  names: readonly string[],
  timeoutSeconds: number,
  log: (line: string) => void,
  signal: AbortSignal,
  via: KubectlBuilder = microk8s.kubectl,
): Promise<void> {
  for (const name of names) {
    if (signal.aborted) throw interruptedError(signal);
    await kubectl(host, ["rollout", "restart", `deployment/${name}`, "-n", namespace], { signal, via });
    log(`restarted deployment/${name}; waiting for the rollout`);
    const status = await host.exec(
      {
        ...via("rollout", "status", `deployment/${name}`, "-n", namespace, `--timeout=${timeoutSeconds}s`),
        timeoutMs: (timeoutSeconds + 30) * 1000,
      },
      { signal },
    );
    const tail = `${status.stdout}\n${status.stderr}`.trim().split("\n").slice(-3).join("\n");
    if (status.code !== 0) {
      throw new HactlError(
        "COMMAND_FAILED",
        `deployment/${name} did not finish its rolling restart within ${timeoutSeconds}s`,
        {
          details: tail,
          remedy: `Check the pods: ${via("get", "pods", "-n", namespace).argv.join(" ")}; then run the same command again.`,
        },
      );
    }
    log(tail);
  }
}
