package classify

import (
	"cmp"
	"net"
	"net/netip"
	"slices"

	"tapagent/intercept"
)

// Config is what Build needs: the armed taps and the facts of the box that
// give meaning to the special interface values. The functions are called
// during Build only, except VRFOf.
type Config struct {
	Taps []intercept.Tap
	// RouteIfIndex returns the ifIndex routing picks for the prefix, for IP
	// filters with Interface -1. nil, or a result <= 0, means unknown: the
	// filter then matches on any interface.
	RouteIfIndex func(p netip.Prefix) int
	// LearnedPort returns the ifIndex of the bridge port where mac was
	// learned, for 802 filters with Interface -1 and for cmMacAddress.
	// nil, or a result <= 0, means unknown (see doc.go for the fallbacks).
	LearnedPort func(mac net.HardwareAddr) int
	// VRFOf returns the name of the VRF an interface belongs to, "" for the
	// global table. It is called at match time, at most once per packet and
	// only when a candidate IP tap is checked, so it must be cheap, must not
	// allocate and must be safe for concurrent use (e.g. a read of an
	// immutable map replaced with the classifier). nil: every interface is
	// in the global table.
	VRFOf func(ifIndex int) string
}

// Packet is one captured frame.
type Packet struct {
	// Data is the Ethernet frame as captured, from the destination MAC on,
	// without FCS. The kernel may have stripped one VLAN tag (HasVLAN).
	Data []byte
	// IfIndex is the interface the frame was seen on.
	IfIndex int
	// Outgoing is true when the frame was seen leaving the box
	// (PACKET_OUTGOING). Matching ignores it; the delivery uses it to send
	// one copy of a packet seen on ingress and egress.
	Outgoing bool
	// VLAN and HasVLAN carry a tag the kernel stripped from Data. Matching
	// does not need them (no filter names a VLAN); an 802 delivery puts the
	// tag back into the frame.
	VLAN    uint16
	HasVLAN bool
}

// Layer says which part of a frame a mediation device receives.
type Layer uint8

const (
	// LayerIP: the IP packet, from its first header byte (IP taps).
	LayerIP Layer = 1
	// LayerEthernet: the whole frame (802 taps).
	LayerEthernet Layer = 2
)

func (l Layer) String() string {
	switch l {
	case LayerIP:
		return "ip"
	case LayerEthernet:
		return "ethernet"
	}
	return "layer?"
}

// MDTarget is a mediation device with at least one armed tap. A Classifier
// hands out one stable pointer per device.
type MDTarget struct {
	// Index is dense, 0..len(Classifier.MDs())-1, for per-device arrays.
	Index     int
	Mediation intercept.Mediation
	// Streams lists the device's armed streams in this classifier, sorted.
	Streams []intercept.StreamKey
}

// Hit is one copy to deliver: the packet matched streams of one mediation
// device.
type Hit struct {
	MD *MDTarget
	// Streams lists every matching stream of MD once, sorted, so each
	// stream's counter can be incremented. Its backing array belongs to the
	// dst slot the Hit was written in and is reused by the next Match with
	// the same dst: copy it to keep it longer.
	Streams []intercept.StreamKey
	// Layer and Offset say what to deliver: Data[Offset:]. An IP tap
	// delivers from the IP header; an 802 tap, or a mix of IP and 802 taps
	// of one device, delivers the whole frame (Offset 0).
	Layer  Layer
	Offset int
}

// MakeHits returns an empty Hit slice with room for n hits of up to 4
// streams each, so Match does not allocate from its first call on.
func MakeHits(n int) []Hit {
	const perHit = 4
	hits := make([]Hit, n)
	keys := make([]intercept.StreamKey, n*perHit)
	for i := range hits {
		hits[i].Streams = keys[i*perHit : i*perHit : (i+1)*perHit]
	}
	return hits[:0]
}

// Classifier matches frames against the taps it was built from. It is
// immutable: Match may run on any number of goroutines; a change of taps
// means a new Classifier.
type Classifier struct {
	mds   []*MDTarget
	ip    []ipTap
	mac   []macTap
	vrfOf func(int) string

	// IP indexes: every IP tap is in exactly one of them, chosen by its most
	// selective field; a bucket holds the first tap of a chain (ipTap.next).
	dstHost4, srcHost4 table64
	dstHost6, srcHost6 map[addr128]int32
	dstPfx4, srcPfx4   []prefixIndex[uint32] // longest first
	dstPfx6, srcPfx6   []prefixIndex[addr128]
	ipByIf             table64  // no address, a fixed interface
	ipWild             [2]int32 // no address, any interface

	// 802 indexes, same scheme.
	dstMAC, srcMAC, eitherMAC table64
	macByIf                   table64 // interface or modem port
	macByType                 table64
	macWild                   int32
}

