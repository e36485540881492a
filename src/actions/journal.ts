import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { RemoteHost } from "../core/host.js";
import type { Step, StepOutcome } from "../core/plan.js";
import { redact } from "../core/secrets.js";
import { stateDir } from "../core/context.js";

export const REMOTE_JOURNAL = "/var/lib/hactl/journal.jsonl";

export interface JournalEntry {
  time: string;
  run: string;
  command: string;
  step: string;
  node: string;
  outcome: StepOutcome | "started" | "failed";
}

/**
 * The run journal: one JSON line per step event, in the user's state directory (mode 0600) and on the
 * control-plane node that holds the lock, so any workstation can see what the last run completed. A
 * re-run does not trust it blindly: it re-gathers facts and plans only what is still missing; the
 * journal is the record an operator (or support) reads to see where a run stopped.
 */
export class RunJournal {
  readonly localPath: string;
  private readonly run = `${new Date().toISOString()}-${process.pid}`;

  constructor(
    cluster: string,
    private readonly command: string,
    private readonly remote: RemoteHost | undefined,
  ) {
    const dir = join(stateDir(), "journal");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.localPath = join(dir, `${cluster}.jsonl`);
  }

  async record(step: Step, outcome: JournalEntry["outcome"]): Promise<void> {
    const entry: JournalEntry = {
      time: new Date().toISOString(),
      run: this.run,
      command: this.command,
      step: step.id,
      node: step.node,
      outcome,
    };
    const line = `${redact(JSON.stringify(entry))}\n`;
    appendFileSync(this.localPath, line, { mode: 0o600 });
    await this.remote?.exec({
      argv: ["sh", "-c", 'mkdir -p "$(dirname "$1")" && umask 077 && cat >> "$1"', "hactl-journal", REMOTE_JOURNAL],
      sudo: true,
      stdin: line,
    });
  }
}
