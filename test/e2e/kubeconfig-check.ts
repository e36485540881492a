// A kubeconfig used as a client would: GET /livez at its server, trusting only its CA, with its token.
import { request } from "node:https";

export interface Kubeconfig {
  clusters: { name: string; cluster: { server: string; "certificate-authority-data": string } }[];
  users: { name: string; user: Record<string, string | undefined> }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
  "current-context"?: string;
}

/** The HTTP status of /livez; the chain is checked against the CA (the lab's certificates do not name the VIP). */
export function livezWith(k: Kubeconfig): Promise<number> {
  const server = new URL(k.clusters[0]?.cluster.server ?? "");
  const ca = Buffer.from(k.clusters[0]?.cluster["certificate-authority-data"] ?? "", "base64");
  const token = k.users[0]?.user.token;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: server.hostname,
        port: Number(server.port),
        path: "/livez",
        ca,
        checkServerIdentity: () => undefined,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        timeout: 5000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}
