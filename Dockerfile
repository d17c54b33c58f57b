# Build stage: the release binary, with the article's dataset and the web
# pages (bundled from npm by build.rs, so Node.js and npm are needed here
# and only here) compiled in.
FROM rust:1.95-slim-bookworm AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock rust-toolchain.toml build.rs README.md ./
COPY web/package.json web/package-lock.json web/
RUN cd web && npm ci --no-audit --no-fund
COPY web web
COPY src src
COPY data data
COPY migrations migrations
COPY schema schema
COPY tests tests
# Cargo reads every target the manifest declares, benches and the
# benchmark tools included, before it builds any one of them.
COPY benches benches
RUN cargo build --release --locked --bin partnergraph

# Runtime stage: a small Debian with the binary, run as a non-root user.
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin partnergraph \
 && mkdir /data && chown partnergraph /data
COPY --from=build /src/target/release/partnergraph /usr/local/bin/partnergraph
USER partnergraph
ENV PARTNERGRAPH_LISTEN=0.0.0.0:8080 \
    PARTNERGRAPH_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["partnergraph", "healthcheck", "--listen", "127.0.0.1:8080"]
ENTRYPOINT ["partnergraph"]
CMD ["serve"]
