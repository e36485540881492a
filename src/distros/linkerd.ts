/**
 * Linkerd: names and parsers of its documented output (see docs/architecture.md). Nothing here runs a
 * command. MicroK8s ships Linkerd as the `linkerd` addon of its `community` repository; elsewhere the
 * operator's own `linkerd` CLI renders manifests for kubectl.
 */

export const COMMUNITY_ADDON = "community";
export const LINKERD_ADDON = "linkerd";
/** The namespace annotation that has Linkerd inject its proxy into new pods. */
export const INJECT_ANNOTATION = "linkerd.io/inject";

const PASSED = "Status check results are √";

/**
 * `linkerd check` passed: its last line says so. The exit code alone is not enough: `microk8s linkerd`
 * exits 0 with "Linkerd not available ..." when the addon is not enabled.
 */
export function linkerdCheckPassed(stdout: string): boolean {
  const lines = stdout.trim().split("\n");
  return lines[lines.length - 1]?.trim() === PASSED;
}

/** The failed checks of `linkerd check` (`×` lines and their indented hints), or its first lines when there are none. */
export function linkerdCheckFailures(stdout: string, maxLines = 6): string {
  const lines = stdout.trim().split("\n");
  const failed = lines.filter((l) => l.startsWith("×") || l.startsWith("    "));
  return (failed.length > 0 ? failed : lines).slice(0, maxLines).join("\n");
}
