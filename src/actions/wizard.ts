/**
 * `hactl init` (write cluster.yaml from flags and/or questions) and the wizard that `hactl install`
 * runs when no -f is given. Either way the file is checked with the full cluster.yaml rules, shown,
 * confirmed, and written without any secret value in it.
 */
import { access, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { RunContext } from "../core/context.js";
import { HactlError, errnoCode } from "../core/errors.js";
import { formatProblems, hasErrors, parseSpec } from "../spec/index.js";
import type { Draft, WizardAnswers } from "../wizard/answers.js";
import { completeDraft, missingRequired } from "../wizard/complete.js";
import { draftFromFlags } from "../wizard/flags.js";
import type { InitFlags } from "../wizard/init-flags.js";
import { terminalPrompter } from "../wizard/prompter.js";
import { askAnswers } from "../wizard/questions.js";
import { answersToText } from "../wizard/to-spec.js";

export interface InitOptions extends InitFlags {
  out: string;
  force?: boolean;
  /** Connect to the nodes to offer their interfaces (default true; --no-discover turns it off). */
  discover?: boolean;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function ask(draft: Draft, ctx: RunContext, discover: boolean): Promise<WizardAnswers> {
  const { sshDiscovery } = await import("../wizard/discover.js");
  ctx.reporter.info(
    "Answer each question, or press Enter for the suggested value. Ctrl-C stops without writing anything.",
  );
  return askAnswers(draft, {
    prompter: terminalPrompter(ctx.reporter),
    discoverInterfaces: discover ? sshDiscovery(ctx) : undefined,
  });
}

/** The file's text after the full cluster.yaml checks; warnings are shown, errors stop. */
function checkedText(answers: WizardAnswers, out: string, ctx: RunContext): string {
  const text = answersToText(answers);
  const { problems } = parseSpec(text, out);
  if (hasErrors(problems)) {
    throw new HactlError("SPEC_INVALID", "the answers do not make a valid cluster.yaml", {
      details: formatProblems(problems, out),
      remedy: "Change the answers named above (or their flags) and run again.",
    });
  }
  for (const p of problems) ctx.reporter.warn(`${p.message} (${p.fix})`);
  return text;
}

/** Shows the file, asks to confirm unless --yes, and writes it. */
async function reviewAndWrite(
  text: string,
  out: string,
  ctx: RunContext,
  question: string,
  replace: boolean,
): Promise<void> {
  ctx.reporter.print(`\n--- ${out} ---\n${text}`);
  if (!ctx.yes) {
    if (!ctx.interactive) {
      throw new HactlError("USAGE", "there is no terminal to confirm on", {
        remedy: "Add --yes to write the file without confirming.",
      });
    }
    const { confirm } = await import("../ui/prompts.js");
    if (!(await confirm(question, true))) throw new HactlError("USER_ABORTED", `${out} was not written`);
  }
  try {
    await writeFile(out, text, { mode: 0o644, flag: replace ? "w" : "wx" });
  } catch (e) {
    const code = errnoCode(e) ?? "unknown error";
    throw new HactlError("USAGE", `cannot write ${out} (${code})`, {
      remedy: "Choose another path with --out, or use --force to replace an existing file.",
      cause: e,
    });
  }
}

/** Environment variables the file refers to that are not set in this shell. */
function unsetVariables(answers: WizardAnswers): string[] {
  const names = [
    ...Object.values(answers.external),
    ...answers.nodes.map((n) => (n.auth.kind === "password" ? n.auth.env : undefined)),
  ];
  return [...new Set(names.filter((n): n is string => n !== undefined && !process.env[n]))];
}

export async function runInit(opts: InitOptions, ctx: RunContext): Promise<number> {
  const out = resolve(opts.out);
  if (!opts.force && (await exists(out))) {
    throw new HactlError("USAGE", `${out} already exists`, {
      remedy: "Use --force to replace it, or --out to write another file.",
    });
  }
  const draft = draftFromFlags(opts);
  const missing = missingRequired(draft);
  let answers: WizardAnswers;
  if (missing.length === 0) {
    answers = completeDraft(draft);
    for (const name of unsetVariables(answers))
      ctx.reporter.info(
        `${name} is not set now: export it before \`hactl install\` (only its name goes into the file).`,
      );
  } else if (ctx.interactive) {
    answers = await ask(draft, ctx, opts.discover ?? true);
  } else {
    throw new HactlError("USAGE", `hactl init needs more flags to write ${opts.out} without a terminal`, {
      details: missing.map((m) => `  - ${m}`).join("\n"),
      remedy: "Give the flags listed above (hactl init --help), or run hactl init in a terminal to be asked.",
    });
  }
  const text = checkedText(answers, out, ctx);
  await reviewAndWrite(text, out, ctx, `Write ${out}?`, Boolean(opts.force));
  ctx.reporter.info(`Wrote ${out}. Next: hactl validate -f ${opts.out}, then hactl install -f ${opts.out}`);
  ctx.reporter.result({ file: out, nodes: answers.nodes.length, loadBalancer: answers.lbMode });
  return 0;
}

/** The wizard for `hactl install` without -f: asks everything, writes the file and returns its path. */
export async function runWizard(opts: { out: string }, ctx: RunContext): Promise<string> {
  const out = resolve(opts.out);
  const replace = await exists(out);
  if (replace) {
    const { confirm } = await import("../ui/prompts.js");
    if (!(await confirm(`${out} exists. Answer the questions and replace it?`, false))) {
      throw new HactlError("USER_ABORTED", `${out} was kept`, {
        remedy: `To install from it: hactl install -f ${opts.out}`,
      });
    }
  }
  const answers = await ask({}, ctx, true);
  const text = checkedText(answers, out, ctx);
  await reviewAndWrite(text, out, ctx, `Write ${out} and install this cluster?`, replace);
  ctx.reporter.info(`Wrote ${out}; installing from it.`);
  return out;
}
