import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HactlError } from "../../../src/core/errors.js";
import { clearSecrets, redact } from "../../../src/core/secrets.js";
import {
  builtinTemplatesDir,
  renderExternalLb,
  renderKeepalivedHaproxy,
  templateSource,
  TEMPLATE_NAMES,
  type RenderedConfig,
} from "../../../src/lb/index.js";
import { controlPlanes, cpInput, externalInput, externalPorts, worker } from "./fixtures.js";

const golden = (name: string): string => `../../golden/lb/${name}`;

function byPath(files: RenderedConfig[], path: string): RenderedConfig {
  const f = files.find((x) => x.path === path);
  if (!f) throw new Error(`no rendered file ${path}; got ${files.map((x) => x.path).join(", ")}`);
  return f;
}

function errorOf(fn: () => unknown): HactlError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HactlError) return err;
    throw err;
  }
  throw new Error("expected a HactlError");
}

afterEach(() => clearSecrets());

describe("renderKeepalivedHaproxy (golden files)", () => {
  it("keepalived with multicast VRRP", async () => {
    const files = renderKeepalivedHaproxy(cpInput());
    await expect(byPath(files, "/etc/keepalived/keepalived.conf").content).toMatchFileSnapshot(
      golden("keepalived-multicast.cfg"),
    );
  });

  it("keepalived without authentication: VRRPv3, an advert every 0.5 s (what hactl renders)", async () => {
    const conf = byPath(
      renderKeepalivedHaproxy(cpInput({ authPass: undefined, unicast: true })),
      "/etc/keepalived/keepalived.conf",
    ).content;
    expect(conf).toMatch(/\n {4}version 3\n {4}advert_int 0\.5\n/);
    await expect(conf).toMatchFileSnapshot(golden("keepalived-vrrp3.cfg"));
  });

  it("keepalived with unicast peers, rendered for the second node", async () => {
    const files = renderKeepalivedHaproxy(cpInput({ unicast: true, self: controlPlanes[1]!, priority: 140 }));
    const conf = byPath(files, "/etc/keepalived/keepalived.conf").content;
    expect(conf).toContain("unicast_src_ip 10.77.0.12");
    expect(conf).not.toMatch(/^\s+10\.77\.0\.12$/m);
    await expect(conf).toMatchFileSnapshot(golden("keepalived-unicast.cfg"));
  });

  it("check_haproxy.sh track script", async () => {
    const script = byPath(renderKeepalivedHaproxy(cpInput()), "/etc/keepalived/check_haproxy.sh");
    expect(script.mode).toBe(0o755);
    expect(script.owner).toBe("root:root");
    await expect(script.content).toMatchFileSnapshot(golden("check_haproxy.sh.cfg"));
  });

  it("haproxy for the API only", async () => {
    const files = renderKeepalivedHaproxy(cpInput());
    await expect(byPath(files, "/etc/haproxy/haproxy.cfg").content).toMatchFileSnapshot(golden("haproxy-api.cfg"));
  });

  it("haproxy with web frontend and stats page (kubeadm ports)", async () => {
    const files = renderKeepalivedHaproxy(
      cpInput({
        apiPort: 8443,
        backendApiPort: 6443,
        web: { port: 80, backendPort: 30080, nodes: [...controlPlanes, worker] },
        stats: { port: 8404, user: "admin", password: "stats-pass-9" },
      }),
    );
    await expect(byPath(files, "/etc/haproxy/haproxy.cfg").content).toMatchFileSnapshot(
      golden("haproxy-web-stats.cfg"),
    );
  });
});

