package dataplane

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"tapagent/intercept"
	"tapagent/intercept/capture"
	"tapagent/intercept/classify"
	"tapagent/intercept/deliver"
)

// DataPlaneOptions configure capture and delivery.
type DataPlaneOptions struct {
	// Capture chooses the interfaces and the ring; its IgnoreMark is set
	// to Deliver.Mark so our own copies are never intercepted.
	Capture capture.Options
	// Deliver holds the delivery socket options (mark, NTP timestamp).
	Deliver deliver.Options
	// Net answers the questions the classifier asks about the box (routes,
	// bridge ports, VRFs); nil: read them from the kernel (netlink).
	Net    NetInfo
	Logger *logrus.Entry
	// Taps returns the armed taps (the engine's Armed); called from the
	// reconciler after Changed.
	Taps func() []intercept.Tap
	// Report receives Debug events (delivery failures, ring overruns);
	// the engine's Report puts them on its event stream.
	Report func(intercept.Event)
}

// DefaultMark is the SO_MARK of delivery sockets unless configured.
const DefaultMark = 0x7a70 // "zp"

// NetInfo is what the classifier needs to know about the box at build time.
type NetInfo interface {
	// Refresh reads the current state; called before every rebuild.
	Refresh() error
	RouteIfIndex(p netip.Prefix) int
	LearnedPort(mac net.HardwareAddr) int
	VRFOf(ifIndex int) string
	// Skip reports interfaces whose frames are also seen on another
	// interface (a bridge device sees what its ports see).
	Skip(ifIndex int) bool
}

// DataPlane captures frames, classifies them against the armed taps and
// sends one copy per mediation device. The packet loop reads an immutable
// plan through an atomic pointer; a reconciler goroutine builds new plans
// when the armed taps change, so the engine never waits for it.
type DataPlane struct {
	opts     DataPlaneOptions
	counters *intercept.Counters
	log      *logrus.Entry

	updates  chan struct{} // "the armed taps changed", capacity 1
	problems chan problem
	plan     atomic.Pointer[plan]
	ring     *capture.Ring
	ready    chan struct{}

	// Owned by the reconciler.
	senders     map[deliver.Target]*deliver.Sender
	lastTaps    []intercept.Tap
	ringDrops   uint64
	lastProblem map[intercept.ContentID]time.Time
}

// plan is everything the packet loop needs, never modified once stored.
type plan struct {
	cls      *classify.Classifier
	senders  []*deliver.Sender // by MDTarget.Index; nil: no socket
	counters map[intercept.StreamKey]*intercept.StreamCounters
	net      NetInfo
}

type problem struct {
	id  intercept.ContentID
	err error
}

// NewDataPlane prepares a data plane counting into counters (the engine's
// intercept.StreamCounters). Nothing is opened before Run.
func NewDataPlane(opts DataPlaneOptions, counters *intercept.Counters) *DataPlane {
	if opts.Deliver.Mark == 0 {
		opts.Deliver.Mark = DefaultMark
	}
	opts.Capture.IgnoreMark = opts.Deliver.Mark
	if opts.Capture.PollTimeout == 0 {
		opts.Capture.PollTimeout = 200 * time.Millisecond
	}
	if opts.Net == nil {
		opts.Net = newKernelNet()
	}
	if opts.Logger == nil {
		opts.Logger = logrus.NewEntry(logrus.StandardLogger())
	}
	return &DataPlane{
		opts:        opts,
		counters:    counters,
		log:         opts.Logger.WithField("component", "dataplane"),
		updates:     make(chan struct{}, 1),
		problems:    make(chan problem, 64),
		ready:       make(chan struct{}),
		senders:     make(map[deliver.Target]*deliver.Sender),
		lastProblem: make(map[intercept.ContentID]time.Time),
	}
}

// Changed says the armed taps may have changed (Options.OnArmed of the
// engine). It never blocks: signals coalesce, and the reconciler reads the
// taps when it gets to them.
func (d *DataPlane) Changed() {
	select {
	case d.updates <- struct{}{}:
	default:
	}
}

