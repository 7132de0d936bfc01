package deliver

import (
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// UDP_MAX_SEGMENTS of the kernel: 128 since Linux 6.9 (gso_size times
// segments must not exceed it), 64 before; gsoRefused learns the older limit.
const (
	maxGSOSegments    = 128
	oldMaxGSOSegments = 64
)

// pathMaxSeg is the largest datagram payload that leaves unfragmented on
// the connected route (IP_MTU / IPV6_MTU less the IP and UDP headers);
// 0 when the kernel does not say, which keeps every copy out of GSO runs.
func (s *Sender) pathMaxSeg() int {
	level, opt, hdrs := unix.IPPROTO_IP, unix.IP_MTU, 20+8
	if s.target.Dest.Addr().Is6() {
		level, opt, hdrs = unix.IPPROTO_IPV6, unix.IPV6_MTU, 40+8
	}
	mtu, err := unix.GetsockoptInt(s.fd, level, opt)
	if err != nil || mtu <= hdrs {
		return 0
	}
	return mtu - hdrs
}

// gsoRefused adapts to the kernel refusing a GSO message of segs datagrams
// with errno e and reports whether the message is worth planning again:
//   - EINVAL with more than 64 segments: a kernel before 6.9, whose limit
//     is 64;
//   - EMSGSIZE: the path MTU shrank below the segment size; read it again;
//   - EIO (older kernels when the device lacks transmit checksum offload;
//     IPsec), EINVAL (UDP checksums off, SO_NO_CHECK) and an EMSGSIZE with
//     no smaller MTU to be read: GSO is off for this socket.
//
// Each answer shrinks what GSO may do, so Flush cannot loop.
func (s *Sender) gsoRefused(e unix.Errno, segs int) bool {
	if s.gsoSegs == 0 {
		return false
	}
	switch {
	case e == unix.EINVAL && segs > oldMaxGSOSegments && s.gsoSegs > oldMaxGSOSegments:
		s.gsoSegs = oldMaxGSOSegments
		return true
	case e == unix.EMSGSIZE:
		if seg := s.pathMaxSeg(); seg > 0 && seg < s.gsoMaxSeg {
			s.gsoMaxSeg = seg
			return true
		}
	case e != unix.EINVAL && e != unix.EIO:
		return false // not a refusal: the run is dropped like a datagram
	}
	s.gsoSegs = 0
	return true
}

// GSOSegments is how many copies one Batch message may carry (UDP GSO,
// Linux 4.18 and later): 128 or 64 as the kernel allows, 0 when GSO is off
// (Options.NoGSO, or the kernel refused it on this socket).
func (s *Sender) GSOSegments() int { return s.gsoSegs }

// Queue disciplines that may cut a GSO packet into its datagrams and drop
// some of them while reporting the packet sent (tbf when the packet
// exceeds its burst, cake with split-gso, taprio, netem): behind them a
// copy would be lost without being counted, so GSO stays off.
var gsoSplitters = map[string]bool{"tbf": true, "cake": true, "taprio": true, "netem": true}

// splitsGSO reports whether the interface that routes to dest has such a
// queue discipline, at any level. It answers for the moment the sender is
// made; a shaper added later is not seen.
func splitsGSO(dest netip.Addr) bool {
	routes, err := netlink.RouteGet(dest.AsSlice())
	if err != nil || len(routes) == 0 {
		return false // no route yet: connect succeeded, sends will tell
	}
	link, err := netlink.LinkByIndex(routes[0].LinkIndex)
	if err != nil {
		return false
	}
	qdiscs, err := netlink.QdiscList(link)
	if err != nil {
		return false
	}
	for _, q := range qdiscs {
		if gsoSplitters[q.Type()] {
			return true
		}
	}
	return false
}