describe("renderKeepalivedHaproxy (contract)", () => {
  it("returns the track script first, then keepalived.conf, then haproxy.cfg, with validators", () => {
    const files = renderKeepalivedHaproxy(cpInput());
    expect(files.map((f) => [f.path, f.service, f.validate.join(" ")])).toEqual([
      ["/etc/keepalived/check_haproxy.sh", "keepalived", "bash -n {file}"],
      ["/etc/keepalived/keepalived.conf", "keepalived", "keepalived -t -f {file}"],
      ["/etc/haproxy/haproxy.cfg", "haproxy", "haproxy -c -f {file}"],
    ]);
  });

  it("marks files holding passwords secret, mode 0600, and registers the passwords for redaction", () => {
    const files = renderKeepalivedHaproxy(cpInput({ stats: { port: 8404, user: "admin", password: "stats-pass-9" } }));
    const conf = byPath(files, "/etc/keepalived/keepalived.conf");
    const haproxy = byPath(files, "/etc/haproxy/haproxy.cfg");
    expect([conf.secret, conf.mode, haproxy.secret, haproxy.mode]).toEqual([true, 0o600, true, 0o600]);
    expect(redact(conf.content)).not.toContain("k8svrrp1");
    expect(redact(haproxy.content)).not.toContain("stats-pass-9");
  });

  it("omits the authentication block without authPass and keeps haproxy.cfg public without stats", () => {
    const files = renderKeepalivedHaproxy(cpInput({ authPass: undefined }));
    const conf = byPath(files, "/etc/keepalived/keepalived.conf");
    expect(conf.content).not.toContain("authentication");
    expect(conf.content).toContain("version 3");
    expect([conf.secret, conf.mode]).toEqual([false, 0o644]);
    expect(byPath(files, "/etc/haproxy/haproxy.cfg").mode).toBe(0o644);
  });

  it("gives priority and router_id per node but identical haproxy.cfg on every node", () => {
    const a = renderKeepalivedHaproxy(cpInput());
    const b = renderKeepalivedHaproxy(cpInput({ self: controlPlanes[2]!, priority: 130 }));
    expect(byPath(b, "/etc/keepalived/keepalived.conf").content).toMatch(/router_id node-3\n[\s\S]*priority 130\n/);
    expect(byPath(a, "/etc/haproxy/haproxy.cfg").content).toBe(byPath(b, "/etc/haproxy/haproxy.cfg").content);
  });
});

/** The lines of one haproxy section (`backend NAME`, `frontend NAME`, ...), up to the next blank line. */
function section(cfg: string, header: string): string {
  const start = cfg.indexOf(`\n${header}\n`);
  if (start < 0) throw new Error(`no section ${header}`);
  const end = cfg.indexOf("\n\n", start + 1);
  return cfg.slice(start + 1, end < 0 ? undefined : end);
}

