#!/bin/sh
# The image's command: `binhyen-service [api | demo ... | outbox ...]` runs the service the image
# was built for (python -m binhyen.$BINHYEN_SERVICE). A container listens on every interface; the
# settings default, 127.0.0.1, suits a process on a developer's machine. A value set for
# BINHYEN_<NAME>_HTTP_HOST still wins. (A Dockerfile cannot upper-case the env prefix itself.)
set -eu
prefix="BINHYEN_$(printf '%s' "$BINHYEN_SERVICE" | tr 'a-z-' 'A-Z_')_"
host=$(printenv "${prefix}HTTP_HOST" || true)
exec env "${prefix}HTTP_HOST=${host:-0.0.0.0}" python -m "binhyen.$BINHYEN_SERVICE" "$@"
