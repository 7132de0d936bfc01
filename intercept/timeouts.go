package intercept

import (
	"container/heap"
	"time"
)

// deadlines is an indexed min-heap of mediation timeouts: one entry per
// mediation device with a timeout, so rescheduling and removal are
// O(log n) and no goroutine or timer exists per device.
type deadlines struct {
	items []*deadline
	byID  map[ContentID]*deadline
}

type deadline struct {
	id  ContentID
	at  time.Time
	pos int
}

func newDeadlines() *deadlines { return &deadlines{byID: make(map[ContentID]*deadline)} }

// set schedules id at at; a zero at removes it.
func (d *deadlines) set(id ContentID, at time.Time) {
	if at.IsZero() {
		d.remove(id)
		return
	}
	if it, ok := d.byID[id]; ok {
		it.at = at
		heap.Fix((*deadlineHeap)(d), it.pos)
		return
	}
	it := &deadline{id: id, at: at}
	d.byID[id] = it
	heap.Push((*deadlineHeap)(d), it)
}

func (d *deadlines) remove(id ContentID) {
	if it, ok := d.byID[id]; ok {
		heap.Remove((*deadlineHeap)(d), it.pos)
		delete(d.byID, id)
	}
}

// next returns the earliest deadline.
func (d *deadlines) next() (ContentID, time.Time, bool) {
	if len(d.items) == 0 {
		return 0, time.Time{}, false
	}
	return d.items[0].id, d.items[0].at, true
}

func (d *deadlines) len() int { return len(d.items) }

// deadlineHeap adapts deadlines to container/heap.
type deadlineHeap deadlines

func (h *deadlineHeap) Len() int           { return len(h.items) }
func (h *deadlineHeap) Less(i, j int) bool { return h.items[i].at.Before(h.items[j].at) }
func (h *deadlineHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].pos = i
	h.items[j].pos = j
}
func (h *deadlineHeap) Push(x any) {
	it := x.(*deadline)
	it.pos = len(h.items)
	h.items = append(h.items, it)
}
func (h *deadlineHeap) Pop() any {
	n := len(h.items) - 1
	it := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	return it
}
