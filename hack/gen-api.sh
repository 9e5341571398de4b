#!/usr/bin/env bash
# Regenerates api/runtime/v1/api.ts (the CRI) and api/krill/admin/v1/admin.ts
# (Krill's admin service) - types + @grpc/grpc-js service definitions - from
# their .proto files with protoc and ts-proto.
# Usage: hack/gen-api.sh [OUTDIR]   (default: the repo's api/ directory)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-api}
command -v protoc >/dev/null || { echo "gen-api: protoc is missing (apt-get install protobuf-compiler)" >&2; exit 1; }
mkdir -p "$out"
protoc \
  --plugin=protoc-gen-ts_proto=node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out="$out" \
  --ts_proto_opt=outputServices=grpc-js,env=node,esModuleInterop=true,forceLong=bigint,useOptionals=none \
  -I api runtime/v1/api.proto krill/admin/v1/admin.proto
