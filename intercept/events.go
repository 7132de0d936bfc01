package intercept

// Event is something the engine reports on its own: MediationTimedOut, and
// later debug and activation events of the data plane.
type Event interface{ isEvent() }

// MediationTimedOut says a mediation device reached its timeout and was
// removed with all its streams and filters.
type MediationTimedOut struct {
	ContentID ContentID
	// NotificationEnable is the device's setting: whether a notification
	// may be sent for it.
	NotificationEnable bool
	// WasActive is whether the device was active when it was removed.
	WasActive bool
}

func (MediationTimedOut) isEvent() {}

// StreamArmed says a stream started intercepting: its mediation device,
// the stream and its filter are all active and the stream is enabled.
type StreamArmed struct {
	Key                StreamKey
	NotificationEnable bool // the mediation device's setting
}

func (StreamArmed) isEvent() {}

// Debug reports a problem the engine met while serving a mediation device
// or one of its streams (Key.Index 0: the device itself), e.g. a delivery
// socket that cannot be opened. Message holds no intercept targets.
type Debug struct {
	Key                StreamKey
	Message            string
	NotificationEnable bool
}

func (Debug) isEvent() {}