// Ready is closed once the capture ring is open and the first plan built.
func (d *DataPlane) Ready() <-chan struct{} { return d.ready }

// Run opens the capture ring and serves until ctx is done.
func (d *DataPlane) Run(ctx context.Context) error {
	ring, err := capture.Open(d.opts.Capture)
	if err != nil {
		return fmt.Errorf("intercept: open capture: %w", err)
	}
	d.ring = ring
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.reconcile(ctx)
	}()
	go func() {
		<-ctx.Done()
		ring.Close()
	}()
	d.loop()
	wg.Wait()
	for _, s := range d.senders {
		s.Close()
	}
	return nil
}

// reconcile builds plans and reports problems; it owns the senders.
func (d *DataPlane) reconcile(ctx context.Context) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	d.rebuild(nil)
	close(d.ready)
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.updates:
			var taps []intercept.Tap
			if d.opts.Taps != nil {
				taps = d.opts.Taps()
			}
			d.rebuild(taps)
		case p := <-d.problems:
			d.reportProblem(p)
		case <-tick.C:
			d.checkRing()
			if needsNetRefresh(d.lastTaps) {
				d.rebuild(d.lastTaps)
			}
		}
	}
}

// needsNetRefresh: taps that depend on routes or bridge learning follow
// the kernel, so their plan is rebuilt now and then.
func needsNetRefresh(taps []intercept.Tap) bool {
	for _, t := range taps {
		if t.IP != nil && (t.IP.Interface == intercept.RoutedInterface || t.IP.VRF != "") {
			return true
		}
		if t.MAC != nil && (t.MAC.Interface == intercept.RoutedInterface || t.MAC.Fields.Has(intercept.MatchCMMAC)) {
			return true
		}
	}
	return false
}

func (d *DataPlane) rebuild(taps []intercept.Tap) {
	d.lastTaps = taps
	if err := d.opts.Net.Refresh(); err != nil {
		d.log.WithError(err).Warn("cannot read interfaces and routes; special interface values match anywhere")
	}
	cls := classify.Build(classify.Config{
		Taps:         taps,
		RouteIfIndex: d.opts.Net.RouteIfIndex,
		LearnedPort:  d.opts.Net.LearnedPort,
		VRFOf:        d.opts.Net.VRFOf,
	})
	p := &plan{cls: cls, net: d.opts.Net, counters: make(map[intercept.StreamKey]*intercept.StreamCounters)}
	used := make(map[deliver.Target]bool)
	for _, md := range cls.MDs() {
		for _, k := range md.Streams {
			p.counters[k] = d.counters.For(k)
		}
		m := md.Mediation
		t := deliver.Target{ContentID: uint32(m.ContentID), Dest: netip.AddrPortFrom(m.DestAddr, m.DestPort),
			DSCP: m.DSCP, SrcIfIndex: int(m.SrcInterface)}
		used[t] = true
		s := d.senders[t]
		if s == nil {
			var err error
			if s, err = deliver.NewSender(t, d.opts.Deliver); err != nil {
				d.reportProblem(problem{id: m.ContentID, err: fmt.Errorf("cannot open the delivery socket: %w", err)})
				s = nil
			} else {
				d.senders[t] = s
			}
		}
		p.senders = append(p.senders, s)
	}
	if d.ring != nil {
		prog, err := cls.BPF(classify.BPFOptions{})
		if err == nil {
			err = d.ring.SetBPF(prog)
		}
		if err != nil {
			d.log.WithError(err).Error("cannot install the capture filter; capturing everything")
			_ = d.ring.SetBPF(nil)
		}
	}
	d.plan.Store(p)
	// Senders the new plan dropped may still be in use by the packet loop
	// holding the previous plan: close them a little later.
	for t, s := range d.senders {
		if !used[t] {
			delete(d.senders, t)
			time.AfterFunc(time.Second, func() { s.Close() })
		}
	}
	d.log.WithFields(logrus.Fields{"taps": len(taps), "mediation_devices": len(cls.MDs())}).Info("data plane updated")
}

