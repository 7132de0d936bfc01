// Package smi reads SMIv2 MIB module text (RFC 2578/2579/2580) far enough to
// map every named node of a set of modules to its numeric OID, and to know
// the syntax, access and index of each OBJECT-TYPE.
//
// It is deliberately small: it understands the macro invocations MIB modules
// use (MODULE-IDENTITY, OBJECT-IDENTITY, OBJECT-TYPE, NOTIFICATION-TYPE,
// TEXTUAL-CONVENTION, the conformance macros) and plain OBJECT IDENTIFIER
// assignments, follows IMPORTS between modules, and skips MACRO definitions,
// comments and quoted text. It is strict where a silent mistake would hurt:
// a module that imports from a module that is not loaded, a name that cannot
// be resolved to an OID, or a parse error all fail Load with file and line.
//
// Typical use:
//
//	tree, err := smi.Load(fsys, "base", "modules")
//	ref, err := tree.Resolve("CISCO-TAP2-MIB::cTap2MediationStatus.1")
//	name := tree.Format(oid) // "cTap2MediationStatus.1"
package smi
