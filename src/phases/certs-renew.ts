import { need } from "../core/host.js";
import type { Command } from "../core/command.js";
import type { Phase, Step } from "../core/plan.js";
import { MICROK8S_RENEWABLE } from "../distros/certs.js";
import type { ClusterSpec } from "../spec/schema.js";
import { RENEWABLE_KINDS, type CertEntry, type RenewTarget } from "./certs.js";

/** The manifests of kubeadm's static pods, and where a restart parks them meanwhile. */
const MANIFESTS = "/etc/kubernetes/manifests";
const PARKED = "/etc/kubernetes/manifests.hactl-restart";

/**
 * kubeadm: renew every certificate kubeadm manages (never the CAs), then restart the control-plane
 * static pods so they load them: the kubelet stops a static pod when its manifest leaves the directory
 * and starts it again when it comes back. Manifests parked by an interrupted run are put back first.
 */
const KUBEADM_RENEW_SCRIPT = `set -e
m=$1 p=$2
if [ -d "$p" ]; then for f in "$p"/*.yaml; do [ -e "$f" ] && mv "$f" "$m"/; done; rmdir "$p"; fi
kubeadm certs renew all
mkdir -p "$p"
for f in "$m"/*.yaml; do [ -e "$f" ] && mv "$f" "$p"/; done
sleep 20
for f in "$p"/*.yaml; do [ -e "$f" ] && mv "$f" "$m"/; done
rmdir "$p"
systemctl restart kubelet`;

/** Pure: may a renewal on this distribution replace this certificate? */
export function renewableBy(distribution: ClusterSpec["spec"]["distribution"]["type"]): (entry: CertEntry) => boolean {
  if (distribution === "microk8s")
    return (e) => e.role === "control-plane" && (MICROK8S_RENEWABLE as readonly string[]).includes(e.certificate);
  return (e) => e.role === "control-plane" && RENEWABLE_KINDS.includes(e.kind) && e.certificate !== "kubelet.crt";
}

/** Pure: the commands that renew one control plane's due certificates (and restart what serves them). */
export function renewCommands(
  distribution: ClusterSpec["spec"]["distribution"]["type"],
  target: RenewTarget,
): Command[] {
  if (distribution === "microk8s") {
    // refresh-certs restarts kubelite and the cluster agent itself after each certificate.
    const names = MICROK8S_RENEWABLE.filter((n) => target.certificates.some((c) => c.certificate === n));
    return names.map((n) => ({ argv: ["microk8s", "refresh-certs", "--cert", n], sudo: true, timeoutMs: 10 * 60_000 }));
  }
  return [
    {
      argv: ["sh", "-c", KUBEADM_RENEW_SCRIPT, "hactl-certs-renew", MANIFESTS, PARKED],
      sudo: true,
      timeoutMs: 10 * 60_000,
    },
  ];
}

/** Pure: the phase that renews one control plane's certificates (it is out of service meanwhile). */
export function renewPhase(distribution: ClusterSpec["spec"]["distribution"]["type"], target: RenewTarget): Phase {
  const node = target.node.name;
  const commands = renewCommands(distribution, target);
  const step: Step = {
    id: `renew:${node}`,
    node,
    title: `renew ${target.certificates.map((c) => c.certificate).join(", ")}`,
    describe:
      distribution === "microk8s"
        ? commands.map((c) => c.argv.join(" "))
        : [
            "kubeadm certs renew all",
            `restart the static pods (manifests out of ${MANIFESTS} for 20 s) and the kubelet`,
          ],
    async run(ctx) {
      const host = need(ctx.hosts, node);
      for (const c of commands) {
        const r = await host.run(c, { signal: ctx.signal });
        for (const line of r.stdout.split("\n").filter(Boolean)) ctx.log(line);
      }
      return "changed";
    },
  };
  return { title: `Renew ${node}'s certificates`, mode: "serial", steps: [step] };
}
