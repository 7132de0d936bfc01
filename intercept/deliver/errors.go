package deliver

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Every error of Send, SendAt, SendTagged and Batch.Flush means the copy was
// not handed to the kernel: the caller counts it as a drop. The kinds below
// tell why; errors.Is also matches the underlying errno (unix.ENOBUFS, …).
var (
	// ErrDropped: no room to send now — the socket send buffer is full
	// (EAGAIN) or the egress queue discipline dropped it (ENOBUFS). Never
	// waits: capture must not stall behind a slow mediation path.
	ErrDropped = errors.New("deliver: dropped, send queue full")
	// ErrUnreachable: the kernel reports the mediation device unreachable:
	// an ICMP error to an earlier datagram (ECONNREFUSED for a closed port,
	// EHOSTUNREACH, ENETUNREACH) or no route or link now.
	ErrUnreachable = errors.New("deliver: mediation device unreachable")
	// ErrTooBig: header plus packet exceed one UDP datagram (EMSGSIZE).
	ErrTooBig = errors.New("deliver: copy too big for one datagram")
	// ErrClosed: the sender was closed.
	ErrClosed = errors.New("deliver: sender closed")
	// ErrBatchFull: the batch has no room for another copy; Flush it.
	ErrBatchFull = errors.New("deliver: batch full")
)

// sendError is a kind plus the errno behind it. The common ones are made
// once, so a drop storm does not allocate.
type sendError struct {
	kind  error
	errno unix.Errno
}

func (e *sendError) Error() string   { return e.kind.Error() + ": " + e.errno.Error() }
func (e *sendError) Unwrap() []error { return []error{e.kind, e.errno} }

var knownErrnos = func() map[unix.Errno]*sendError {
	m := map[unix.Errno]*sendError{}
	for kind, errnos := range map[error][]unix.Errno{
		ErrDropped:     {unix.EAGAIN, unix.ENOBUFS},
		ErrUnreachable: {unix.ECONNREFUSED, unix.EHOSTUNREACH, unix.ENETUNREACH, unix.EHOSTDOWN, unix.ENETDOWN, unix.EADDRNOTAVAIL},
		ErrTooBig:      {unix.EMSGSIZE},
	} {
		for _, e := range errnos {
			m[e] = &sendError{kind: kind, errno: e}
		}
	}
	return m
}()

// sendErr maps the errno of a failed send to an error; only unexpected
// errnos allocate.
func sendErr(e unix.Errno) error {
	switch e {
	case unix.EAGAIN, unix.ENOBUFS, unix.ECONNREFUSED, unix.EHOSTUNREACH, unix.ENETUNREACH,
		unix.EHOSTDOWN, unix.ENETDOWN, unix.EADDRNOTAVAIL, unix.EMSGSIZE:
		return knownErrnos[e]
	case unix.EBADF:
		return ErrClosed
	}
	return fmt.Errorf("deliver: send: %w", e)
}