// prefixIndex holds the taps of one prefix length (not host routes),
// keyed by the masked address. Few prefixes of a length: a slice scanned
// without hashing; more: a map.
type prefixIndex[K comparable] struct {
	bits  int
	mask  addr128
	small []prefixBucket[K]
	m     map[K]int32
}

type prefixBucket[K comparable] struct {
	key  K
	head int32
}

const smallPrefixIndex = 8

func (pi *prefixIndex[K]) lookup(k K) (int32, bool) {
	if pi.m == nil {
		for i := range pi.small {
			if pi.small[i].key == k {
				return pi.small[i].head, true
			}
		}
		return -1, false
	}
	h, ok := pi.m[k]
	return h, ok
}

// push prepends tap i to the chain of key k.
func (pi *prefixIndex[K]) push(k K, i int32, next *int32) {
	if pi.m != nil {
		push(&pi.m, k, i, next)
		return
	}
	for j := range pi.small {
		if pi.small[j].key == k {
			*next, pi.small[j].head = pi.small[j].head, i
			return
		}
	}
	if len(pi.small) < smallPrefixIndex {
		pi.small = append(pi.small, prefixBucket[K]{k, i})
		return
	}
	pi.m = make(map[K]int32, 2*smallPrefixIndex)
	for _, b := range pi.small {
		pi.m[b.key] = b.head
	}
	pi.small = nil
	push(&pi.m, k, i, next)
}

func addPrefix[K comparable](l *[]prefixIndex[K], bits int, k K, i int32, next *int32) {
	for j := range *l {
		if (*l)[j].bits == bits {
			(*l)[j].push(k, i, next)
			return
		}
	}
	pi := prefixIndex[K]{bits: bits, mask: maskOf(bits)}
	pi.push(k, i, next)
	*l = append(*l, pi)
}

func longestFirst[K comparable](l []prefixIndex[K]) {
	slices.SortFunc(l, func(a, b prefixIndex[K]) int { return cmp.Compare(b.bits, a.bits) })
}

func key4(a addr128) uint32 { return uint32(a.hi >> 32) }

// Len returns the number of taps the classifier matches on: the taps given
// minus those that can never match.
func (c *Classifier) Len() int { return len(c.ip) + len(c.mac) }

// MDs returns the mediation devices, by Index.
func (c *Classifier) MDs() []*MDTarget { return c.mds }

// Build compiles the taps of cfg. Taps without a filter, with a filter that
// can never match, or repeating a stream key already seen are left out.
func Build(cfg Config) *Classifier {
	c := &Classifier{vrfOf: cfg.VRFOf, ipWild: [2]int32{-1, -1}, macWild: -1}
	byID := make(map[intercept.ContentID]*MDTarget)
	seen := make(map[intercept.StreamKey]bool, len(cfg.Taps))
	mdOf := func(m intercept.Mediation) *MDTarget {
		md := byID[m.ContentID]
		if md == nil {
			md = &MDTarget{Mediation: m}
			byID[m.ContentID] = md
			c.mds = append(c.mds, md)
		}
		return md
	}
	for i := range cfg.Taps {
		tap := &cfg.Taps[i]
		switch {
		case tap.IP != nil:
			if seen[tap.IP.Key] {
				continue
			}
			if t, ok := compileIP(tap.IP, &cfg); ok {
				seen[tap.IP.Key] = true
				t.md = mdOf(tap.Mediation)
				c.ip = append(c.ip, t)
			}
		case tap.MAC != nil:
			if seen[tap.MAC.Key] {
				continue
			}
			if t, ok := compileMAC(tap.MAC, &cfg); ok {
				seen[tap.MAC.Key] = true
				t.md = mdOf(tap.Mediation)
				c.mac = append(c.mac, t)
			}
		}
	}
	slices.SortFunc(c.mds, func(a, b *MDTarget) int { return cmp.Compare(a.Mediation.ContentID, b.Mediation.ContentID) })
	for i, md := range c.mds {
		md.Index = i
	}
	for i := range c.ip {
		c.ip[i].md.Streams = append(c.ip[i].md.Streams, c.ip[i].key)
	}
	for i := range c.mac {
		c.mac[i].md.Streams = append(c.mac[i].md.Streams, c.mac[i].key)
	}
	for _, md := range c.mds {
		slices.SortFunc(md.Streams, compareKeys)
	}
	c.indexIP()
	c.indexMAC()
	return c
}

func compareKeys(a, b intercept.StreamKey) int {
	if a.ContentID != b.ContentID {
		return cmp.Compare(a.ContentID, b.ContentID)
	}
	return cmp.Compare(a.Index, b.Index)
}

// push prepends tap i to the chain in bucket k of m, creating m.
func push[K comparable](m *map[K]int32, k K, i int32, next *int32) {
	if *m == nil {
		*m = make(map[K]int32)
	}
	if head, ok := (*m)[k]; ok {
		*next = head
	}
	(*m)[k] = i
}

