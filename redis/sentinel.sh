#!/bin/sh
# One sentinel of docker-compose.sentinel.yml, watching the lab's primary as `primary`. Its
# config is written on a tmpfs (sentinels rewrite it as they learn), from the environment.
# Names, not addresses, travel: clients are told `redis-replica-1:6379` after a failover.
set -eu
umask 077
: "${NODE_NAME:?NODE_NAME names this sentinel}"
cat > /run/sentinel/sentinel.conf <<CONF
port 26379
dir /tmp
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip ${NODE_NAME}
sentinel monitor primary redis 6379 2
sentinel auth-user primary sentinel
sentinel auth-pass primary ${REDIS_ADMIN_PASSWORD}
sentinel down-after-milliseconds primary 2000
sentinel failover-timeout primary 10000
CONF
chown -R redis /run/sentinel 2>/dev/null || true
unset REDIS_ADMIN_PASSWORD
if command -v docker-entrypoint.sh >/dev/null; then
  exec docker-entrypoint.sh redis-server /run/sentinel/sentinel.conf --sentinel
fi
exec redis-server /run/sentinel/sentinel.conf --sentinel
