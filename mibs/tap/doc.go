// Package tap binds the lawful-intercept MIB modules — CISCO-TAP2-MIB,
// CISCO-IP-TAP-MIB, CISCO-802-TAP-MIB and CISCO-USER-CONNECTION-TAP-MIB —
// to the intercept engine. It declares every table and scalar of the four
// modules with the agent/table framework (one file per module) and turns
// checked SET transactions into intercept change sets; the engine holds the
// rules (what may change while active, destroy refused while streams exist,
// address and port relations), this package maps its verdicts to SNMP
// error codes and varbinds.
//
// The four modules share one table.Group, so one SET may mix their tables
// and is still validated as a whole: a filter row and its generic stream
// row may be created in either order or in the same PDU.
package tap
