import { execFileSync } from "node:child_process";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostKeyPolicy, openSshTarget } from "../../../src/actions/ssh.js";
import { formatVersion } from "../../../src/actions/version.js";
import { parseKubeadmShort, parseSnapList } from "../../../src/gather/distribution-version.js";
import { opensshArgs } from "../../../src/ssh/openssh-args.js";
import { specFrom } from "../../fakes/spec.js";

const SPEC = specFrom(`apiVersion: hactl.dev/v1alpha1
kind: Cluster
metadata: { name: shop }
spec:
  distribution: { type: microk8s }
  ssh:
    user: ops
    port: 2222
    identityFile: ~/.ssh/shop key
    knownHostsFile: /etc/hactl/known_hosts
    useAgent: false
    connectTimeoutSeconds: 7
  nodes:
    - { name: node-1, address: 10.0.0.11, role: control-plane }
    - { name: node-2, address: 10.0.0.12, role: control-plane, ssh: { user: root, useAgent: true } }
    - name: node-3
      address: 10.0.0.13
      role: control-plane
      ssh: { bastion: { address: jump.example.net, port: 2200, user: gate, identityFile: /keys/100%gate } }
  loadBalancer:
    mode: external
    external: { hosts: [{ name: lb-1, address: 10.0.0.21, ssh: { port: 22 } }], ports: [{ port: 80 }] }
`);

describe("hactl ssh: OpenSSH arguments with hactl's own connection settings", () => {
  it("uses the merged user, port, key, agent choice, known_hosts and timeout, and stops option parsing before the host", () => {
    const args = opensshArgs(openSshTarget(SPEC, "node-1"), "yes", ["systemctl", "status", "keepalived"], false);
    expect(args).toEqual([
      "-p",
      "2222",
      "-l",
      "ops",
      "-i",
      join(homedir(), ".ssh/shop key"),
      "-o",
      "IdentityAgent=none",
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "UserKnownHostsFile=/etc/hactl/known_hosts",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "ConnectTimeout=7",
      "--",
      "10.0.0.11",
      "systemctl",
      "status",
      "keepalived",
    ]);
  });

  it("takes a node's override (user, agent) and a load-balancer host's port", () => {
    const node2 = opensshArgs(openSshTarget(SPEC, "node-2"), "ask", [], true);
    expect(node2.slice(0, 4)).toEqual(["-p", "2222", "-l", "root"]);
    expect(node2).not.toContain("IdentityAgent=none");
    expect(node2).not.toContain("-t");
    expect(node2.slice(-2)).toEqual(["--", "10.0.0.12"]);
    expect(opensshArgs(openSshTarget(SPEC, "lb-1"), "ask", ["uptime"], true).slice(0, 2)).toEqual(["-p", "22"]);
    expect(opensshArgs(openSshTarget(SPEC, "lb-1"), "ask", ["uptime"], true)).toContain("-t");
  });

  it("goes through the bastion with its own user, port and key, in a ProxyCommand ssh accepts", () => {
    const args = opensshArgs(openSshTarget(SPEC, "node-3"), "accept-new", [], false);
    const proxy = args[args.indexOf("-o", args.indexOf("ConnectTimeout=7")) + 1] ?? "";
    expect(proxy).toMatch(/^ProxyCommand=ssh -p 2200 -l gate -i \/keys\/100%%gate /);
    expect(proxy).toContain("-W %h:%p -- jump.example.net");
    expect(proxy).toContain("StrictHostKeyChecking=accept-new");
    // OpenSSH itself reads the options back: -G prints the configuration it would use (tokens not yet
    // expanded), connecting nowhere.
    const printed = execFileSync("ssh", ["-G", ...args.filter((a) => a !== "--")], {
      encoding: "utf8",
      env: { ...process.env, HOME: "/nonexistent" },
    });
    expect(printed).toMatch(
      /^proxycommand ssh -p 2200 -l gate -i \/keys\/100%%gate .*-W %h:%p -- jump\.example\.net$/m,
    );
    expect(printed).toMatch(/^user ops$/m);
    expect(printed).toMatch(/^port 2222$/m);
    expect(printed).toMatch(/^userknownhostsfile \/etc\/hactl\/known_hosts$/m);
  });

  it("refuses a name that is not in cluster.yaml, listing the ones that are", () => {
    expect(() => openSshTarget(SPEC, "node-9")).toThrow(/node-9 is not a node or load-balancer host/);
  });

  it("follows hactl's host-key policy", () => {
    expect(hostKeyPolicy({ acceptNewHostKeys: true }, false)).toBe("accept-new");
    expect(hostKeyPolicy({ acceptNewHostKeys: false }, true)).toBe("ask");
    expect(hostKeyPolicy({ acceptNewHostKeys: false }, false)).toBe("yes");
  });
});

describe("hactl version: the distribution version on a node", () => {
  it("reads the microk8s row of snap list", () => {
    const out =
      "Name      Version   Rev    Tracking     Publisher   Notes\nmicrok8s  v1.36.5   8512   1.36/stable  canonical✓  classic\n";
    expect(parseSnapList(out)).toEqual({ installed: true, version: "v1.36.5", channel: "1.36/stable" });
    expect(parseSnapList("error: no matching snaps installed\n")).toEqual({ installed: false });
  });

  it("reads kubeadm version -o short", () => {
    expect(parseKubeadmShort("v1.36.5\n")).toEqual({ installed: true, version: "v1.36.5" });
    expect(parseKubeadmShort("1.35.2")).toEqual({ installed: true, version: "v1.35.2" });
    expect(parseKubeadmShort("")).toEqual({ installed: false });
  });

  it("prints one line per node, unreachable ones included", () => {
    const text = formatVersion({
      hactl: "0.1.0",
      node: "v20.19.0",
      cluster: {
        name: "shop",
        distribution: "microk8s",
        version: "1.36",
        nodes: [
          {
            name: "node-1",
            address: "10.0.0.11",
            role: "control-plane",
            reachable: true,
            installed: true,
            version: "v1.36.5",
            channel: "1.36/stable",
          },
          { name: "node-2", address: "10.0.0.12", role: "control-plane", reachable: true, installed: false },
          { name: "node-3", address: "10.0.0.13", role: "worker", reachable: false, error: "connection refused" },
        ],
      },
    });
    expect(text.split("\n")).toEqual([
      "hactl 0.1.0 (Node.js v20.19.0)",
      "cluster shop: microk8s 1.36 in cluster.yaml",
      "  node-1  control-plane  microk8s v1.36.5 (1.36/stable)",
      "  node-2  control-plane  microk8s not installed",
      "  node-3  worker         not reachable: connection refused",
    ]);
  });
});
