const BEGIN = "# BEGIN hactl cluster nodes";
const END = "# END hactl cluster nodes";

/** /etc/hosts with hactl's managed block set to these entries; everything outside the block is kept. */
export function withHostsBlock(current: string, entries: readonly { name: string; address: string }[]): string {
  const lines = current.split("\n");
  const start = lines.indexOf(BEGIN);
  const end = lines.indexOf(END);
  const outside = start >= 0 && end > start ? [...lines.slice(0, start), ...lines.slice(end + 1)] : lines;
  while (outside.length > 0 && outside[outside.length - 1] === "") outside.pop();
  const block = [BEGIN, ...hostsLines(entries), END];
  return `${[...outside, ...block].join("\n")}\n`;
}

/** The lines hactl keeps between its markers, one per machine. */
export function hostsLines(entries: readonly { name: string; address: string }[]): string[] {
  return entries.map((e) => `${e.address}\t${e.name}`);
}

/** /etc/hosts without hactl's managed block (and with nothing else changed); unchanged when there is none. */
export function withoutHostsBlock(current: string): string {
  const lines = current.split("\n");
  const start = lines.indexOf(BEGIN);
  const end = lines.indexOf(END);
  if (start < 0 || end < start) return current;
  const outside = [...lines.slice(0, start), ...lines.slice(end + 1)];
  while (outside.length > 0 && outside[outside.length - 1] === "") outside.pop();
  return `${outside.join("\n")}\n`;
}