func familyIndex(family uint8) int {
	if family == 6 {
		return 1
	}
	return 0
}

// indexIP files every IP tap under its most selective field: a host
// address, else the longest prefix, else its interface, else the wildcard
// list. Taps are pushed last first so chains keep the input order.
func (c *Classifier) indexIP() {
	for i := len(c.ip) - 1; i >= 0; i-- {
		t := &c.ip[i]
		fi := familyIndex(t.family)
		host := uint8(32)
		if t.family == 6 {
			host = 128
		}
		switch {
		case t.dstBits == host && t.family == 4:
			c.dstHost4.push(uint64(key4(t.dst)), int32(i), &t.next)
		case t.dstBits == host:
			push(&c.dstHost6, t.dst, int32(i), &t.next)
		case t.srcBits == host && t.family == 4:
			c.srcHost4.push(uint64(key4(t.src)), int32(i), &t.next)
		case t.srcBits == host:
			push(&c.srcHost6, t.src, int32(i), &t.next)
		case t.dstBits > 0 && t.dstBits >= t.srcBits && t.family == 4:
			addPrefix(&c.dstPfx4, int(t.dstBits), key4(t.dst), int32(i), &t.next)
		case t.dstBits > 0 && t.dstBits >= t.srcBits:
			addPrefix(&c.dstPfx6, int(t.dstBits), t.dst, int32(i), &t.next)
		case t.srcBits > 0 && t.family == 4:
			addPrefix(&c.srcPfx4, int(t.srcBits), key4(t.src), int32(i), &t.next)
		case t.srcBits > 0:
			addPrefix(&c.srcPfx6, int(t.srcBits), t.src, int32(i), &t.next)
		case t.ifIndex > 0:
			c.ipByIf.push(uint64(t.ifIndex), int32(i), &t.next)
		default:
			t.next = c.ipWild[fi]
			c.ipWild[fi] = int32(i)
		}
	}
	longestFirst(c.dstPfx4)
	longestFirst(c.srcPfx4)
	longestFirst(c.dstPfx6)
	longestFirst(c.srcPfx6)
}

// indexMAC files every 802 tap under a MAC it needs, else its interface,
// else its EtherType, else the wildcard list.
func (c *Classifier) indexMAC() {
	for i := len(c.mac) - 1; i >= 0; i-- {
		t := &c.mac[i]
		switch {
		case t.need&needDst != 0:
			c.dstMAC.push(t.dst, int32(i), &t.next)
		case t.need&needSrc != 0:
			c.srcMAC.push(t.src, int32(i), &t.next)
		case t.need&needEither != 0:
			c.eitherMAC.push(t.either, int32(i), &t.next)
		case t.need&needIf != 0:
			c.macByIf.push(uint64(t.ifIndex), int32(i), &t.next)
		case t.need&needPort != 0:
			c.macByIf.push(uint64(t.cmPort), int32(i), &t.next)
		case t.need&needType != 0:
			c.macByType.push(uint64(t.etherType), int32(i), &t.next)
		default:
			t.next = c.macWild
			c.macWild = int32(i)
		}
	}
}

// Match appends to dst one Hit per mediation device with a tap matching p,
// and returns dst. Hits are ordered by MDTarget.Index. It does not allocate
// when dst has room for the hits (see MakeHits) and their streams.
func (c *Classifier) Match(p *Packet, dst []Hit) []Hit {
	var f frame
	if !f.decode(p.Data) {
		return dst
	}
	start := len(dst)
	switch f.family {
	case 4:
		dst = c.matchIPv4(p, &f, dst, start)
	case 6:
		dst = c.matchIPv6(p, &f, dst, start)
	}
	if f.family != 0 {
		fi := familyIndex(f.family)
		if h, ok := c.ipByIf.get(uint64(p.IfIndex)); ok {
			dst = c.walkIP(h, p, &f, dst, start)
		}
		dst = c.walkIP(c.ipWild[fi], p, &f, dst, start)
	}
	if len(c.mac) > 0 {
		dst = c.matchMAC(p, &f, dst, start)
	}
	sortHits(dst[start:])
	return dst
}

func (c *Classifier) matchIPv4(p *Packet, f *frame, dst []Hit, start int) []Hit {
	d, s := key4(f.dst), key4(f.src)
	if h, ok := c.dstHost4.get(uint64(d)); ok {
		dst = c.walkIP(h, p, f, dst, start)
	}
	if h, ok := c.srcHost4.get(uint64(s)); ok {
		dst = c.walkIP(h, p, f, dst, start)
	}
	for i := range c.dstPfx4 {
		pi := &c.dstPfx4[i]
		if h, ok := pi.lookup(d & key4(pi.mask)); ok {
			dst = c.walkIP(h, p, f, dst, start)
		}
	}
	for i := range c.srcPfx4 {
		pi := &c.srcPfx4[i]
		if h, ok := pi.lookup(s & key4(pi.mask)); ok {
			dst = c.walkIP(h, p, f, dst, start)
		}
	}
	return dst
}

