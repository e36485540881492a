import { Command, CommanderError, type Option } from "commander";
import { describe, expect, it } from "vitest";
import { IntOption, checkInt } from "../../../src/cli/commands/options.js";
import { buildProgram, usageError, wantsJson } from "../../../src/cli/program.js";
import type { CommandKind } from "../../../src/cli/commands/wrap.js";

interface Ran {
  name: string;
  kind: CommandKind;
}

/** Every command below `root`, subcommands of subcommands too, with the words that select it. */
function walk(root: Command, path: string[] = []): { cmd: Command; path: string[] }[] {
  return root.commands.flatMap((cmd) => [{ cmd, path: [...path, cmd.name()] }, ...walk(cmd, [...path, cmd.name()])]);
}

/** The real program with a runner that records what would run; commander's own output is kept. */
function program(): { program: Command; ran: Ran[]; errors: string[] } {
  const ran: Ran[] = [];
  const errors: string[] = [];
  const p: Command = buildProgram(async (name, _body, kind) => {
    ran.push({ name, kind });
  });
  for (const c of [p, ...walk(p).map((w) => w.cmd)])
    c.configureOutput({ writeOut: () => undefined, writeErr: (s) => errors.push(s) });
  return { program: p, ran, errors };
}

/** What a command needs on its command line besides the flag under test: its required arguments and options. */
function minimalArgs(cmd: Command): string[] {
  const args = cmd.registeredArguments.filter((a) => a.required).map((a) => a.argChoices?.[0] ?? "x");
  for (const o of cmd.options) if (o.mandatory) args.push(o.long ?? "", o.argChoices?.[0] ?? "x");
  return args;
}

interface Parsed {
  error?: CommanderError;
  ran: Ran[];
  errors: string[];
  /** The options of the command at `path`, and the global ones, as the action would read them. */
  opts: Record<string, unknown>;
  globals: Record<string, unknown>;
}

async function parse(path: readonly string[], rest: string[]): Promise<Parsed> {
  const { program: p, ran, errors } = program();
  const read = (): Pick<Parsed, "opts" | "globals"> => ({
    opts:
      walk(p)
        .find((w) => w.path.join(" ") === path.join(" "))
        ?.cmd.opts() ?? {},
    globals: p.opts(),
  });
  try {
    await p.parseAsync([...path, ...rest], { from: "user" });
    return { ran, errors, ...read() };
  } catch (e) {
    if (e instanceof CommanderError) return { error: e, ran, errors, ...read() };
    throw e;
  }
}

const { program: reference } = program();
const commands = walk(reference);
const globals = reference.options;
const globalLongs = globals.map((o) => o.long).filter((l): l is string => l !== undefined);
const placeholder = (o: Option): string | undefined => /<([^>]+)>|\[([^\]]+)\]/.exec(o.flags)?.slice(1).find(Boolean);
/** Placeholders that mean "a number": an option taking one must be declared with intOption. */
const NUMERIC_WORDS = new Set([
  "n",
  "seconds",
  "minutes",
  "hours",
  "days",
  "percent",
  "port",
  "count",
  "replicas",
  "size",
  "bytes",
  "ms",
  "retries",
  "attempts",
]);

/** Commands that print what the shell's completion asks for, at once, without a run (no log, no wrap, no global flags used). */
const COMPLETION_HELPERS = new Set(["completion", "__complete-nodes"]);
/** Commands that run something (subcommand groups only show help). */
const runnable = commands.filter(({ cmd }) => cmd.commands.length === 0 && !COMPLETION_HELPERS.has(cmd.name()));
const numeric: { cmd: Command; path: string[]; option: IntOption; global: boolean }[] = [
  ...commands.flatMap(({ cmd, path }) =>
    cmd.options
      .filter((o): o is IntOption => o instanceof IntOption)
      .map((option) => ({ cmd, path, option, global: false })),
  ),
  ...runnable.flatMap(({ cmd, path }) =>
    globals
      .filter((o): o is IntOption => o instanceof IntOption)
      .map((option) => ({ cmd, path, option, global: true })),
  ),
];
const label = (n: (typeof numeric)[number]): string =>
  `${n.path.join(" ")} ${n.option.long ?? ""}${n.global ? " (global)" : ""}`;

