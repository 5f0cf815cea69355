#!/bin/sh
# Generates, once, every password docker-compose.yml needs, into the volume mounted at
# /run/binhyen-secrets (kept across `docker compose down`; `down -v` forgets them, and the
# MongoDB and Kafka volumes with them, which were set up with these passwords).
# Files are readable by the other containers (the mongo, kafka and service users differ); the
# volume is mounted only into this project's containers.
set -eu
cd /run/binhyen-secrets
for name in kafka-admin-password kafka-registry-password kafka-incidents-password \
            kafka-notifications-password kafka-reporting-password mongodb-root-password \
            mongodb-registry-password mongodb-incidents-password mongodb-notifications-password \
            mongodb-reporting-password; do
  if [ ! -s "$name" ]; then
    python -c "import secrets; print(secrets.token_urlsafe(32))" > "$name"
  fi
done
for service in registry incidents notifications reporting; do
  password=$(cat "mongodb-$service-password")
  echo "mongodb://binhyen-$service:$password@mongodb:27017/binhyen_$service?authSource=binhyen_$service" \
    > "mongodb-$service-uri"
done
chmod 0444 ./*
