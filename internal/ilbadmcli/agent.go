package ilbadmcli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gosnmp/gosnmp"

	"tapagent/agent/agentx"
	"tapagent/internal/snmpcli"
)

// Agent is the SNMP side of ilbadm: walks and SETs.
type Agent struct {
	c    snmpcli.Client
	addr string
}

// SetError is an error-status the agent answered a SET with.
type SetError struct {
	Status agentx.ErrorStatus
	Index  int // 1-based
}

func (e *SetError) Error() string { return fmt.Sprintf("%s on varbind %d", e.Status, e.Index) }

// Walk returns every instance below root, in order.
func (a *Agent) Walk(root agentx.OID) ([]agentx.VarBind, error) {
	var out []agentx.VarBind
	cur := root
	for {
		resp, err := a.c.GetBulk([]string{"." + cur.String()}, 0, 50)
		if err != nil {
			return nil, fmt.Errorf("agent %s: %w", a.addr, err)
		}
		if resp.Error != gosnmp.NoError {
			return nil, fmt.Errorf("agent %s: %s", a.addr, agentx.ErrorStatus(resp.Error))
		}
		if len(resp.Variables) == 0 {
			return out, nil
		}
		for _, p := range resp.Variables {
			vb, err := snmpcli.FromPDU(p)
			if err != nil {
				return nil, fmt.Errorf("agent %s: %w", a.addr, err)
			}
			if vb.Value.Type == agentx.TypeEndOfMibView || !vb.Name.HasPrefix(root) {
				return out, nil
			}
			if vb.Name.Compare(cur) <= 0 {
				return nil, fmt.Errorf("agent %s: walk went backwards at %s", a.addr, vb.Name)
			}
			if vb.Value.Type == agentx.TypeNoSuchObject || vb.Value.Type == agentx.TypeNoSuchInstance {
				return out, nil
			}
			out = append(out, vb)
			cur = vb.Name
		}
	}
}

// Set sends one SET request; an error-status comes back as *SetError.
func (a *Agent) Set(vbs []agentx.VarBind) error {
	pdus := make([]gosnmp.SnmpPDU, len(vbs))
	for i, vb := range vbs {
		p, err := snmpcli.ToPDU(vb)
		if err != nil {
			return err
		}
		pdus[i] = p
	}
	resp, err := a.c.Set(pdus)
	if err != nil {
		return fmt.Errorf("agent %s: %w", a.addr, err)
	}
	if resp.Error != gosnmp.NoError {
		return &SetError{Status: agentx.ErrorStatus(resp.Error), Index: int(resp.ErrorIndex)}
	}
	return nil
}

// statusText says what an error-status means for an ilbadm change.
func statusText(s agentx.ErrorStatus) string {
	switch s {
	case agentx.InconsistentValue:
		return "conflicts with the running configuration"
	case agentx.InconsistentName:
		return "name already in use, or refers to something that does not exist"
	case agentx.NoCreation:
		return "cannot be created under that name"
	case agentx.WrongValue, agentx.WrongLength, agentx.WrongType, agentx.BadValue:
		return "value not accepted"
	case agentx.ResourceUnavailable:
		return "a limit is reached"
	case agentx.CommitFailed, agentx.UndoFailed:
		return "the load balancer could not apply it"
	case agentx.NoAccess, agentx.NotWritable, agentx.AuthorizationError, agentx.NoSuchName, agentx.ReadOnly:
		return "not writable for this SNMP user (check the user and its view)"
	}
	return s.String()
}

// timeoutHint turns gosnmp's timeout into a clearer sentence.
func timeoutHint(err error) error {
	if err != nil && strings.Contains(err.Error(), "timeout") {
		return fmt.Errorf("%w (is the agent running and are the SNMPv3 credentials right?)", err)
	}
	return err
}

var errNoUser = errors.New("no SNMPv3 user: give -u USER or set defSecurityName in snmp.conf")