describe("every command's help", () => {
  it.each(commands.map((c) => [c.path.join(" "), c.cmd] as const))(
    "hactl %s --help lists every global option",
    (_name, cmd) => {
      const help = cmd.helpInformation();
      expect(help).toContain("Global Options:");
      for (const flag of globalLongs) expect(help).toContain(flag);
    },
  );

  it("includes add-node, whose help once left out --yes, --output, --accept-new-host-keys, --log-file and --command-timeout", () => {
    const help = commands.find((c) => c.path.join(" ") === "add-node")?.cmd.helpInformation() ?? "";
    for (const flag of ["--yes", "--output", "--accept-new-host-keys", "--log-file", "--command-timeout"])
      expect(help).toContain(flag);
  });
});

describe("numeric flags", () => {
  it("every option whose value is a number is declared with intOption (so it is checked)", () => {
    const all = [...globals, ...commands.flatMap((c) => c.cmd.options)];
    const undeclared = all
      .filter((o) => NUMERIC_WORDS.has(placeholder(o) ?? "") && !(o instanceof IntOption))
      .map((o) => o.flags);
    expect(undeclared).toEqual([]);
    expect(numeric.length).toBeGreaterThan(commands.length);
  });

  it("a numeric option's help names its range", () => {
    for (const { option } of numeric) expect(option.description).toContain(`${option.range.min}-${option.range.max}`);
  });

  it.each(numeric.map((n) => [label(n), n] as const))(
    "hactl %s: refuses text, fractions and values out of range with exit 2, naming the flag and the range",
    async (_label, { cmd, path, option }) => {
      const { min, max } = option.range;
      const flag = option.long ?? "";
      for (const bad of ["abc", "", "1.5", "-1", String(min - 1), String(max + 1), "1e3", "0x10"]) {
        if (bad === "1e3" && min <= 1000 && 1000 <= max) continue;
        const run = await parse(path, [...minimalArgs(cmd), flag, bad]);
        expect(run.ran, `${flag} ${bad}`).toEqual([]);
        expect(run.error?.exitCode, `${flag} ${bad}`).not.toBe(0);
        const message = usageError(run.error as CommanderError);
        expect(message.exitCode).toBe(2);
        expect(message.message).toContain(flag);
        expect(message.message).toContain(`from ${min} to ${max}`);
      }
    },
  );

  it.each(numeric.map((n) => [label(n), n] as const))(
    "hactl %s: accepts the bounds of its range",
    async (_label, { cmd, path, option, global }) => {
      for (const good of [option.range.min, option.range.max]) {
        const run = await parse(path, [...minimalArgs(cmd), option.long ?? "", ` ${good}`]);
        expect(run.error, run.errors.join("")).toBeUndefined();
        expect(run.ran).toHaveLength(1);
        expect((global ? run.globals : run.opts)[option.attributeName()]).toBe(String(good));
      }
    },
  );

  it("a global numeric flag is checked before the command's name too", async () => {
    const run = await parse([], ["--command-timeout", "abc", "status"]);
    expect(run.ran).toEqual([]);
    expect(run.error?.message).toContain("--command-timeout");
    expect((await parse([], ["--command-timeout", "30", "status"])).globals.commandTimeout).toBe("30");
  });

  it("a default is a valid value of its own range", () => {
    for (const { option } of numeric) {
      if (option.defaultValue === undefined) continue;
      expect(checkInt(String(option.defaultValue), option.range)).toBe(String(option.defaultValue));
    }
  });
});

describe("read-only reports", () => {
  it("status, validate, schema, version and certs check are declared as reports (one JSON document); changes are not", async () => {
    for (const [argv, report] of [
      [["status"], true],
      [["validate"], true],
      [["schema"], true],
      [["version"], true],
      [["certs", "check"], true],
      [["certs", "renew"], false],
      [["add-node", "node-4"], false],
      [["remove-node", "node-4"], false],
      [["install", "-f", "x"], false],
    ] as const) {
      const run = await parse([], [...argv]);
      expect(run.ran[0]?.kind.report ?? false, argv.join(" ")).toBe(report);
    }
  });
});

describe("wantsJson", () => {
  it("finds -o json in every spelling, anywhere before --", () => {
    expect(wantsJson(["node", "hactl", "status", "-o", "json"])).toBe(true);
    expect(wantsJson(["node", "hactl", "--output", "json", "status"])).toBe(true);
    expect(wantsJson(["node", "hactl", "status", "--output=json"])).toBe(true);
    expect(wantsJson(["node", "hactl", "-ojson", "status"])).toBe(true);
    expect(wantsJson(["node", "hactl", "status", "-o", "text"])).toBe(false);
    expect(wantsJson(["node", "hactl", "status", "--", "-o", "json"])).toBe(false);
  });
});
