import { commandLine } from "../core/action.js";
import { need } from "../core/host.js";
import { HactlError } from "../core/errors.js";
import { registerSecret } from "../core/secrets.js";
import type { Command } from "../core/command.js";
import type { Phase, Step } from "../core/plan.js";
import { parseOpensslDate } from "../distros/certs.js";
import type { NodeSpec } from "../spec/schema.js";
import {
  putBackInService,
  takeOutOfService,
  type LivezProbe,
  type ServiceLayoutInput,
  type ApiEndpoint,
} from "./out-of-service.js";

/**
 * Replacing the MicroK8s cluster CA (`hactl certs renew --ca`): one control plane makes a new CA with
 * `microk8s refresh-certs --cert ca.crt`, every other control plane installs that same CA with
 * `microk8s refresh-certs CA_DIR` (which re-issues its server certificate), each out of service
 * meanwhile. A run stopped half-way is finished by the next one: the newest CA among the control planes
 * is the target, and only the nodes without it get it.
 */

const SNAP_CERTS = "/var/snap/microk8s/current/certs";
const CA_DIR = "/var/lib/hactl/ca-rotate";

export interface CaFacts {
  fingerprint: string;
  notBefore: Date;
}

export const caFactsCommand: Command = {
  argv: ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-startdate", "-in", `${SNAP_CERTS}/ca.crt`],
  sudo: true,
};

/** `sha256 Fingerprint=AB:..` and `notBefore=Dec  2 07:00:00 2026 GMT`. */
export function parseCaFacts(text: string): CaFacts | undefined {
  const fp = /Fingerprint=([0-9A-F:]+)/i.exec(text)?.[1];
  const nb = /notBefore=(.+)/.exec(text)?.[1];
  const notBefore = nb ? parseOpensslDate(nb) : undefined;
  return fp && notBefore ? { fingerprint: fp.toUpperCase(), notBefore } : undefined;
}

export interface CaRotationPlan {
  /** The control plane that makes the new CA (undefined when resuming: one already has it). */
  rotateOn?: NodeSpec;
  /** The node whose CA the others install. */
  source: NodeSpec;
  /** Control planes that still need the new CA, in cluster.yaml order. */
  install: NodeSpec[];
}

/** Where a rotation in progress keeps the fingerprint of the CA it replaces (on the lock node). */
export const CA_ROTATION_MARKER = "/var/lib/hactl/ca-rotation";

/**
 * Pure: a fresh rotation when every control plane has the same CA, else the rest of an interrupted one.
 * `replacing` is the fingerprint an unfinished run recorded: when every control plane already has
 * another CA, that run got through every node and nothing is left to rotate.
 */
export function planCaRotation(
  controlPlanes: readonly NodeSpec[],
  cas: ReadonlyMap<string, CaFacts>,
  replacing?: string,
): CaRotationPlan {
  const first = controlPlanes[0] as NodeSpec;
  const prints = new Set(controlPlanes.map((n) => cas.get(n.name)?.fingerprint));
  if (prints.size <= 1 && replacing !== undefined && !prints.has(replacing)) return { source: first, install: [] };
  if (prints.size <= 1) return { rotateOn: first, source: first, install: controlPlanes.slice(1) };
  const newest = [...controlPlanes].sort(
    (a, b) => (cas.get(b.name)?.notBefore.getTime() ?? 0) - (cas.get(a.name)?.notBefore.getTime() ?? 0),
  )[0] as NodeSpec;
  const target = cas.get(newest.name)?.fingerprint;
  return { source: newest, install: controlPlanes.filter((n) => cas.get(n.name)?.fingerprint !== target) };
}

function rotateStep(node: NodeSpec): Step {
  const refresh: Command = {
    argv: ["microk8s", "refresh-certs", "--cert", "ca.crt"],
    sudo: true,
    timeoutMs: 10 * 60_000,
  };
  return {
    id: `ca-rotate:${node.name}`,
    node: node.name,
    title: "make a new cluster CA and re-issue this node's certificates",
    describe: [commandLine(refresh)],
    async run(ctx) {
      const r = await need(ctx.hosts, node.name).run(refresh, { signal: ctx.signal });
      for (const line of r.stdout.split("\n").filter(Boolean)) ctx.log(line);
      return "changed";
    },
  };
}

/** Copies the source's CA (the key registered as a secret) into a private directory and installs it. */
function installStep(node: NodeSpec, source: NodeSpec): Step {
  return {
    id: `ca-install:${node.name}`,
    node: node.name,
    title: `install ${source.name}'s new CA and re-issue this node's certificates`,
    describe: [
      `copy ${SNAP_CERTS}/ca.crt and ca.key from ${source.name} to ${CA_DIR} (mode 0600)`,
      `microk8s refresh-certs ${CA_DIR}`,
      `rm -rf ${CA_DIR}`,
    ],
    async run(ctx) {
      const from = need(ctx.hosts, source.name);
      const to = need(ctx.hosts, node.name);
      const [crt, key] = await Promise.all([
        from.readFile(`${SNAP_CERTS}/ca.crt`, { sudo: true }),
        from.readFile(`${SNAP_CERTS}/ca.key`, { sudo: true }),
      ]);
      if (!crt || !key)
        throw new HactlError("COMMAND_FAILED", `${source.name} has no CA to copy (${SNAP_CERTS}/ca.crt and ca.key)`, {
          node: source.name,
          remedy: "Run hactl certs check; then run the same command again.",
        });
      registerSecret(key);
      await to.run({ argv: ["sh", "-c", 'rm -rf "$1" && mkdir -m 700 -p "$1"', "hactl-ca-dir", CA_DIR], sudo: true });
      try {
        await to.writeFile(`${CA_DIR}/ca.crt`, crt, { mode: 0o600, sudo: true });
        await to.writeFile(`${CA_DIR}/ca.key`, key, { mode: 0o600, sudo: true });
        const r = await to.run(
          { argv: ["microk8s", "refresh-certs", CA_DIR], sudo: true, timeoutMs: 10 * 60_000 },
          { signal: ctx.signal },
        );
        for (const line of r.stdout.split("\n").filter(Boolean)) ctx.log(line);
      } finally {
        await to.exec({ argv: ["rm", "-rf", CA_DIR], sudo: true });
      }
      return "changed";
    },
  };
}

/** Pure: the phases of a CA rotation, each control plane out of service while its certificates change. */
export function caRotationPhases(
  layout: ServiceLayoutInput,
  plan: CaRotationPlan,
  opts: { endpoint?: ApiEndpoint; probe: LivezProbe },
): Phase[] {
  const validAfter = new Date(Date.now() + 300 * 86_400_000);
  const around = (node: NodeSpec, step: Step): Phase[] => [
    ...takeOutOfService(layout, node),
    { title: `Replace ${node.name}'s CA`, mode: "serial", steps: [step] },
    ...putBackInService(layout, node, { ...opts, servedValidAfter: validAfter }),
  ];
  return [
    ...(plan.rotateOn ? around(plan.rotateOn, rotateStep(plan.rotateOn)) : []),
    ...plan.install.flatMap((n) => around(n, installStep(n, plan.source))),
  ];
}
