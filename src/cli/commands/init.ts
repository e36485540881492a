import { Option, type Command } from "commander";
import { DEFAULT_K8S_MINOR } from "../../spec/k8s-versions.js";
import type { InitOptions } from "../../actions/wizard.js";
import type { Wrap } from "./wrap.js";
import { HA_LIMITS, MAX_REPLICAS } from "../../phases/app/values.js";
import { intOption } from "./options.js";

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/**
 * `hactl init`: every wizard question has a flag. With the required ones given nothing is asked;
 * otherwise a terminal gets the missing questions, and no terminal gets a USAGE error naming them.
 */
export function registerInit(program: Command, wrap: Wrap): void {
  program
    .command("init")
    .description("write cluster.yaml from flags, asking in a terminal for whatever the flags leave out (no install)")
    .option("--out <path>", "file to write", "cluster.yaml")
    .option("--force", "replace the file if it exists", false)
    .option("--name <name>", "cluster name (metadata.name; default cluster)")
    .addOption(
      new Option("--distribution <type>", "Kubernetes distribution (default microk8s)").choices([
        "microk8s",
        "kubeadm",
      ]),
    )
    .option(
      "--k8s-version <minor>",
      `Kubernetes minor version, e.g. ${DEFAULT_K8S_MINOR} (default "${DEFAULT_K8S_MINOR}"; --version is taken by hactl's own version)`,
    )
    .option(
      "--node <spec>",
      "a node as NAME=ADDRESS[:ROLE[:USER]]; repeat for each node (at least 3; ROLE control-plane|cp|worker)",
      collect,
    )
    .option(
      "--node-auth <spec>",
      "one node's own login as NAME=agent, NAME=key:PATH or NAME=password:ENV_NAME; repeatable",
      collect,
    )
    .option("--ssh-user <user>", "SSH user for every node without its own (default root)")
    .addOption(
      new Option("--ssh-auth <kind>", "how to log in: agent (default), key or password").choices([
        "agent",
        "key",
        "password",
      ]),
    )
    .option("--identity-file <path>", "private key file (implies --ssh-auth key)")
    .option(
      "--password-env <name>",
      "environment variable that will hold the SSH password (implies --ssh-auth password)",
    )
    .addOption(
      new Option("--lb-mode <mode>", "load balancer (default keepalived-haproxy)").choices([
        "keepalived-haproxy",
        "external",
        "none",
      ]),
    )
    .option(
      "--lb-host <spec>",
      "external load-balancer host as NAME=ADDRESS; once or twice (--lb-mode external)",
      collect,
    )
    .option(
      "--lb-port <ports>",
      "ports the external load balancers forward, e.g. 80,443,12201/udp; repeatable (--lb-mode external)",
      collect,
    )
    .option("--vip <address>", "virtual IP for the API (required for keepalived-haproxy and for two external hosts)")
    .option("--interface <name>", "interface that carries the VIP (default: the one carrying each machine's address)")
    .addOption(
      intOption("--api-port <port>", "API port on the VIP / load balancer (default 7443)", { min: 1, max: 65_535 }),
    )
    .option("--web", "also balance web traffic (port 80) across the nodes")
    .option("--no-web", "do not balance web traffic (default)")
    .option("--ha", "HA mode: replicated system services, fast eviction from failed nodes")
    .option("--no-ha", "no HA mode (default)")
    .addOption(
      intOption("--system-replicas <n>", "HA mode: replicas of each system service (default 3; implies --ha)", {
        min: HA_LIMITS.minSystemReplicas,
        max: HA_LIMITS.maxSystemReplicas,
      }),
    )
    .addOption(
      intOption(
        "--eviction-timeout <seconds>",
        "HA mode: seconds before workloads leave a failed node (default 300; implies --ha)",
        {
          min: HA_LIMITS.minEvictionSeconds,
          max: HA_LIMITS.maxEvictionSeconds,
          unit: "seconds",
        },
      ),
    )
    .option("--autoscaling", "autoscale the application's services (turns Linkerd on)")
    .option("--no-autoscaling", "static replicas (default)")
    .addOption(
      intOption("--min <n>", "autoscaling: minimum replicas (default 2; implies --autoscaling)", {
        min: 1,
        max: MAX_REPLICAS,
      }),
    )
    .addOption(
      intOption("--max <n>", "autoscaling: maximum replicas (default 5; implies --autoscaling)", {
        min: 1,
        max: MAX_REPLICAS,
      }),
    )
    .option("--linkerd", "turn Linkerd on")
    .option("--no-linkerd", "leave Linkerd off (default; not allowed with --autoscaling)")
    .option("--postgresql-env <name>", "environment variable holding the PostgreSQL connection string")
    .option("--mongodb-env <name>", "environment variable holding the MongoDB connection string")
    .option("--s3-env <name>", "environment variable holding the S3 connection string")
    .option("--redis-env <name>", "environment variable holding the Redis connection string")
    .option("--rabbitmq-env <name>", "environment variable holding the RabbitMQ connection string")
    .option("--no-discover", "do not connect to the nodes to offer their network interfaces")
    .action(function (this: Command) {
      const opts = this.opts<InitOptions>();
      return wrap("init", async (ctx) => (await import("../../actions/wizard.js")).runInit(opts, ctx))();
    });
}
