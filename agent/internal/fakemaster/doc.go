// Package fakemaster is an in-process AgentX master for tests: it listens
// on a unix socket, accepts subagents, answers their Open, Register,
// Unregister, Notify, Ping and Close PDUs, and lets a test drive requests
// (Get, GetNext, GetBulk, the SET phases, raw bytes) and inspect answers.
package fakemaster
