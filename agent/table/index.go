package table

import (
	"fmt"
	"math"

	"tapagent/agent/agentx"
)

// IndexPart is one object of an INDEX clause. Its encoding into instance
// sub-identifiers follows from its Syntax (RFC 2578 §7.7):
//
//	INTEGER, Unsigned32          one sub-identifier (negative integers cannot be encoded)
//	OCTET STRING of one size     one sub-identifier per octet (MacAddress: 6)
//	other OCTET STRING           length, then one per octet; IMPLIED (last part only): no length
//	IpAddress                    4 sub-identifiers
//	OBJECT IDENTIFIER            length, then the sub-identifiers; IMPLIED: no length
//
// An InetAddress part right after an InetAddressType part must have the
// length that type requires (RFC 4001), else the index is malformed.
type IndexPart struct {
	Name    string
	Syntax  Syntax
	Implied bool
	// Column, when not 0, is a column of the table holding this index
	// value (for MIBs whose index objects are readable); rows get it filled.
	Column uint32
}

// Encode appends the sub-identifiers of v to dst.
func (p IndexPart) Encode(dst agentx.OID, v agentx.Value) (agentx.OID, error) {
	if st := p.Syntax.Validate(v); st != agentx.NoError {
		return dst, fmt.Errorf("index %s: value %v: %s", p.Name, v, st)
	}
	switch v.Type {
	case agentx.TypeInteger:
		if v.Int < 0 {
			return dst, fmt.Errorf("index %s: negative integer %d cannot be encoded", p.Name, v.Int)
		}
		return append(dst, uint32(v.Int)), nil
	case agentx.TypeGauge32, agentx.TypeTimeTicks, agentx.TypeCounter32:
		return append(dst, uint32(v.Uint)), nil
	case agentx.TypeOctetString, agentx.TypeIPAddress:
		if _, fixed := p.Syntax.fixedSize(); !fixed && !p.Implied {
			dst = append(dst, uint32(len(v.Bytes)))
		}
		for _, b := range v.Bytes {
			dst = append(dst, uint32(b))
		}
		return dst, nil
	case agentx.TypeObjectIdentifier:
		if !p.Implied {
			dst = append(dst, uint32(len(v.OID)))
		}
		return append(dst, v.OID...), nil
	}
	return dst, fmt.Errorf("index %s: type %s cannot be an index", p.Name, v.Type)
}

// Decode reads one value from the front of subids and returns it with the
// sub-identifiers left over. ok is false when subids do not hold a valid
// value of this part.
func (p IndexPart) Decode(subids []uint32) (v agentx.Value, rest []uint32, ok bool) {
	s := p.Syntax
	switch s.Type {
	case agentx.TypeInteger:
		if len(subids) == 0 || subids[0] > math.MaxInt32 {
			return v, subids, false
		}
		v = agentx.Value{Type: s.Type, Int: int64(subids[0])}
		rest = subids[1:]
	case agentx.TypeGauge32, agentx.TypeTimeTicks, agentx.TypeCounter32:
		if len(subids) == 0 {
			return v, subids, false
		}
		v = agentx.Value{Type: s.Type, Uint: uint64(subids[0])}
		rest = subids[1:]
	case agentx.TypeOctetString, agentx.TypeIPAddress:
		n, fixed := s.fixedSize()
		body := subids
		switch {
		case fixed:
		case p.Implied:
			n = len(subids)
		default:
			if len(subids) == 0 {
				return v, subids, false
			}
			n, body = int(subids[0]), subids[1:]
			if subids[0] > math.MaxUint16 {
				return v, subids, false
			}
		}
		if n > len(body) {
			return v, subids, false
		}
		b := make([]byte, n)
		for i, x := range body[:n] {
			if x > 255 {
				return v, subids, false
			}
			b[i] = byte(x)
		}
		v = agentx.Value{Type: s.Type, Bytes: b}
		rest = body[n:]
	case agentx.TypeObjectIdentifier:
		n, body := len(subids), subids
		if !p.Implied {
			if len(subids) == 0 || subids[0] > uint32(len(subids)-1) {
				return v, subids, false
			}
			n, body = int(subids[0]), subids[1:]
		}
		v = agentx.Value{Type: s.Type, OID: agentx.OID(body[:n]).Clone()}
		rest = body[n:]
	default:
		return v, subids, false
	}
	if s.Validate(v) != agentx.NoError {
		return agentx.Value{}, subids, false
	}
	return v, rest, true
}

