package netlab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// TCPExchange describes N short TCP connections from a client host to a
// listener the lab starts in the server namespace: each connection sends
// Payload, half-closes, reads the echo and closes.
type TCPExchange struct {
	Client *Host
	Server *NS
	// Dst is the server's address and port; the listener binds to it.
	Dst     netip.AddrPort
	Conns   int // 1..1000
	Payload []byte
	// Timeout bounds the whole exchange; default 10 s.
	Timeout time.Duration
}

// IPPacket is an IP packet recorded on an interface.
type IPPacket struct {
	Data     []byte // from the first IP header byte
	Outgoing bool
}

// TCPResult is what the connections put on the client's link.
type TCPResult struct {
	// Ports are the client's source ports, one per connection.
	Ports []uint16
	// Packets are all packets of those connections on the client's eth0,
	// both directions, in order, byte for byte.
	Packets []IPPacket
}

// RunTCP runs the exchange and records its packets on the client's link.
func RunTCP(x TCPExchange) (TCPResult, error) {
	var res TCPResult
	if x.Conns < 1 || x.Conns > 1000 {
		return res, fmt.Errorf("tcp: %d connections outside 1..1000", x.Conns)
	}
	if x.Timeout <= 0 {
		x.Timeout = 10 * time.Second
	}
	deadline := time.Now().Add(x.Timeout)
	var ln net.Listener
	err := x.Server.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", x.Dst.String())
		return err
	})
	if err != nil {
		return res, fmt.Errorf("tcp: listen in %s: %w", x.Server.Name, err)
	}
	var wg sync.WaitGroup
	serverErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		serverErr <- echoServer(ln, x.Conns, deadline)
	}()
	defer func() { ln.Close(); wg.Wait() }()

	sn, err := x.Client.Sniff(x.Client.If.Name)
	if err != nil {
		return res, err
	}
	defer sn.Close()

	err = x.Client.Do(func() error {
		d := net.Dialer{Deadline: deadline}
		for i := range x.Conns {
			c, err := d.Dial("tcp", x.Dst.String())
			if err != nil {
				return fmt.Errorf("connection %d: %w", i+1, err)
			}
			res.Ports = append(res.Ports, uint16(c.LocalAddr().(*net.TCPAddr).Port))
			err = clientExchange(c.(*net.TCPConn), x.Payload, deadline)
			c.Close()
			if err != nil {
				return fmt.Errorf("connection %d: %w", i+1, err)
			}
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("tcp from %s: %w", x.Client.Name, err)
	}
	ln.Close()
	wg.Wait()
	if err := <-serverErr; err != nil {
		return res, fmt.Errorf("tcp server in %s: %w", x.Server.Name, err)
	}
	ports := map[uint16]bool{}
	for _, p := range res.Ports {
		ports[p] = true
	}
	ours := func(f SniffedFrame) bool { return tcpOfFlow(f.Data, x.Dst, ports) }
	// The final ACKs leave the kernel after the last read returned.
	for _, f := range sn.WaitQuiet(ours, 100*time.Millisecond, time.Until(deadline)) {
		res.Packets = append(res.Packets, IPPacket{Data: l3(f.Data), Outgoing: f.Outgoing})
	}
	return res, sn.Err()
}

func echoServer(ln net.Listener, n int, deadline time.Time) error {
	for range n {
		c, err := ln.Accept()
		if err != nil {
			return fmt.Errorf("accept: %w", err)
		}
		c.SetDeadline(deadline)
		data, err := io.ReadAll(c)
		if err == nil {
			_, err = c.Write(data)
		}
		c.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func clientExchange(c *net.TCPConn, payload []byte, deadline time.Time) error {
	c.SetDeadline(deadline)
	if _, err := c.Write(payload); err != nil {
		return err
	}
	if err := c.CloseWrite(); err != nil {
		return err
	}
	echo, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if string(echo) != string(payload) {
		return errors.New("echo differs from what was sent")
	}
	return nil
}

// l3 strips the Ethernet header (and one 802.1Q tag) from a frame.
func l3(frame []byte) []byte {
	if len(frame) < 14 {
		return nil
	}
	off := 14
	if binary.BigEndian.Uint16(frame[12:]) == EtherTypeVLAN {
		off = 18
	}
	if len(frame) < off {
		return nil
	}
	return frame[off:]
}

// tcpOfFlow reports whether frame is a TCP packet between one of ports and
// server, in either direction.
func tcpOfFlow(frame []byte, server netip.AddrPort, ports map[uint16]bool) bool {
	p := l3(frame)
	src, dst, proto, l4, ok := ipHeader(p)
	if !ok || proto != ProtoTCP || len(l4) < 4 {
		return false
	}
	sport, dport := binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:])
	s := netip.AddrPortFrom(src, sport)
	d := netip.AddrPortFrom(dst, dport)
	return (d == server && ports[sport]) || (s == server && ports[dport])
}

// ipHeader splits an IPv4 or IPv6 packet (no extension headers) into its
// addresses, protocol and layer-4 bytes.
func ipHeader(p []byte) (src, dst netip.Addr, proto uint8, l4 []byte, ok bool) {
	switch {
	case len(p) >= 20 && p[0]>>4 == 4:
		ihl := int(p[0]&0x0f) * 4
		if ihl < 20 || len(p) < ihl {
			return
		}
		src = netip.AddrFrom4([4]byte(p[12:16]))
		dst = netip.AddrFrom4([4]byte(p[16:20]))
		return src, dst, p[9], p[ihl:], true
	case len(p) >= 40 && p[0]>>4 == 6:
		src = netip.AddrFrom16([16]byte(p[8:24]))
		dst = netip.AddrFrom16([16]byte(p[24:40]))
		return src, dst, p[6], p[40:], true
	}
	return
}