describe("failover settings", () => {
  const withWeb = (): string =>
    byPath(
      renderKeepalivedHaproxy(
        cpInput({
          web: { port: 80, backendPort: 80, nodes: [...controlPlanes, worker] },
        }),
      ),
      "/etc/haproxy/haproxy.cfg",
    ).content;

  it("checks the API servers' readiness over TLS and cuts a dead server's connections", () => {
    const api = section(withWeb(), "backend kube-apiserver");
    expect(api).toContain("option httpchk GET /readyz");
    expect(api).toContain("http-check expect status 200");
    expect(api).toContain(
      "    default-server check-ssl verify none inter 500ms fastinter 250ms fall 2 rise 2 tcp-ut 20s\n",
    );
    expect(api).not.toContain("tcp-check");
    // a failed client connection takes a server out at once
    expect(api.match(/^ {4}server node-\d \S+ check observe layer4 error-limit 1 on-error mark-down$/gm)).toHaveLength(
      3,
    );
  });

  it("falls back to every API server, unchecked, when none is ready", () => {
    const api = section(withWeb(), "backend kube-apiserver");
    expect(api).toContain("option allbackups");
    expect(api.match(/^ {4}server (\S+) (\S+) backup$/gm)).toEqual([
      "    server node-1:fallback 10.77.0.11:16443 backup",
      "    server node-2:fallback 10.77.0.12:16443 backup",
      "    server node-3:fallback 10.77.0.13:16443 backup",
    ]);
  });

  it("tries a dead server once for 1 s, then redispatches every retry to another server", () => {
    const defaults = section(withWeb(), "defaults");
    expect(defaults).toMatch(/timeout connect 1s\n[\s\S]*retries 3\n\s+option redispatch 1$/);
  });

  it("takes a dead web node out as fast as an API server", () => {
    const web = section(withWeb(), "backend web");
    expect(web).toContain("option httpchk HEAD /");
    expect(web).toContain("default-server inter 1s fastinter 500ms fall 2 rise 2\n");
    expect(web.match(/ check observe layer4 error-limit 1 on-error mark-down$/gm)).toHaveLength(4);
    expect(web).not.toContain("backup");
  });

  it("external haproxy: readiness checks on the API port only, TCP checks elsewhere, redispatch everywhere", () => {
    const cfg = renderExternalLb(
      externalInput({
        engine: "haproxy",
        vip: undefined,
        peers: [],
        ports: externalPorts.filter((p) => p.protocol === "tcp"),
      }),
    )[0]!.content;
    expect(section(cfg, "backend tcp_7443")).toContain("option httpchk GET /readyz");
    expect(section(cfg, "backend tcp_7443")).toContain("check-ssl verify none");
    expect(section(cfg, "backend tcp_7443")).toContain("server node-1:fallback 10.77.0.11:16443 backup");
    for (const port of [80, 443, 4443, 15000]) {
      expect(section(cfg, `backend tcp_${port}`)).toContain("option tcp-check");
      expect(section(cfg, `backend tcp_${port}`)).not.toMatch(/readyz|backup/);
    }
    expect(section(cfg, "defaults")).toMatch(/timeout connect 1s[\s\S]*option redispatch 1/);
  });

  it("external nginx: 1 s connect timeout, next upstream on failure, one failure takes a server out", () => {
    const cfg = byPath(renderExternalLb(externalInput()), "/etc/nginx/nginx.conf").content;
    expect(cfg).toMatch(
      /stream \{\n {4}proxy_connect_timeout 1s;\n {4}proxy_next_upstream on;\n {4}proxy_next_upstream_tries 3;\n/,
    );
    expect(cfg.match(/max_fails=1 fail_timeout=10s;/g)).toHaveLength(cfg.match(/^\s+server [^{]/gm)!.length);
  });
});

describe("renderExternalLb (golden files)", () => {
  it("nginx stream with TCP and UDP ports", async () => {
    const files = renderExternalLb(externalInput());
    const nginx = byPath(files, "/etc/nginx/nginx.conf");
    expect(nginx.content).toContain("listen 12201 udp;");
    expect(nginx.content).toContain("server 10.77.0.14:80 max_fails=1 fail_timeout=10s;");
    expect(nginx.content).not.toContain("10.77.0.14:16443");
    await expect(nginx.content).toMatchFileSnapshot(golden("nginx-external.cfg"));
  });

  it("keepalived and check_nginx.sh for two LB hosts sharing a VIP", async () => {
    const files = renderExternalLb(externalInput());
    expect(files.map((f) => f.path)).toEqual([
      "/etc/keepalived/check_nginx.sh",
      "/etc/keepalived/keepalived.conf",
      "/etc/nginx/nginx.conf",
    ]);
    await expect(byPath(files, "/etc/keepalived/keepalived.conf").content).toMatchFileSnapshot(
      golden("keepalived-external.cfg"),
    );
    await expect(byPath(files, "/etc/keepalived/check_nginx.sh").content).toMatchFileSnapshot(
      golden("check_nginx.sh.cfg"),
    );
  });

  it("haproxy external variant for TCP ports", async () => {
    const files = renderExternalLb(
      externalInput({
        engine: "haproxy",
        vip: undefined,
        peers: [],
        ports: [
          { port: 80, protocol: "tcp" },
          { port: 443, protocol: "tcp" },
          { port: 7443, protocol: "tcp", backendPort: 16443, backends: controlPlanes, readyz: true },
        ],
      }),
    );
    expect(files.map((f) => [f.path, f.validate.join(" ")])).toEqual([
      ["/etc/haproxy/haproxy.cfg", "haproxy -c -f {file}"],
    ]);
    await expect(files[0]!.content).toMatchFileSnapshot(golden("haproxy-external.cfg"));
  });

  it("renders only nginx.conf for a single LB host without a VIP", () => {
    const files = renderExternalLb(externalInput({ vip: undefined, peers: [] }));
    expect(files.map((f) => [f.path, f.service, f.validate.join(" ")])).toEqual([
      ["/etc/nginx/nginx.conf", "nginx", "nginx -t -c {file}"],
    ]);
  });

  it("brackets IPv6 backend addresses and accepts hostnames", () => {
    const files = renderExternalLb(
      externalInput({
        vip: undefined,
        peers: [],
        ports: [{ port: 443, protocol: "tcp" }],
        backends: [
          { name: "v6", address: "fd00::11" },
          { name: "dns", address: "node-9.lan" },
        ],
      }),
    );
    expect(files[0]!.content).toContain("server [fd00::11]:443 max_fails=1 fail_timeout=10s;");
    expect(files[0]!.content).toContain("server node-9.lan:443 max_fails=1 fail_timeout=10s;");
  });

  it("skips the port probe in the track script when every port is UDP", () => {
    const files = renderExternalLb(externalInput({ ports: [{ port: 12201, protocol: "udp" }] }));
    const script = byPath(files, "/etc/keepalived/check_nginx.sh").content;
    expect(script).not.toContain("/dev/tcp");
    expect(script).toContain("pidof nginx");
  });
});

describe("hostile and invalid input", () => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      "newline in interface",
      () => renderKeepalivedHaproxy(cpInput({ interface: "eth0\n    script_user nobody" })),
      /interface "eth0\\n {4}script_user nobody" is not a network interface name/,
    ],
    [
      "';' in a node name",
      () =>
        renderKeepalivedHaproxy(
          cpInput({
            controlPlanes: [{ name: "n1;evil", address: "10.77.0.11" }],
            self: { name: "n1;evil", address: "10.77.0.11" },
          }),
        ),
      /controlPlanes\[0\]\.name "n1;evil" is not a valid name/,
    ],
    [
      "';' in a cluster name",
      () => renderExternalLb(externalInput({ clusterName: "lab; }" })),
      /clusterName "lab; }" is not a valid name/,
    ],
    [
      "space in an address",
      () => renderExternalLb(externalInput({ backends: [{ name: "n", address: "10.0.0.1 down" }] })),
      /backends\[0\]\.address "10.0.0.1 down" is not an IP address or hostname/,
    ],
    [
      "'#' in the stats password",
      () => renderKeepalivedHaproxy(cpInput({ stats: { port: 8404, user: "admin", password: "pa#ss" } })),
      /stats\.password must be 1 to 128 characters/,
    ],
    [
      "':' in the stats user",
      () => renderKeepalivedHaproxy(cpInput({ stats: { port: 8404, user: "ad:min", password: "pass" } })),
      /stats\.user must be .* \(not :\)/,
    ],
    [
      "a 9-character authPass",
      () => renderKeepalivedHaproxy(cpInput({ authPass: "123456789" })),
      /authPass must be 1 to 8 characters/,
    ],
    [
      "a hostname VIP",
      () => renderKeepalivedHaproxy(cpInput({ vip: "vip.example" })),
      /vip "vip.example" must be an IPv4 address/,
    ],
    [
      "unicast to a hostname",
      () =>
        renderKeepalivedHaproxy(
          cpInput({ unicast: true, controlPlanes: [controlPlanes[0]!, { name: "node-2", address: "node-2.lan" }] }),
        ),
      /address of node-2 "node-2.lan" must be an IPv4 address/,
    ],
    [
      "port 0",
      () => renderKeepalivedHaproxy(cpInput({ apiPort: 0 })),
      /apiPort 0 must be a whole number from 1 to 65535/,
    ],
    [
      "router id 256",
      () => renderKeepalivedHaproxy(cpInput({ virtualRouterId: 256 })),
      /virtualRouterId 256 must be a whole number from 1 to 255/,
    ],
    [
      "priority 255",
      () => renderKeepalivedHaproxy(cpInput({ priority: 255 })),
      /priority 255 must be a whole number from 1 to 254/,
    ],
    [
      "API port equal to the backend port",
      () => renderKeepalivedHaproxy(cpInput({ apiPort: 16443 })),
      /ports .* lists "16443" more than once/,
    ],
    [
      "duplicate node names",
      () =>
        renderKeepalivedHaproxy(
          cpInput({ controlPlanes: [controlPlanes[0]!, { name: "node-1", address: "10.77.0.12" }] }),
        ),
      /controlPlanes \(names\) lists "node-1" more than once/,
    ],
    [
      "no control planes",
      () => renderKeepalivedHaproxy(cpInput({ controlPlanes: [] })),
      /controlPlanes needs at least 1 node/,
    ],
    [
      "UDP with haproxy",
      () => renderExternalLb(externalInput({ engine: "haproxy" })),
      /haproxy cannot balance UDP \(port 12201\/udp\)/,
    ],
    ["no ports", () => renderExternalLb(externalInput({ ports: [] })), /at least one port/],
    [
      "a VIP without an interface",
      () => renderExternalLb(externalInput({ interface: undefined })),
      /a VIP for the LB hosts needs an interface and a virtualRouterId/,
    ],
    [
      "a VIP without a router id",
      () => renderExternalLb(externalInput({ virtualRouterId: undefined })),
      /needs an interface and a virtualRouterId/,
    ],
    [
      "a repeated port",
      () =>
        renderExternalLb(
          externalInput({
            ports: [
              { port: 80, protocol: "tcp" },
              { port: 80, protocol: "tcp" },
            ],
          }),
        ),
      /ports lists "tcp_80" more than once/,
    ],
  ];
  it.each(cases)("refuses %s with SPEC_INVALID", (_label, fn, message) => {
    const err = errorOf(fn);
    expect(err.code).toBe("SPEC_INVALID");
    expect(err.message).toMatch(message);
    expect(err.remedy).toBeTruthy();
  });

  it("never puts a refused password into the error message", () => {
    const err = errorOf(() => renderKeepalivedHaproxy(cpInput({ authPass: "bad pass" })));
    expect(err.message).not.toContain("bad pass");
  });

  it("refuses a self node that is neither a control plane nor a gateway", () => {
    const err = errorOf(() => renderKeepalivedHaproxy(cpInput({ self: worker })));
    expect(err.message).toMatch(/"node-4" is neither a control plane nor a gateway node/);
  });
});