// reportProblem turns a delivery problem into a Debug event, at most one per
// device every 10 s (a dead mediation path must not flood the trap sinks).
func (d *DataPlane) reportProblem(p problem) {
	if last, ok := d.lastProblem[p.id]; ok && time.Since(last) < 10*time.Second {
		return
	}
	d.lastProblem[p.id] = time.Now()
	msg := "delivery failed"
	switch {
	case errors.Is(p.err, deliver.ErrUnreachable):
		msg = "mediation device unreachable"
	case errors.Is(p.err, deliver.ErrTooBig):
		msg = "intercepted packet too big for one datagram"
	case errors.Is(p.err, errTruncated):
		msg = "intercepted frame larger than the capture ring keeps"
	case p.err != nil:
		msg = p.err.Error()
	}
	if d.opts.Report != nil {
		d.opts.Report(intercept.Debug{Key: intercept.StreamKey{ContentID: p.id}, Message: msg, NotificationEnable: d.notificationsOn(p.id)})
	}
}

func (d *DataPlane) notificationsOn(id intercept.ContentID) bool {
	for _, t := range d.lastTaps {
		if t.Mediation.ContentID == id {
			return t.Mediation.NotificationEnable
		}
	}
	return false
}

// checkRing reports frames the kernel dropped because the ring was full:
// they were lost before classification, so no stream can be charged; every
// device with armed taps hears of it.
func (d *DataPlane) checkRing() {
	if d.ring == nil {
		return
	}
	st, err := d.ring.Stats()
	if err != nil || st.Drops == d.ringDrops {
		return
	}
	lost := st.Drops - d.ringDrops
	d.ringDrops = st.Drops
	d.log.WithField("frames", lost).Warn("capture ring overrun: frames lost before classification")
	seen := map[intercept.ContentID]bool{}
	for _, t := range d.lastTaps {
		if id := t.Mediation.ContentID; !seen[id] {
			seen[id] = true
			d.reportProblem(problem{id: id, err: fmt.Errorf("capture ring overrun: %d frames lost before classification", lost)})
		}
	}
}

var errTruncated = errors.New("frame truncated by the capture ring")

// loop is the packet path: no lock, no blocking call but the ring's poll,
// and no allocation per packet (a delivery batch is made once per
// mediation device that gets traffic). Copies are queued per device and
// sent with one sendmmsg when the ring has no more frames ready or a
// batch is full.
func (d *DataPlane) loop() {
	var (
		hits  = classify.MakeHits(8)
		seen  recent
		h     maphash.Hash
		pkt   classify.Packet
		cur   *plan
		outs  = map[*deliver.Sender]*mdOut{}
		byMD  []*mdOut // cur's devices by MDTarget.Index
		dirty []*mdOut // batches with queued copies
	)
	flushAll := func() {
		for _, o := range dirty {
			d.flush(o)
		}
		dirty = dirty[:0]
	}
	for {
		f, err := d.ring.Next()
		if err != nil {
			if errors.Is(err, capture.ErrTimeout) {
				flushAll()
				continue
			}
			flushAll()
			return
		}
		if p := d.plan.Load(); p != cur {
			flushAll()
			cur = p
			byMD = d.outsFor(cur, outs, byMD[:0])
		}
		if cur == nil || cur.cls.Len() == 0 || cur.net.Skip(f.IfIndex) {
			continue
		}
		pkt = classify.Packet{Data: f.Data, IfIndex: f.IfIndex, Outgoing: f.Outgoing(),
			VLAN: f.VLAN.TCI, HasVLAN: f.VLAN.Present}
		hits = cur.cls.Match(&pkt, hits[:0])
		now := f.Timestamp.UnixNano()
		for i := range hits {
			hit := &hits[i]
			data := f.Data[hit.Offset:]
			key := contentKey(&h, hit, data) ^ uint64(hit.MD.Index+1)*0x9e3779b97f4a7c15
			// A forwarded packet is seen arriving and leaving: the copy
			// goes out for the first sighting only.
			if f.Outgoing() {
				if seen.seen(key, now) {
					continue
				}
			} else {
				seen.put(key, now)
			}
			o := byMD[hit.MD.Index]
			queued, err := d.queue(cur, o, hit, f, data)
			if queued {
				if o.batch.Len() == 1 {
					dirty = append(dirty, o)
				}
				continue
			}
			d.count(cur, o.id, hit.Streams, err)
		}
		if d.ring.Buffered() == 0 {
			flushAll()
		}
	}
}

