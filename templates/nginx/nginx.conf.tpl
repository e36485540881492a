{{! A complete nginx.conf for a dedicated load-balancer host (external mode): TCP/UDP passthrough with
    the stream module, one upstream per port, least connections first.
    Variables: clusterName, upstreams (list of name, port, udp (true/false), servers (list of endpoint)).
    The include loads ngx_stream_module where it is a separate package (Debian/Ubuntu:
    libnginx-mod-stream), so `nginx -t -c FILE` validates this file on its own.
    Failover: nginx (open source) has no active health checks. A backend that refuses or does not
    accept a connection within proxy_connect_timeout is skipped for that connection (next upstream)
    and left out for fail_timeout after max_fails such failures. }}
# Managed by hactl for cluster {{clusterName}}.
# Local edits are replaced on the next hactl run; override nginx/nginx.conf.tpl instead.

user www-data;
worker_processes auto;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log warn;
include /etc/nginx/modules-enabled/*.conf;

events {
    worker_connections 4096;
}

stream {
    proxy_connect_timeout 1s;
    proxy_next_upstream on;
    proxy_next_upstream_tries 3;
    proxy_next_upstream_timeout 5s;
{{#each upstreams}}

    upstream {{name}} {
        least_conn;
{{#each servers}}
        server {{endpoint}} max_fails=1 fail_timeout=10s;
{{/each}}
    }

    server {
{{#if udp}}
        listen {{port}} udp;
        # A UDP "session" ends after 30 s of silence instead of nginx's default 10 min.
        proxy_timeout 30s;
{{else}}
        listen {{port}};
{{/if}}
        proxy_pass {{name}};
    }
{{/each}}
}