describe("template sources", () => {
  let dir = "";
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = "";
  });

  it("finds every built-in template in the package's templates/ directory", () => {
    const source = templateSource();
    for (const name of TEMPLATE_NAMES) expect(source(name).origin).toBe(join(builtinTemplatesDir(), name));
  });

  it("prefers an override directory and falls back to the built-ins for other files", () => {
    dir = mkdtempSync(join(tmpdir(), "hactl-tpl-"));
    mkdirSync(join(dir, "haproxy"));
    writeFileSync(join(dir, "haproxy", "haproxy.cfg.tpl"), "# custom {{clusterName}} {{vip}}:{{apiPort}}\n");
    const files = renderKeepalivedHaproxy(cpInput(), templateSource(dir));
    expect(byPath(files, "/etc/haproxy/haproxy.cfg").content).toBe("# custom lab 10.77.0.100:7443\n");
    expect(byPath(files, "/etc/keepalived/keepalived.conf").content).toContain("vrrp_instance hactl_lab");
  });

  it("names the override file when it uses an unknown variable", () => {
    dir = mkdtempSync(join(tmpdir(), "hactl-tpl-"));
    mkdirSync(join(dir, "nginx"));
    writeFileSync(join(dir, "nginx", "nginx.conf.tpl"), "ok\n{{workerCount}}\n");
    const err = errorOf(() => renderExternalLb(externalInput(), templateSource(dir)));
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.message).toBe(`${join(dir, "nginx", "nginx.conf.tpl")}:2: unknown variable "workerCount"`);
  });

  it("refuses an override directory that does not exist", () => {
    const err = errorOf(() => templateSource("/nonexistent/hactl-templates"));
    expect(err.code).toBe("SPEC_INVALID");
    expect(err.message).toMatch(/templates directory \/nonexistent\/hactl-templates does not exist/);
  });
});
