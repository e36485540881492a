#!/bin/bash
{{! keepalived track script for haproxy. Variables: clusterName, probePort (0 = no port check). }}
# Managed by hactl for cluster {{clusterName}}; override keepalived/check_haproxy.sh.tpl to change it.
# keepalived runs this every 2 seconds. It succeeds while haproxy is running{{#if probePort}} and accepts
# connections on 127.0.0.1:{{probePort}}{{/if}}; two failures in a row lower this node's VRRP priority so
# the VIP moves to a healthy peer.
set -u

fail() {
    echo "check_haproxy: $*" >&2
    exit 1
}

pidfile=/run/haproxy.pid
if [ -s "$pidfile" ]; then
    kill -0 "$(head -n 1 "$pidfile")" 2>/dev/null || fail "haproxy (pid file $pidfile) is not running"
else
    pidof haproxy >/dev/null || fail "haproxy is not running"
fi
{{#if probePort}}

timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/{{probePort}}' 2>/dev/null \
    || fail "haproxy does not accept connections on 127.0.0.1:{{probePort}}"
{{/if}}
exit 0
