import { describe, expect, it } from "vitest";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import {
  initConfiguration,
  isCertKeyExpired,
  joinConfiguration,
  kubeadm,
  kubeadmApiVersion,
  membersAt,
  minorOf,
  parseCertificateKey,
  parseJoinCommand,
  parseMemberList,
} from "../../../src/distros/kubeadm.js";

const HASH = `sha256:${"1946b85b70b3d8a2f99035ebd0f76b66a6e9faf35d3f8bfe9d478c01f1caaf23"}`;
const KEY = "c309edc3ccf996d37cc5abeb84df33a80899f0e9a698ad270b52cbc5c8876b5f";

describe("parseJoinCommand", () => {
  it("reads the one-line `token create --print-join-command` output with its trailing space", () => {
    const j = parseJoinCommand(
      `kubeadm join 10.0.0.100:8443 --token 0xet5a.dldbnfvxvgkaly6x --discovery-token-ca-cert-hash ${HASH} \n`,
    );
    expect(j).toEqual({ endpoint: "10.0.0.100:8443", token: "0xet5a.dldbnfvxvgkaly6x", caCertHashes: [HASH] });
  });

  it("reads the multi-line join command of `kubeadm init` (backslash continuations, TAB indentation)", () => {
    const out = `Then you can join any number of worker nodes by running the following on each as root:\n\nkubeadm join 10.0.0.100:8443 --token abcdef.0123456789abcdef \\\n\t--discovery-token-ca-cert-hash ${HASH} \n`;
    expect(parseJoinCommand(out).token).toBe("abcdef.0123456789abcdef");
    expect(parseJoinCommand(out.replace("\t", "    ")).caCertHashes).toEqual([HASH]);
  });

  it("refuses output without a valid token or hash", () => {
    expect(() => parseJoinCommand("nothing here")).toThrow(
      expect.objectContaining({
        code: "UNEXPECTED_OUTPUT",
        message: expect.stringMatching(/expected a `kubeadm join` line/),
      }),
    );
    expect(() =>
      parseJoinCommand(`kubeadm join 10.0.0.1:6443 --token BAD --discovery-token-ca-cert-hash ${HASH}`),
    ).toThrow(/token/);
    expect(() => parseJoinCommand("kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef")).toThrow(/hash/);
  });
});

describe("certificate key", () => {
  it("is read from the line after 'Using certificate key:', even after a klog warning", () => {
    const out = `W0117 10:00:00.000000 1 version.go:104] could not fetch a Kubernetes version from the internet\n[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace\n[upload-certs] Using certificate key:\n${KEY}\n`;
    expect(parseCertificateKey(out)).toBe(KEY);
    expect(() => parseCertificateKey("[upload-certs] Skipping phase. Please see --upload-certs")).toThrow();
  });

  it("recognises the expired kubeadm-certs Secret error and nothing else", () => {
    expect(
      isCertKeyExpired(
        'error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the secret: Secret "kubeadm-certs" was not found in the "kube-system" Namespace. This Secret might have expired.',
      ),
    ).toBe(true);
    expect(isCertKeyExpired('could not find a JWS signature in the cluster-info ConfigMap for token ID "7l7l2c"')).toBe(
      false,
    );
  });
});

describe("etcdctl member list", () => {
  const LIST = [
    "8e9e05c52164694d, started, cp1, https://10.0.0.11:2380, https://10.0.0.11:2379, false",
    "91bc3c398fb3c146, started, cp2, https://10.0.0.12:2380, https://10.0.0.12:2379, false",
    "fd422379fda50e48, unstarted, , https://10.0.0.13:2380, , true",
    "",
  ].join("\n");

  it("parses ids, names, URLs and the learner flag", () => {
    const m = parseMemberList(LIST);
    expect(m).toHaveLength(3);
    expect(m[0]).toEqual({
      id: "8e9e05c52164694d",
      status: "started",
      name: "cp1",
      peerUrls: ["https://10.0.0.11:2380"],
      clientUrls: ["https://10.0.0.11:2379"],
      learner: false,
    });
    expect(m[2]).toMatchObject({
      id: "fd422379fda50e48",
      status: "unstarted",
      name: "",
      clientUrls: [],
      learner: true,
    });
  });

  it("finds a half-joined member by its peer address (it has no name yet)", () => {
    expect(membersAt(parseMemberList(LIST), "10.0.0.13").map((m) => m.id)).toEqual(["fd422379fda50e48"]);
    expect(membersAt(parseMemberList(LIST), "10.0.0.1")).toEqual([]);
  });
});

