// Run by boot.sh inside a node after the lab starts or restarts it: clear stale pid files, then bring back
// the node's etcd member, the kit agent and the daemons that were running before a hard stop.
import fs from "node:fs";
import { restartEtcdFromConf } from "./etcd.mjs";
import { startAgent } from "./node.mjs";
import { bootUnits } from "./systemctl.mjs";
import { KIT_DIR, LOG_DIR, RUN_DIR, localState } from "./util.mjs";

fs.mkdirSync(LOG_DIR, { recursive: true });
fs.rmSync(RUN_DIR, { recursive: true, force: true });
const st = localState();
// the snap's command survives a reboot (the lab refills /usr/local/bin when a node starts)
if (st.installed && st.distro === "microk8s" && !fs.existsSync("/usr/local/bin/microk8s")) {
  fs.symlinkSync(`${KIT_DIR}/snap/microk8s`, "/usr/local/bin/microk8s");
}
if (st.installed && !st.stopped) {
  if (st.etcdMember) restartEtcdFromConf();
  startAgent();
}
await bootUnits();
fs.appendFileSync(
  `${LOG_DIR}/boot.log`,
  `${new Date().toISOString()} boot: installed=${Boolean(st.installed)} distro=${st.distro ?? "-"} etcd=${Boolean(st.etcdMember)}\n`,
);
