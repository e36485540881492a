/** The application flags of `hactl init`: HA, autoscaling, Linkerd and the external services. */
import { EXTERNAL_SERVICES, type Draft } from "./answers.js";
import { checkServiceEnv } from "./ask-app.js";
import type { InitFlags } from "./init-flags.js";
import { both, checkEnvName, checkFlag, checkInt } from "./validate.js";

/** A whole-number flag within bounds; a problem is recorded and undefined returned when it is not. */
export function intFlag(
  flag: string,
  value: string | undefined,
  min: number,
  max: number,
  problems: string[],
): number | undefined {
  if (value === undefined) return undefined;
  const bad = checkFlag(flag, value, checkInt(min, max));
  if (bad) problems.push(bad);
  return bad ? undefined : Number(value);
}

export function appFlags(f: InitFlags, d: Draft, env: NodeJS.ProcessEnv, problems: string[]): void {
  const systemReplicas = intFlag("--system-replicas", f.systemReplicas, 3, 100, problems);
  const eviction = intFlag("--eviction-timeout", f.evictionTimeout, 10, 300, problems);
  const min = intFlag("--min", f.min, 1, 1000, problems);
  const max = intFlag("--max", f.max, 1, 1000, problems);
  const haImplied = f.systemReplicas !== undefined || f.evictionTimeout !== undefined;
  if (f.ha === false && haImplied)
    problems.push("--system-replicas and --eviction-timeout are HA settings: leave out --no-ha");
  const ha = f.ha ?? (haImplied ? true : undefined);
  const autoscalingImplied = f.min !== undefined || f.max !== undefined;
  if (f.autoscaling === false && autoscalingImplied)
    problems.push("--min and --max are autoscaling settings: leave out --no-autoscaling");
  const autoscaling = f.autoscaling ?? (autoscalingImplied ? true : undefined);
  if (min !== undefined && max !== undefined && min > max) problems.push(`--max: must be at least --min (${min})`);
  if (autoscaling && f.linkerd === false)
    problems.push("--no-linkerd: autoscaling needs Linkerd; leave out --no-linkerd");
  Object.assign(d, {
    ...(ha !== undefined ? { ha } : {}),
    ...(systemReplicas !== undefined ? { systemReplicas } : {}),
    ...(eviction !== undefined ? { evictionTimeoutSeconds: eviction } : {}),
    ...(autoscaling !== undefined ? { autoscaling } : {}),
    ...(min !== undefined ? { minReplicas: min } : {}),
    ...(max !== undefined ? { maxReplicas: max } : {}),
    ...(f.linkerd !== undefined || autoscaling ? { linkerd: Boolean(autoscaling) || Boolean(f.linkerd) } : {}),
  });
  const external: NonNullable<Draft["external"]> = {};
  const given = {
    postgresql: f.postgresqlEnv,
    mongodb: f.mongodbEnv,
    s3: f.s3Env,
    redis: f.redisEnv,
    rabbitmq: f.rabbitmqEnv,
  };
  for (const s of EXTERNAL_SERVICES) {
    const name = given[s.key];
    if (name === undefined) continue;
    const bad = checkFlag(s.flag, name, both(checkEnvName, checkServiceEnv(s.key, env)));
    if (bad) problems.push(bad);
    else external[s.key] = name;
  }
  if (Object.keys(external).length > 0) d.external = external;
}
