// Package ilb binds TAPAGENT-ILB-MIB to the load balancer engine (lb).
// It declares the module's scalars and tables with agent/table and turns
// each checked SET transaction into one change of the engine's
// configuration: the whole PDU is replayed on a copy of the running
// configuration and validated there (lb.Engine.Check at TestSet), applied
// with lb.Engine.Update at CommitSet, and undone by re-applying the
// previous configuration at UndoSet.
//
// Rows of the configuration tables (server groups, servers, health checks,
// rules) mirror the engine's configuration while they are active; rows in
// notReady or notInService exist only here (they are not configuration
// yet, and do not survive a restart). Statistics, health results and the
// per-rule rows of the state tables are computed from the engine when read.
package ilb
