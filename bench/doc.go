// Package bench produces the end-to-end performance figures of `make bench`:
// GET latency through the private snmpd for a tapagent object, a native
// snmpd object and a minimal AgentX responder (package bench/minimal); bulk
// walk speed of tables of 100 to 10,000 rows; the rate at which taps are
// provisioned with SNMPv3 SETs into the tapagent binary; the classifier's
// cost per packet with 1 to 100,000 taps; and, in network namespaces, the
// packets per second tapagent intercepts and delivers against a bare
// AF_PACKET reader on the same trafgen traffic (intercept_*_test.go); the
// load balancer's programming time for 10,000 servers, requests/s through
// HALF-NAT against a plain nft dnat, and health-check CPU (ilb_*_test.go);
// port security's offending-frame reaction and learn rate (portsec_*).
//
// The figures are Benchmark functions in figures_test.go with fixed,
// bounded workloads; run them once with
//
//	go test -run '^$' -bench . -benchtime 1x ./bench
//
// which prints the usual benchmark lines and then one table of every
// figure (TestMain). Workload sizes are flags: -gets, -warmup, -taps,
// -walk-varbinds, -intercept-packets, -intercept-rounds, -intercept-drain,
// -intercept-generator, -portsec-macs, -portsec-samples, -ilb-servers,
// -ilb-requests, -ilb-rounds, -ilb-clients, -ilb-hc-servers, -ilb-hc-window
// (after -args). `go test ./...` runs no benchmark, so
// `make test` never pays for them; it runs the unit tests of the helpers
// here and of bench/minimal.
package bench
