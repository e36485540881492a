/**
 * The other direction, for `hactl reconfigure`: the application answers a parsed cluster.yaml holds
 * today, to suggest them when the questions are asked again (askApp's `current`). Only env references
 * can be suggested for external services; a { file: PATH } reference is kept by the caller.
 */
import type { ClusterSpec } from "../spec/schema.js";
import { EXTERNAL_SERVICES } from "./answers.js";
import type { AppAnswers } from "./ask-app.js";

export function appAnswersFromSpec(spec: ClusterSpec): AppAnswers {
  const s = spec.spec;
  const external: AppAnswers["external"] = {};
  for (const service of EXTERNAL_SERVICES) {
    const ref = s.externalServices[service.key];
    if (ref && "env" in ref) external[service.key] = ref.env;
  }
  return {
    ha: s.ha.enabled,
    systemReplicas: s.ha.systemReplicas,
    evictionTimeoutSeconds: s.ha.evictionTimeoutSeconds,
    autoscaling: s.autoscaling.enabled,
    minReplicas: s.autoscaling.minReplicas,
    maxReplicas: s.autoscaling.maxReplicas,
    linkerd: s.linkerd.enabled || s.autoscaling.enabled,
    external,
  };
}
