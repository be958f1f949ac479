# The unmogrowp binary in an image: every command (serve, ingestion, consumer, api, apps,
# links) is `docker run IMAGE <command>`. docs/compose.yaml builds it for the split
# deployment; docs/deploy.md explains it.
#
#   docker build -t unmogrowp .
#
# Build stage: DuckDB's driver is cgo, so the build needs a C/C++ toolchain (the golang
# image has gcc and g++). It is the bookworm variant on purpose: a cgo binary needs a glibc
# at least as new as the one it was linked against, and the runtime stage is bookworm.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The dashboard is embedded from the committed web/build/: no Node needed here.
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/unmogrowp ./cmd/unmogrowp

# Runtime stage: the binary needs glibc and libstdc++ (DuckDB); curl is for health checks.
FROM debian:bookworm-slim
RUN apt-get update \
	&& apt-get install -y --no-install-recommends ca-certificates curl libstdc++6 \
	&& rm -rf /var/lib/apt/lists/* \
	&& useradd --system --uid 10001 --home-dir /data --create-home unmogrowp
COPY --from=build /out/unmogrowp /usr/local/bin/unmogrowp
USER unmogrowp
WORKDIR /data
# serve's embedded storage (write-ahead log, DuckDB, SQLite): mount a volume here to keep
# it. The split services keep no state on disk.
ENV UNMOGROWP_DATA_DIR=/data
# 8080 ingestion, 3001 API and dashboard, 9090 the consumer's /health and /metrics.
EXPOSE 8080 3001 9090
ENTRYPOINT ["unmogrowp"]
CMD ["serve"]
