package portsec

import (
	"testing"

	"tapagent/agent/agentx"
	"tapagent/mibs/mibtest"
)

// TestBindingAgreesWithModule: the Go declarations and
// CISCO-PORT-SECURITY-MIB are one truth.
func TestBindingAgreesWithModule(t *testing.T) {
	b := New(Options{Engine: &fakeEngine{}, Ports: noPorts, Syslog: func(string) {}})
	mibtest.AgreesWithModules(t, b.group, []string{"CISCO-PORT-SECURITY-MIB"}, map[string]agentx.OID{
		"cpsSecureMacAddrViolation":       oidNotifViolation,
		"cpsIfVlanSecureMacAddrViolation": oidNotifVlanViolation,
		"ciscoPortSecurityMIB":            moduleRoot,
		"ifIndex":                         oidIfIndex,
		"ifName":                          oidIfName,
	})
}
