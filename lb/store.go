package lb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Store keeps the configuration across restarts. Save must be atomic: a
// crash leaves the old or the new configuration, never a mix.
type Store interface {
	Load() (*Config, error) // an empty Config when nothing was saved yet
	Save(*Config) error
}

// MemStore keeps the configuration in memory (tests, callers that store
// it elsewhere).
type MemStore struct {
	mu  sync.Mutex
	cfg *Config
}

func (m *MemStore) Load() (*Config, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cfg == nil {
		return &Config{}, nil
	}
	return m.cfg.Clone(), nil
}

func (m *MemStore) Save(c *Config) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cfg = c.Clone()
	return nil
}

// FileStore keeps the configuration as JSON in Dir/ilb.json, replaced by
// writing a temporary file, syncing it, renaming it over the old one and
// syncing the directory.
type FileStore struct{ Dir string }

const storeFile = "ilb.json"

func (f FileStore) path() string { return filepath.Join(f.Dir, storeFile) }

func (f FileStore) Load() (*Config, error) {
	b, err := os.ReadFile(f.path())
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lb: read configuration: %w", err)
	}
	c := &Config{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("lb: parse configuration %s: %w", f.path(), err)
	}
	return c, nil
}

func (f FileStore) Save(c *Config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("lb: encode configuration: %w", err)
	}
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return fmt.Errorf("lb: configuration directory: %w", err)
	}
	tmp, err := os.CreateTemp(f.Dir, "."+storeFile+".*")
	if err != nil {
		return fmt.Errorf("lb: write configuration: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path())
	}
	if err != nil {
		return fmt.Errorf("lb: write configuration %s: %w", f.path(), err)
	}
	if d, err := os.Open(f.Dir); err == nil {
		_ = d.Sync() // the rename itself must reach the disk
		d.Close()
	}
	return nil
}