// mdOut is the loop's delivery state for one mediation device: its sender,
// a batch of queued copies and, per queued copy, the counters to credit.
type mdOut struct {
	id     intercept.ContentID
	sender *deliver.Sender
	batch  *deliver.Batch
	slots  [][]*intercept.StreamCounters

	// The counters of the last streams queued for, so that a flow of
	// copies for the same streams looks them up once. Reset when the plan
	// changes.
	lastKeys     []intercept.StreamKey
	lastCounters []*intercept.StreamCounters
}

// countersFor returns the counters of streams in p, from o's cache when
// they are the last ones asked for. The result is valid until the next
// call; it never allocates once the cache has grown to the stream count.
func (o *mdOut) countersFor(p *plan, streams []intercept.StreamKey) []*intercept.StreamCounters {
	if slices.Equal(streams, o.lastKeys) {
		return o.lastCounters
	}
	o.lastKeys = append(o.lastKeys[:0], streams...)
	o.lastCounters = o.lastCounters[:0]
	for _, k := range streams {
		if c := p.counters[k]; c != nil {
			o.lastCounters = append(o.lastCounters, c)
		}
	}
	return o.lastCounters
}

const (
	batchCopies = 256       // two UDP GSO messages of 128 copies
	batchBytes  = 256 << 10 // room for the largest datagram and then some
)

// outsFor maps p's devices to delivery states, keeping those of senders
// that survive (their batches are empty: flushed before the switch).
func (d *DataPlane) outsFor(p *plan, outs map[*deliver.Sender]*mdOut, byMD []*mdOut) []*mdOut {
	if p == nil {
		return byMD
	}
	keep := make(map[*deliver.Sender]bool, len(p.senders))
	for i, s := range p.senders {
		var o *mdOut
		if s != nil {
			keep[s] = true
			if o = outs[s]; o == nil {
				o = &mdOut{sender: s}
				outs[s] = o
			}
		} else {
			o = &mdOut{}
		}
		o.id = p.cls.MDs()[i].Mediation.ContentID
		o.lastKeys = o.lastKeys[:0] // counters belong to the plan
		o.lastCounters = o.lastCounters[:0]
		byMD = append(byMD, o)
	}
	for s := range outs {
		if !keep[s] {
			delete(outs, s)
		}
	}
	return byMD
}

// queue puts one copy into o's batch; queued false means it was not
// (err says why: the copy counts as a drop, or was sent alone when the
// batch could not be made).
func (d *DataPlane) queue(p *plan, o *mdOut, hit *classify.Hit, f *capture.Frame, data []byte) (bool, error) {
	switch {
	case o.sender == nil:
		return false, errNoSender
	case f.Truncated():
		return false, errTruncated
	}
	if o.batch == nil {
		b, err := o.sender.NewBatch(batchCopies, batchBytes)
		if err != nil {
			return false, err
		}
		o.batch, o.slots = b, make([][]*intercept.StreamCounters, batchCopies)
	}
	for attempt := 0; attempt < 2; attempt++ {
		var (
			slot int
			err  error
		)
		if hit.Layer == classify.LayerEthernet && f.VLAN.Present {
			slot, err = o.batch.AddTagged(f.Timestamp, f.Data, f.VLAN.TPID, f.VLAN.TCI)
		} else {
			slot, err = o.batch.Add(f.Timestamp, data)
		}
		if errors.Is(err, deliver.ErrBatchFull) {
			d.flush(o)
			continue
		}
		if err != nil {
			return false, err
		}
		o.slots[slot] = append(o.slots[slot][:0], o.countersFor(p, hit.Streams)...)
		return true, nil
	}
	return false, deliver.ErrBatchFull
}

