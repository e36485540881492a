import { commandLine } from "../core/action.js";
import type { Command } from "../core/command.js";
import { HactlError } from "../core/errors.js";
import { need, type RemoteHost } from "../core/host.js";
import type { Step, StepOutcome } from "../core/plan.js";
import { appliedStamp, stampPath } from "../lb/applied-stamp.js";
import type { RenderedConfig } from "../lb/render.js";

const STAGED = ".hactl-new";
/**
 * Puts load-balancer configs live on one node without ever replacing a working config by a broken one:
 * stage each changed file next to its target, validate the staged copy with the service's own checker,
 * and only when all are valid install them atomically (keeping a backup) and reload each service
 * gracefully (start it when it is not running). Files already identical are left alone.
 */
export async function activateConfigs(
  host: RemoteHost,
  files: readonly RenderedConfig[],
  signal?: AbortSignal,
): Promise<StepOutcome> {
  // Everything the decision needs, read at once: one round trip on the node's connection, not one per file.
  const services = [...new Set(files.map((f) => f.service))];
  const [current, states] = await Promise.all([
    Promise.all(files.map((file) => host.readFile(file.path, { sudo: true }))),
    Promise.all(
      services.map(async (svc) => {
        const [active, enabled, stamp] = await Promise.all([
          host.exec({ argv: ["systemctl", "is-active", svc], sudo: true }),
          host.exec({ argv: ["systemctl", "is-enabled", svc], sudo: true }),
          host.readFile(stampPath(svc), { sudo: true }),
        ]);
        return {
          svc,
          active: active.code === 0,
          enabled: enabled.code === 0,
          applied: stamp === appliedStamp(files, svc),
        };
      }),
    ),
  ]);
  const changed = files.filter((file, i) => current[i] !== file.content);
  const inactive = states.filter((s) => !s.active).map((s) => s.svc);
  const unapplied = states.filter((s) => !s.applied).map((s) => s.svc);
  const disabled = new Set(states.filter((s) => !s.enabled).map((s) => s.svc));
  if (changed.length === 0 && inactive.length === 0 && unapplied.length === 0) return "unchanged";

  const staged: RenderedConfig[] = [];
  for (const file of changed) {
    const path = `${file.path}${STAGED}`;
    await host.writeFile(path, file.content, { mode: file.mode, owner: file.owner, sudo: true });
    staged.push(file);
    const validate = validateCommand(file, path);
    const argv = validate.argv;
    const check = await host.exec(validate);
    if (check.code !== 0) {
      await host.exec({ argv: ["rm", "-f", ...staged.map((f) => `${f.path}${STAGED}`)], sudo: true });
      throw new HactlError(
        "CONFIG_INVALID",
        `${file.path} failed validation (${argv[0]} exited ${check.code}); the running config was left in place`,
        {
          node: host.name,
          details: `${check.stdout}\n${check.stderr}`.trim().split("\n").slice(-15).join("\n"),
          remedy:
            "The validator's output is above. If you override templates (spec.loadBalancer.templates or --templates), fix the override; otherwise report it as a bug in hactl's templates.",
        },
      );
    }
    // A helper script (keepalived's track script) is referenced by its final path from the config
    // validated after it, so it goes live as soon as it is valid itself.
    if (isHelperScript(file)) await promote(host, staged.pop() as RenderedConfig);
  }
  for (const file of staged) await promote(host, file);
  const touched = new Set([...changed.map((f) => f.service), ...unapplied]);
  for (const svc of services) {
    if (signal?.aborted) break;
    if (disabled.has(svc)) await host.run({ argv: ["systemctl", "enable", svc], sudo: true });
    if (inactive.includes(svc)) await host.run({ argv: ["systemctl", "start", svc], sudo: true, timeoutMs: 60_000 });
    else if (touched.has(svc)) await host.run({ argv: ["systemctl", "reload", svc], sudo: true, timeoutMs: 60_000 });
    await host.writeFile(stampPath(svc), appliedStamp(files, svc), { mode: 0o600, sudo: true });
  }
  return "changed";
}

function isHelperScript(file: RenderedConfig): boolean {
  return file.path.endsWith(".sh");
}

/** Installs a validated file atomically over its target (keeping a backup) and drops the staged copy. */
async function promote(host: RemoteHost, file: RenderedConfig): Promise<void> {
  await host.writeFile(file.path, file.content, { mode: file.mode, owner: file.owner, sudo: true, backup: true });
  await host.exec({ argv: ["rm", "-f", `${file.path}${STAGED}`], sudo: true });
}

/** Pure: the argv that validates a staged file (its "{file}" placeholder filled in). */
function validateCommand(file: RenderedConfig, path: string): Command {
  return {
    argv: file.validate.map((a) => a.replaceAll("{file}", path)) as [string, ...string[]],
    sudo: true,
    timeoutMs: 60_000,
  };
}

/**
 * Pure: what activateConfigs does, from the same files: per file the staged write, its validation command
 * and the install over the target; then each service's reload. Content is never shown.
 */
export function describeActivation(files: readonly RenderedConfig[]): string[] {
  const services = [...new Set(files.map((f) => f.service))];
  return [
    ...files.map((f) => {
      const staged = `${f.path}${STAGED}`;
      return `${f.path} (0${f.mode.toString(8)}) when it differs: staged, ${commandLine(validateCommand(f, staged))}, installed with backup`;
    }),
    `systemctl reload ${services.join(" ")} (start and enable when not running)`,
  ];
}

/**
 * The step that puts one machine's load-balancer configs live (validated, installed with a backup,
 * reloaded gracefully); by default the install's `lb:MACHINE` "configure SERVICES".
 */
export function lbStep(
  machine: string,
  files: readonly RenderedConfig[],
  opts: { id?: string; title?: string } = {},
): Step {
  return {
    id: opts.id ?? `lb:${machine}`,
    node: machine,
    title: opts.title ?? `configure ${[...new Set(files.map((f) => f.service))].join(" + ")}`,
    describe: describeActivation(files),
    run: (ctx) => activateConfigs(need(ctx.hosts, machine), files, ctx.signal),
  };
}
