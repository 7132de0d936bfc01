package agent

import "tapagent/agent/agentx"

// requestKey names one request of the master. snmpd resends a request it got
// no answer for with the same key (same packet id) every agentxTimeout.
type requestKey struct {
	session, transaction, packet uint32
	typ                          agentx.PDUType
}

func keyOf(h *agentx.Header) requestKey {
	return requestKey{h.SessionID, h.TransactionID, h.PacketID, h.Type}
}

// recentRequests remembers the last few request keys so a resent request
// that is queued, in progress or already answered is dropped instead of
// being executed (and answered) twice. snmpd gives up after 6 resends, so a
// small window is plenty. Owned by the reader goroutine: no lock.
type recentRequests struct {
	ring []requestKey
	next int
	seen map[requestKey]struct{}
}

const recentRequestsSize = 256

func newRecentRequests(size int) *recentRequests {
	return &recentRequests{ring: make([]requestKey, 0, size), seen: make(map[requestKey]struct{}, size)}
}

// firstTime records k and reports whether it was new.
func (r *recentRequests) firstTime(k requestKey) bool {
	if _, dup := r.seen[k]; dup {
		return false
	}
	if len(r.ring) < cap(r.ring) {
		r.ring = append(r.ring, k)
	} else {
		delete(r.seen, r.ring[r.next])
		r.ring[r.next] = k
		r.next = (r.next + 1) % len(r.ring)
	}
	r.seen[k] = struct{}{}
	return true
}
