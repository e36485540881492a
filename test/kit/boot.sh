#!/bin/sh
# Boot hook of the node kit: the lab runs this inside a node when it starts or restarts after a hard stop.
exec /usr/bin/node "$(dirname "$(readlink -f "$0")")/lib/boot.mjs"