func (c *Classifier) matchIPv6(p *Packet, f *frame, dst []Hit, start int) []Hit {
	if len(c.dstHost6) > 0 {
		if h, ok := c.dstHost6[f.dst]; ok {
			dst = c.walkIP(h, p, f, dst, start)
		}
	}
	if len(c.srcHost6) > 0 {
		if h, ok := c.srcHost6[f.src]; ok {
			dst = c.walkIP(h, p, f, dst, start)
		}
	}
	for i := range c.dstPfx6 {
		pi := &c.dstPfx6[i]
		if h, ok := pi.lookup(f.dst.and(pi.mask)); ok {
			dst = c.walkIP(h, p, f, dst, start)
		}
	}
	for i := range c.srcPfx6 {
		pi := &c.srcPfx6[i]
		if h, ok := pi.lookup(f.src.and(pi.mask)); ok {
			dst = c.walkIP(h, p, f, dst, start)
		}
	}
	return dst
}

func (c *Classifier) matchMAC(p *Packet, f *frame, dst []Hit, start int) []Hit {
	if h, ok := c.dstMAC.get(f.dstMAC); ok {
		dst = c.walkMAC(h, p, f, dst, start)
	}
	if h, ok := c.srcMAC.get(f.srcMAC); ok {
		dst = c.walkMAC(h, p, f, dst, start)
	}
	if c.eitherMAC.len() > 0 {
		if h, ok := c.eitherMAC.get(f.srcMAC); ok {
			dst = c.walkMAC(h, p, f, dst, start)
		}
		if f.dstMAC != f.srcMAC { // else the same taps again
			if h, ok := c.eitherMAC.get(f.dstMAC); ok {
				dst = c.walkMAC(h, p, f, dst, start)
			}
		}
	}
	if h, ok := c.macByIf.get(uint64(p.IfIndex)); ok {
		dst = c.walkMAC(h, p, f, dst, start)
	}
	if f.hasType {
		if h, ok := c.macByType.get(uint64(f.etherType)); ok {
			dst = c.walkMAC(h, p, f, dst, start)
		}
	}
	return c.walkMAC(c.macWild, p, f, dst, start)
}

func (c *Classifier) walkIP(i int32, p *Packet, f *frame, dst []Hit, start int) []Hit {
	for ; i >= 0; i = c.ip[i].next {
		t := &c.ip[i]
		if t.match(p, f, c.vrfOf) {
			dst = addHit(dst, start, t.md, t.key, LayerIP, f.l3)
		}
	}
	return dst
}

func (c *Classifier) walkMAC(i int32, p *Packet, f *frame, dst []Hit, start int) []Hit {
	for ; i >= 0; i = c.mac[i].next {
		t := &c.mac[i]
		if t.match(p, f) {
			dst = addHit(dst, start, t.md, t.key, LayerEthernet, 0)
		}
	}
	return dst
}

// addHit records that stream k of md matched: into md's Hit among
// dst[start:] if there is one, else into a new Hit that reuses the slot's
// Streams array. Every tap sits in one index bucket and each bucket is
// visited once per packet, so a stream cannot be added twice.
func addHit(dst []Hit, start int, md *MDTarget, k intercept.StreamKey, l Layer, off int) []Hit {
	for i := start; i < len(dst); i++ {
		h := &dst[i]
		if h.MD != md {
			continue
		}
		h.Streams = append(h.Streams, k)
		if l == LayerEthernet {
			h.Layer, h.Offset = LayerEthernet, 0
		}
		return dst
	}
	n := len(dst)
	if n == cap(dst) {
		return append(dst, Hit{MD: md, Streams: []intercept.StreamKey{k}, Layer: l, Offset: off})
	}
	dst = dst[:n+1]
	h := &dst[n]
	h.MD, h.Streams, h.Layer, h.Offset = md, append(h.Streams[:0], k), l, off
	return dst
}

// sortHits orders hits by device and each hit's streams by key: insertion
// sorts, as a packet hits few devices and few streams.
func sortHits(hits []Hit) {
	for i := 1; i < len(hits); i++ {
		for j := i; j > 0 && hits[j].MD.Index < hits[j-1].MD.Index; j-- {
			hits[j], hits[j-1] = hits[j-1], hits[j]
		}
	}
	for i := range hits {
		s := hits[i].Streams
		for a := 1; a < len(s); a++ {
			for b := a; b > 0 && compareKeys(s[b], s[b-1]) < 0; b-- {
				s[b], s[b-1] = s[b-1], s[b]
			}
		}
	}
}
