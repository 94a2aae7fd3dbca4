#!/bin/sh
# Two bottle instances, then HAProxy in the foreground (the container's life).
python3 /srv/seed/app.py 8081 &
python3 /srv/seed/app.py 8082 &
exec haproxy -db -f /etc/haproxy/haproxy.cfg
