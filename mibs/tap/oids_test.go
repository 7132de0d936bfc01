package tap

import (
	"testing"

	"tapagent/agent/agentx"
	"tapagent/mibs/mibtest"
)

// TestBindingAgreesWithModules: the Go declarations and the four TAP
// module files are one truth.
func TestBindingAgreesWithModules(t *testing.T) {
	b := New(nil, nil, nil)
	mibtest.AgreesWithModules(t, b.group,
		[]string{"CISCO-TAP2-MIB", "CISCO-IP-TAP-MIB", "CISCO-802-TAP-MIB", "CISCO-USER-CONNECTION-TAP-MIB"},
		map[string]agentx.OID{
			"ciscoTap2MIBActive": oidNotifMIBActive, "ciscoTap2MediationTimedOut": oidNotifMediationTimedOut,
			"ciscoTap2MediationDebug": oidNotifMediationDebug, "ciscoTap2StreamDebug": oidNotifStreamDebug,
			"ciscoTap2Switchover": oidNotifSwitchover,
		})
}
