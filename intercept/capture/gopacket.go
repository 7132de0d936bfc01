package capture

import (
	"errors"
	"io"
	"syscall"

	"github.com/google/gopacket"
)

// The Ring is a gopacket packet source, so gopacket.NewPacketSource and the
// layers decoders work on it. CaptureInfo has no place for the direction or
// a removed VLAN tag without allocating: use Next for those.
var (
	_ gopacket.ZeroCopyPacketDataSource = (*Ring)(nil)
	_ gopacket.PacketDataSource         = (*Ring)(nil)
)

// ZeroCopyReadPacketData is Next in gopacket's terms. ErrTimeout becomes
// EAGAIN and ErrClosed io.EOF, which gopacket.PacketSource understands as
// "try again" and "stop".
func (r *Ring) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	f, err := r.Next()
	if err != nil {
		return nil, gopacket.CaptureInfo{}, gopacketError(err)
	}
	return f.Data, gopacket.CaptureInfo{
		Timestamp:      f.Timestamp,
		CaptureLength:  len(f.Data),
		Length:         f.WireLen,
		InterfaceIndex: f.IfIndex,
	}, nil
}

// ReadPacketData is ZeroCopyReadPacketData with a copy of the bytes that
// the caller may keep.
func (r *Ring) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	data, ci, err := r.ZeroCopyReadPacketData()
	if err != nil {
		return nil, ci, err
	}
	return append([]byte(nil), data...), ci, nil
}

func gopacketError(err error) error {
	switch {
	case errors.Is(err, ErrTimeout):
		return syscall.EAGAIN
	case errors.Is(err, ErrClosed):
		return io.EOF
	}
	return err
}
