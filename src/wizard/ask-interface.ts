/** The VIP interface question: offers the interfaces found on the machines that will hold the VIP. */
import type { NodeAnswer } from "./answers.js";
import type { Prompter } from "./prompter.js";
import { checkIface, orEmpty } from "./validate.js";

/** A machine that runs keepalived: a control-plane node, or an external load-balancer host. */
export interface InterfaceHolder {
  name: string;
  address: string;
}

/** Machine name → interface name → its IPv4 addresses. */
export type InterfaceReport = Map<string, Map<string, string[]>>;

/** Connects to the holders and lists their interfaces; undefined when they cannot all be reached. */
export type DiscoverInterfaces = (
  holders: readonly InterfaceHolder[],
  nodes: readonly NodeAnswer[],
) => Promise<InterfaceReport | undefined>;

export interface InterfaceOffer {
  name: string;
  /** True when this interface carries each holder's own address. */
  carriesAddress: boolean;
}

/** Interfaces present on every holder (loopback left out), those carrying the holders' addresses first. */
export function interfaceOffers(report: InterfaceReport, holders: readonly InterfaceHolder[]): InterfaceOffer[] {
  const per = holders.map((h) => report.get(h.name) ?? new Map<string, string[]>());
  const first = per[0];
  if (!first) return [];
  const common = [...first.keys()].filter((name) => name !== "lo" && per.every((m) => m.has(name)));
  const offers = common.map((name) => ({
    name,
    carriesAddress: holders.every((h, i) => (per[i]?.get(name) ?? []).includes(h.address)),
  }));
  return offers.sort((a, b) => Number(b.carriesAddress) - Number(a.carriesAddress) || a.name.localeCompare(b.name));
}

const AUTO = " auto";
const OTHER = " other";
const typed = "Interface for the VIP (blank: the one carrying each machine's address, found at install)";

export async function askInterface(
  p: Prompter,
  holders: readonly InterfaceHolder[],
  nodes: readonly NodeAnswer[],
  discover: DiscoverInterfaces | undefined,
): Promise<string | undefined> {
  let offers: InterfaceOffer[] = [];
  if (discover) {
    p.say(`Connecting to ${holders.map((h) => h.name).join(", ")} to list their network interfaces…`);
    const report = await discover(holders, nodes);
    if (report) offers = interfaceOffers(report, holders);
    if (!report) p.say("Could not reach them all; type the interface name instead.");
    else if (offers.length === 0) p.say("No interface is common to all of them; type the name instead.");
  }
  if (offers.length === 0) return (await p.input(typed, { validate: orEmpty(checkIface) })) || undefined;
  const all = `all ${holders.length}`;
  const choice = await p.select(
    "Interface that carries the VIP",
    [
      ...offers.map((o) => ({
        value: o.name,
        name: `${o.name} (on ${all}${o.carriesAddress ? ", carries their addresses" : ""})`,
      })),
      { value: AUTO, name: "leave unset: at install, the interface carrying each machine's address" },
      { value: OTHER, name: "another name (type it)" },
    ],
    offers[0]?.name,
  );
  if (choice === AUTO) return undefined;
  if (choice === OTHER) return (await p.input(typed, { validate: orEmpty(checkIface) })) || undefined;
  return choice;
}
