/**
 * The eviction settings HA mode writes into MicroK8s's kube-apiserver arguments file: how long pods
 * tolerate a NotReady or unreachable node before they are evicted (Kubernetes' default is 300 s).
 */

export const APISERVER_ARGS_FILE = "/var/snap/microk8s/current/args/kube-apiserver";
export const EVICTION_FLAGS = [
  "--default-not-ready-toleration-seconds",
  "--default-unreachable-toleration-seconds",
] as const;

/**
 * The args file with the eviction flags set to `seconds` (or removed, back to the default, when
 * undefined). Other lines and their order are kept; the flags go at the end.
 */
export function withEvictionArgs(content: string, seconds: number | undefined): string {
  const isEvictionLine = (line: string): boolean =>
    EVICTION_FLAGS.some((f) => line.trim() === f || line.trim().startsWith(`${f}=`) || line.trim().startsWith(`${f} `));
  const kept = content.split("\n").filter((line) => !isEvictionLine(line));
  while (kept.length > 0 && kept[kept.length - 1]?.trim() === "") kept.pop();
  if (seconds !== undefined) for (const f of EVICTION_FLAGS) kept.push(`${f}=${seconds}`);
  return kept.length > 0 ? `${kept.join("\n")}\n` : "";
}

/** The eviction timeout the file sets, when both flags agree; undefined otherwise. */
export function evictionSecondsIn(content: string): number | undefined {
  const values = EVICTION_FLAGS.map((f) => {
    const m = new RegExp(`^\\s*${f}[= ](\\d+)\\s*$`, "m").exec(content);
    return m ? Number(m[1]) : undefined;
  });
  return values[0] !== undefined && values[0] === values[1] ? values[0] : undefined;
}