describe("kubeadm configuration files", () => {
  const join = { endpoint: "10.0.0.100:7443", token: "abcdef.0123456789abcdef", caCertHashes: [HASH] };

  it("a worker JoinConfiguration has discovery but no controlPlane", () => {
    const doc = parseYaml(joinConfiguration({ version: "1.29", join, nodeName: "w1", address: "10.0.0.21" })) as Record<
      string,
      unknown
    >;
    expect(doc).toMatchObject({
      apiVersion: "kubeadm.k8s.io/v1beta3",
      kind: "JoinConfiguration",
      discovery: { bootstrapToken: { apiServerEndpoint: "10.0.0.100:7443", token: join.token, caCertHashes: [HASH] } },
      nodeRegistration: { name: "w1" },
    });
    expect(doc.controlPlane).toBeUndefined();
  });

  it("a control-plane JoinConfiguration carries the certificate key and the advertise address", () => {
    const doc = parseYaml(
      joinConfiguration({ version: "1.32", join, nodeName: "cp2", address: "10.0.0.12", certificateKey: KEY }),
    ) as Record<string, unknown>;
    expect(doc).toMatchObject({
      apiVersion: "kubeadm.k8s.io/v1beta4",
      controlPlane: { certificateKey: KEY, localAPIEndpoint: { advertiseAddress: "10.0.0.12", bindPort: 6443 } },
    });
  });

  it("InitConfiguration + ClusterConfiguration name the endpoint, pod CIDR and key", () => {
    const docs = parseAllDocuments(
      initConfiguration({
        version: "1.29",
        nodeName: "cp1",
        address: "10.0.0.11",
        controlPlaneEndpoint: "10.0.0.100:7443",
        podNetworkCidr: "10.244.0.0/16",
        certificateKey: KEY,
      }),
    ).map((d) => d.toJSON() as Record<string, unknown>);
    expect(docs[0]).toMatchObject({
      kind: "InitConfiguration",
      certificateKey: KEY,
      nodeRegistration: { name: "cp1" },
    });
    expect(docs[1]).toMatchObject({
      kind: "ClusterConfiguration",
      controlPlaneEndpoint: "10.0.0.100:7443",
      networking: { podSubnet: "10.244.0.0/16" },
    });
  });

  it("picks the config API version by minor and reads minors from versions", () => {
    expect(kubeadmApiVersion("1.30")).toBe("kubeadm.k8s.io/v1beta3");
    expect(kubeadmApiVersion("1.31")).toBe("kubeadm.k8s.io/v1beta4");
    expect(minorOf("v1.29.15\n")).toBe("1.29");
    expect(minorOf("garbage")).toBeUndefined();
  });
});

describe("command builders keep secrets off argv", () => {
  it("join, init and token create take no token or key", () => {
    for (const c of [
      kubeadm.join("/run/x.yaml"),
      kubeadm.init("/run/y.yaml"),
      kubeadm.tokenCreate(),
      kubeadm.uploadCerts(),
    ]) {
      expect(c.argv.join(" ")).not.toMatch(/--token |--certificate-key/);
      expect(c.sudo).toBe(true);
    }
    expect(kubeadm.init("/run/y.yaml").argv).toEqual(
      expect.arrayContaining(["--upload-certs", "--skip-token-print", "--skip-certificate-key-print"]),
    );
  });
});