// flush sends o's queued copies and credits their streams: sent copies
// as intercepted, the rest as drops.
func (d *DataPlane) flush(o *mdOut) {
	n := o.batch.Len()
	if n == 0 {
		return
	}
	sent, err := o.batch.Flush()
	creditRuns(o.slots[:sent], func(c *intercept.StreamCounters, n uint64) { c.Intercepted.Add(n) })
	creditRuns(o.slots[sent:n], func(c *intercept.StreamCounters, n uint64) { c.Drops.Add(n) })
	if err != nil && !errors.Is(err, deliver.ErrDropped) {
		select {
		case d.problems <- problem{id: o.id, err: err}:
		default:
		}
	}
}

// creditRuns calls add once per counter of each run of consecutive copies
// that count into the same streams, with the run's length: one atomic
// add per counter and flush for a steady flow instead of one per copy.
func creditRuns(slots [][]*intercept.StreamCounters, add func(*intercept.StreamCounters, uint64)) {
	for start := 0; start < len(slots); {
		end := start + 1
		for end < len(slots) && slices.Equal(slots[end], slots[start]) {
			end++
		}
		for _, c := range slots[start] {
			add(c, uint64(end-start))
		}
		start = end
	}
}

// count credits a copy that was not queued: a drop, reported (rate
// limited, by the reconciler) unless it only met a full queue.
func (d *DataPlane) count(p *plan, id intercept.ContentID, streams []intercept.StreamKey, err error) {
	for _, k := range streams {
		if c := p.counters[k]; c != nil {
			if err == nil {
				c.Intercepted.Add(1)
			} else {
				c.Drops.Add(1)
			}
		}
	}
	if err != nil && !errors.Is(err, deliver.ErrDropped) {
		select {
		case d.problems <- problem{id: id, err: err}:
		default:
		}
	}
}

var errNoSender = errors.New("no delivery socket")

var contentSeed = maphash.MakeSeed()

// contentKey hashes what stays the same when a router forwards a packet:
// the IP packet without TTL/hop limit and IPv4 header checksum, or the
// whole frame for Ethernet copies.
func contentKey(h *maphash.Hash, hit *classify.Hit, data []byte) uint64 {
	h.SetSeed(contentSeed)
	switch {
	case hit.Layer == classify.LayerIP && len(data) >= 20 && data[0]>>4 == 4:
		h.Write(data[:8])
		h.WriteByte(data[9])
		h.Write(data[12:])
	case hit.Layer == classify.LayerIP && len(data) >= 40 && data[0]>>4 == 6:
		h.Write(data[:7])
		h.Write(data[8:])
	default:
		h.Write(data)
	}
	return h.Sum64()
}

// recent remembers, for a short while, the content of arriving frames a
// copy was sent for, so the same packet leaving the box — once after
// routing, once per port when a bridge floods it — is not sent again.
type recent struct {
	slots [1 << 12]recentSlot
}

type recentSlot struct {
	key uint64
	at  int64 // 0: empty
}

const (
	recentWindow = int64(200 * time.Millisecond)
	recentProbes = 8
)

// put records an arrival.
func (r *recent) put(key uint64, now int64) {
	mask := uint64(len(r.slots) - 1)
	var free *recentSlot
	for i := uint64(0); i < recentProbes; i++ {
		s := &r.slots[(key+i)&mask]
		live := s.at != 0 && now-s.at <= recentWindow
		if live && s.key == key {
			s.at = now
			return
		}
		if !live && free == nil {
			free = s
		}
	}
	if free == nil {
		free = &r.slots[key&mask] // this neighbourhood is full: forget one
	}
	*free = recentSlot{key: key, at: now}
}

// seen reports whether an arrival with this content was recorded within
// the window: a departure of it is the same packet.
func (r *recent) seen(key uint64, now int64) bool {
	mask := uint64(len(r.slots) - 1)
	for i := uint64(0); i < recentProbes; i++ {
		s := &r.slots[(key+i)&mask]
		if s.key == key && s.at != 0 && now-s.at <= recentWindow {
			return true
		}
	}
	return false
}
