// Package minimal is the baseline of the latency and walk figures: the
// smallest AgentX subagent that is still correct for reads. It opens one
// session directly on the agent/agentx codec, registers one subtree and
// answers Get and GetNext from a fixed set of values, one PDU at a time on
// the reading goroutine — no table framework, no router, no retransmit
// filter, no worker goroutine. Whatever tapagent costs on top of this is the
// price of its session and framework.
package minimal
