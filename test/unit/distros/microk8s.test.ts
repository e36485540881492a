import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  datastoreIp,
  kubeconfigForVip,
  microk8s,
  parseAddNode,
  parseSnapList,
  parseStatus,
  snapMinor,
} from "../../../src/distros/microk8s.js";
import { STATUS_NOT_RUNNING, STATUS_WORKER, addNodeJson, statusYaml } from "../../fakes/outputs.js";

const TOKEN = "92b2db237428470dc4fcfc4ebbd9dc81/2c0cb3284b05";

describe("parseAddNode", () => {
  it("picks the URL on the leader's own address, not the default-route one", () => {
    const out = addNodeJson(TOKEN, ["172.17.0.1", "10.0.0.11", "10.23.209.1"]);
    expect(parseAddNode(out, "10.0.0.11")).toEqual({ connection: `10.0.0.11:25000/${TOKEN}`, token: TOKEN });
  });

  it("does not take a longer address that merely starts with the leader's", () => {
    const out = addNodeJson(TOKEN, ["10.0.0.111", "10.0.0.11"]);
    expect(parseAddNode(out, "10.0.0.11").connection).toBe(`10.0.0.11:25000/${TOKEN}`);
  });

  it("falls back to the first URL when none is on the leader's address", () => {
    expect(parseAddNode(addNodeJson(TOKEN, ["192.168.1.230", "172.17.0.1"]), "10.0.0.11").connection).toBe(
      `192.168.1.230:25000/${TOKEN}`,
    );
  });

  it("rejects output without URLs or that is not JSON", () => {
    expect(() => parseAddNode(JSON.stringify({ token: TOKEN, urls: [] }), "10.0.0.11")).toThrow();
    expect(() =>
      parseAddNode("From the node you wish to join to this cluster, run the following:", "10.0.0.11"),
    ).toThrow();
  });
});

describe("parseStatus", () => {
  it("reads a running three-voter cluster with a standby and its addons", () => {
    const s = parseStatus(
      statusYaml({
        members: [
          { ip: "10.0.0.11", role: "voter" },
          { ip: "10.0.0.12", role: "voter" },
          { ip: "10.0.0.13", role: "voter" },
          { ip: "10.0.0.14", role: "standby" },
        ],
        addons: { dns: "enabled", "ha-cluster": "enabled", "hostpath-storage": "disabled" },
      }),
    );
    expect(s.running).toBe(true);
    expect(s.haEnabled).toBe(true);
    expect(s.isWorker).toBe(false);
    expect(s.datastore).toEqual([
      { address: "10.0.0.11:19001", role: "voter" },
      { address: "10.0.0.12:19001", role: "voter" },
      { address: "10.0.0.13:19001", role: "voter" },
      { address: "10.0.0.14:19001", role: "standby" },
    ]);
    expect([...s.addons]).toEqual([
      ["dns", "enabled"],
      ["ha-cluster", "enabled"],
      ["hostpath-storage", "disabled"],
    ]);
  });

  it("reads the exact documented yaml sample", () => {
    const doc = [
      "microk8s:",
      "  running: True",
      "high-availability:",
      "  enabled: True",
      "  nodes:",
      "    - address: 10.0.0.11:19001",
      "      role: voter",
      "addons:",
      "  - name: dns",
      "    repository: core",
      "    description: CoreDNS",
      "    version: 1.13.1",
      "    status: enabled",
      "",
    ].join("\n");
    const s = parseStatus(doc);
    expect(s.running && s.haEnabled).toBe(true);
    expect(s.addons.get("dns")).toBe("enabled");
  });

  it("reads a single fresh node as running without HA", () => {
    const s = parseStatus(statusYaml());
    expect([s.running, s.haEnabled]).toEqual([true, false]);
    expect(s.datastore).toEqual([{ address: "127.0.0.1:19001", role: "voter" }]);
  });

  it("reads the not-running output: running false, no addons", () => {
    const s = parseStatus(STATUS_NOT_RUNNING);
    expect(s.running).toBe(false);
    expect(s.haEnabled).toBe(false);
    expect(s.addons.size).toBe(0);
    expect(s.isWorker).toBe(false);
  });

  it("recognises a worker node's refusal", () => {
    const s = parseStatus(STATUS_WORKER);
    expect(s).toMatchObject({ isWorker: true, running: true, datastore: [] });
  });

  it("treats empty output as not running", () => {
    expect(parseStatus("").running).toBe(false);
  });

  it("drops datastore entries with unknown roles", () => {
    const doc = statusYaml({ members: [{ ip: "10.0.0.11", role: "voter" }] }).replace("role: voter", "role: learner");
    expect(parseStatus(doc).datastore).toEqual([]);
  });
});

