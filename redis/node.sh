#!/bin/sh
# One Redis server of the lab on highly available Redis (docker-compose.sentinel.yml,
# docker-compose.cluster.yml). Its ACL and settings are written from the environment on a
# tmpfs, so no password is in an image, a command line or a volume:
#   lab       the services: the lab's keys and channels, no dangerous command (as standalone)
#   replica   replication between the servers
#   sentinel  what the sentinels need to watch and fail over
#   admin     forming the cluster
#   default   nobody can log in as it (off); Redis 7.0 replays the append-only file with its
#             permissions, so they allow everything: without them the writes of every script
#             (an order's record, the breaker's state) are dropped when the server restarts
# NODE_NAME is the name other containers reach this one by; CLUSTER=yes makes it a cluster node.
# Under Sentinel, SENTINELS names the sentinels: a server that restarts asks them which server
# is the primary now (after a failover, not the one it was first told), and only on the first
# start, when no sentinel answers yet, follows REPLICA_OF.
set -eu
umask 077
: "${NODE_NAME:?NODE_NAME names this server}"
cat > /run/redis/users.acl <<ACL
user default off ~* &* +@all
user lab on >${REDIS_PASSWORD} ~{payments}:* ~{orders}:* ~{cb:* &{cb:* +@all -@dangerous +info
user replica on >${REDIS_ADMIN_PASSWORD} +psync +replconf +ping
user sentinel on >${REDIS_ADMIN_PASSWORD} allchannels +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish +info +client|setname +client|kill +script|kill
user admin on >${REDIS_ADMIN_PASSWORD} ~* &* +@all
ACL
{
  echo "aclfile /run/redis/users.acl"
  echo "masteruser replica"
  echo "masterauth ${REDIS_ADMIN_PASSWORD}"
  # Every write is fsynced before Redis answers, as in the standalone lab.
  echo "appendonly yes"
  echo "appendfsync always"
  echo "auto-aof-rewrite-percentage 100"
  echo "auto-aof-rewrite-min-size 64mb"
  # As standalone, below the container's 128 MiB: refuse new records at the cap, evict nothing.
  echo "maxmemory 80mb"
  echo "maxmemory-policy noeviction"
  echo "dir /data"
  echo "replica-announce-ip ${NODE_NAME}"
  primary=""
  for sentinel in ${SENTINELS:-}; do
    primary=$(REDISCLI_AUTH="${REDIS_SENTINEL_PASSWORD:-}" timeout 2 redis-cli -h "$sentinel" \
      -p 26379 --no-auth-warning sentinel get-master-addr-by-name primary 2>/dev/null | head -n 1) || true
    if [ -n "$primary" ]; then break; fi
  done
  if [ -z "$primary" ]; then primary=${REPLICA_OF:-$NODE_NAME}; fi
  if [ "$primary" != "$NODE_NAME" ]; then echo "replicaof ${primary} 6379"; fi
  if [ "${CLUSTER:-}" = yes ]; then
    echo "cluster-enabled yes"
    echo "cluster-config-file /data/nodes.conf"
    echo "cluster-node-timeout 2000"
    echo "cluster-announce-hostname ${NODE_NAME}"
    # Clients are sent to hostnames (the compose service names), not container addresses.
    echo "cluster-preferred-endpoint-type hostname"
  fi
} > /run/redis/redis.conf
chown redis /run/redis/users.acl /run/redis/redis.conf 2>/dev/null || true
unset REDIS_PASSWORD REDIS_ADMIN_PASSWORD REDIS_SENTINEL_PASSWORD
if command -v docker-entrypoint.sh >/dev/null; then
  exec docker-entrypoint.sh redis-server /run/redis/redis.conf
fi
exec redis-server /run/redis/redis.conf
