import { describe, expect, it } from "vitest";
import type { NodeAnswer } from "../../../src/wizard/answers.js";
import {
  askInterface,
  interfaceOffers,
  type InterfaceHolder,
  type InterfaceReport,
} from "../../../src/wizard/ask-interface.js";
import { DEFAULT, ScriptedPrompter } from "./scripted.js";

const holders: InterfaceHolder[] = [
  { name: "node-1", address: "10.0.0.11" },
  { name: "node-2", address: "10.0.0.12" },
];
const nodes: NodeAnswer[] = holders.map((h) => ({
  ...h,
  role: "control-plane",
  user: "root",
  auth: { kind: "agent" },
}));

const report: InterfaceReport = new Map([
  [
    "node-1",
    new Map([
      ["lo", ["127.0.0.1"]],
      ["docker0", ["172.17.0.1"]],
      ["ens3", ["10.0.0.11"]],
      ["wg0", ["192.168.9.1"]],
    ]),
  ],
  [
    "node-2",
    new Map([
      ["lo", ["127.0.0.1"]],
      ["docker0", ["172.17.0.1"]],
      ["ens3", ["10.0.0.12"]],
    ]),
  ],
]);

describe("the VIP interface question", () => {
  it("offers interfaces found on every holder, the one carrying their addresses first, loopback left out", () => {
    expect(interfaceOffers(report, holders)).toEqual([
      { name: "ens3", carriesAddress: true },
      { name: "docker0", carriesAddress: false },
    ]);
  });

  it("asks with a choice of the discovered interfaces, suggesting the one carrying the addresses", async () => {
    const p = new ScriptedPrompter([[/Interface that carries the VIP/, DEFAULT]]);
    const seen: string[][] = [];
    const iface = await askInterface(p, holders, nodes, async (h) => {
      seen.push(h.map((x) => x.name));
      return report;
    });
    expect(iface).toBe("ens3");
    expect(seen).toEqual([["node-1", "node-2"]]);
    expect(p.asked[0]?.choices).toEqual(["ens3", "docker0", " auto", " other"]);
  });

  it("can leave the interface unset or take a typed name", async () => {
    const discover = async (): Promise<InterfaceReport> => report;
    expect(
      await askInterface(new ScriptedPrompter([[/carries the VIP/, " auto"]]), holders, nodes, discover),
    ).toBeUndefined();
    const typed = new ScriptedPrompter([
      [/carries the VIP/, " other"],
      [/Interface for the VIP/, "bad name!"],
      [/Interface for the VIP/, "bond0.100"],
    ]);
    expect(await askInterface(typed, holders, nodes, discover)).toBe("bond0.100");
    expect(typed.refused).toHaveLength(1);
  });

  it("falls back to free text when the machines cannot be reached", async () => {
    const p = new ScriptedPrompter([[/Interface for the VIP/, "eth0"]]);
    expect(await askInterface(p, holders, nodes, async () => undefined)).toBe("eth0");
    expect(p.said).toContain("Could not reach them all; type the interface name instead.");
  });
});
