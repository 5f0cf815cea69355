#!/bin/sh
# Starts the apache/kafka image with SASL on both listeners, its super user's password taken from
# the generated secrets (compose cannot read a file into an environment variable itself).
#
# Services and agencies log in with SCRAM-SHA-512 (users created by the kafka-access one-shot);
# the super user "admin" logs in with PLAIN, defined here, because a SCRAM user can only be
# created by someone who is already logged in. The controller listener takes the same PLAIN user:
# KRaft controllers cannot check SCRAM, and an open controller listener would let anyone on the
# network in as ANONYMOUS.
set -eu
password=$(cat /run/binhyen-secrets/kafka-admin-password)
plain="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"$password\" user_admin=\"$password\";"
scram="org.apache.kafka.common.security.scram.ScramLoginModule required;"
# The image turns KAFKA_X_Y into x.y ("-" is written "__").
export KAFKA_LISTENER_NAME_BROKER_PLAIN_SASL_JAAS_CONFIG="$plain"
export KAFKA_LISTENER_NAME_BROKER_SCRAM__SHA__512_SASL_JAAS_CONFIG="$scram"
export KAFKA_LISTENER_NAME_CONTROLLER_PLAIN_SASL_JAAS_CONFIG="$plain"
# For the healthcheck's client (kafka-broker-api-versions.sh --command-config).
umask 077
cat > /tmp/admin.properties <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$password";
PROPERTIES
exec /etc/kafka/docker/run
