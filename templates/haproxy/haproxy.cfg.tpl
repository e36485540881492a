{{! haproxy on every control-plane node, in front of the Kubernetes API (and optionally the web ports),
    and on gateway nodes in front of the web ports on the web VIP.
    Variables: clusterName, vip, apiPort, servers (list of name, endpoint = address:backend API port),
    api (true on control planes), web (false, or bind (the VIP it listens on), port and servers),
    stats (false, or port, user, password).
    Binding vip:apiPort on nodes that do not hold the VIP needs net.ipv4.ip_nonlocal_bind=1, which
    hactl sets. The extra 127.0.0.1 bind lets the keepalived track script probe haproxy locally.
    Failover: a node that stops answering costs a request one short connect attempt (timeout connect),
    after which haproxy retries on another server (retries, option redispatch 1). That failed connect
    takes the node out at once (observe layer4), otherwise the health checks do: within about 1.5 s
    for the API (inter 500ms, fall 2; before a backup takes the VIP over, so the new VIP holder
    already knows the old one is gone), about 3 s for the web (inter 1s). Readiness only steers new
    connections: a server whose /readyz fails for a moment (a datastore election) keeps the connections
    it has, so a blip does not cut every watch in the cluster. A server that stops answering at the TCP
    level loses them: unacknowledged data for 20 s (tcp-ut) or an idle connection that misses three
    keepalive probes (about 19 s) closes the connection, so clients reconnect through a live node.
    Server names with ':' (not allowed in node names) are the API backend's unchecked fallbacks. }}
# Managed by hactl for cluster {{clusterName}}.
# Local edits are replaced on the next hactl run; override haproxy/haproxy.cfg.tpl instead.

global
    log /dev/log local0
    user haproxy
    group haproxy
    chroot /var/lib/haproxy
    maxconn 8192

defaults
    log global
    option dontlognull
    timeout connect 1s
    timeout check 3s
    timeout queue 20s
    retries 3
    option redispatch 1
{{#if api}}

# Kubernetes API: plain TCP so TLS stays end to end; long timeouts keep watches open.
frontend kube-apiserver
    bind {{vip}}:{{apiPort}}
    bind 127.0.0.1:{{apiPort}}
    mode tcp
    option tcplog
    timeout client 1h
    default_backend kube-apiserver

# Health checks follow the API server's readiness: GET /readyz over TLS must answer 200 (the check
# does not verify the certificate; clients do, end to end). Readiness decides where new connections
# go; only a server that stops answering TCP (keepalive probes, tcp-ut) loses the connections it has.
# When no API server is ready (a datastore election, lost quorum), the unchecked backup lines send
# connections to every API server, as a TCP balancer would, instead of refusing them all.
backend kube-apiserver
    mode tcp
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    option allbackups
    timeout server 1h
    option srvtcpka
    srvtcpka-idle 10s
    srvtcpka-intvl 3s
    srvtcpka-cnt 3
    default-server check-ssl verify none inter 500ms fastinter 250ms fall 2 rise 2 tcp-ut 20s
{{#each servers}}
    server {{name}} {{endpoint}} check observe layer4 error-limit 1 on-error mark-down
{{/each}}
{{#each servers}}
    server {{name}}:fallback {{endpoint}} backup
{{/each}}
{{/if}}
{{#if web}}

# Web traffic to the nodes' ingress, to the least busy healthy node.
frontend web
    bind {{web.bind}}:{{web.port}}
    mode http
    option httplog
    option forwardfor
    timeout client 60s
    timeout http-request 10s
    default_backend web

backend web
    mode http
    balance leastconn
    option httpchk HEAD /
    timeout server 60s
    default-server inter 1s fastinter 500ms fall 2 rise 2
{{#each web.servers}}
    server {{name}} {{endpoint}} check observe layer4 error-limit 1 on-error mark-down
{{/each}}
{{/if}}
{{#if stats}}

# Status page for operators, protected by a password.
listen stats
    bind *:{{stats.port}}
    mode http
    timeout client 30s
    timeout server 30s
    stats enable
    stats uri /
    stats refresh 10s
    stats hide-version
    stats auth {{stats.user}}:{{stats.password}}
{{/if}}
