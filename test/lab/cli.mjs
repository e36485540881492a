// `npm run lab -- <command>`: drive the lab by hand.
//   up [N] [--lb M]     bring up N nodes (default 3) and M load-balancer hosts
//   down                tear everything down
//   status              what runs
//   ssh NAME [cmd...]   ssh to a host from the workstation namespace
//   stop|start|cut|restore NAME
import { spawn } from "node:child_process";
import {
  cutLink,
  labDownAll,
  labNamespaces,
  labUp,
  linkState,
  nodeRunning,
  readLab,
  restoreLink,
  sshArgs,
  startNode,
  stopNode,
  WORKSTATION_NS,
} from "./lab.mjs";

const USAGE = `usage: npm run lab -- <command>
  up [N] [--lb M]            bring up N nodes (default 3, at most 30) and M load-balancer hosts (default 0)
  down                       tear the lab down (namespaces, processes, sudoers entry)
  status                     show the lab's hosts and whether they run
  ssh NAME [command...]      ssh to a host as root from the workstation namespace (--user U for another user)
  stop NAME | start NAME     hard-stop a host (all processes killed, link down) / boot it again
  cut NAME | restore NAME    take a host's link down / up`;

/** @param {string[]} argv @param {string} flag */
function takeOption(argv, flag) {
  const i = argv.indexOf(flag);
  if (i < 0) return undefined;
  const value = argv[i + 1];
  if (value === undefined) throw new Error(`${flag} needs a value`);
  argv.splice(i, 2);
  return value;
}

/** @param {string} value @param {string} what */
function count(value, what) {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`${what} must be a whole number, got ${value}`);
  return n;
}

/** @param {import("./lab.mjs").Lab} lab */
function describe(lab) {
  const lines = ["", "hosts:"];
  for (const h of [...lab.nodes, ...lab.lbHosts])
    lines.push(`  ${h.name.padEnd(8)} ${h.address.padEnd(12)} ns ${h.ns}`);
  lines.push(
    "",
    `workstation: namespace ${lab.workstation.ns}, address ${lab.workstation.address}`,
    `ssh key:     ${lab.sshKey}`,
    `known_hosts: ${lab.knownHosts}`,
    `ops user:    ${lab.opsUser.name} (sudo password in /var/lib/hactl-lab/lab.json)`,
    `free VIPs:   ${lab.vips[0]} .. ${lab.vips[lab.vips.length - 1]}`,
    "",
    "run commands in the workstation namespace, e.g.:",
    `  ip netns exec ${lab.workstation.ns} bin/hactl validate -f cluster.yaml`,
    `  npm run lab -- ssh ${lab.nodes[0]?.name ?? "node-1"} hostname`,
    "",
    "cluster.yaml for this lab:",
    "  apiVersion: hactl.dev/v1alpha1",
    "  kind: Cluster",
    "  metadata: { name: lab }",
    "  spec:",
    '    distribution: { type: microk8s, version: "1.29" }',
    `    ssh: { user: root, port: 22, identityFile: ${lab.sshKey}, knownHostsFile: ${lab.knownHosts} }`,
    "    nodes:",
    ...lab.nodes.map(
      (n, i) => `      - { name: ${n.name}, address: ${n.address}, role: ${i < 3 ? "control-plane" : "worker"} }`,
    ),
    ...(lab.lbHosts.length
      ? [
          `    loadBalancer:`,
          `      mode: external`,
          `      vip: ${lab.vips[0]}`,
          `      interface: ${lab.iface}`,
          `      external:`,
          `        hosts:`,
          ...lab.lbHosts.slice(0, 2).map((h) => `          - { name: ${h.name}, address: ${h.address} }`),
        ]
      : [`    loadBalancer: { vip: ${lab.vips[0]}, interface: ${lab.iface} }`]),
    "",
  );
  return lines.join("\n");
}

/** @param {string[]} argv @returns {Promise<number>} */
async function main(argv) {
  const [command, ...rest] = argv;
  switch (command) {
    case "up": {
      const lb = takeOption(rest, "--lb");
      const nodes = rest[0] === undefined ? 3 : count(rest[0], "N");
      const started = Date.now();
      const lab = await labUp({ nodes, lbHosts: lb === undefined ? 0 : count(lb, "--lb") });
      console.log(
        `lab up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${lab.nodes.length} nodes, ${lab.lbHosts.length} load-balancer hosts`,
      );
      console.log(describe(lab));
      return 0;
    }
    case "down":
      await labDownAll();
      console.log("lab down");
      return 0;
    case "status": {
      const lab = readLab();
      const namespaces = await labNamespaces();
      if (!lab) {
        console.log(
          namespaces.length
            ? `no lab.json, but namespaces remain: ${namespaces.join(" ")} (npm run lab -- down)`
            : "no lab is up",
        );
        return 0;
      }
      for (const h of [...lab.nodes, ...lab.lbHosts]) {
        const running = nodeRunning(h) ? "running" : "stopped";
        console.log(`${h.name.padEnd(8)} ${h.address.padEnd(12)} ${running.padEnd(8)} link ${await linkState(h)}`);
      }
      return 0;
    }
    case "ssh": {
      const user = takeOption(rest, "--user");
      const [name, ...cmd] = rest;
      if (!name) throw new Error("ssh needs a host name");
      const tty = cmd.length === 0 && process.stdin.isTTY ? ["-t"] : [];
      const args = [
        `--net=/run/netns/${WORKSTATION_NS}`,
        "--",
        "ssh",
        ...tty,
        ...sshArgs(name, { user: user ?? "root" }),
        ...cmd,
      ];
      return new Promise((resolve, reject) => {
        const child = spawn("nsenter", args, { stdio: "inherit" });
        child.on("error", reject);
        child.on("close", (code) => resolve(code ?? 255));
      });
    }
    case "stop":
    case "start":
    case "cut":
    case "restore": {
      const name = rest[0];
      if (!name) throw new Error(`${command} needs a host name`);
      const action = { stop: stopNode, start: startNode, cut: cutLink, restore: restoreLink }[command];
      await action(name);
      console.log(`${name}: ${command} done`);
      return 0;
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`unknown command: ${command}\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`lab: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
