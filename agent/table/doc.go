// Package table serves SNMP conceptual tables and scalars to the AgentX
// session: a MIB binding declares its objects, and a Group answers
// GET/GETNEXT, checks SET values against their syntax, runs RowStatus
// (RFC 2579) and treats each SET PDU as one transaction (agent.Handler).
// It knows nothing of any engine; bindings connect one through Hooks and
// computed columns.
//
// Declaring a table and a group:
//
//	var mdTable = &table.Table{
//		Name:  "cTap2MediationTable",
//		Entry: agentx.MustParseOID("1.3.6.1.4.1.9.9.399.1.1.2.1"),
//		Index: []table.IndexPart{{Name: "cTap2MediationContentId", Syntax: table.Integer32(1, math.MaxInt32)}},
//		Columns: []table.Column{
//			{ID: 1, Name: "cTap2MediationContentId", Syntax: table.Integer32(1, math.MaxInt32), Access: table.NotAccessible},
//			{ID: 2, Name: "cTap2MediationDestAddressType", Syntax: table.InetAddressType(), Access: table.ReadCreate, Required: true},
//			{ID: 3, Name: "cTap2MediationDestAddress", Syntax: table.InetAddress(), Access: table.ReadCreate, Required: true},
//			{ID: 6, Name: "cTap2MediationDscp", Syntax: table.Integer32(0, 63), Access: table.ReadCreate, Default: &dscp34},
//			{ID: 10, Name: "cTap2MediationTimeout", Syntax: table.DateAndTime(), Access: table.ReadCreate, Required: true, MutableWhenActive: true},
//			{ID: 13, Name: "cTap2MediationStatus", Access: table.ReadCreate},
//		},
//		Status: 13,
//	}
//	g := table.NewGroup(nil, []*table.Table{mdTable}, nil, table.Hooks{
//		Check: func(tx *table.Tx) error {
//			for _, ch := range tx.Changes {
//				if r := ch.New; r != nil && !table.InetAddressFits(r.Int(2), r.Bytes(3)) {
//					return table.Reject(r, 3, errors.New("address does not fit its type"))
//				}
//			}
//			return nil
//		},
//		Apply:  func(tx *table.Tx) error { return engine.Apply(changesOf(tx)) },
//		Revert: func(tx *table.Tx) error { return engine.Revert(changesOf(tx)) },
//	})
//	mux.Handle(g)
//
// ExampleNewGroup (example_test.go) runs a table like this through a SET.
//
// GET answers noSuchInstance for a missing instance of one of the group's
// objects and noSuchObject for anything else, including not-accessible and
// accessible-for-notify objects. GETNEXT walks (column, encoded index) in
// OID order with a binary search over rows kept sorted by encoded index.
//
// SET error choices (RFC 3416 §4.2.5 order for each varbind, first failing
// varbind in PDU order wins):
//   - an OID that is no object of the group, or names a read-only,
//     not-accessible or accessible-for-notify object: notWritable (nothing
//     with that name could ever be written — what native snmpd answers);
//   - wrong ASN.1 type: wrongType; bad size: wrongLength; out of range, not
//     an enum, undefined BITS, notReady(3) for a RowStatus: wrongValue;
//   - malformed index (or a scalar instance other than .0): noCreation;
//   - then the post-PDU state: a column of a row that does not exist and
//     that the PDU does not create: inconsistentName (noCreation in tables
//     without a status column); RFC 2579 violations: inconsistentValue;
//     the Check hook: its CheckError's status (inconsistentValue default).
//
// PDU semantics: values of one PDU are applied together, in any order; a
// repeated OID keeps its last value, the row status too (an earlier destroy
// of the same row is simply overwritten). createAndGo needs every Required column (from the PDU or a
// Default); createAndWait yields notReady or notInService; a notReady row
// whose missing columns get set becomes notInService. Destroying a row that
// does not exist is noError. A column not MutableWhenActive cannot change
// while the row is active before and after the PDU (setting its current
// value is accepted).
//
// Transactions: TestSet never changes the tables, so CleanupSet after it
// leaves no trace. CommitSet installs the rows, sets scalars, then calls
// Apply; any failure restores rows and scalars and answers commitFailed.
// UndoSet calls Revert and restores rows and scalars exactly. If the engine
// changed the group (DeleteRow/PutRow) between TestSet and CommitSet,
// Commit re-runs Check and fails with commitFailed when a touched row was
// changed or removed meanwhile.
//
// Concurrency: one RWMutex guards the rows; rows are immutable (a change
// makes a new Row), so hooks, computed columns and scalar Get/Set run
// without the lock and may call Group methods.
package table
