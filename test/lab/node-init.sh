#!/bin/sh
# The long-lived first process of one lab node. The lab starts it with
#   ip netns exec hl-NODE unshare -m --propagation private -u /bin/sh node-init.sh DIR NAME
# so it already runs in the node's network namespace and in fresh, private mount and UTS namespaces.
# It gives the node its own /etc (an overlay on the host's, changes kept in DIR/fs/etc) and its own
# copies of the directories below, sets the hostname and then becomes the node's sshd, which keeps
# the namespaces alive for as long as the node runs.
set -eu

dir=$1
name=$2
fs="$dir/fs"

mount -t overlay overlay -o "lowerdir=/etc,upperdir=$fs/etc,workdir=$dir/etc-work" /etc

for path in /tmp /run /usr/local/bin /var/lib/hactl-kit /var/log/hactl-kit /var/snap /var/lib/etcd /root /var/lib/hactl; do
  mount --bind "$fs$path" "$path"
done

hostname "$name"
mkdir -p /run/sshd
chmod 0755 /run/sshd

exec /usr/sbin/sshd -D -f "$dir/sshd_config" -E "$dir/sshd.log"
