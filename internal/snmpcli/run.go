package snmpcli

import (
	"fmt"
	"io"

	"github.com/gosnmp/gosnmp"

	"tapagent/agent/agentx"
	"tapagent/mibs/smi"
)

// SNMPError is an error-status the agent answered with.
type SNMPError struct {
	Status agentx.ErrorStatus
	Index  int    // 1-based error-index within the request
	Name   string // the varbind Index points at, "" if it points nowhere
}

func (e *SNMPError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("%s (error index %d)", e.Status, e.Index)
	}
	return fmt.Sprintf("%s: %s (varbind %d)", e.Name, e.Status, e.Index)
}

func checkStatus(tree *smi.Tree, resp *gosnmp.SnmpPacket, sent []agentx.OID) error {
	if resp.Error == gosnmp.NoError {
		return nil
	}
	e := &SNMPError{Status: agentx.ErrorStatus(resp.Error), Index: int(resp.ErrorIndex)}
	if e.Index >= 1 && e.Index <= len(sent) {
		e.Name = tree.Format(sent[e.Index-1])
	}
	return e
}

// RunSet sends the SET requests of cmd in order, printing each varbind the
// agent confirms; it stops at the first error.
func RunSet(c Client, tree *smi.Tree, cmd *SetCommand, out io.Writer) error {
	for _, vars := range cmd.PDUs() {
		pdus := make([]gosnmp.SnmpPDU, len(vars))
		sent := make([]agentx.OID, len(vars))
		for i, v := range vars {
			p, err := ToPDU(v.VarBind())
			if err != nil {
				return fmt.Errorf("%s: %w", v.Arg, err)
			}
			pdus[i], sent[i] = p, v.Ref.OID
		}
		resp, err := c.Set(pdus)
		if err != nil {
			return fmt.Errorf("agent %s: %w", cmd.Agent, err)
		}
		if err := checkStatus(tree, resp, sent); err != nil {
			return err
		}
		if err := printVarBinds(tree, out, resp.Variables); err != nil {
			return err
		}
	}
	return nil
}

// RunGet fetches each object of cmd: one instance with GET, anything else
// by walking its subtree (GETNEXT for v1, GETBULK otherwise). A subtree
// that holds nothing falls back to a GET of the OID itself, for numeric
// instances of objects no loaded module names.
func RunGet(c Client, tree *smi.Tree, cmd *GetCommand, out io.Writer) error {
	for _, obj := range cmd.Objects {
		if obj.IsInstance() {
			if _, err := get(c, tree, cmd, obj.Ref.OID, out, true); err != nil {
				return err
			}
			continue
		}
		n, err := walk(c, tree, cmd, obj.Ref.OID, out)
		if err != nil {
			return err
		}
		if n == 0 {
			if _, err := get(c, tree, cmd, obj.Ref.OID, out, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// get prints the value of one OID; exceptions only if showExceptions.
func get(c Client, tree *smi.Tree, cmd *GetCommand, oid agentx.OID, out io.Writer, showExceptions bool) (int, error) {
	resp, err := c.Get([]string{"." + oid.String()})
	if err != nil {
		return 0, fmt.Errorf("agent %s: %w", cmd.Agent, err)
	}
	if resp.Error == gosnmp.NoSuchName && !showExceptions {
		return 0, nil // v1's way of saying "nothing here"
	}
	if err := checkStatus(tree, resp, []agentx.OID{oid}); err != nil {
		return 0, err
	}
	n := 0
	for _, p := range resp.Variables {
		vb, err := FromPDU(p)
		if err != nil {
			return n, err
		}
		if vb.Value.IsException() && !showExceptions {
			continue
		}
		fmt.Fprintln(out, FormatVarBind(tree, vb))
		n++
	}
	return n, nil
}

// walk prints every instance strictly below root and returns how many.
func walk(c Client, tree *smi.Tree, cmd *GetCommand, root agentx.OID, out io.Writer) (int, error) {
	cur := root
	n := 0
	for {
		var resp *gosnmp.SnmpPacket
		var err error
		if cmd.Version == gosnmp.Version1 {
			resp, err = c.GetNext([]string{"." + cur.String()})
		} else {
			resp, err = c.GetBulk([]string{"." + cur.String()}, 0, cmd.MaxRepetitions)
		}
		if err != nil {
			return n, fmt.Errorf("agent %s: %w", cmd.Agent, err)
		}
		if cmd.Version == gosnmp.Version1 && resp.Error == gosnmp.NoSuchName {
			return n, nil // end of the MIB view
		}
		if err := checkStatus(tree, resp, []agentx.OID{cur}); err != nil {
			return n, err
		}
		if len(resp.Variables) == 0 {
			return n, nil
		}
		for _, p := range resp.Variables {
			vb, err := FromPDU(p)
			if err != nil {
				return n, err
			}
			if vb.Value.Type == agentx.TypeEndOfMibView || len(vb.Name) <= len(root) || !vb.Name.HasPrefix(root) {
				return n, nil
			}
			if vb.Name.Compare(cur) <= 0 {
				return n, fmt.Errorf("agent %s: walk went backwards: %s after %s", cmd.Agent,
					tree.Format(vb.Name), tree.Format(cur))
			}
			fmt.Fprintln(out, FormatVarBind(tree, vb))
			cur = vb.Name
			n++
		}
	}
}

func printVarBinds(tree *smi.Tree, out io.Writer, vars []gosnmp.SnmpPDU) error {
	for _, p := range vars {
		vb, err := FromPDU(p)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, FormatVarBind(tree, vb))
	}
	return nil
}
