import { Command, CommanderError, type Option } from "commander";
import { describe, expect, it } from "vitest";
import { IntOption, checkInt } from "../../../src/cli/commands/options.js";
import { buildProgram, usageError, wantsJson, type CommandKind } from "../../../src/cli/program.js";

interface Ran {
  name: string;
  kind: CommandKind;
  opts: Record<string, unknown>;
  globals: Record<string, unknown>;
}

/** The real program with a runner that records what would run; commander's own output is kept. */
function program(): { program: Command; ran: Ran[]; errors: string[] } {
  const ran: Ran[] = [];
  const errors: string[] = [];
  const p: Command = buildProgram(async (name, _body, kind) => {
    const cmd = p.commands.find((c) => c.name() === name);
    ran.push({ name, kind, opts: cmd?.opts() ?? {}, globals: p.opts() });
  });
  for (const c of [p, ...p.commands]) c.configureOutput({ writeOut: () => undefined, writeErr: (s) => errors.push(s) });
  return { program: p, ran, errors };
}

/** What a command needs on its command line besides the flag under test: its required arguments and options. */
function minimalArgs(cmd: Command): string[] {
  const args = cmd.registeredArguments.filter((a) => a.required).map(() => "x");
  for (const o of cmd.options) if (o.mandatory) args.push(o.long ?? "", "x");
  return args;
}

async function parse(argv: string[]): Promise<{ error?: CommanderError; ran: Ran[]; errors: string[] }> {
  const { program: p, ran, errors } = program();
  try {
    await p.parseAsync(argv, { from: "user" });
    return { ran, errors };
  } catch (e) {
    if (e instanceof CommanderError) return { error: e, ran, errors };
    throw e;
  }
}

const { program: reference } = program();
const commands = reference.commands;
const globals = reference.options;
const globalLongs = globals.map((o) => o.long).filter((l): l is string => l !== undefined);
const placeholder = (o: Option): string | undefined => /<([^>]+)>|\[([^\]]+)\]/.exec(o.flags)?.slice(1).find(Boolean);
/** Placeholders that mean "a number": an option taking one must be declared with intOption. */
const NUMERIC_WORDS = new Set(["n", "seconds", "minutes", "hours", "days", "percent", "port", "count", "replicas", "size", "bytes", "ms", "retries", "attempts"]);

const numeric: { cmd: Command; option: IntOption; global: boolean }[] = [
  ...commands.flatMap((cmd) => cmd.options.filter((o): o is IntOption => o instanceof IntOption).map((option) => ({ cmd, option, global: false }))),
  ...commands.flatMap((cmd) => globals.filter((o): o is IntOption => o instanceof IntOption).map((option) => ({ cmd, option, global: true }))),
];

describe("every command's help", () => {
  it.each(commands.map((c) => [c.name(), c] as const))("hactl %s --help lists every global option", (_name, cmd) => {
    const help = cmd.helpInformation();
    expect(help).toContain("Global Options:");
    for (const flag of globalLongs) expect(help).toContain(flag);
  });

  it("includes add-node, whose help once left out --yes, --output, --accept-new-host-keys, --log-file and --command-timeout", () => {
    const help = commands.find((c) => c.name() === "add-node")?.helpInformation() ?? "";
    for (const flag of ["--yes", "--output", "--accept-new-host-keys", "--log-file", "--command-timeout"]) expect(help).toContain(flag);
  });
});

describe("numeric flags", () => {
  it("every option whose value is a number is declared with intOption (so it is checked)", () => {
    const all = [...globals, ...commands.flatMap((c) => c.options)];
    const undeclared = all.filter((o) => NUMERIC_WORDS.has(placeholder(o) ?? "") && !(o instanceof IntOption)).map((o) => o.flags);
    expect(undeclared).toEqual([]);
    expect(numeric.length).toBeGreaterThan(commands.length);
  });

  it("a numeric option's help names its range", () => {
    for (const { option } of numeric) expect(option.description).toContain(`${option.range.min}-${option.range.max}`);
  });

  it.each(numeric.map((n) => [`${n.cmd.name()} ${n.option.long ?? ""}${n.global ? " (global)" : ""}`, n] as const))(
    "hactl %s: refuses text, fractions and values out of range with exit 2, naming the flag and the range",
    async (_label, { cmd, option }) => {
      const { min, max } = option.range;
      const flag = option.long ?? "";
      for (const bad of ["abc", "", "1.5", "-1", String(min - 1), String(max + 1), "1e3", "0x10"]) {
        if (bad === "1e3" && min <= 1000 && 1000 <= max) continue;
        const run = await parse([cmd.name(), ...minimalArgs(cmd), flag, bad]);
        expect(run.ran, `${flag} ${bad}`).toEqual([]);
        expect(run.error?.exitCode, `${flag} ${bad}`).not.toBe(0);
        const message = usageError(run.error as CommanderError);
        expect(message.exitCode).toBe(2);
        expect(message.message).toContain(flag);
        expect(message.message).toContain(`from ${min} to ${max}`);
      }
    },
  );

  it.each(numeric.map((n) => [`${n.cmd.name()} ${n.option.long ?? ""}${n.global ? " (global)" : ""}`, n] as const))(
    "hactl %s: accepts the bounds of its range",
    async (_label, { cmd, option, global }) => {
      for (const good of [option.range.min, option.range.max]) {
        const run = await parse([cmd.name(), ...minimalArgs(cmd), option.long ?? "", ` ${good}`]);
        expect(run.error, run.errors.join("")).toBeUndefined();
        expect(run.ran).toHaveLength(1);
        expect((global ? run.ran[0]?.globals : run.ran[0]?.opts)?.[option.attributeName()]).toBe(String(good));
      }
    },
  );

  it("a global numeric flag is checked before the command's name too", async () => {
    const run = await parse(["--command-timeout", "abc", "status"]);
    expect(run.ran).toEqual([]);
    expect(run.error?.message).toContain("--command-timeout");
    expect((await parse(["--command-timeout", "30", "status"])).ran[0]?.globals.commandTimeout).toBe("30");
  });

  it("a default is a valid value of its own range", () => {
    for (const { option } of numeric) {
      if (option.defaultValue === undefined) continue;
      expect(checkInt(String(option.defaultValue), option.range)).toBe(String(option.defaultValue));
    }
  });
});

describe("read-only reports", () => {
  it("status, validate and schema are declared as reports (one JSON document); changes are not", async () => {
    for (const [argv, report] of [
      [["status"], true],
      [["validate"], true],
      [["schema"], true],
      [["add-node", "node-4"], false],
      [["remove-node", "node-4"], false],
      [["install", "-f", "x"], false],
    ] as const) {
      const run = await parse([...argv]);
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
