/** A draft that needs no questions: what is still missing, and the answers with defaults filled in. */
import { DEFAULTS, vipRequired, type Draft, type WizardAnswers } from "./answers.js";
import { nodesFromDraft } from "./ask-nodes.js";

/** The flags still needed before the file can be written without asking anything. */
export function missingRequired(draft: Draft): string[] {
  const missing: string[] = [];
  if (!draft.nodes) missing.push("--node NAME=ADDRESS[:ROLE[:USER]] (at least 3 times)");
  const mode = draft.lbMode ?? DEFAULTS.lbMode;
  if (mode === "external") {
    if (!draft.lbHosts) missing.push("--lb-host NAME=ADDRESS (once or twice)");
    if (!draft.lbPorts) missing.push("--lb-port PORT[/udp] (the ports to forward besides the API port)");
  }
  if (draft.vip === undefined && vipRequired(mode, draft.lbHosts?.length ?? 0)) missing.push("--vip ADDRESS");
  return missing;
}

/** The answers for a draft with nothing missing (see missingRequired); defaults for the rest. */
export function completeDraft(draft: Draft): WizardAnswers {
  const lbMode = draft.lbMode ?? DEFAULTS.lbMode;
  const autoscaling = draft.autoscaling ?? DEFAULTS.autoscaling;
  const minReplicas = draft.minReplicas ?? Math.min(DEFAULTS.minReplicas, draft.maxReplicas ?? DEFAULTS.minReplicas);
  return {
    name: draft.name ?? DEFAULTS.name,
    distribution: draft.distribution ?? DEFAULTS.distribution,
    version: draft.version ?? DEFAULTS.version,
    nodes: nodesFromDraft(draft),
    lbMode,
    lbHosts: lbMode === "external" ? (draft.lbHosts ?? []) : [],
    lbPorts: lbMode === "external" ? (draft.lbPorts ?? []) : [],
    vip: draft.vip,
    iface: draft.iface,
    apiPort: draft.apiPort ?? DEFAULTS.apiPort,
    web: draft.web ?? DEFAULTS.web,
    ha: draft.ha ?? DEFAULTS.ha,
    systemReplicas: draft.systemReplicas ?? DEFAULTS.systemReplicas,
    evictionTimeoutSeconds: draft.evictionTimeoutSeconds ?? DEFAULTS.evictionTimeoutSeconds,
    autoscaling,
    minReplicas,
    maxReplicas: draft.maxReplicas ?? Math.max(minReplicas, DEFAULTS.maxReplicas),
    linkerd: autoscaling || (draft.linkerd ?? DEFAULTS.linkerd),
    external: { ...draft.external },
  };
}
