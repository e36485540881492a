// `npm run demo`: the README's first command. Brings up a 3-node lab, writes a cluster.yaml for it and
// runs the real `hactl install` against it over SSH, then `hactl status`, shows which node holds the VIP,
// and tears the lab down (`npm run demo -- --keep` leaves it up to explore with `npm run lab -- ssh node-1`).
// `npm run demo -- --mixed` builds the servers from the lab's mixed host profiles instead (ens18, sshd on
// 2222, a resolver that never answers, a docker0 address, a non-root user with password sudo).
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { labClusterYaml, labSecretEnv } from "./cluster-yaml.mjs";
import { ensureRequirements, ensureWorkstation, inNode, labDown, labUp, LAB_ROOT, WORKSTATION_NS } from "./lab.mjs";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const keep = process.argv.includes("--keep");
const mixed = process.argv.includes("--mixed");

/** @param {string} cmd @param {string[]} args @returns {Promise<number>} */
function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "inherit", cwd: repo });
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
}

async function main() {
  if (process.getuid?.() !== 0) {
    console.error("npm run demo needs root (it creates network namespaces): sudo npm run demo");
    return 2;
  }
  if (!process.env.HACTL_LAB_LOCKED) {
    return run("flock", [
      "/run/hactl-lab.lock",
      "env",
      "HACTL_LAB_LOCKED=1",
      process.execPath,
      fileURLToPath(import.meta.url),
      ...process.argv.slice(2),
    ]);
  }
  await ensureRequirements({ log: (line) => console.error(line) });
  if ((await run("npm", ["run", "--silent", "build"])) !== 0) return 1;
  await ensureWorkstation();
  console.log("\n### Bringing up a lab of 3 servers (network namespaces with their own sshd)");
  const lab = await labUp({ nodes: 3, profiles: mixed ? "mixed" : undefined });
  for (const n of lab.nodes) console.log(`    ${n.name}  ${n.address}${mixed ? `  ${JSON.stringify(n.profile)}` : ""}`);
  Object.assign(process.env, labSecretEnv(lab));
  const dir = join(LAB_ROOT, "demo");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "cluster.yaml");
  writeFileSync(file, labClusterYaml(lab, { name: "demo", web: true }));
  console.log(`\n### cluster.yaml (${file})\n`);
  console.log(labClusterYaml(lab, { name: "demo", web: true }));
  console.log("### hactl install -f cluster.yaml --yes\n");
  const hactl = (/** @type {string[]} */ ...args) =>
    run("ip", ["netns", "exec", WORKSTATION_NS, process.execPath, join(repo, "bin", "hactl"), ...args]);
  const code = await hactl("install", "-f", file, "--yes", "--kubeconfig", join(dir, "demo.kubeconfig"));
  if (code === 0) {
    console.log("\n### hactl status\n");
    await hactl("status", "-f", file);
    for (const n of lab.nodes) {
      const addr = await inNode(n, ["ip", "-4", "-o", "addr", "show", "dev", n.iface]);
      if (addr.stdout.includes(`${lab.vips[0]}/`)) console.log(`\nThe VIP ${lab.vips[0]} is held by ${n.name}.`);
    }
  }
  return code;
}

let exitCode = 1;
try {
  exitCode = await main();
} finally {
  if (!keep && process.env.HACTL_LAB_LOCKED) {
    console.log("\n### Tearing the lab down (npm run demo -- --keep leaves it up)");
    await labDown();
  }
}
process.exit(exitCode);
