# syntax=docker/dockerfile:1
# WWS on the official Spin image.
#
#   docker build -t wws .
#   docker run -p 3000:3000 -v wws-state:/app/.spin --env-file .env wws   # one instance, SQLite
#   docker compose up --scale wws=2                                        # several, sharing Redis
#
# The runtime stage holds only spin.toml, the runtime configs and the composed
# component: the same target/wws.wasm that `spin up` and wws-host serve.

ARG RUST_VERSION=1.95
ARG SPIN_VERSION=v4.0.2

FROM rust:${RUST_VERSION}-bookworm AS build
RUN rustup target add wasm32-wasip2
WORKDIR /src
COPY . .
RUN cargo xtask build

FROM ghcr.io/spinframework/spin:${SPIN_VERSION}
# curl for the health check only.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY spin.toml runtime-config.toml runtime-config-tmpfs.toml ./
COPY deploy/container/runtime-config-redis.toml ./
COPY --from=build /src/target/wws.wasm ./target/wws.wasm
EXPOSE 3000
# The SQLite store of a single instance; unused with the Redis runtime config.
VOLUME /app/.spin
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD curl -fsS http://127.0.0.1:3000/api/wws/health || exit 1
ENTRYPOINT ["spin"]
CMD ["up", "--from", "spin.toml", "--listen", "0.0.0.0:3000"]
