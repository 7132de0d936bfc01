package agentx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrParse is wrapped by every error that reports a malformed PDU or frame
// (as opposed to an I/O error): the session answers such input with
// parseError, or closes with reason parseError when the stream framing
// itself is lost.
var ErrParse = errors.New("malformed AgentX PDU")

// MaxSubIDs is the largest number of sub-identifiers an OID may have, after
// expansion of the 1.3.6.1.<prefix> compression (SNMP and net-snmp's
// MAX_OID_LEN).
const MaxSubIDs = 128

// internetPrefix is the OID that the prefix byte of an encoded OID abbreviates.
var internetPrefix = [4]uint32{1, 3, 6, 1}

func parseErrorf(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, ErrParse)...)
}

// Valid reports whether t is one of the PDU types RFC 2741 defines.
func (t PDUType) Valid() bool { return t >= PDUOpen && t <= PDUResponse }

// CarriesContext reports whether a PDU of type t may carry a context octet
// string after its header (RFC 2741 §6.1): Open, Close, Response and the
// three Set-phase PDUs after TestSet never do.
func (t PDUType) CarriesContext() bool {
	switch t {
	case PDURegister, PDUUnregister, PDUGet, PDUGetNext, PDUGetBulk, PDUTestSet,
		PDUNotify, PDUPing, PDUIndexAllocate, PDUIndexDeallocate,
		PDUAddAgentCaps, PDURemoveAgentCaps:
		return true
	}
	return false
}

// order returns the byte order the flags select.
func (f Flags) order() binary.ByteOrder {
	if f&FlagNetworkByteOrder != 0 {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// payloadLength reads h.payload_length from a 20-byte header in its byte order.
func payloadLength(hdr []byte) uint32 {
	if Flags(hdr[2])&FlagNetworkByteOrder != 0 {
		return binary.BigEndian.Uint32(hdr[16:20])
	}
	return binary.LittleEndian.Uint32(hdr[16:20])
}

// ReadFrame reads one whole PDU (20-byte header + payload) from r with
// io.ReadFull, reusing buf when large enough, and returns the frame bytes.
// A payload length over maxPayload (or not a multiple of 4) is an error
// wrapping ErrParse (the caller then closes the session: parseError). A clean
// end of stream before the first header byte is an error wrapping io.EOF; a
// stream cut inside a frame wraps io.ErrUnexpectedEOF. The returned slice
// aliases buf when buf was large enough, so it is only valid until the next
// call with the same buf.
func ReadFrame(r io.Reader, buf []byte, maxPayload int) ([]byte, error) {
	if cap(buf) < HeaderSize {
		buf = make([]byte, HeaderSize, HeaderSize+256)
	}
	buf = buf[:HeaderSize]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("read AgentX header: %w", err)
	}
	n := payloadLength(buf)
	if maxPayload < 0 || uint64(n) > uint64(maxPayload) {
		return nil, parseErrorf("AgentX payload length %d exceeds the limit %d", n, maxPayload)
	}
	if n%4 != 0 {
		return nil, parseErrorf("AgentX payload length %d is not a multiple of 4", n)
	}
	total := HeaderSize + int(n)
	if cap(buf) < total {
		grown := make([]byte, total)
		copy(grown, buf)
		buf = grown
	}
	buf = buf[:total]
	if _, err := io.ReadFull(r, buf[HeaderSize:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read AgentX %s payload of %d bytes: %w", PDUType(buf[1]), n, err)
	}
	return buf, nil
}

// DecodeHeader parses only the 20-byte header. It checks the version and
// the PDU type; when one of them is wrong it still returns the parsed
// header, so the caller can name the packet in its answer or log.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, parseErrorf("AgentX header truncated: %d of %d bytes", len(b), HeaderSize)
	}
	h := Header{Version: b[0], Type: PDUType(b[1]), Flags: Flags(b[2])}
	// b[3] is reserved; RFC 2741 asks receivers to ignore reserved fields.
	bo := h.Flags.order()
	h.SessionID = bo.Uint32(b[4:8])
	h.TransactionID = bo.Uint32(b[8:12])
	h.PacketID = bo.Uint32(b[12:16])
	h.PayloadLength = bo.Uint32(b[16:20])
	if h.Version != Version {
		return h, parseErrorf("AgentX version %d, want %d", h.Version, Version)
	}
	if !h.Type.Valid() {
		return h, parseErrorf("unknown AgentX PDU type %d", uint8(h.Type))
	}
	return h, nil
}
