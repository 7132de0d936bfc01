package classify

import "math/bits"

// table64 maps uint64 keys (IPv4 addresses, MACs, ifIndexes, EtherTypes) to
// the first tap of a chain. It is a flat open-addressing table with linear
// probing kept at most half full: a lookup is one multiply and, nearly
// always, one cache line, where a Go map walks a directory, a table and a
// group. Keys come from the taps, not from packets, so packets cannot make
// probe sequences longer.
type table64 struct {
	slots []slot64 // length a power of two
	shift uint     // 64 - log2(len(slots))
	n     int
}

type slot64 struct {
	key  uint64
	head int32 // first tap + 1; 0 = empty slot
}

func hash64(k uint64) uint64 { return k * 0x9E3779B97F4A7C15 } // Fibonacci hashing: use the top bits

// get returns the chain head for k.
func (t *table64) get(k uint64) (int32, bool) {
	if t.n == 0 {
		return -1, false
	}
	mask := len(t.slots) - 1
	for i := int(hash64(k) >> t.shift); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.head == 0 {
			return -1, false
		}
		if s.key == k {
			return s.head - 1, true
		}
	}
}

// push prepends tap i to the chain of k: *next gets the previous head.
func (t *table64) push(k uint64, i int32, next *int32) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	s := t.find(k)
	if s.head != 0 {
		*next = s.head - 1
	} else {
		s.key = k
		t.n++
	}
	s.head = i + 1
}

// find returns k's slot, or the empty slot where k belongs.
func (t *table64) find(k uint64) *slot64 {
	mask := len(t.slots) - 1
	for i := int(hash64(k) >> t.shift); ; i = (i + 1) & mask {
		if s := &t.slots[i]; s.head == 0 || s.key == k {
			return s
		}
	}
}

func (t *table64) grow() {
	size := max(16, 2*len(t.slots))
	old := t.slots
	t.slots = make([]slot64, size)
	t.shift = uint(64 - bits.TrailingZeros(uint(size)))
	for _, s := range old {
		if s.head != 0 {
			*t.find(s.key) = s
		}
	}
}

// len returns the number of keys.
func (t *table64) len() int { return t.n }
