/** What `hactl install` (and add-node, which runs the same converge) is asked to do. */
export interface InstallOptions {
  file?: string;
  dryRun: boolean;
  templates?: string;
  kubeconfig?: string;
  /** Leave spec.deploy for a later `hactl deploy`. */
  skipDeploy?: boolean;
  /** An offline bundle to install from (`--bundle`; else spec.airgap.bundle). */
  bundle?: string;
}
