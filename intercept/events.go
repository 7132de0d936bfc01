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
