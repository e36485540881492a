{{! keepalived.conf for one node of a VRRP group that holds the virtual IP.
    Variables: clusterName, nodeName, vip, interface, virtualRouterId, priority, authPass (may be empty),
    unicast (true/false), selfAddress, peers (list of name, address), checkScript, trackedService,
    api (true: this node holds the API VIP's instance), web (false, or the web VIP's own instance on a
    gateway node: vip, virtualRouterId, priority, unicast, peers).
    Every node starts as BACKUP; the node with the highest priority becomes MASTER. When the track
    script fails, the weight lowers this node's priority by 60, below every healthy peer.
    A backup takes the VIP over 3 advert intervals plus (256 - priority)/256 of one after the holder's
    last advert. Without authentication this is VRRPv3 with an advert every 0.5 s (about 1.5 s to take
    over); PASS authentication exists only in VRRPv2, whose adverts are whole seconds (about 3 s).
    A new holder announces the VIP with gratuitous ARPs at once and again 1 s later (garp_master_delay;
    keepalived's default is 5 s): a neighbour that updated its ARP entry less than a second before (Linux'
    locktime) ignores the first burst and would keep sending to the old holder for seconds. }}
! Managed by hactl for cluster {{clusterName}}, node {{nodeName}}.
! Local edits are replaced on the next hactl run; override keepalived/keepalived.conf.tpl instead.

global_defs {
    router_id {{nodeName}}
    enable_script_security
    script_user root
}

vrrp_script check_{{trackedService}} {
    script "{{checkScript}}"
    interval 2
    fall 2
    rise 2
    weight -60
}
{{#if api}}

vrrp_instance hactl_{{clusterName}} {
    state BACKUP
    interface {{interface}}
    virtual_router_id {{virtualRouterId}}
    priority {{priority}}
{{#if authPass}}
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass {{authPass}}
    }
{{else}}
    version 3
    advert_int 0.5
{{/if}}
    garp_master_delay 1
{{#if unicast}}
    unicast_src_ip {{selfAddress}}
    unicast_peer {
{{#each peers}}
        {{address}}
{{/each}}
    }
{{/if}}
    virtual_ipaddress {
        {{vip}}/32 dev {{interface}}
    }
    track_script {
        check_{{trackedService}}
    }
}
{{/if}}
{{#if web}}

# The web VIP: only the gateway nodes hold it, in an instance (and router id) of its own.
vrrp_instance hactl_{{clusterName}}_web {
    state BACKUP
    interface {{interface}}
    virtual_router_id {{web.virtualRouterId}}
    priority {{web.priority}}
{{#if authPass}}
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass {{authPass}}
    }
{{else}}
    version 3
    advert_int 0.5
{{/if}}
    garp_master_delay 1
{{#if web.unicast}}
    unicast_src_ip {{selfAddress}}
    unicast_peer {
{{#each web.peers}}
        {{address}}
{{/each}}
    }
{{/if}}
    virtual_ipaddress {
        {{web.vip}}/32 dev {{interface}}
    }
    track_script {
        check_{{trackedService}}
    }
}
{{/if}}
