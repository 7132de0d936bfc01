// Package agent is the AgentX (RFC 2741) subagent: it keeps a session with
// the master agent (net-snmp snmpd) and answers the master's requests from
// Handlers, each serving one or more registered subtrees. It knows AgentX and
// generic SNMP semantics but no engine: MIB bindings in mibs/ implement
// Handler. The wire codec lives in agent/agentx.
//
// # Pieces
//
//   - Subagent (New, Register, Run, Notify): dials the master ("unix:/path"
//     or loopback "tcp:host:port"), opens a session, registers every
//     subtree, pings the master, and reconnects with exponential backoff
//     (re-open, re-register; handler state is untouched) whenever the
//     session ends. On ctx's end it unregisters and closes (shutdown).
//   - Mux: routes an OID to the handler with the longest registered prefix;
//     GetNext walks across handlers in OID order, within the search range.
//   - session: one reader goroutine frames PDUs (one bufio.Reader for the
//     connection's lifetime), one worker answers requests strictly in
//     order through a queue that never blocks the reader, writes are
//     serialised. Answers use the byte order of the request.
//
// # What snmpd 5.9.3 does, and what the session does about it
//
//   - SET: success is TestSet → CommitSet → CleanupSet; a TestSet error is
//     followed by CleanupSet; a CommitSet error by UndoSet and no
//     CleanupSet. CleanupSet gets no answer. The session splits a TestSet by
//     handler, keeps each varbind's 1-based PDU index, cleans up the
//     accepted shares when one share is refused, and keeps the transaction
//     per (session, transaction id) until CleanupSet or UndoSet. A commit
//     failure is answered commitFailed; UndoSet then undoes the committed
//     shares and the failed one (last first) and releases the rest.
//   - Error indexes are 1-based into the AgentX PDU; snmpd maps them back to
//     the manager's varbinds. Index 0 or out of range becomes genErr on
//     varbind 1, so every error sent carries an index in range, and only
//     SNMP error-status codes 1–18 come from handlers (AgentX codes
//     266–268 become genErr at the manager).
//   - A slow answer is resent with the same packet id every agentxTimeout
//     (1 s), 6 times, then snmpd answers genErr and drops the session
//     without a Close. The reader remembers recent (session, transaction,
//     packet id, type) keys and drops resends, so a TestSet or CommitSet
//     never runs twice and each request is answered once.
//   - A SET serialises the whole of snmpd, and GETBULK reaches us as a
//     series of GetNext PDUs: every answer must take microseconds. The
//     session spawns nothing per request and reuses its buffers.
//   - Notify: sysUpTime.0 then snmpTrapOID.0, or snmpTrapOID.0 first (snmpd
//     adds sysUpTime.0); any other order is processingError, so Notify
//     refuses it before sending. snmpd sends the notification to every
//     trap2sink/informsink.
//   - A frame that cannot be framed (bad version, absurd length) ends the
//     session with Close(parseError) and a reconnect; a well-framed PDU of
//     unknown type or with a bad payload is answered parseError, a request
//     only a master serves is answered processingError, a request for
//     another session notOpen.
//   - When the session ends, tested transactions are cleaned up; a
//     committed one stays applied (logged). LiveTransactions reports what
//     is held.
//
// AgentX has no authentication: TCP to anything but loopback is refused
// unless Config.AllowRemoteTCP is set.
package agent
