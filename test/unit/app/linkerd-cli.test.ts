import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clusterLinkerd, findWorkstationLinkerd } from "../../../src/actions/app/linkerd-cli.js";
import { HactlError } from "../../../src/core/errors.js";
import { FakeHost } from "../../fakes/fake-host.js";

/** A stand-in CLI: `version --client` answers; any other call prints its args and the kubeconfig it was given. */
const SCRIPT = `#!/bin/sh
if [ "$1" = version ]; then echo "Client version: edge-test"; exit 0; fi
echo "args: $*"
echo "kubeconfig: $KUBECONFIG"
cat "$KUBECONFIG"
`;

let dir: string;
const saved = { PATH: process.env.PATH, HOME: process.env.HOME };

function writeCli(where: string, script = SCRIPT): string {
  mkdirSync(where, { recursive: true });
  const path = join(where, "linkerd");
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return path;
}

async function preflightError(configured: string | undefined): Promise<HactlError> {
  const err = await findWorkstationLinkerd(configured).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(HactlError);
  return err as HactlError;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hactl-linkerd-cli-"));
  process.env.HOME = join(dir, "home");
  process.env.PATH = `${join(dir, "empty")}:/usr/bin:/bin`;
});

afterEach(() => {
  process.env.PATH = saved.PATH;
  process.env.HOME = saved.HOME;
});

describe("finding the workstation's linkerd", () => {
  it("takes linkerd from PATH, then from ~/.linkerd2/bin where Linkerd's installer puts it", async () => {
    const installed = writeCli(join(dir, "home", ".linkerd2", "bin"));
    expect(await findWorkstationLinkerd(undefined)).toEqual({ path: installed, version: "Client version: edge-test" });
    const onPath = writeCli(join(dir, "bin"));
    process.env.PATH = `${join(dir, "bin")}:/usr/bin:/bin`;
    expect((await findWorkstationLinkerd(undefined)).path).toBe(onPath);
  });

  it("takes spec.linkerd.cli first, with ~/ for the home directory", async () => {
    writeCli(join(dir, "bin"));
    const own = writeCli(join(dir, "home", "tools"));
    expect((await findWorkstationLinkerd("~/tools/linkerd")).path).toBe(own);
  });

  it("is a preflight failure with the fix when there is no CLI, or the configured path is not one", async () => {
    const missing = await preflightError(undefined);
    expect(missing.code).toBe("PREFLIGHT_FAILED");
    expect(missing.message).toBe(
      "the Linkerd CLI is not installed on this machine (no linkerd on PATH or in ~/.linkerd2/bin/linkerd)",
    );
    expect(missing.remedy).toContain("spec.linkerd.cli");
    expect(missing.remedy).toContain("https://run.linkerd.io/install-edge");
    const configured = await preflightError(join(dir, "nowhere", "linkerd"));
    expect(configured.message).toBe(
      `spec.linkerd.cli: ${join(dir, "nowhere", "linkerd")} is not an executable file on this machine`,
    );
    const broken = writeCli(join(dir, "broken"), "#!/bin/sh\necho 'cannot run here' >&2\nexit 3\n");
    const failed = await preflightError(broken);
    expect(failed.message).toBe(`${broken} version --client failed (exit 3)`);
    expect(failed.details).toBe("cannot run here");
  });
});

describe("running it against the cluster", () => {
  it("hands it a private copy of the leader's admin kubeconfig, read once, and removes it on close", async () => {
    const path = writeCli(join(dir, "bin"));
    const leader = new FakeHost("node-1").withFile("/etc/kubernetes/admin.conf", "server: https://10.0.0.100:8443\n");
    const cli = clusterLinkerd({ path, version: "edge-test" }, leader);
    const signal = new AbortController().signal;
    const first = await cli.run(["install", "--crds"], signal);
    expect(first.code).toBe(0);
    const [args, kube, content] = first.stdout.trim().split("\n");
    expect(args).toBe("args: install --crds");
    expect(content).toBe("server: https://10.0.0.100:8443");
    const kubeconfig = (kube ?? "").replace("kubeconfig: ", "");
    expect(kubeconfig.startsWith(tmpdir())).toBe(true);
    await cli.run(["check"], signal);
    expect(leader.reads.filter((r) => r === "/etc/kubernetes/admin.conf")).toHaveLength(1);
    await cli.close();
    expect(existsSync(kubeconfig)).toBe(false);
  });

  it("never reads the kubeconfig when it never runs (a dry run)", async () => {
    const leader = new FakeHost("node-1");
    await clusterLinkerd({ path: "/bin/true", version: "" }, leader).close();
    expect(leader.reads).toEqual([]);
  });
});
