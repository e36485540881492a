{{! haproxy on a dedicated load-balancer host (external mode), one TCP frontend per port.
    Variables: clusterName, frontends (list of name, port, servers (list of name, endpoint)).
    haproxy cannot balance UDP; use the nginx engine for UDP ports. }}
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
    timeout connect 5s
    timeout check 3s
    timeout client 1h
    timeout server 1h
{{#each frontends}}

frontend {{name}}
    bind :{{port}}
    default_backend {{name}}

backend {{name}}
    balance leastconn
    option tcp-check
    default-server inter 2s fall 3 rise 2
{{#each servers}}
    server {{name}} {{endpoint}} check
{{/each}}
{{/each}}
