package table_test

import (
	"errors"
	"fmt"

	"tapagent/agent"
	"tapagent/agent/agentx"
	"tapagent/agent/table"
)

// A creatable table with a RowStatus column, a default, a required column
// and a Check hook, driven through one SET cycle as the session drives it.
func ExampleNewGroup() {
	dscp := agentx.Integer(34)
	md := &table.Table{
		Name:  "mdTable",
		Entry: agentx.MustParseOID("1.3.6.1.4.1.99999.20.1.1"),
		Index: []table.IndexPart{{Name: "mdId", Syntax: table.Integer32(1, 2147483647)}},
		Columns: []table.Column{
			{ID: 1, Name: "mdId", Syntax: table.Integer32(1, 2147483647), Access: table.NotAccessible},
			{ID: 2, Name: "mdAddressType", Syntax: table.InetAddressType(), Access: table.ReadCreate, Required: true},
			{ID: 3, Name: "mdAddress", Syntax: table.InetAddress(), Access: table.ReadCreate, Required: true},
			{ID: 4, Name: "mdDscp", Syntax: table.Integer32(0, 63), Access: table.ReadCreate, Default: &dscp},
			{ID: 5, Name: "mdStatus", Access: table.ReadCreate},
		},
		Status: 5,
	}
	g := table.NewGroup(nil, []*table.Table{md}, nil, table.Hooks{
		Check: func(tx *table.Tx) error {
			for _, ch := range tx.Changes {
				if r := ch.New; r != nil && !table.InetAddressFits(r.Int(2), r.Bytes(3)) {
					return table.Reject(r, 3, errors.New("address does not fit its type"))
				}
			}
			return nil
		},
	})

	col := func(c uint32) agentx.OID { return md.Entry.Append(c, 7) }
	set := func(vbs ...agentx.VarBind) *agent.SetError {
		pdu := make([]agent.SetVarBind, len(vbs))
		for i, vb := range vbs {
			pdu[i] = agent.SetVarBind{Index: i + 1, VarBind: vb}
		}
		tx, serr := g.TestSet(pdu)
		if serr != nil {
			return serr
		}
		if serr := tx.Commit(); serr != nil {
			tx.Undo()
			return serr
		}
		tx.Cleanup()
		return nil
	}

	fmt.Println(set(
		agentx.VarBind{Name: col(5), Value: agentx.Integer(int32(table.CreateAndGo))},
		agentx.VarBind{Name: col(2), Value: agentx.Integer(table.InetIPv6)},
		agentx.VarBind{Name: col(3), Value: agentx.OctetString([]byte{198, 18, 0, 1})},
	))
	fmt.Println(set(
		agentx.VarBind{Name: col(5), Value: agentx.Integer(int32(table.CreateAndGo))},
		agentx.VarBind{Name: col(2), Value: agentx.Integer(table.InetIPv4)},
		agentx.VarBind{Name: col(3), Value: agentx.OctetString([]byte{198, 18, 0, 1})},
	))
	fmt.Println(g.Get(col(4)), g.Get(col(5)))
	vb, _ := g.Next(md.Entry, false, nil)
	fmt.Println(vb.Name, vb.Value)
	// Output:
	// inconsistentValue on varbind 3: mdTable[Integer: 7] column 3: address does not fit its type
	// <nil>
	// Integer: 34 Integer: 1
	// 1.3.6.1.4.1.99999.20.1.1.2.7 Integer: 1
}
