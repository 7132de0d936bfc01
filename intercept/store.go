package intercept

// store is the committed configuration, owned by the engine goroutine.
// Streams and filters live under their mediation device: a child never
// exists without its parent, and finding a device's children is cheap.
type store struct {
	mds       map[ContentID]*mdEntry
	deadlines *deadlines
	counters  *Counters // forgotten with their stream
	// dirty lists the mediation devices written since the engine last
	// looked, so arming is recomputed for them only.
	dirty map[ContentID]bool
}

type mdEntry struct {
	md      Mediation
	streams map[uint32]Stream
	ips     map[uint32]IPFilter
	macs    map[uint32]MACFilter
}

func newStore() *store {
	return &store{mds: make(map[ContentID]*mdEntry), deadlines: newDeadlines(), counters: newCounters(),
		dirty: make(map[ContentID]bool)}
}

func (s *store) mediation(id ContentID) (Mediation, bool) {
	if e := s.mds[id]; e != nil {
		return e.md, true
	}
	return Mediation{}, false
}

func (s *store) stream(k StreamKey) (Stream, bool) {
	if e := s.mds[k.ContentID]; e != nil {
		v, ok := e.streams[k.Index]
		return v, ok
	}
	return Stream{}, false
}

func (s *store) ipFilter(k StreamKey) (IPFilter, bool) {
	if e := s.mds[k.ContentID]; e != nil {
		v, ok := e.ips[k.Index]
		return v, ok
	}
	return IPFilter{}, false
}

func (s *store) macFilter(k StreamKey) (MACFilter, bool) {
	if e := s.mds[k.ContentID]; e != nil {
		v, ok := e.macs[k.Index]
		return v, ok
	}
	return MACFilter{}, false
}

// write applies a validated change set: parents first, then children, then
// parent deletions (which cascade, for Revert after a timeout).
func (s *store) write(cs *changeSet) {
	for id := range cs.mds {
		s.dirty[id] = true
	}
	for k := range cs.streams {
		s.dirty[k.ContentID] = true
	}
	for k := range cs.ips {
		s.dirty[k.ContentID] = true
	}
	for k := range cs.macs {
		s.dirty[k.ContentID] = true
	}
	for id, sl := range cs.mds {
		if sl.val == nil {
			continue
		}
		if e := s.mds[id]; e != nil {
			e.md = *sl.val
		} else {
			s.mds[id] = &mdEntry{md: *sl.val}
		}
		s.deadlines.set(id, sl.val.Timeout)
	}
	for k, sl := range cs.streams {
		e := s.mds[k.ContentID]
		switch {
		case e == nil:
		case sl.val == nil:
			delete(e.streams, k.Index)
			s.counters.delete(k)
		default:
			if e.streams == nil {
				e.streams = make(map[uint32]Stream)
			}
			e.streams[k.Index] = *sl.val
		}
	}
	for k, sl := range cs.ips {
		e := s.mds[k.ContentID]
		switch {
		case e == nil:
		case sl.val == nil:
			delete(e.ips, k.Index)
		default:
			if e.ips == nil {
				e.ips = make(map[uint32]IPFilter)
			}
			e.ips[k.Index] = *sl.val
		}
	}
	for k, sl := range cs.macs {
		e := s.mds[k.ContentID]
		switch {
		case e == nil:
		case sl.val == nil:
			delete(e.macs, k.Index)
		default:
			if e.macs == nil {
				e.macs = make(map[uint32]MACFilter)
			}
			e.macs[k.Index] = sl.val.clone()
		}
	}
	for id, sl := range cs.mds {
		if sl.val == nil {
			s.remove(id)
		}
	}
}

// remove drops a mediation device with its streams and filters.
func (s *store) remove(id ContentID) {
	s.dirty[id] = true
	if e := s.mds[id]; e != nil {
		keys := make([]StreamKey, 0, len(e.streams))
		for idx := range e.streams {
			keys = append(keys, StreamKey{ContentID: id, Index: idx})
		}
		s.counters.delete(keys...)
	}
	delete(s.mds, id)
	s.deadlines.remove(id)
}

// snapshot copies every object out of the store, unsorted.
func (s *store) snapshot() State {
	var st State
	st.Mediations = make([]Mediation, 0, len(s.mds))
	for _, e := range s.mds {
		st.Mediations = append(st.Mediations, e.md)
		for _, v := range e.streams {
			st.Streams = append(st.Streams, v)
		}
		for _, v := range e.ips {
			st.IPFilters = append(st.IPFilters, v)
		}
		for _, v := range e.macs {
			st.MACFilters = append(st.MACFilters, v.clone())
		}
	}
	return st
}

// armed lists the taps the data plane must serve, unsorted.
func (s *store) armed() []Tap {
	var taps []Tap
	for id := range s.mds {
		taps = s.armedOf(id, taps)
	}
	return taps
}

// armedOf appends the armed taps of one mediation device.
func (s *store) armedOf(id ContentID, taps []Tap) []Tap {
	e := s.mds[id]
	if e == nil || !e.md.Active {
		return taps
	}
	for idx, st := range e.streams {
		if !st.Active || !st.Enable {
			continue
		}
		switch st.Type {
		case StreamIP:
			if f, ok := e.ips[idx]; ok && f.Active {
				taps = append(taps, Tap{Mediation: e.md, Stream: st, IP: &f})
			}
		case StreamMAC:
			if f, ok := e.macs[idx]; ok && f.Active {
				f = f.clone()
				taps = append(taps, Tap{Mediation: e.md, Stream: st, MAC: &f})
			}
		}
	}
	return taps
}
