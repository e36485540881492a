#!/usr/bin/env node
// `npm run build:single`: hactl as one executable file for linux-x64 that needs no Node.js on the
// machine it runs on (Node's single executable applications). Steps:
//   1. esbuild bundles src/cli/main.ts and its dependencies into one CommonJS file (SEA runs CommonJS);
//      native addons are left out: ssh2 then uses its pure-JavaScript crypto (its `require` of
//      sshcrypto.node and of cpu-features fails and it falls back, as it does where no compiler built them);
//   2. `node --experimental-sea-config` turns it, the templates and package.json (as assets) into a blob;
//   3. postject injects the blob into a copy of this machine's node binary.
// Output: dist-single/hactl (and dist-single/hactl.cjs, the bundle, for comparison runs).

import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = join(ROOT, "dist-single");
const SENTINEL = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

if (process.platform !== "linux" || process.arch !== "x64") {
  console.error(
    `build:single makes a linux-x64 executable from this machine's node; this is ${process.platform}-${process.arch}`,
  );
  process.exit(2);
}

/** Every file under dir, as paths relative to ROOT. */
function filesUnder(dir) {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? filesUnder(path) : [path];
  });
}

/** esbuild plugin: a native addon (.node) becomes a module that throws, as a missing build does. */
const noNativeAddons = {
  name: "no-native-addons",
  setup(b) {
    b.onResolve({ filter: /\.node$|^cpu-features$/ }, (args) => ({ path: args.path, namespace: "no-native" }));
    b.onLoad({ filter: /.*/, namespace: "no-native" }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path}: native addons are not part of the single-file hactl`)});`,
      loader: "js",
    }));
  },
};

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const bundle = join(OUT, "hactl.cjs");
await build({
  entryPoints: [join(ROOT, "src/cli/main.ts")],
  outfile: bundle,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  minify: true,
  legalComments: "none",
  plugins: [noNativeAddons],
  // import.meta.url has no CommonJS equivalent; the code only uses it to find files beside itself, which
  // the single file reads from its assets instead.
  define: { "import.meta.url": "__hactlModuleUrl" },
  banner: { js: 'const __hactlModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
  logLevel: "warning",
});

const assets = Object.fromEntries(["package.json", ...filesUnder("templates")].map((p) => [p, join(ROOT, p)]));
const config = join(OUT, "sea-config.json");
const blob = join(OUT, "sea-prep.blob");
writeFileSync(
  config,
  JSON.stringify(
    { main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, assets },
    null,
    2,
  ),
);
execFileSync(process.execPath, ["--experimental-sea-config", config], { stdio: "inherit" });

const exe = join(OUT, "hactl");
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
// postject warns about every ELF note section without a name ("Can't find string offset for section
// name '.note'"): harmless for the injection, so only its other output is shown.
const inject = spawnSync(
  process.execPath,
  [join(ROOT, "node_modules/postject/dist/cli.js"), exe, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SENTINEL],
  { encoding: "utf8" },
);
const noise = /^warning: Can't find string offset for section name '\.note[.0-9]*'$/;
const said = `${inject.stderr}`.split("\n").filter((l) => l.trim() !== "" && !noise.test(l));
if (said.length > 0) console.error(said.join("\n"));
if (inject.status !== 0) {
  console.error(`postject failed (exit ${inject.status}): ${inject.stdout}`);
  process.exit(1);
}
rmSync(blob);
rmSync(config);

const mib = (path) => (statSync(path).size / 2 ** 20).toFixed(1);
console.log(
  `${relative(process.cwd(), exe) || exe}: ${mib(exe)} MiB (node ${process.version} ${mib(process.execPath)} MiB + bundle ${mib(bundle)} MiB + ${Object.keys(assets).length} assets)`,
);
