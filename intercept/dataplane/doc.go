// Package dataplane is the lawful-intercept packet path: it captures frames
// (intercept/capture), matches them against the armed taps
// (intercept/classify) and sends one copy per mediation device
// (intercept/deliver), counting into the engine's stream counters.
//
// The engine signals that the armed taps changed (Changed, never
// blocking; signals coalesce); a reconciler goroutine pulls them
// (Options.Taps = the engine's Armed) and builds a classifier, the delivery
// sockets and the kernel pre-filter off the packet path and publishes them
// as one immutable plan. The packet loop only loads that plan, so it takes
// no lock and allocates nothing per packet.
//
// One copy per mediation device and packet: the classifier already merges
// the streams of one device; a packet the box forwards is seen arriving and
// leaving (once per port when a bridge floods it), and only its arrival is
// sent: departures whose content (without TTL and checksum) arrived within
// the last 200 ms are not. Bridge devices are not read: their ports see the
// same frames.
//
// Copies are queued per mediation device (up to 256) and sent when the
// ring has no frame ready or a queue is full, with deliver.Batch: one
// sendmmsg call, runs of same-size copies as UDP GSO messages. Stream
// counters are credited per run of copies for the same streams, one atomic
// add per counter and flush.
package dataplane
