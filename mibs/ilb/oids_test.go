package ilb

import (
	"testing"

	"tapagent/agent/agentx"
	"tapagent/mibs/mibtest"
)

// TestBindingAgreesWithModule: the Go declarations and TAPAGENT-ILB-MIB
// are one truth.
func TestBindingAgreesWithModule(t *testing.T) {
	b := New(nil, nil, nil)
	mibtest.AgreesWithModules(t, b.group, []string{"TAPAGENT-ILB-MIB"}, map[string]agentx.OID{
		"ilbServerHealthChange": oidNotifServerHealthChange,
		"ilbRuleStateChange":    oidNotifRuleStateChange,
		"tapagentIlbMIB":        ilbRoot,
	})
}
