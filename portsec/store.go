package portsec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Snapshot is what must survive the agent: settings, and the addresses
// the kernel cannot tell apart (static and sticky). Dynamic addresses
// live in the kernel sets only.
type Snapshot struct {
	Global Global
	Ports  []StoredPort
}

// StoredPort is one port of a Snapshot.
type StoredPort struct {
	Ifindex    int
	Config     PortConfig
	Entries    []StoredEntry  // static and sticky only
	VLANLimits map[uint16]int `json:",omitempty"`
	// An err-disabled port stays so across a restart, and its recovery
	// keeps its time.
	Shutdown      bool             `json:",omitempty"`
	ShutdownUntil time.Time        `json:",omitzero"`
	ShutVLANs     []StoredVLANShut `json:",omitempty"`
}

// StoredVLANShut is a VLAN err-disabled on a port.
type StoredVLANShut struct {
	VLAN  uint16
	Until time.Time `json:",omitzero"`
}

// StoredEntry is a static or sticky address.
type StoredEntry struct {
	MAC  string
	VLAN uint16
	Type EntryType
}

// Store keeps Snapshots. Save must be atomic: after a crash Load returns
// the old or the new snapshot, never a mix.
type Store interface {
	Load() (Snapshot, bool, error) // ok is false when nothing was saved yet
	Save(Snapshot) error
}

// MemStore is a Store in memory, for tests and for callers that keep
// configuration elsewhere.
type MemStore struct {
	mu   sync.Mutex
	snap *Snapshot
}

func (m *MemStore) Load() (Snapshot, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.snap == nil {
		return Snapshot{}, false, nil
	}
	return *m.snap, true, nil
}

func (m *MemStore) Save(s Snapshot) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.snap = &s
	return nil
}

// FileStore keeps the snapshot as JSON in Path, replaced atomically
// (temporary file, fsync, rename, fsync of the directory) so a kill -9
// at any moment leaves a complete file.
type FileStore struct{ Path string }

func (f FileStore) Load() (Snapshot, bool, error) {
	var s Snapshot
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("portsec: read store: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, false, fmt.Errorf("portsec: parse store %s: %w", f.Path, err)
	}
	return s, true, nil
}

func (f FileStore) Save(s Snapshot) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("portsec: encode store: %w", err)
	}
	dir := filepath.Dir(f.Path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.Path)+".*")
	if err != nil {
		return fmt.Errorf("portsec: write store: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.Path)
	}
	if err != nil {
		return fmt.Errorf("portsec: write store %s: %w", f.Path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// snapshot extracts what a Store keeps.
func (s *state) snapshot() Snapshot {
	snap := Snapshot{Global: s.global}
	for _, i := range slices.Sorted(maps.Keys(s.ports)) {
		p := s.ports[i]
		sp := StoredPort{Ifindex: i, Config: p.cfg, Shutdown: p.shutdown, ShutdownUntil: p.until}
		if len(p.limits) > 0 {
			sp.VLANLimits = maps.Clone(p.limits)
		}
		for _, a := range slices.SortedFunc(maps.Keys(p.entries), compareAddr) {
			if e := p.entries[a]; e.typ == Static || e.typ == Sticky {
				sp.Entries = append(sp.Entries, StoredEntry{MAC: a.mac.String(), VLAN: a.vlan, Type: e.typ})
			}
		}
		for _, v := range slices.Sorted(maps.Keys(p.shutVLANs)) {
			sp.ShutVLANs = append(sp.ShutVLANs, StoredVLANShut{VLAN: v, Until: p.shutVLANs[v]})
		}
		snap.Ports = append(snap.Ports, sp)
	}
	return snap
}

// stateFrom rebuilds a model from a snapshot; expiries of aging static
// entries start again at now.
func stateFrom(snap Snapshot) (*state, error) {
	s := newState()
	s.global = snap.Global
	for _, sp := range snap.Ports {
		p := s.port(sp.Ifindex)
		p.cfg = sp.Config
		p.shutdown, p.until = sp.Shutdown, sp.ShutdownUntil
		maps.Copy(p.limits, sp.VLANLimits)
		for _, v := range sp.ShutVLANs {
			p.shutVLANs[v.VLAN] = v.Until
		}
		for _, se := range sp.Entries {
			m, err := ParseMAC(se.MAC)
			if err != nil {
				return nil, err
			}
			if se.VLAN == 0 {
				se.VLAN = 1 // written before entries carried their VLAN
			}
			p.entries[addr{m, se.VLAN}] = entry{typ: se.Type}
		}
	}
	return s, nil
}
