/**
 * The wizard's question flow. Every question whose answer is already in the draft (from flags, or a
 * prefilled cluster.yaml) is skipped; every answer is checked as it is given, with the schema's rules.
 */
import { DEFAULTS, type Distribution, type Draft, type WizardAnswers } from "./answers.js";
import { askApp } from "./ask-app.js";
import type { DiscoverInterfaces } from "./ask-interface.js";
import { askLoadBalancer } from "./ask-lb.js";
import { askNodes } from "./ask-nodes.js";
import type { Prompter } from "./prompter.js";
import { endOfSupportProblem, supportedMinors } from "../spec/k8s-versions.js";
import { checkName, checkVersion } from "./validate.js";

export interface WizardDeps {
  prompter: Prompter;
  /** Lists the interfaces on the machines that will hold the VIP; absent: the interface is typed. */
  discoverInterfaces?: DiscoverInterfaces | undefined;
  /** Where external-service variables are looked up (to check their shape); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The day, for the end-of-support check of the Kubernetes version; default now. */
  today?: Date;
}

const DISTRIBUTIONS = [
  { value: "microk8s", name: "MicroK8s (snap; hactl joins the nodes one at a time)" },
  { value: "kubeadm", name: "kubeadm (upstream Kubernetes with stacked etcd)" },
] as const satisfies readonly { value: Distribution; name: string }[];

export async function askAnswers(draft: Draft, deps: WizardDeps): Promise<WizardAnswers> {
  const p = deps.prompter;
  const name = draft.name ?? (await p.input("Cluster name", { initial: DEFAULTS.name, validate: checkName }));
  const distribution =
    draft.distribution ?? (await p.select("Kubernetes distribution", DISTRIBUTIONS, DEFAULTS.distribution));
  const version =
    draft.version ??
    (await p.input(`${distribution} version (Kubernetes minor, e.g. ${DEFAULTS.version})`, {
      initial: DEFAULTS.version,
      validate: checkVersion,
    }));
  const today = deps.today ?? new Date();
  const unsupported = endOfSupportProblem(version, today);
  if (unsupported) p.say(`${unsupported}: consider ${supportedMinors(today).join(", ") || DEFAULTS.version}.`);
  const nodes = await askNodes(draft, p);
  const lb = await askLoadBalancer(draft, { nodes, distribution }, p, deps.discoverInterfaces);
  const app = await askApp(draft, nodes.length, p, deps.env ?? process.env);
  return { name, distribution, version, nodes, ...lb, ...app };
}
