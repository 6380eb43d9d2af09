#!/bin/sh
# One sentinel of docker-compose.sentinel.yml, watching the lab's primary as `primary`. Its
# config is written on a tmpfs (sentinels rewrite it as they learn), from the environment.
# Names, not addresses, travel: clients are told `redis-replica-1:6379` after a failover. A
# sentinel that restarts asks its peers (SENTINELS) which server is the primary now; only the
# first start watches `redis`. Sentinels require REDIS_SENTINEL_PASSWORD, of clients and of
# each other.
set -eu
umask 077
: "${NODE_NAME:?NODE_NAME names this sentinel}"
primary=""
for peer in ${SENTINELS:-}; do
  if [ "$peer" = "$NODE_NAME" ]; then continue; fi
  primary=$(REDISCLI_AUTH="${REDIS_SENTINEL_PASSWORD}" timeout 2 redis-cli -h "$peer" -p 26379 \
    --no-auth-warning sentinel get-master-addr-by-name primary 2>/dev/null | head -n 1) || true
  if [ -n "$primary" ]; then break; fi
done
cat > /run/sentinel/sentinel.conf <<CONF
port 26379
dir /tmp
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip ${NODE_NAME}
requirepass ${REDIS_SENTINEL_PASSWORD}
sentinel sentinel-pass ${REDIS_SENTINEL_PASSWORD}
sentinel monitor primary ${primary:-redis} 6379 2
sentinel auth-user primary sentinel
sentinel auth-pass primary ${REDIS_ADMIN_PASSWORD}
sentinel down-after-milliseconds primary 2000
sentinel failover-timeout primary 10000
CONF
chown -R redis /run/sentinel 2>/dev/null || true
unset REDIS_ADMIN_PASSWORD REDIS_SENTINEL_PASSWORD
if command -v docker-entrypoint.sh >/dev/null; then
  exec docker-entrypoint.sh redis-server /run/sentinel/sentinel.conf --sentinel
fi
exec redis-server /run/sentinel/sentinel.conf --sentinel
