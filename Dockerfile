# tapagent in a container: snmpd (master agent) + tapagent (AgentX subagent),
# configured by the same scripts as `make run` and the tests.
#   docker build -t tapagent .
#   docker run --rm -p 10161:10161/udp -e TRAP_SINK=192.0.2.10:162 tapagent

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -o /out/ ./cmd/...

# Same Debian release as the build image, so a cgo binary finds its glibc.
FROM debian:bookworm-slim
RUN apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends snmpd snmp \
	&& rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /opt/tapagent/bin/
COPY scripts/ /opt/tapagent/scripts/
ENV RUN_DIR=/var/lib/tapagent \
	BIN_DIR=/opt/tapagent/bin \
	LISTEN=0.0.0.0 \
	SNMP_PORT=10161 \
	LOG_LEVEL=info
EXPOSE 10161/udp
# Passphrases: override LI_AUTH, LI_PRIV, ADMIN_AUTH, ADMIN_PRIV in production.
ENTRYPOINT ["/opt/tapagent/scripts/run.sh", "--foreground"]
