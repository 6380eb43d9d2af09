#!/bin/sh
# Forms the Redis Cluster of docker-compose.cluster.yml once: three primaries, a replica each.
# Exits 0 when the cluster is formed (now or on an earlier start), so the services can wait
# for it with `condition: service_completed_successfully`.
set -eu
: "${CLUSTER_NODES:?CLUSTER_NODES lists the nodes}"
cli() { redis-cli --user admin --no-auth-warning "$@"; }
first=${CLUSTER_NODES%% *}
if cli -h "$first" cluster info | grep -q cluster_state:ok; then
  echo "cluster already formed"
  exit 0
fi
addresses=""
for node in $CLUSTER_NODES; do
  until cli -h "$node" ping > /dev/null 2>&1; do sleep 0.5; done
  addresses="$addresses $(getent hosts "$node" | awk '{print $1}'):6379"
done
# shellcheck disable=SC2086
cli --cluster create $addresses --cluster-replicas 1 --cluster-yes
for node in $CLUSTER_NODES; do
  until cli -h "$node" cluster info | grep -q cluster_state:ok; do sleep 0.5; done
done
echo "cluster formed: $CLUSTER_NODES"
