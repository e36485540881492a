/** What `hactl install` (and the day-2 converges built on it) is asked to do. */
export interface InstallOptions {
  file?: string;
  dryRun: boolean;
  templates?: string;
  kubeconfig?: string;
  /** Write the kubeconfig and verify the API through the VIP at the end (install: yes; day-2: no). */
  finish?: boolean;
  /** The command recorded in the run journal (default install). */
  command?: string;
  /** Leave spec.deploy for a later `hactl deploy`. */
  skipDeploy?: boolean;
  /** An offline bundle to install from (`--bundle`; else spec.airgap.bundle). */
  bundle?: string;
}
