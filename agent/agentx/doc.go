// Package agentx is the AgentX wire codec (RFC 2741 sections 5 and 6): it
// frames PDUs off a stream (ReadFrame), parses them (DecodeHeader, Decode)
// and builds them (Encode), for every PDU type and value type of the RFC.
//
// The package is standalone: it imports only the standard library and knows
// nothing about sessions, handlers or MIBs. The session loop lives in the
// parent package agent.
//
// Byte order: every multi-byte field of a PDU, in the header and in the
// payload, is little-endian unless the header flag FlagNetworkByteOrder is
// set, in which case it is big-endian. Decode follows the flag of the frame
// it reads; Encode follows p.Flags of the PDU it writes. Single octets (the
// OID n_subid/prefix/include bytes, timeouts, priorities) have no order.
//
// Decode never panics on malformed input, never allocates more than a small
// multiple of the frame size, and reports every defect with an error that
// wraps ErrParse, so a session can answer it with a parseError close.
package agentx
