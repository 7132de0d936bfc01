package deliver

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestDropsWhenThePathIsFull throttles the element's egress with a tbf
// qdisc and checks what Linux answers a non-blocking UDP sender, and that
// nothing is lost silently: every copy a send accepted reaches the MD.
func TestDropsWhenThePathIsFull(t *testing.T) {
	tests := []struct {
		name       string
		tbfLimit   string // bytes tbf queues before dropping
		sendBuffer int
		noRecvErr  bool // clear IP_RECVERR to show why we set it
		wantErrno  unix.Errno
	}{
		{name: "full qdisc answers ENOBUFS", tbfLimit: "3000", wantErrno: unix.ENOBUFS},
		{name: "full socket buffer answers EAGAIN", tbfLimit: "10000000", sendBuffer: 4096, wantErrno: unix.EAGAIN},
		{name: "without IP_RECVERR a qdisc drop looks like success", tbfLimit: "3000", noRecvErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bd := newMDBed(t)
			bd.el.Exec(t, "tc", "qdisc", "add", "dev", "ve", "root", "tbf", "rate", "1mbit", "burst", "3000", "limit", tt.tbfLimit)
			l := bd.listen(t, mdAddr4)
			s := bd.newSender(t, Target{ContentID: 1, Dest: l.dest(t)}, Options{SendBuffer: tt.sendBuffer})
			if tt.noRecvErr {
				if err := unix.SetsockoptInt(s.fd, unix.IPPROTO_IP, unix.IP_RECVERR, 0); err != nil {
					t.Fatal(err)
				}
			}
			const total = 300
			payload := make([]byte, 1000)
			accepted, dropped := 0, 0
			for range total {
				err := s.Send(payload)
				switch {
				case err == nil:
					accepted++
				case errors.Is(err, ErrDropped):
					dropped++
					if !errors.Is(err, tt.wantErrno) {
						t.Fatalf("drop reported as %v, want %v", err, tt.wantErrno)
					}
				default:
					t.Fatalf("send: %v", err)
				}
			}
			// At 1 Mbit/s what was accepted drains within a fraction of a second.
			received := l.count(t, 400*time.Millisecond)
			t.Logf("%d sends: %d accepted, %d dropped, %d received", total, accepted, dropped, received)
			if tt.noRecvErr {
				if dropped != 0 || received >= accepted {
					t.Fatalf("without RECVERR: %d dropped, %d of %d accepted received; expected the kernel to hide drops", dropped, received, accepted)
				}
				return
			}
			if dropped == 0 || accepted+dropped != total {
				t.Fatalf("accepted %d + dropped %d, want drops and a total of %d", accepted, dropped, total)
			}
			if received != accepted {
				t.Fatalf("received %d, accepted %d: a copy was lost without an error", received, accepted)
			}
		})
	}
}

func TestBatchSendsInOrderAndReportsDrops(t *testing.T) {
	bd := newMDBed(t)
	l := bd.listen(t, mdAddr6)
	s := bd.newSender(t, Target{ContentID: 0xcafe, Dest: l.dest(t), DSCP: 10}, Options{Timestamp: true, Clock: fixedClock})
	b, err := s.NewBatch(4, 4*64)
	if err != nil {
		t.Fatal(err)
	}
	bodies := [][]byte{[]byte("one"), []byte("two"), []byte("three")}
	for i, body := range bodies {
		if slot, err := b.Add(time.Time{}, body); err != nil || slot != i {
			t.Fatalf("Add %d: slot %d, %v", i, slot, err)
		}
	}
	frame := []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xb5, 'x'}
	if _, err := b.AddTagged(fixedTime.Add(time.Second), frame, 0x8100, 42); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add(time.Time{}, []byte("five")); !errors.Is(err, ErrBatchFull) {
		t.Fatalf("fifth Add: %v, want ErrBatchFull", err)
	}
	if b.Len() != 4 {
		t.Fatalf("Len = %d", b.Len())
	}
	if sent, err := b.Flush(); sent != 4 || err != nil {
		t.Fatalf("Flush = %d, %v", sent, err)
	}
	if b.Len() != 0 {
		t.Fatalf("Len after Flush = %d", b.Len())
	}
	tagged, _ := InsertVLAN(make([]byte, 64), frame, 0x8100, 42)
	later := fixedTime.Add(time.Second)
	want := [][]byte{
		wantCopy(0xcafe, &fixedTime, bodies[0]),
		wantCopy(0xcafe, &fixedTime, bodies[1]),
		wantCopy(0xcafe, &fixedTime, bodies[2]),
		wantCopy(0xcafe, &later, tagged),
	}
	for i, w := range want {
		d, ok := l.read(t, 2*time.Second)
		if !ok || string(d.data) != string(w) || d.tos != 10<<2 {
			t.Fatalf("copy %d: %x (tclass %#x), want %x", i, d.data, d.tos, w)
		}
	}
	// The arena is full before the slots are.
	small, err := s.NewBatch(8, 40)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := small.Add(time.Time{}, make([]byte, 20)); err != nil {
		t.Fatal(err)
	}
	if _, err := small.Add(time.Time{}, make([]byte, 20)); !errors.Is(err, ErrBatchFull) {
		t.Fatalf("Add beyond the arena: %v", err)
	}
	if _, err := s.NewBatch(0, 100); err == nil {
		t.Fatal("NewBatch(0) accepted")
	}
}

func TestBatchDropsUnderLoad(t *testing.T) {
	bd := newMDBed(t)
	bd.el.Exec(t, "tc", "qdisc", "add", "dev", "ve", "root", "tbf", "rate", "1mbit", "burst", "3000", "limit", "3000")
	l := bd.listen(t, mdAddr4)
	s := bd.newSender(t, Target{ContentID: 2, Dest: l.dest(t)}, Options{})
	b, err := s.NewBatch(32, 32*1100)
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 1000)
	sent, dropped := 0, 0
	for range 10 {
		for range 32 {
			if _, err := b.Add(time.Time{}, payload); err != nil {
				t.Fatal(err)
			}
		}
		n, err := b.Flush()
		if err != nil && !errors.Is(err, ErrDropped) {
			t.Fatalf("Flush: %v", err)
		}
		sent += n
		dropped += 32 - n
	}
	received := l.count(t, 400*time.Millisecond)
	t.Logf("320 copies in batches of 32: %d sent, %d dropped, %d received", sent, dropped, received)
	if dropped == 0 || received != sent {
		t.Fatalf("sent %d, dropped %d, received %d: want drops and every sent copy received", sent, dropped, received)
	}
}
