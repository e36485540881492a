/**
 * A shell function that tries a TCP connection from the node itself: `tcp_probe HOST PORT` exits 0 when
 * the port accepts within 5 s (bash's /dev/tcp; 5 s leaves room for a loaded node, and the facts script
 * tries a failed probe once more after 1 s). Scripts that embed it get hosts and ports as positional
 * arguments, never spliced into the script text.
 */
export const TCP_PROBE_FN = `tcp_probe() { command -v bash >/dev/null 2>&1 && timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }`;
