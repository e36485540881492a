#!/bin/sh
# The long-lived first process of one lab node. The lab starts it with
#   ip netns exec hl-NODE unshare -m --propagation private -u /bin/sh node-init.sh DIR NAME
# so it already runs in the node's network namespace and in fresh, private mount and UTS namespaces.
# It bind-mounts the node's own copies of the private directories and files, sets the hostname and
# then becomes the node's sshd, which keeps the namespaces alive for as long as the node runs.
set -eu

dir=$1
name=$2
fs="$dir/fs"

for path in /etc/keepalived /etc/haproxy /etc/nginx /etc/sysctl.d /etc/kubernetes \
  /tmp /run /usr/local/bin /var/lib/hactl-kit /var/log/hactl-kit /var/snap /var/lib/etcd \
  /etc/hosts /etc/hostname /etc/machine-id; do
  mount --bind "$fs$path" "$path"
done

hostname "$name"
mkdir -p /run/sshd
chmod 0755 /run/sshd

exec /usr/sbin/sshd -D -f "$dir/sshd_config" -E "$dir/sshd.log"
