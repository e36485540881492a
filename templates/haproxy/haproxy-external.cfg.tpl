{{! haproxy on a dedicated load-balancer host (external mode), one TCP frontend per port.
    Variables: clusterName, frontends (list of name, port, readyz (true for the Kubernetes API port),
    servers (list of name, endpoint)).
    haproxy cannot balance UDP; use the nginx engine for UDP ports.
    Failover: a dead backend costs a connection one short connect attempt, then haproxy retries on
    another server; that failure takes the backend out at once (observe layer4), otherwise the health
    checks do within about 1.5 s on the API port (inter 500ms) and 3 s on the others (inter 1s). The API port's checks follow the API server's readiness (GET /readyz
    over TLS), with unchecked backup lines (names with ':') for when no API server is ready; the other
    ports' checks are a TCP connect. }}
# Managed by hactl for cluster {{clusterName}}.
# Local edits are replaced on the next hactl run; override haproxy/haproxy-external.cfg.tpl instead.

global
    log /dev/log local0
    user haproxy
    group haproxy
    chroot /var/lib/haproxy
    maxconn 16384

defaults
    log global
    mode tcp
    option tcplog
    option dontlognull
    timeout connect 1s
    timeout check 3s
    timeout client 1h
    timeout server 1h
    retries 3
    option redispatch 1
{{#each frontends}}

frontend {{name}}
    bind :{{port}}
    default_backend {{name}}

backend {{name}}
    balance leastconn
{{#if readyz}}
    option httpchk GET /readyz
    http-check expect status 200
    option allbackups
    option srvtcpka
    srvtcpka-idle 10s
    srvtcpka-intvl 3s
    srvtcpka-cnt 3
    default-server check-ssl verify none inter 500ms fastinter 250ms fall 2 rise 2 tcp-ut 20s
{{else}}
    option tcp-check
    default-server inter 1s fastinter 500ms fall 2 rise 2
{{/if}}
{{#each servers}}
    server {{name}} {{endpoint}} check observe layer4 error-limit 1 on-error mark-down
{{/each}}
{{#if readyz}}
{{#each servers}}
    server {{name}}:fallback {{endpoint}} backup
{{/each}}
{{/if}}
{{/each}}
