#!/bin/sh
# Starts the apache/kafka image with SASL on both listeners, its super user's password taken from
# the generated secrets (compose cannot read a file into an environment variable itself).
#
# Services and agencies log in with SCRAM-SHA-512 (users created by the kafka-access one-shot);
# the super user "admin" logs in with PLAIN, defined in the JAAS file below, because a SCRAM user
# can only be created by someone already logged in. The controller listener takes the same PLAIN
# user: KRaft controllers cannot check SCRAM, and an open controller listener would let anyone on
# the network in as ANONYMOUS. The image wants a SASL broker's JAAS file in KAFKA_OPTS.
set -eu
password=$(cat /run/binhyen-secrets/kafka-admin-password)
umask 077
cat > /tmp/kafka_server_jaas.conf <<JAAS
KafkaServer {
  org.apache.kafka.common.security.plain.PlainLoginModule required
    username="admin" password="$password" user_admin="$password";
  org.apache.kafka.common.security.scram.ScramLoginModule required;
};
JAAS
# For the healthcheck's client (kafka-broker-api-versions.sh --command-config).
cat > /tmp/admin.properties <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$password";
PROPERTIES
export KAFKA_OPTS="${KAFKA_OPTS:-} -Djava.security.auth.login.config=/tmp/kafka_server_jaas.conf"
exec /etc/kafka/docker/run
