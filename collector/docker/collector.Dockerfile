# The mem0-stack collector image: ocb builds collector/builder-config.yaml, the result runs on
# distroless. Build context: the repository root (see docker-compose.yaml).
FROM golang:1.26.8-bookworm AS build
WORKDIR /src/collector
COPY collector/builder-config.yaml collector/build.sh ./
RUN bash build.sh

FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /src/collector/_build/otelcol-mem0 /otelcol-mem0
COPY collector/otelcol-config.yaml /etc/otelcol/config.yaml
EXPOSE 4317 4318 8888 8889 13133
ENTRYPOINT ["/otelcol-mem0"]
CMD ["--config=/etc/otelcol/config.yaml"]