// checkIndexParts rejects index declarations that cannot be encoded.
func checkIndexParts(parts []IndexPart) error {
	if len(parts) == 0 {
		return fmt.Errorf("no index")
	}
	for i, p := range parts {
		s := p.Syntax
		switch s.Type {
		case agentx.TypeInteger:
			for _, r := range s.Ranges {
				if r.Min < 0 {
					return fmt.Errorf("index %s: negative range %d..%d cannot be encoded", p.Name, r.Min, r.Max)
				}
			}
			for _, e := range s.Enums {
				if e < 0 {
					return fmt.Errorf("index %s: negative enum %d cannot be encoded", p.Name, e)
				}
			}
			if len(s.Ranges) == 0 && len(s.Enums) == 0 {
				return fmt.Errorf("index %s: INTEGER index needs a non-negative range", p.Name)
			}
		case agentx.TypeGauge32, agentx.TypeTimeTicks, agentx.TypeCounter32,
			agentx.TypeOctetString, agentx.TypeIPAddress, agentx.TypeObjectIdentifier:
		default:
			return fmt.Errorf("index %s: type %s cannot be an index", p.Name, s.Type)
		}
		if p.Implied {
			_, fixed := s.fixedSize()
			varLen := (s.Type == agentx.TypeOctetString && !fixed) || s.Type == agentx.TypeObjectIdentifier
			if i != len(parts)-1 || !varLen {
				return fmt.Errorf("index %s: IMPLIED only applies to a last variable-length part", p.Name)
			}
		}
	}
	return nil
}

// encodeIndex encodes a whole index (or, for prefix searches, its first
// parts) into instance sub-identifiers.
func encodeIndex(parts []IndexPart, vals []agentx.Value) (agentx.OID, error) {
	if len(vals) > len(parts) {
		return nil, fmt.Errorf("index has %d values, table has %d index parts", len(vals), len(parts))
	}
	key := make(agentx.OID, 0, 2*len(vals))
	var err error
	for i, v := range vals {
		if key, err = parts[i].Encode(key, v); err != nil {
			return nil, err
		}
	}
	if err := checkInetPairs(parts, vals); err != nil {
		return nil, err
	}
	return key, nil
}

// decodeIndex decodes the instance part of an OID into index values; ok is
// false for anything but exactly one well-formed index.
func decodeIndex(parts []IndexPart, subids []uint32) ([]agentx.Value, bool) {
	vals := make([]agentx.Value, len(parts))
	rest := subids
	for i, p := range parts {
		var ok bool
		if vals[i], rest, ok = p.Decode(rest); !ok {
			return nil, false
		}
	}
	if len(rest) != 0 || checkInetPairs(parts, vals) != nil {
		return nil, false
	}
	return vals, true
}

// checkInetPairs applies RFC 4001's rule that an InetAddress index has the
// length its preceding InetAddressType demands.
func checkInetPairs(parts []IndexPart, vals []agentx.Value) error {
	for i := 1; i < len(vals); i++ {
		if parts[i].Syntax.tc == tcInetAddress && parts[i-1].Syntax.tc == tcInetAddressType &&
			!InetAddressFits(vals[i-1].Int, vals[i].Bytes) {
			return fmt.Errorf("index %s: %d octets do not fit address type %d",
				parts[i].Name, len(vals[i].Bytes), vals[i-1].Int)
		}
	}
	return nil
}