describe("microk8s commands", () => {
  const connection = `10.0.0.11:25000/${TOKEN}`;
  const dir = mkdtempSync(join(tmpdir(), "hactl-join-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("join keeps the connection string off argv and sends it on stdin", () => {
    for (const worker of [false, true]) {
      const c = microk8s.join(connection, worker);
      expect(c.argv.join(" ")).not.toContain(TOKEN);
      expect(c.argv.join(" ")).not.toContain("10.0.0.11");
      expect(c.stdin).toBe(`${connection}\n`);
      expect(c.sudo).toBe(true);
      expect(c.argv.includes("--worker")).toBe(worker);
      expect(c.argv).not.toContain("--controlplane");
    }
  });

  it("join's shell hands microk8s the connection from stdin as its argument", () => {
    const bin = join(dir, "microk8s");
    writeFileSync(bin, '#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done\n');
    chmodSync(bin, 0o755);
    const c = microk8s.join(connection, true);
    const out = execFileSync(c.argv[0], c.argv.slice(1), {
      input: c.stdin,
      env: { PATH: `${dir}:/usr/bin:/bin` },
      encoding: "utf8",
    });
    expect(out).toBe(`[join][${connection}][--worker]`);
  });

  it("status is allowed to exit 1 (not ready) and add-node asks for JSON", () => {
    expect(microk8s.statusYaml().okCodes).toEqual([0, 1]);
    expect(microk8s.addNode().argv).toEqual(["microk8s", "add-node", "--format", "json"]);
    expect(microk8s.install("1.29").argv).toContain("--channel=1.29/stable");
    expect(microk8s.removeNode("node-2", true).argv).toEqual(["microk8s", "remove-node", "node-2", "--force"]);
  });
});

describe("datastoreIp and kubeconfigForVip", () => {
  it("strips the datastore port", () => {
    expect(datastoreIp("10.0.0.11:19001")).toBe("10.0.0.11");
  });

  it("points every server line at the VIP and keeps the rest", () => {
    const kubeconfig = [
      "apiVersion: v1",
      "clusters:",
      "- cluster:",
      "    certificate-authority-data: LS0tLS1CRUdJTg==",
      "    server: https://10.0.0.11:16443",
      "  name: microk8s-cluster",
      "users:",
      "- name: admin",
      "  user:",
      "    client-certificate-data: LS0tQ0VSVA==",
      "",
    ].join("\n");
    const out = kubeconfigForVip(kubeconfig, "10.0.0.100", 7443);
    expect(out).toBe(kubeconfig.replace("https://10.0.0.11:16443", "https://10.0.0.100:7443"));
  });
});

describe("snap list microk8s", () => {
  const header = "Name      Version   Rev   Tracking     Publisher   Notes";
  it("reads the version, the tracking channel and the held note", () => {
    expect(parseSnapList(`${header}\nmicrok8s  v1.32.3   7222  1.32/stable  canonical✓  classic,held\n`)).toEqual({
      version: "v1.32.3",
      channel: "1.32/stable",
      held: true,
    });
    expect(parseSnapList(`${header}\nmicrok8s  v1.32.3   7222  1.32/stable  canonical✓  classic\n`)).toEqual({
      version: "v1.32.3",
      channel: "1.32/stable",
      held: false,
    });
    expect(parseSnapList(`${header}\ncore22  20250315  1908  latest/stable  canonical✓  base\n`)).toBeUndefined();
  });

  it("takes the minor from the channel, else from the version", () => {
    expect(snapMinor({ version: "v1.32.3", channel: "1.32/stable", held: true })).toBe("1.32");
    expect(snapMinor({ version: "v1.33.1", channel: "latest/stable", held: false })).toBe("1.33");
    expect(snapMinor({ version: "", channel: "latest/edge", held: false })).toBeUndefined();
  });
});
