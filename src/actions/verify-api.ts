import { request } from "node:https";

/**
 * Asks the API's /livez through the VIP. The certificate is not checked here: this is a liveness probe
 * of the path (VIP → load balancer → API server); the kubeconfig carries the cluster CA for real use.
 */
export function probeLivez(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host, port, path: "/livez", method: "GET", rejectUnauthorized: false, timeout: timeoutMs },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

export async function waitLivez(host: string, port: number, totalMs: number): Promise<boolean> {
  const deadline = Date.now() + totalMs;
  while (Date.now() < deadline) {
    if (await probeLivez(host, port)) return true;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return false;
}
